// The compiler's data thread (off-thread.ts starts it): runs the steps that
// read megabytes of policy data, so the main thread goes on answering.
import { parentPort } from 'node:worker_threads'
import type { DataReply, DataRequest } from './off-thread.js'
import { checkBundleData } from './policy-data-check.js'
import { stageJsonData } from './stage-data.js'

async function run (request: DataRequest): Promise<unknown> {
  if (request.op === 'stage') return await stageJsonData(request.from, request.to, request.shownAs)
  const { buffer, byteOffset, byteLength } = request.dataJson
  return await checkBundleData(request.dir, Buffer.from(buffer, byteOffset, byteLength))
}

const port = parentPort
port?.on('message', (request: DataRequest) => {
  run(request).then(
    (value) => port.postMessage({ id: request.id, value } satisfies DataReply),
    (err: unknown) => {
      const { message, code } = err instanceof Error ? err as Error & { code?: unknown } : { message: String(err), code: undefined }
      port.postMessage({ id: request.id, error: { message, code: typeof code === 'string' ? code : undefined } } satisfies DataReply)
    }
  )
})
