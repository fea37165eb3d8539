// The WASM policy in a worker thread (src/engine/isolate.ts): evaluation is
// synchronous, so only a thread of its own can be stopped when it runs too long.
// It answers { id, resultSet } or { id, error } for each { id, input } (JSON text).
//
// The thread runs this function's own text as a plain script (eval, no
// execArgv): a thread started with the process's loaders (the TypeScript loader
// under the tests) took seconds to boot, and every policy activation waits for
// its thread. So the function may use nothing from outside itself: it requires
// what it needs, and opa-wasm by the path the parent resolved.
export interface EvaluatorBoot { wasm: Uint8Array, data: Uint8Array, entrypoint: string, opaWasm: string }

export function evaluatorThread (): void {
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads')
  const { loadPolicySync } = require((workerData as EvaluatorBoot).opaWasm) as { loadPolicySync: (wasm: ArrayBuffer) => import('@open-policy-agent/opa-wasm').LoadedPolicy }

  const port = parentPort
  if (port === null) throw new Error('the evaluator runs as a worker thread')
  const boot = workerData as EvaluatorBoot
  const text = (thrown: unknown): string => {
    if (thrown instanceof Error) return thrown.message
    if (typeof thrown === 'string') return thrown
    if (thrown !== null && typeof thrown === 'object' && 'message' in thrown && typeof thrown.message === 'string') return thrown.message
    return String(thrown)
  }
  const copy = (bytes: Uint8Array): ArrayBuffer => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer

  let policy: import('@open-policy-agent/opa-wasm').LoadedPolicy
  try {
    policy = loadPolicySync(copy(boot.wasm))
    policy.setData(copy(boot.data))
    port.postMessage({ ready: true })
  } catch (thrown) {
    port.postMessage({ ready: false, error: text(thrown) })
    throw thrown
  }

  port.on('message', (message: { id: number, input: ArrayBuffer }) => {
    try {
      if (!(message.input instanceof ArrayBuffer)) throw new Error('the input is not JSON text in an ArrayBuffer')
      port.postMessage({ id: message.id, resultSet: policy.evaluate(message.input, boot.entrypoint) })
    } catch (thrown) {
      port.postMessage({ id: message.id, error: text(thrown) })
    }
  })
}
