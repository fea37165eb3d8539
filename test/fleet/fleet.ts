// A fleet as an operator runs it: three Verdict replicas (separate processes,
// one worker each) polling one signed bundle from an nginx that serves it as a
// static file (nginx's own ETag and If-None-Match handling), behind an nginx
// load balancer. Used by test/fleet/replicas.test.ts and scripts/fleet-demo.sh.
//
// The scenario: steady load through the balancer (a few clients, real HTTP,
// keep-alive); a new signed bundle published by an atomic rename; every
// decision's `policy.revision` and the replica that answered recorded; then one
// replica killed with SIGKILL under load. Nothing is asserted here: the test
// asserts, the demo prints.
import { createPrivateKey } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { secretFileName, writeDevSecrets } from '../../src/cli/dev-secrets.js'
import { buildBundle } from '../../src/toolchain/bundle-writer.js'
import { POLICY_DIR } from '../helpers/app.js'
import { freePort, startNginx, type RunningNginx } from '../helpers/nginx.js'
import { keyPair } from '../engine/helpers.js'
import { SERVER_ENTRY, startProcess, type ServerProcess } from '../server-process.js'

export const ACCOUNT = 'ACME||SVC_PAYROLL'
/** Polling of every replica, seconds: a random delay between min and max. */
export const POLL = { min: 0.2, max: 0.4 }

/** The requests the clients send: one the policy allows, one it denies. */
export const REQUESTS = [
  { method: 'GET', path: '/cmictest/hcm-rest-api/rest/1/pyemployee' },
  { method: 'DELETE', path: '/cmictest/jc-rest-api/rest/1/jcjob/23-410' }
] as const

/**
 * The balancer's configuration (the body of `http {}`), as docs/OPERATIONS.md
 * "Fleet" shows it. A decision is a read, so retrying it on another replica is
 * safe: `non_idempotent` lets nginx retry a POST /v1/decide whose replica died
 * after the request was sent (without it such a request fails with 502).
 */
