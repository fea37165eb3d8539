// The reconciler: with no file-system events at all (the watcher could not
// start: the inotify watch limit), a change on disk is still picked up on the
// next interval. And fail closed: files that do not compile keep the last good
// policy, /health says `degraded` with the reason and the two digests differing,
// and from the moment the difference has been seen /health never says `ready`
// with the stale policy; an unreadable directory is `degraded` too.
import { execFile } from 'node:child_process'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import Fastify from 'fastify'
import t from 'tap'
import engine from '../../src/lifecycle/index.js'
import { digestPolicySources } from '../../src/lifecycle/sources.js'
import type { PolicyStatus } from '../../src/lifecycle/store.js'
import type { watchPolicyDir } from '../../src/lifecycle/watcher.js'
import { testConfig } from '../helpers/app.js'
import healthRoute from '../../src/routes/health.js'
import { buildAppWithStore, copyPolicies, waitFor } from '../engine/helpers.js'

const run = promisify(execFile)

// Compiles under load on a shared machine: more than tap's default 30 s per file.
t.setTimeout(120_000)
const API_DATA = join('erp', 'api', 'data.yaml')
interface Health { status: string, policy: PolicyStatus }

/** No watch can be started, as when the inotify watch limit is reached. */
const watchUnavailable: typeof watchPolicyDir = () => {
  throw Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), { code: 'ENOSPC' })
}

t.test('without file-system events, the reconciler alone picks up a change', async (t) => {
  const dir = await copyPolicies(t)
  const app = Fastify({ logger: false })
  await app.register(engine, { policy: testConfig({ policy: { dir, reconcileIntervalMs: 250 } }).policy, watchDir: watchUnavailable })
  await app.register(healthRoute)
  t.teardown(() => app.close())
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const health = async (): Promise<Health> => await (await fetch(`${base}/health`)).json() as Health

  const first = await health()
  const original = await digestPolicySources(dir)
  t.match(first, { status: 'ready', policy: { sources: { active: original.digest, onDisk: original.digest, agreedAt: /Z$/ } } })
  const revision = first.policy.revision

  const changedAt = Date.now()
  await run('sed', ['-i', 's/"ACME||SVC_PAYROLL": \\[PAYROLL_IMPORT\\]/"ACME||SVC_PAYROLL": []/', join(dir, API_DATA)])
  const changed = (await digestPolicySources(dir)).digest
  t.not(changed, original.digest, 'the change is a change of the sources')
  const after = await waitFor('the change active', async () => {
    const h = await health()
    return h.policy.sources?.active === changed ? h : undefined
  }, 10_000)
  t.ok(Date.now() - changedAt < 2000, `active ${Date.now() - changedAt} ms after the change (interval 250 ms)`)
  t.match(after, { status: 'ready', policy: { sources: { active: changed, onDisk: changed } } })
  t.not(after.policy.revision, revision, 'a new revision is active')
  t.equal(app.policy.current()?.revision, after.policy.revision, 'and decisions use it')
  t.notOk('error' in after.policy)
})

t.test('fail closed: a change that does not compile never leaves /health ready with the old policy', async (t) => {
  const dir = await copyPolicies(t)
  // The watcher on as in production, the reconciler fast.
  const app = await buildAppWithStore({ policy: { dir, reconcileIntervalMs: 200 } })
  t.teardown(() => app.close())
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const good = app.policy.status()
  const goodSources = (await digestPolicySources(dir)).digest

  // /health, asked without pause from before the change until the fix.
  const seen: Health[] = []
  const polling = { on: true }
  const poller = (async () => {
    while (polling.on) seen.push(await (await fetch(`${base}/health`)).json() as Health)
  })()

  const decision = join(dir, 'verdict', 'decision.rego')
  const text = await readFile(decision, 'utf8')
  await writeFile(decision + '.new', text + '\nbroken := {\n')
  await rename(decision + '.new', decision) // a rename-over save
  const broken = (await digestPolicySources(dir)).digest
  const degraded = await waitFor('/health degraded with the compile error', () =>
    seen.find((h) => h.status === 'degraded' && /rego_parse_error/.test(h.policy.error ?? '')), 10_000)
  t.match(degraded.policy, {
    state: 'degraded',
    revision: good.revision,
    digest: good.digest,
    error: new RegExp(`${decision.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+(:\\d+)?: rego_parse_error`),
    sources: { active: goodSources, onDisk: broken }
  }, 'the last good policy is active; the reason and both digests are shown')
  t.equal(app.policy.current()?.digest, good.digest, 'decisions use the last good policy')
  t.equal((await fetch(`${base}/ready`)).status, 200, 'degraded is still ready for traffic: the last good policy answers')

  // Several reconcile intervals later: still degraded, the compile not retried each time.
  let failures = 0
  app.policy.events.on('failed', () => failures++)
  await new Promise((resolve) => setTimeout(resolve, 800))
  t.equal(failures, 0, 'files that failed are not compiled again on every interval')
  t.match(app.policy.status(), { state: 'degraded', sources: { onDisk: broken } })

  // The fix: the files on disk compile; /health is ready once they are active.
  await writeFile(decision, text + '\n# fixed\n')
  const fixed = (await digestPolicySources(dir)).digest
  await waitFor('the fix active', () => app.policy.status().sources?.active === fixed, 10_000)
  polling.on = false
  await poller

  const firstMismatch = seen.findIndex((h) => h.policy.sources?.onDisk !== undefined && h.policy.sources.onDisk !== goodSources)
  t.ok(firstMismatch >= 0, 'the mismatch was seen')
  const staleReady = seen.slice(firstMismatch).filter((h) => h.status === 'ready' && h.policy.sources?.active !== fixed)
  t.same(staleReady, [], `after the mismatch was seen, never ready with a stale policy (${seen.length - firstMismatch} answers)`)
  t.ok(seen.slice(firstMismatch).every((h) => h.status === 'ready' || h.policy.sources?.onDisk !== h.policy.sources?.active),
    'every degraded answer shows the digests differing')
  t.match((await (await fetch(`${base}/health`)).json()), { status: 'ready', policy: { sources: { active: fixed, onDisk: fixed } } })
})

t.test('a directory that cannot be read is degraded, not ready', async (t) => {
  const dir = await copyPolicies(t)
  const app = await buildAppWithStore({ policy: { dir, reconcileIntervalMs: 150 } })
  t.teardown(() => app.close())
  const good = app.policy.status()
  await rename(dir, dir + '.away')
  const degraded = await waitFor('degraded', () => {
    const s = app.policy.status()
    return s.state === 'degraded' ? s : undefined
  }, 10_000)
  t.match(degraded, { revision: good.revision, error: /cannot read the policy directory: .*ENOENT/, sources: { active: good.sources?.active } })
  t.equal(app.policy.current()?.digest, good.digest, 'the last good policy still answers')

  await rename(dir + '.away', dir)
  await waitFor('ready again', () => app.policy.status().state === 'ready', 10_000)
  t.match(app.policy.status(), { revision: good.revision, sources: { active: good.sources?.active, onDisk: good.sources?.active } },
    'the same files: nothing to compile, the same policy')
})
