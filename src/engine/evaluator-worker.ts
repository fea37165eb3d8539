// The WASM policy in a worker thread (src/engine/isolate.ts): evaluation is
// synchronous, so only a thread of its own can be stopped when it runs too long.
// At boot it loads the WASM and the data, checks the entrypoint and, when asked,
// lists the endpoints the data names (so the main thread never parses the data).
// For each { id, input } (JSON text, several in a message) it answers { id, result } — the result set
// as the JSON text the WASM wrote, transferred, never parsed here — or { id, error }.
//
// The thread runs this function's own text as a plain script (eval, no
// execArgv): a thread started with the process's loaders (the TypeScript loader
// under the tests) took seconds to boot, and every policy activation waits for
// its thread. So the function may use nothing from outside itself: it requires
// what it needs, opa-wasm by the path the parent resolved, and gets the endpoint
// lister (src/engine/input.ts knownEndpoints, self-contained) as its argument.
export interface EvaluatorBoot {
  wasm: Uint8Array
  /** data.json's bytes; on a SharedArrayBuffer, so the thread and the main thread hold one copy */
  data: Uint8Array
  entrypoint: string
  opaWasm: string
  /** list the endpoints the data names (the first thread of a policy; not its replacements) */
  endpoints: boolean
  /** where the answers go (the parent reads it again when a deadline passes) */
  replies: import('node:worker_threads').MessagePort
}

/** The thread's boot answer. */
export interface EvaluatorReady { ready: true, endpoints?: string[] | null }

type Lister = (data: unknown) => ReadonlySet<string> | undefined

export function evaluatorThread (listEndpoints: Lister): void {
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
  // A private ArrayBuffer (the constructor copies): opa-wasm reads an
  // ArrayBuffer as JSON text but would JSON.stringify a SharedArrayBuffer ("{}").
  const copy = (bytes: Uint8Array): ArrayBuffer => new Uint8Array(bytes).buffer

  let policy: import('@open-policy-agent/opa-wasm').LoadedPolicy
  let entrypointId: number
  try {
    policy = loadPolicySync(copy(boot.wasm))
    try {
      policy.setData(copy(boot.data))
    } catch (thrown) {
      // Said plainly when the text is not JSON at all (the bundle reader does not parse it).
      try { JSON.parse(new TextDecoder().decode(boot.data)) } catch (err) {
        port.postMessage({ ready: false, error: `data.json is not valid JSON (${text(err)})` })
        return
      }
      throw thrown
    }
    const entrypoints = (policy.entrypoints ?? {}) as Record<string, number>
    if (!Object.hasOwn(entrypoints, boot.entrypoint)) {
      port.postMessage({ ready: false, error: `policy.wasm has no entrypoint ${boot.entrypoint} (it has: ${Object.keys(entrypoints).join(', ') || 'none'})` })
      return
    }
    entrypointId = entrypoints[boot.entrypoint] as number
    let endpoints: string[] | null | undefined
    if (boot.endpoints) {
      const listed = listEndpoints(JSON.parse(new TextDecoder().decode(boot.data)))
      endpoints = listed === undefined ? null : [...listed]
    }
    port.postMessage({ ready: true, endpoints })
  } catch (thrown) {
    port.postMessage({ ready: false, error: `policy.wasm does not load: ${text(thrown)}` })
    return
  }

  // The result set as the NUL-terminated JSON text the WASM wrote (ABI 1.2's
  // opa_eval, as LoadedPolicy#evaluate does it, minus its decode and parse).
  // A build without that ABI goes through the library and is written out again.
  interface Memory { buffer: ArrayBuffer, grow: (pages: number) => number }
  interface Internals { minorVersion?: unknown, mem?: Partial<Memory>, wasmInstance?: { exports?: Record<string, unknown> }, dataAddr?: unknown, dataHeapPtr?: unknown }
  const raw = policy as unknown as Internals
  const exportsOf = raw.wasmInstance?.exports
  const opaEval = exportsOf?.opa_eval
  const fast = typeof raw.minorVersion === 'number' && raw.minorVersion >= 2 && typeof opaEval === 'function' &&
    typeof raw.mem?.grow === 'function' && raw.mem.buffer instanceof ArrayBuffer && typeof raw.dataAddr === 'number' && typeof raw.dataHeapPtr === 'number'
  const encoder = new TextEncoder()
  const PAGE = 64 * 1024
  const evaluate = (input: Uint8Array): ArrayBuffer => {
    if (!fast) return encoder.encode(JSON.stringify(policy.evaluate(copy(input), entrypointId))).buffer as ArrayBuffer
    const mem = raw.mem as Memory
    const at = raw.dataHeapPtr as number
    const length = input.byteLength
    const short = at + length - mem.buffer.byteLength
    if (short > 0) mem.grow(Math.ceil(short / PAGE))
    new Uint8Array(mem.buffer).set(input, at)
    const result = (opaEval as (...args: number[]) => number)(0, entrypointId, raw.dataAddr as number, at, length, at + length, 0)
    const bytes = new Uint8Array(mem.buffer)
    const end = bytes.indexOf(0, result)
    if (end < 0) throw new Error('the result has no end')
    return bytes.slice(result, end).buffer as ArrayBuffer
  }

  // One evaluation at boot compiles the policy's code paths (V8 compiles WASM
  // functions when first called): the first decision asked is not the one to pay.
  try { evaluate(encoder.encode('{}')) } catch { /* its answer does not matter */ }

  // Each message is a batch of decisions; each is answered as soon as it is
  // made (the parent's deadline clock moves on to the next one then).
  port.on('message', (batch: Array<{ id: number, input: Uint8Array }>) => {
    for (const message of batch) {
      try {
        if (!(message.input instanceof Uint8Array)) throw new Error('the input is not JSON text in a Uint8Array')
        const result = evaluate(message.input)
        boot.replies.postMessage({ id: message.id, result }, [result])
      } catch (thrown) {
        boot.replies.postMessage({ id: message.id, error: text(thrown) })
      }
    }
  })
}
