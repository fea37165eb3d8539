// One Verdict process with `server.workers: 2`, as `npm start` runs it, and
// clients that record which worker answered each decision (the
// `x-verdict-worker` header) and from which policy (the decision's digest and
// revision). Each client keeps its own connection, and the primary hands new
// connections to the workers in turn, so both workers answer. Used by
// workers.test.ts and workers-bundle.test.ts.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Agent } from 'undici'
import { secretFileName, writeDevSecrets } from '../../src/cli/dev-secrets.js'
import { waitFor } from '../engine/helpers.js'
import { freePort } from '../helpers/nginx.js'
import { SERVER_ENTRY, startProcess, type ServerProcess } from '../server-process.js'

export const ACCOUNT = 'ACME||SVC_PAYROLL'
/** A decision the example policies allow. */
export const REQUEST = { method: 'GET', path: '/cmictest/hcm-rest-api/rest/1/pyemployee' } as const

/** Milliseconds since the epoch, fractional: comparable with the workers' activation moments. */
export const now = (): number => performance.timeOrigin + performance.now()

export interface Serving { worker: number, pid?: number, revision?: string, digest?: string, since?: number }
export interface Health {
  status: string
  policy: { state: string, revision?: string, digest?: string, error?: string }
  fleet?: {
    configured: number
    workers: number
    serving: Serving[]
    revision?: string
    digest?: string
    agree: boolean
    switching: boolean
    lastSwitch?: { switch: number, revision: string, digest: string, outcome: string, startedAt: string, workers: number, prepareMs?: number, skewMs?: number, error?: string }
  }
  reason?: string
}

export interface Workers {
  base: string
  process: ServerProcess
  authorization: string
  /** /health from whichever worker answers (a new connection each time). */
  health: (timeoutMs?: number) => Promise<Health>
  close: () => Promise<void>
}

const bothServing = (h: Health): boolean => h.fleet?.workers === 2 && h.fleet.agree

/** Starts the process with `policy` (YAML flow mapping text) and waits until `until` (by default: both workers serve one revision). */
export async function startWorkers (dir: string, policy: string, until: (h: Health) => boolean = bothServing): Promise<Workers> {
  await writeDevSecrets(dir, [ACCOUNT])
  const secret = (await readFile(join(dir, 'credentials', secretFileName(ACCOUNT)), 'utf8')).trim()
  const configFile = join(dir, 'verdict.yaml')
  // A known port: logLevel warn hides "Server listening", and the workers are found through /health.
  const port = await freePort()
  await writeFile(configFile, [
    `server: { host: 127.0.0.1, port: ${port}, workers: 2, logLevel: warn }`,
    `policy: ${policy}`,
    `authn: { basic: { secretsFile: ${JSON.stringify(join(dir, 'secrets.yaml'))}, pepperFile: ${JSON.stringify(join(dir, 'pepper'))} } }`
  ].join('\n'))
  const proc = startProcess([SERVER_ENTRY], { VERDICT_CONFIG: configFile })
  const base = `http://127.0.0.1:${port}`
  const health = async (timeoutMs = 3000): Promise<Health> => {
    const res = await fetch(`${base}/health`, { headers: { connection: 'close' }, signal: AbortSignal.timeout(timeoutMs) })
    return await res.json() as Health
  }
  const close = async (): Promise<void> => {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGKILL')
      await proc.exited
    }
  }
  try {
    await waitFor('the workers to start', async () => {
      if (proc.child.exitCode !== null) throw new Error(`the server exited:\n${proc.output()}`)
      const h = await health().catch(() => undefined)
      return h !== undefined && until(h) ? h : undefined
    }, 90_000)
  } catch (err) {
    await close()
    throw new Error(`${(err as Error).message}\n${proc.output()}`)
  }
  return { base, process: proc, authorization: 'Basic ' + Buffer.from(`${ACCOUNT}:${secret}`).toString('base64'), health, close }
}

export interface Answer {
  client: number
  sentAt: number
  receivedAt: number
  httpStatus: number
  worker?: number
  allow?: boolean
  revision?: string
  digest?: string
  error?: string
}

