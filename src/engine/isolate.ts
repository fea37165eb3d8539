// Evaluation with a deadline. WASM evaluation is synchronous: one decision that
// runs long (an account whose groups hold 50,000 jobs) would stall every other
// request of the process. Here the policy runs in a worker thread; a decision
// still running at the deadline (default 100 ms) is answered EVALUATION_TIMEOUT
// (503, never an allow) and the thread is terminated and replaced by a fresh one
// loaded with the same bundle.
//
// Several decisions are in the thread's queue at once (so it never waits for
// this thread between two of them), but the deadline clock runs for one at a
// time: the oldest unanswered decision's, started when the one before it was
// answered (so it measures that decision alone, at most the message's latency
// late, never early). The decisions sent behind a timed-out one are unanswered
// and go to the replacement, in order. The answers come on a port of their own,
// read once more when a deadline passes: an answer that arrived while this
// thread was busy elsewhere (a stall here) is taken, not refused as late.
import { createRequire } from 'node:module'
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads'
import { EvaluationTimeoutError, PolicyBundleError, PolicyEvaluationError } from '../errors.js'
import { evaluatorThread, type EvaluatorBoot, type EvaluatorReady } from './evaluator-worker.js'
import { knownEndpoints } from './input.js'

export const DEFAULT_EVALUATION_DEADLINE_MS = 100

export interface IsolatedEvaluator {
  /** The result set of `entrypoint` for `input`, both JSON text; rejects with EVALUATION_TIMEOUT past the deadline. */
  evaluate: (input: Uint8Array) => Promise<ArrayBuffer>
  /** The endpoints the data names (src/engine/input.ts knownEndpoints), listed by the thread at boot. */
  readonly endpoints: ReadonlySet<string> | undefined
  /** Threads started so far (1 + replacements): for tests and metrics. */
  readonly generation: number
  close: () => Promise<void>
}

interface Job { input: Uint8Array, resolve: (v: ArrayBuffer) => void, reject: (e: unknown) => void, id?: number }
type Boot = EvaluatorReady | { ready: false, error: string }
interface Reply { id: number, result?: ArrayBuffer, error?: string }

/** Decisions sent to the thread ahead of its answers: enough to keep it busy, few to resend after a timeout. */
const IN_FLIGHT = 16

// The thread's script: evaluatorThread's own text, run without the process's
// loaders (see evaluator-worker.ts); opa-wasm's CommonJS entry by absolute path.
const THREAD_SCRIPT = `(${evaluatorThread.toString()})(${knownEndpoints.toString()})`
const OPA_WASM = createRequire(import.meta.url).resolve('@open-policy-agent/opa-wasm')

