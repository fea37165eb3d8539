// Decision load for the reload tests: clients on real HTTP, each asking again as
// soon as it has its answer, recording what every answer said and when. The
// clients run in a worker thread, as they would in another process: the
// server's event loop carries the server's work only.
import { Worker } from 'node:worker_threads'

export interface Answer {
  /** Times are `now()`: milliseconds since the epoch, fractional. */
  startedAt: number
  endedAt: number
  status: number
  allow?: boolean
  digest?: string
  error?: string
}

export interface Load {
  answers: Answer[]
  /** Stops asking and resolves once every client has its last answer in `answers`. */
  stop (): Promise<void>
}

/** The clock of the answers, the same in every thread. */
export const now = (): number => performance.timeOrigin + performance.now()

// Plain JavaScript: the worker does not go through the TypeScript loader.
const CLIENTS = `
const { parentPort, workerData } = require('node:worker_threads')
const { base, authorization, path, clients } = workerData
const now = () => performance.timeOrigin + performance.now()
const body = JSON.stringify({ request: { method: 'GET', path } })
let running = true
parentPort.on('message', (m) => { if (m === 'stop') running = false })
const client = async () => {
  while (running) {
    const startedAt = now()
    try {
      const res = await fetch(base + '/v1/decide', { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body })
      const json = await res.json()
      parentPort.postMessage({ startedAt, endedAt: now(), status: res.status, allow: json.allow, digest: json.policy && json.policy.digest })
    } catch (err) {
      parentPort.postMessage({ startedAt, endedAt: now(), status: 0, error: err.message })
    }
  }
}
Promise.all(Array.from({ length: clients }, client)).then(() => parentPort.postMessage('done'))
`

export function startLoad (base: string, authorization: string, path: string, clients = 20): Load {
  const answers: Answer[] = []
  const worker = new Worker(CLIENTS, { eval: true, workerData: { base, authorization, path, clients } })
  const done = new Promise<void>((resolve, reject) => {
    worker.on('message', (m: Answer | 'done') => {
      if (m === 'done') resolve()
      else answers.push(m)
    })
    worker.once('error', reject)
    worker.once('exit', () => resolve())
  })
  return {
    answers,
    async stop () {
      worker.postMessage('stop')
      await done
      await worker.terminate()
    }
  }
}
