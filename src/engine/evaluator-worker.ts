// The WASM policy in a worker thread (src/engine/isolate.ts): evaluation is
// synchronous, so only a thread of its own can be stopped when it runs too long.
// It answers { id, resultSet } or { id, error } for each { id, input } (JSON text).
import { parentPort, workerData } from 'node:worker_threads'
import { loadPolicy, type LoadedPolicy } from '@open-policy-agent/opa-wasm'

interface Boot { wasm: Uint8Array, data: Uint8Array, entrypoint: string }
const port = parentPort
if (port === null) throw new Error('evaluator-worker runs as a worker thread')
const boot = workerData as Boot

function text (thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message
  if (typeof thrown === 'string') return thrown
  if (thrown !== null && typeof thrown === 'object' && 'message' in thrown && typeof thrown.message === 'string') return thrown.message
  return String(thrown)
}

let policy: LoadedPolicy
try {
  policy = await loadPolicy(boot.wasm.buffer.slice(boot.wasm.byteOffset, boot.wasm.byteOffset + boot.wasm.byteLength) as ArrayBuffer)
  policy.setData(boot.data.buffer.slice(boot.data.byteOffset, boot.data.byteOffset + boot.data.byteLength) as ArrayBuffer)
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