export async function startIsolatedEvaluator (wasm: Uint8Array, data: Uint8Array, entrypoint: string, deadlineMs = DEFAULT_EVALUATION_DEADLINE_MS): Promise<IsolatedEvaluator> {
  const queue: Job[] = []
  let worker: Worker | undefined
  let ready: Promise<Worker> | undefined
  // Sent to the current thread and not answered yet, oldest first; `timer` is the oldest's deadline.
  const sent: Job[] = []
  let timer: NodeJS.Timeout | undefined
  // Each thread's answer port; `replies` is the current thread's.
  const answers = new WeakMap<Worker, MessagePort>()
  let replies: MessagePort | undefined
  function use (w: Worker | undefined): void {
    worker = w
    replies = w === undefined ? undefined : answers.get(w)
  }
  let nextId = 0
  let generation = 0
  let closed = false

  let endpoints: ReadonlySet<string> | undefined

  function spawn (): Promise<Worker> {
    generation++
    const channel = new MessageChannel()
    const boot: EvaluatorBoot = { wasm, data, entrypoint, opaWasm: OPA_WASM, endpoints: generation === 1, replies: channel.port2 }
    const w = new Worker(THREAD_SCRIPT, { eval: true, execArgv: [], workerData: boot, transferList: [channel.port2] })
    w.unref()
    return new Promise<Worker>((resolve, reject) => {
      const onBoot = (m: Boot): void => {
        w.off('error', onError)
        if (m.ready) {
          if (m.endpoints !== undefined) endpoints = m.endpoints === null ? undefined : new Set(m.endpoints)
          answers.set(w, channel.port1)
          channel.port1.on('message', (reply: Reply) => { if (worker === w) onReply(reply) })
          channel.port1.unref()
          w.once('exit', () => channel.port1.close())
          w.on('error', (err) => { if (worker === w) replace(new PolicyEvaluationError(err.message)) })
          resolve(w)
        } else {
          channel.port1.close()
          w.terminate().catch(() => {})
          reject(new PolicyBundleError(m.error))
        }
      }
      const onError = (err: Error): void => { reject(new PolicyBundleError(`policy.wasm does not load: ${err.message}`)) }
      w.once('message', onBoot)
      w.once('error', onError)
    })
  }

  // The thread answers in the order it was asked: the answer is the oldest's.
  function onReply (m: Reply): void {
    const job = sent[0]
    if (job === undefined || m.id !== job.id) return
    sent.shift()
    arm()
    if (m.result instanceof ArrayBuffer) job.resolve(m.result)
    else job.reject(new PolicyEvaluationError(m.error ?? 'the evaluator answered without a result'))
    pump()
  }

  // The deadline of the oldest unanswered decision, which the thread is running now.
  function arm (): void {
    clearTimeout(timer)
    timer = sent.length === 0 ? undefined : setTimeout(expire, deadlineMs)
  }

  function expire (): void {
    const running = sent[0]
    for (let m = replies && receiveMessageOnPort(replies); m !== undefined && running === sent[0]; m = replies && receiveMessageOnPort(replies)) {
      onReply(m.message as Reply)
    }
    if (running !== undefined && running === sent[0]) replace(new EvaluationTimeoutError(deadlineMs))
  }

  // The running decision is refused, the thread goes, a fresh one takes the
  // queue, starting with the decisions sent behind the refused one.
  function replace (error: unknown): void {
    const failed = sent.shift()
    queue.unshift(...sent.splice(0))
    arm()
    failed?.reject(error)
    const old = worker
    use(undefined)
    old?.terminate().catch(() => {})
    if (closed) return
    ready = spawn().then((w) => { use(w); pump(); return w })
    ready.catch((err: unknown) => { for (const job of queue.splice(0)) job.reject(err) })
  }

  // The queued decisions go in one message (each message wakes the thread).
  function pump (): void {
    if (worker === undefined) return
    const batch: Array<{ id: number, input: Uint8Array }> = []
    while (sent.length < IN_FLIGHT) {
      const job = queue.shift()
      if (job === undefined) break
      job.id = ++nextId
      sent.push(job)
      if (sent.length === 1) arm()
      batch.push({ id: job.id, input: job.input })
    }
    // Copied, not transferred: a decision sent behind a timed-out one is sent again.
    if (batch.length > 0) worker.postMessage(batch)
    if (closing && sent.length === 0 && queue.length === 0) finish()
  }

  // While the thread is busy, decisions asked meanwhile wait for the end of
  // this turn of the event loop and go together; an idle thread gets one at once.
  let pumpSoon = false
  function schedule (): void {
    if (sent.length === 0) { pump(); return }
    if (pumpSoon) return
    pumpSoon = true
    setImmediate(() => { pumpSoon = false; pump() })
  }

  // Closing is graceful: decisions already asked (a request that took the policy
  // just before a reload replaced it) are answered, then the thread stops.
  let closing = false
  let finished: () => void = () => {}
  const done = new Promise<void>((resolve) => { finished = resolve })
  function finish (): void {
    closed = true
    const w = worker
    use(undefined)
    if (w === undefined) { finished(); return }
    w.terminate().then(() => finished(), () => finished())
  }

  const first = await spawn()
  use(first)
  ready = Promise.resolve(first)
  return {
    get generation () { return generation },
    endpoints,
    evaluate (input) {
      if (closed) return Promise.reject(new PolicyEvaluationError('the evaluator is closed'))
      return new Promise((resolve, reject) => {
        queue.push({ input, resolve, reject })
        schedule()
      })
    },
    async close () {
      if (!closing) {
        closing = true
        if (sent.length === 0 && queue.length === 0) finish()
        else if (worker === undefined) ready?.then(() => pump(), () => finish())
      }
      await done
    }
  }
}