export function balancerConfig (replicaPorts: number[], listen: number): string {
  return [
    '  upstream verdict {',
    ...replicaPorts.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=5s;`),
    '    keepalive 16;',
    '  }',
    '  server {',
    `    listen 127.0.0.1:${listen};`,
    '    location / {',
    '      proxy_pass http://verdict;',
    '      proxy_http_version 1.1;',
    '      proxy_set_header Connection "";',
    '      proxy_connect_timeout 1s;',
    '      proxy_read_timeout 5s;',
    '      proxy_next_upstream error timeout http_502 http_503 non_idempotent;',
    '      proxy_next_upstream_tries 3;',
    '      add_header X-Upstream $upstream_addr always;',
    '    }',
    '  }'
  ].join('\n')
}

/** The bundle server: a static file; nginx sends ETag and answers If-None-Match with 304. */
export function bundleServerConfig (root: string, listen: number): string {
  return [
    '  server {',
    `    listen 127.0.0.1:${listen};`,
    `    root ${root};`,
    '    location /bundles/ { etag on; }',
    '  }'
  ].join('\n')
}

export interface Decision {
  /** ms since the fleet started */
  at: number
  client: number
  request: number
  httpStatus?: number
  allow?: boolean
  status?: number
  revision?: string
  upstream?: string
  error?: string
}

export interface Replica { port: number, process: ServerProcess }

export interface Fleet {
  dir: string
  replicas: Replica[]
  balancer: number
  bundleUrl: string
  startedAt: number
  now: () => number
  /** Builds, signs and atomically publishes a bundle of `revision`; resolves with the time it became visible. */
  publish: (revision: string) => Promise<number>
  /** The active revision of each replica, asked directly (undefined for one that does not answer). */
  revisions: () => Promise<Array<string | undefined>>
  /** Sends decisions through the balancer from `clients` concurrent clients until `stop()` resolves. */
  load: (clients: number) => { decisions: Decision[], stop: () => Promise<void> }
  /** The expected answer for each of REQUESTS, asked of replica 0 directly. */
  expected: () => Promise<Array<{ allow: boolean, status: number }>>
  close: () => Promise<void>
}

export async function startFleet (dir: string, log: (line: string) => void = () => {}): Promise<Fleet> {
  const startedAt = Date.now()
  const now = (): number => Date.now() - startedAt
  const closers: Array<() => Promise<void> | void> = []
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c()
  }
  try {
    await writeDevSecrets(dir, [ACCOUNT])
    const secret = (await readFile(join(dir, 'credentials', secretFileName(ACCOUNT)), 'utf8')).trim()
    const authorization = 'Basic ' + Buffer.from(`${ACCOUNT}:${secret}`).toString('base64')
    const keys = await keyPair(dir, 'ec', 'release')
    const signingKey = createPrivateKey(await readFile(keys.privateFile))

    const root = join(dir, 'www')
    const bundleFile = join(root, 'bundles', 'verdict.tar.gz')
    await mkdir(join(root, 'bundles'), { recursive: true })
    const publish = async (revision: string): Promise<number> => {
      const built = await buildBundle({ dir: POLICY_DIR, entrypoint: 'verdict/decision', revision, signing: { key: signingKey, alg: 'ES256', keyId: 'release' } })
      // Written beside, then renamed: nginx never serves half a file.
      const temp = `${bundleFile}.${revision}.tmp`
      await writeFile(temp, built.archive)
      await rename(temp, bundleFile)
      const at = now()
      log(`published ${revision} at ${at} ms`)
      return at
    }
    await publish('r0')

    const bundlePort = await freePort()
    const bundleNginx: RunningNginx = await startNginx(bundleServerConfig(root, bundlePort), [bundlePort])
    closers.push(() => bundleNginx.close())
    const bundleUrl = `http://127.0.0.1:${bundlePort}/bundles/verdict.tar.gz`

    const replicaPorts = [await freePort(), await freePort(), await freePort()]
    const replicas: Replica[] = []
    for (const [i, port] of replicaPorts.entries()) {
      const configFile = join(dir, `replica-${i}.yaml`)
      await writeFile(configFile, [
        `server: { host: 127.0.0.1, port: ${port}, workers: 1, logLevel: warn }`,
        `policy: { bundleUrl: ${JSON.stringify(bundleUrl)}, verificationKey: ${JSON.stringify(keys.publicFile)},`,
        // A generous evaluation deadline: the rollout is judged by "no request
        // failed", and a starved machine can reach the default 100 ms (tested apart).
        `          polling: { minDelaySeconds: ${POLL.min}, maxDelaySeconds: ${POLL.max} }, evaluationDeadlineMs: 5000 }`,
        `authn: { basic: { secretsFile: ${JSON.stringify(join(dir, 'secrets.yaml'))}, pepperFile: ${JSON.stringify(join(dir, 'pepper'))} } }`
      ].join('\n'))
      const process = startProcess([SERVER_ENTRY], { VERDICT_CONFIG: configFile })
      closers.push(async () => {
        if (process.child.exitCode === null && process.child.signalCode === null) {
          process.child.kill('SIGKILL')
          await process.exited
        }
      })
      replicas.push({ port, process })
    }

    const revisionOf = async (port: number): Promise<string | undefined> => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) })
        const body = await res.json() as { policy?: { revision?: string } }
        return body.policy?.revision
      } catch {
        return undefined
      }
    }
    const revisions = async (): Promise<Array<string | undefined>> => await Promise.all(replicas.map(async (r) => await revisionOf(r.port)))
    // Replicas start one after another on 2 cores: allow a minute.
    const deadline = Date.now() + 90_000
    for (;;) {
      const seen = await revisions()
      if (seen.every((r) => r === 'r0')) break
      const dead = replicas.find((r) => r.process.child.exitCode !== null)
      if (dead !== undefined) throw new Error(`replica on ${dead.port} exited:\n${dead.process.output()}`)
      if (Date.now() > deadline) throw new Error(`replicas not ready within 90 s (${seen.join(', ')}):\n${replicas.map((r) => r.process.output()).join('\n')}`)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    log(`replicas ready on ${replicaPorts.join(', ')} at ${now()} ms`)

    const balancer = await freePort()
    const balancerNginx = await startNginx(balancerConfig(replicaPorts, balancer), [balancer])
    closers.push(() => balancerNginx.close())

    const decide = async (base: string, client: number, request: number): Promise<Decision> => {
      const d: Decision = { at: now(), client, request }
      try {
        const res = await fetch(`${base}/v1/decide`, {
          method: 'POST',
          headers: { authorization, 'content-type': 'application/json' },
          body: JSON.stringify({ request: REQUESTS[request] }),
          signal: AbortSignal.timeout(10_000)
        })
        d.httpStatus = res.status
        d.upstream = res.headers.get('x-upstream') ?? undefined
        const text = await res.text()
        if (res.status === 200) {
          const body = JSON.parse(text) as { allow: boolean, status: number, policy?: { revision?: string } }
          d.allow = body.allow
          d.status = body.status
          d.revision = body.policy?.revision
        } else {
          d.error = `HTTP ${res.status}: ${text.slice(0, 200)}`
        }
      } catch (err) {
        d.error = (err as Error).message
      }
      return d
    }

    const load = (clients: number): { decisions: Decision[], stop: () => Promise<void> } => {
      const decisions: Decision[] = []
      const state = { running: true }
      const loops = Array.from({ length: clients }, async (_, client) => {
        let n = 0
        while (state.running) {
          decisions.push(await decide(`http://127.0.0.1:${balancer}`, client, n++ % REQUESTS.length))
        }
      })
      return {
        decisions,
        stop: async () => { state.running = false; await Promise.all(loops) }
      }
    }

    const expected = async (): Promise<Array<{ allow: boolean, status: number }>> => {
      const base = `http://127.0.0.1:${replicaPorts[0] ?? 0}`
      const answers: Array<{ allow: boolean, status: number }> = []
      for (const i of REQUESTS.keys()) {
        const d = await decide(base, -1, i)
        if (d.allow === undefined || d.status === undefined) throw new Error(`replica 0 gave no decision: ${d.error ?? ''}`)
        answers.push({ allow: d.allow, status: d.status })
      }
      return answers
    }

    return { dir, replicas, balancer, bundleUrl, startedAt, now, publish, revisions, load, expected, close }
  } catch (err) {
    await close()
    throw err
  }
}

