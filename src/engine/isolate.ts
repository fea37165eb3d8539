// Evaluation with a deadline. WASM evaluation is synchronous: one decision that
// runs long (an account whose groups hold 50,000 jobs) would stall every other
// request of the process. Here the policy runs in a worker thread; a decision
// still running at the deadline (default 100 ms) is answered EVALUATION_TIMEOUT
// (503, never an allow) and the thread is terminated and replaced by a fresh one
// loaded with the same bundle. Decisions go to the thread one at a time, so the
// deadline measures that decision alone, not the queue in front of it; the ones
// queued behind a timed-out decision go to the replacement.
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import { EvaluationTimeoutError, PolicyBundleError, PolicyEvaluationError } from '../errors.js'
import { evaluatorThread, type EvaluatorBoot } from './evaluator-worker.js'

export const DEFAULT_EVALUATION_DEADLINE_MS = 100

export interface IsolatedEvaluator {
  /** The raw result set of `entrypoint` for `input` (JSON text); rejects with EVALUATION_TIMEOUT past the deadline. */
  evaluate: (input: Uint8Array) => Promise<unknown>
  /** Threads started so far (1 + replacements): for tests and metrics. */
  readonly generation: number
  close: () => Promise<void>
}

interface Job { input: Uint8Array, resolve: (v: unknown) => void, reject: (e: unknown) => void }
interface Reply { id?: number, ready?: boolean, resultSet?: unknown, error?: string }

// The thread's script: evaluatorThread's own text, run without the process's
// loaders (see evaluator-worker.ts); opa-wasm's CommonJS entry by absolute path.
const THREAD_SCRIPT = `(${evaluatorThread.toString()})()`
const OPA_WASM = createRequire(import.meta.url).resolve('@open-policy-agent/opa-wasm')

export async function startIsolatedEvaluator (wasm: Uint8Array, data: Uint8Array, entrypoint: string, deadlineMs = DEFAULT_EVALUATION_DEADLINE_MS): Promise<IsolatedEvaluator> {
  const queue: Job[] = []
  let worker: Worker | undefined
  let ready: Promise<Worker> | undefined
  let inFlight: { id: number, job: Job, timer: NodeJS.Timeout } | undefined
  let nextId = 0
  let generation = 0
  let closed = false

  function spawn (): Promise<Worker> {
    generation++
    const boot: EvaluatorBoot = { wasm, data, entrypoint, opaWasm: OPA_WASM }
    const w = new Worker(THREAD_SCRIPT, { eval: true, execArgv: [], workerData: boot })
    w.unref()
    return new Promise<Worker>((resolve, reject) => {
      const onBoot = (m: Reply): void => {
        w.off('error', onError)
        if (m.ready === true) {
          w.on('message', onReply)
          w.on('error', (err) => { if (worker === w) replace(new PolicyEvaluationError(err.message)) })
          resolve(w)
        } else {
          reject(new PolicyBundleError(`policy.wasm does not load: ${m.error ?? 'unknown error'}`))
        }
      }
      const onError = (err: Error): void => { reject(new PolicyBundleError(`policy.wasm does not load: ${err.message}`)) }
      w.once('message', onBoot)
      w.once('error', onError)
    })
  }

  function onReply (m: Reply): void {
    if (inFlight === undefined || m.id !== inFlight.id) return // a late answer of a decision already refused
    const { job, timer } = inFlight
    clearTimeout(timer)
    inFlight = undefined
    if (m.error !== undefined) job.reject(new PolicyEvaluationError(m.error))
    else job.resolve(m.resultSet)
    pump()
  }

  // The running decision is refused, the thread goes, a fresh one takes the queue.
  function replace (error: unknown): void {
    const failed = inFlight
    inFlight = undefined
    if (failed !== undefined) { clearTimeout(failed.timer); failed.job.reject(error) }
    const old = worker
    worker = undefined
    old?.terminate().catch(() => {})
    if (closed) return
    ready = spawn().then((w) => { worker = w; pump(); return w })
    ready.catch((err: unknown) => { for (const job of queue.splice(0)) job.reject(err) })
  }

  function pump (): void {
    if (inFlight !== undefined || worker === undefined) return
    const job = queue.shift()
    if (job === undefined) {
      if (closing) finish()
      return
    }
    const id = ++nextId
    const timer = setTimeout(() => replace(new EvaluationTimeoutError(deadlineMs)), deadlineMs)
    inFlight = { id, job, timer }
    // The JSON text as an ArrayBuffer (opa-wasm reads it as JSON text; any other
    // value it would JSON.stringify), transferred, not copied.
    const buffer = job.input.byteOffset === 0 && job.input.byteLength === job.input.buffer.byteLength
      ? job.input.buffer as ArrayBuffer
      : job.input.slice().buffer
    worker.postMessage({ id, input: buffer }, [buffer])
  }

  // Closing is graceful: decisions already asked (a request that took the policy
  // just before a reload replaced it) are answered, then the thread stops.
  let closing = false
  let finished: () => void = () => {}
  const done = new Promise<void>((resolve) => { finished = resolve })
  function finish (): void {
    closed = true
    const w = worker
    worker = undefined
    if (w === undefined) { finished(); return }
    w.terminate().then(() => finished(), () => finished())
  }

  worker = await spawn()
  ready = Promise.resolve(worker)
  return {
    get generation () { return generation },
    evaluate (input) {
      if (closed) return Promise.reject(new PolicyEvaluationError('the evaluator is closed'))
      return new Promise((resolve, reject) => {
        queue.push({ input, resolve, reject })
        pump()
      })
    },
    async close () {
      if (!closing) {
        closing = true
        if (inFlight === undefined && queue.length === 0) finish()
        else if (worker === undefined) ready?.then(() => pump(), () => finish())
      }
      await done
    }
  }
}