export interface Load { answers: Answer[], stop: () => Promise<void> }

/** `clients` clients, each on its own keep-alive connection, asking again as soon as answered. */
export function startLoad (workers: Workers, clients: number): Load {
  const answers: Answer[] = []
  const state = { running: true }
  const agents = Array.from({ length: clients }, () => new Agent({ connections: 1 }))
  const body = JSON.stringify({ request: REQUEST })
  const client = async (i: number): Promise<void> => {
    const dispatcher = agents[i] as Agent
    while (state.running) {
      const sentAt = now()
      const a: Answer = { client: i, sentAt, receivedAt: sentAt, httpStatus: 0 }
      try {
        // undici's dispatcher option is accepted by Node's fetch; its types differ from lib.dom's RequestInit.
        const init = { method: 'POST', headers: { authorization: workers.authorization, 'content-type': 'application/json' }, body, dispatcher, signal: AbortSignal.timeout(10_000) } as RequestInit
        const res = await fetch(`${workers.base}/v1/decide`, init)
        const json = await res.json() as { allow?: boolean, status?: number, reasons?: unknown, policy?: { revision?: string, digest?: string } }
        if (json.allow !== true) a.error = JSON.stringify(res.status === 200 ? json.reasons : json)
        a.httpStatus = res.status
        const worker = res.headers.get('x-verdict-worker')
        if (worker !== null) a.worker = Number(worker)
        if (json.allow !== undefined) a.allow = json.allow
        if (json.policy?.revision !== undefined) a.revision = json.policy.revision
        if (json.policy?.digest !== undefined) a.digest = json.policy.digest
      } catch (err) {
        a.error = (err as Error).message
      }
      a.receivedAt = now()
      answers.push(a)
    }
  }
  const done = Promise.all(Array.from({ length: clients }, async (_, i) => { await client(i) }))
  return {
    answers,
    async stop () {
      state.running = false
      await done
      await Promise.all(agents.map(async (a) => { await a.close() }))
    }
  }
}

export interface Switchover {
  /** per worker: its first answer from the new policy (received), its last answer from the old one (received) */
  perWorker: Map<number, { firstNew?: number, lastOld?: number }>
  /** first to last worker's first new-policy answer, as the clients saw it */
  observedSkewMs?: number
  /** answers from the old policy to requests sent after that worker had answered from the new one */
  oldAfterNew: Answer[]
  failed: Answer[]
  /** answers from neither policy */
  strangers: Answer[]
}

/** Reads the answers around a switch from digest `from` to digest `to`. */
export function judgeSwitch (answers: Answer[], from: string, to: string): Switchover {
  const perWorker = new Map<number, { firstNew?: number, lastOld?: number }>()
  const failed = answers.filter((a) => a.httpStatus !== 200 || a.error !== undefined || a.allow !== true)
  const ok = answers.filter((a) => !failed.includes(a))
  for (const a of ok) {
    if (a.worker === undefined) continue
    const w = perWorker.get(a.worker) ?? {}
    if (a.digest === to) w.firstNew = Math.min(w.firstNew ?? Infinity, a.receivedAt)
    if (a.digest === from) w.lastOld = Math.max(w.lastOld ?? -Infinity, a.receivedAt)
    perWorker.set(a.worker, w)
  }
  const firsts = [...perWorker.values()].map((w) => w.firstNew)
  const observedSkewMs = firsts.length > 0 && firsts.every((f) => f !== undefined)
    ? Math.max(...firsts as number[]) - Math.min(...firsts as number[])
    : undefined
  // A request sent after its worker had answered from the new policy started
  // after that worker's switch: it must be answered from the new policy.
  const oldAfterNew = ok.filter((a) => a.digest === from && a.worker !== undefined && a.sentAt > (perWorker.get(a.worker)?.firstNew ?? Infinity))
  const strangers = ok.filter((a) => a.digest !== from && a.digest !== to)
  const result: Switchover = { perWorker, oldAfterNew, failed, strangers }
  if (observedSkewMs !== undefined) result.observedSkewMs = observedSkewMs
  return result
}