/** Waits until `check` holds, polling every `everyMs`; resolves with the time it first held, or undefined at the deadline. */
export async function until (check: () => Promise<boolean>, timeoutMs: number, now: () => number, everyMs = 20): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return now()
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
  return undefined
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

export interface ScenarioResult {
  expected: Array<{ allow: boolean, status: number }>
  rollout: {
    /** ms from the publication of r2 until each replica's /health said r2 */
    perReplica: Array<number | undefined>
    /** the largest of perReplica */
    ms: number | undefined
    /** ms from the publication until the last decision through the balancer that still carried r1 */
    lastOldDecisionMs: number | undefined
    /** per replica (by address), ms from the publication to its first decision through the balancer that carried r2 */
    firstNewDecisionMs: Record<string, number>
    decisions: Decision[]
    publishedAt: number
  }
  kill: { decisions: Decision[], killedAt: number, killedPort: number, exitSignal: string | null }
}

/** r0 → r1 (settled), then r2 under load, then SIGKILL of the last replica under load. */
export async function runScenario (fleet: Fleet, clients = 4, log: (line: string) => void = () => {}): Promise<ScenarioResult> {
  // nginx's ETag is the file's mtime (seconds) and size: keep publications more
  // than a second apart, as any real release process does.
  await sleep(1100)
  await fleet.publish('r1')
  const settled = await until(async () => (await fleet.revisions()).every((r) => r === 'r1'), 15_000, fleet.now)
  if (settled === undefined) throw new Error(`replicas did not all reach r1: ${(await fleet.revisions()).join(', ')}`)
  const expected = await fleet.expected()

  const rolloutLoad = fleet.load(clients)
  await sleep(1100)
  const publishedAt = await fleet.publish('r2')
  const perReplica: Array<number | undefined> = fleet.replicas.map(() => undefined)
  await until(async () => {
    const seen = await fleet.revisions()
    const t = fleet.now()
    seen.forEach((r, i) => { if (r === 'r2' && perReplica[i] === undefined) perReplica[i] = t - publishedAt })
    return perReplica.every((p) => p !== undefined)
  }, 10_000, fleet.now)
  await sleep(1000)
  await rolloutLoad.stop()
  const oldOnes = rolloutLoad.decisions.filter((d) => d.revision === 'r1' && d.at >= publishedAt)
  const ms = perReplica.every((p) => p !== undefined) ? Math.max(...perReplica as number[]) : undefined
  log(`rollout: ${rolloutLoad.decisions.length} decisions, replicas on r2 after ${perReplica.join(', ')} ms`)

  const killLoad = fleet.load(clients)
  await sleep(500)
  const victim = fleet.replicas[fleet.replicas.length - 1] as Replica
  const killedAt = fleet.now()
  victim.process.child.kill('SIGKILL')
  await victim.process.exited
  await sleep(2500)
  await killLoad.stop()
  log(`kill: ${killLoad.decisions.length} decisions, replica on ${victim.port} killed at ${killedAt} ms`)

  return {
    expected,
    rollout: {
      perReplica,
      ms,
      lastOldDecisionMs: oldOnes.length === 0 ? undefined : Math.max(...oldOnes.map((d) => d.at)) - publishedAt,
      firstNewDecisionMs: firstNew(rolloutLoad.decisions, publishedAt),
      decisions: rolloutLoad.decisions,
      publishedAt
    },
    kill: { decisions: killLoad.decisions, killedAt, killedPort: victim.port, exitSignal: victim.process.child.signalCode }
  }
}

/** Decisions that failed (no decision reached the client) and those whose answer differs from the expected one. */
export function judge (decisions: Decision[], expected: Array<{ allow: boolean, status: number }>): { failed: Decision[], wrong: Decision[] } {
  const failed = decisions.filter((d) => d.error !== undefined || d.allow === undefined)
  const wrong = decisions.filter((d) => d.allow !== undefined &&
    (d.allow !== expected[d.request]?.allow || d.status !== expected[d.request]?.status))
  return { failed, wrong }
}

function firstNew (decisions: Decision[], publishedAt: number): Record<string, number> {
  const first: Record<string, number> = {}
  for (const d of decisions) {
    if (d.revision !== 'r2' || d.upstream === undefined) continue
    const ms = d.at - publishedAt
    if (first[d.upstream] === undefined || ms < (first[d.upstream] as number)) first[d.upstream] = ms
  }
  return first
}
