// The compiler's data thread, main side. Reading the data of a large policy
// (9.9 MB of YAML, 100k jobs: js-yaml about 1 s, the data check about 0.7 s)
// is synchronous work; on the main thread it paused every answer for as long
// while the policy reloaded. The same functions (stage-data.ts,
// policy-data-check.ts) run in one worker thread instead, for the server and
// the CLI alike, and only small results come back: nothing, or the problems.
//
// One thread per process, started on first use and kept (unreferenced while
// idle, so it never keeps a process alive). A thread that dies rejects what it
// was asked, which fails that compile: the last good policy keeps serving.
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { PolicyCompileError } from '../errors.js'
import type { PolicyProblem } from './compiler.js'

export type DataRequest =
  | { id: number, op: 'stage', from: string, to: string, shownAs: string }
  | { id: number, op: 'checkBundleData', dir: string, dataJson: Uint8Array }
export interface DataReply { id: number, value?: unknown, error?: { message: string, code?: string } }
type Ask = DataRequest extends infer R ? R extends DataRequest ? Omit<R, 'id'> : never : never

// Built, this module is off-thread.js and its thread data-thread.js; under the
// tests' TypeScript loader (which the thread inherits) both are .ts.
const THREAD_MODULE = new URL(`./data-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url)
const COMPILE_FAILED = new PolicyCompileError('').code

interface Waiting { resolve: (value: unknown) => void, reject: (err: Error) => void }
/** The thread and what it was asked, by request id (a stopped thread rejects only its own). */
interface Thread { worker: Worker, pending: Map<number, Waiting> }

let thread: Thread | undefined
let nextId = 0

function start (): Thread {
  const worker = new Worker(THREAD_MODULE)
  const self: Thread = { worker, pending: new Map() }
  worker.unref()
  worker.on('message', (reply: DataReply) => {
    const waiting = self.pending.get(reply.id)
    if (!waiting) return
    self.pending.delete(reply.id)
    if (self.pending.size === 0) worker.unref()
    if (reply.error) waiting.reject(asError(reply.error))
    else waiting.resolve(reply.value)
  })
  const stopped = (err: Error): void => {
    if (thread === self) thread = undefined
    for (const waiting of self.pending.values()) waiting.reject(err)
    self.pending.clear()
  }
  worker.on('error', stopped)
  worker.on('exit', (code) => stopped(new Error(`the compiler's data thread stopped (exit code ${code})`)))
  return self
}

/** The error the thread caught, as the same kind with the same message (so problems read as before). */
function asError (e: { message: string, code?: string }): Error {
  const err: Error & { code?: string } = e.code === COMPILE_FAILED ? new PolicyCompileError('') : new Error()
  err.message = e.message
  if (e.code !== undefined) err.code = e.code
  return err
}

function ask<T> (request: Ask, transfer: ArrayBuffer[] = []): Promise<T> {
  thread ??= start()
  const { worker, pending } = thread
  const id = nextId++
  return new Promise<T>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
    worker.ref() // a CLI waiting only on this answer must not exit meanwhile
    worker.postMessage({ ...request, id }, transfer)
  })
}

export const offThread = {
  /** Stops the thread (what it was asked is rejected); the next request starts a fresh one. */
  close: async (): Promise<void> => {
    const stopping = thread
    thread = undefined
    if (stopping) await stopping.worker.terminate()
  },
  /** stage-data.ts stageJsonData, in the data thread. */
  stageJsonData: (from: string, to: string, shownAs: string): Promise<void> => ask({ op: 'stage', from, to, shownAs }),
  /** policy-data-check.ts checkBundleData, in the data thread (it gets a copy of the data). */
  checkBundleData: (dir: string, dataJson: Buffer): Promise<PolicyProblem[]> => {
    // set() is one memcpy; `new Uint8Array(buffer)` copied 14 MB in 110 ms.
    const copy = new Uint8Array(dataJson.byteLength)
    copy.set(dataJson)
    return ask({ op: 'checkBundleData', dir, dataJson: copy }, [copy.buffer])
  }
}
