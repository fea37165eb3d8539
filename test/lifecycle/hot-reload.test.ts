// The development loop under load: Verdict serves a copy of the example policies
// on a loopback port while 20 clients ask for decisions without pause. A syntax
// error is written into a policy file: no request fails, every decision names the
// last good policy, and /health is degraded with the file and line. A data change
// made while the policy is broken is not served either. Then the fix: the new
// policy (with the data change) is picked up and decisions use it.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import type { PolicyActivatedEvent, PolicyFailedEvent } from '../../src/lifecycle/store.js'
import { startCallers } from '../helpers/callers.js'
import { buildAppWithStore as buildApp, copyPolicies, waitFor } from '../engine/helpers.js'
import { now, startLoad } from './load.js'

// Compiles under load on a shared machine: more than tap's default 30 s per file.
t.setTimeout(120_000)

t.test('a syntax error hot-reloaded under load: no request fails, the last good policy answers, the fix is picked up', async (t) => {
  const policies = await copyPolicies(t)
  const callers = await startCallers()
  t.teardown(() => callers.close())
  // A generous evaluation deadline: this run judges the reload under load, not
  // the deadline (tested on its own), which a starved machine can reach.
  const app = await buildApp({ authn: callers.authn, policy: { dir: policies, evaluationDeadlineMs: 5000 } })
  t.teardown(() => app.close())
  const base = await app.listen({ host: '127.0.0.1', port: 0 })

  const activated: PolicyActivatedEvent[] = []
  const failed: PolicyFailedEvent[] = []
  app.policy.events.on('activated', (e) => activated.push(e))
  app.policy.events.on('failed', (e) => failed.push(e))
  const first = app.policy.status()
  t.equal(first.state, 'ready')
  const goodDigest = first.digest as string

  // 20 clients, each asking again as soon as it has its answer.
  const load = startLoad(base, callers.header('payroll (basic)'), '/cmictest/hcm-rest-api/rest/1/pyemployee')
  const answers = load.answers
  await waitFor('decisions under the good policy', () => answers.length >= 40)

  // 1. A syntax error in a policy file.
  const decisionFile = join(policies, 'verdict', 'decision.rego')
  const good = await readFile(decisionFile, 'utf8')
  const brokenLine = good.split('\n').length + 1
  await writeFile(decisionFile, good + 'broken := {\n')
  const health = await waitFor('/health degraded', async () => {
    const h = (await app.inject({ method: 'GET', url: '/health' })).json()
    return h.status === 'degraded' && /rego_parse_error/.test(h.policy.error) ? h : undefined
  })
  t.equal(health.policy.digest, goodDigest, '/health names the last good policy as the active one')
  t.match(health.policy.error, new RegExp(`${decisionFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${brokenLine}(:\\d+)?: rego_parse_error`),
    'the error names the policy file and the line, as it is on disk')
  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200, 'degraded is still ready: decisions are answered')
  const duringBroken = answers.length
  await waitFor('decisions while broken', () => answers.length >= duringBroken + 40)

  // 2. A data change while the policy is broken: checked, still broken, not served.
  const apiData = join(policies, 'erp', 'api', 'data.yaml')
  const data = await readFile(apiData, 'utf8')
  t.match(data, /"ACME\|\|SVC_PAYROLL": \[PAYROLL_IMPORT\]/)
  const failuresBefore = failed.length
  await writeFile(apiData, data.replace(/"ACME\|\|SVC_PAYROLL": \[PAYROLL_IMPORT\]/, '"ACME||SVC_PAYROLL": []'))
  await waitFor('the data change to be checked', () => failed.length > failuresBefore)
  t.equal(app.policy.status().state, 'degraded')

  // 3. The fix: the policy file restored; the data change comes with it.
  const fixedAt = now()
  await writeFile(decisionFile, good)
  const fixed = await waitFor('the fixed policy', () => {
    const s = app.policy.status()
    return s.state === 'ready' && s.digest !== goodDigest ? s : undefined
  })
  const newDigest = fixed.digest as string
  await waitFor('decisions under the fixed policy', () => answers.filter((a) => a.digest === newDigest).length >= 40)
  await load.stop()

  t.same(answers.filter((a) => a.status !== 200), [], `no request failed (of ${answers.length})`)
  t.same(answers.filter((a) => a.digest !== goodDigest && a.digest !== newDigest), [], 'every decision names the good or the fixed policy')
  t.same(answers.filter((a) => a.startedAt < fixedAt && a.digest !== goodDigest), [],
    'until the fix, every decision was made by the last good policy')
  t.same(answers.filter((a) => a.digest === goodDigest && a.allow !== true), [], 'the good policy allows the payroll account')
  t.same(answers.filter((a) => a.digest === newDigest && a.allow !== false), [], 'the fixed policy (no role) denies it')
  const firstNew = Math.min(...answers.filter((a) => a.digest === newDigest).map((a) => a.endedAt))
  t.same(answers.filter((a) => a.startedAt > firstNew && a.digest !== newDigest), [], 'once the fix answers, the old policy never does again')

  t.ok(failed.length >= 1, 'the broken change was announced as failed')
  t.ok(failed.every((f) => f.source === 'dir' && /rego_parse_error/.test(f.error.message)))
  t.ok(activated.length >= 1, 'the fix was announced as activated')
  t.same(activated.filter((a) => a.digest !== newDigest), [], 'nothing else was activated')
  t.match(activated[0], { revision: newDigest.slice(7, 19), digest: newDigest, source: 'dir' })
  const after = (await app.inject({ method: 'GET', url: '/health' })).json()
  t.match(after, { status: 'ready', policy: { state: 'ready', digest: newDigest, source: 'dir' } })
  t.notOk('error' in after.policy, 'the error is gone once a good change is active')
})

t.test('editor temp files do not reload; the watcher stops when the app closes', async (t) => {
  const policies = await copyPolicies(t)
  const app = await buildApp({ policy: { dir: policies } })
  let loads = 0
  app.policy.events.on('activated', () => loads++)
  app.policy.events.on('failed', () => loads++)

  for (const name of ['.decision.rego.swp', 'decision.rego~', '#decision.rego#', '4913', 'decision.rego.tmp']) {
    await writeFile(join(policies, 'verdict', name), 'not rego {')
  }
  await new Promise((resolve) => setTimeout(resolve, 600))
  t.equal(loads, 0, 'editor temp and backup files are not policy changes')

  await writeFile(join(policies, 'verdict', 'decision.rego'), (await readFile(join(policies, 'verdict', 'decision.rego'), 'utf8')) + '\n# touched\n')
  await waitFor('a reload after a real change', () => loads === 1)

  await app.close()
  await writeFile(join(policies, 'verdict', 'decision.rego'), 'package verdict\nbroken := {\n')
  await new Promise((resolve) => setTimeout(resolve, 600))
  t.equal(loads, 1, 'no reload after close')
})

t.test('watch: false compiles once and does not follow changes', async (t) => {
  const policies = await copyPolicies(t)
  const app = await buildApp({ policy: { dir: policies, watch: false } })
  t.teardown(() => app.close())
  let loads = 0
  app.policy.events.on('failed', () => loads++)
  app.policy.events.on('activated', () => loads++)
  await writeFile(join(policies, 'verdict', 'decision.rego'), 'package verdict\nbroken := {\n')
  await new Promise((resolve) => setTimeout(resolve, 600))
  t.equal(loads, 0)
  t.equal(app.policy.status().state, 'ready')
})
