// Three Verdict replicas (separate processes, one worker each, policy from a
// signed bundle URL polled every 0.2-0.4 s) behind a real nginx load balancer,
// the bundle served by another real nginx with its own ETags. Under steady load
// a new signed bundle is published: every replica serves it within one poll
// interval plus activation time, no request fails, no decision comes from a
// revision older than the one before the change. Then a replica is killed with
// SIGKILL under load: nginx retries on the others, no wrong answer, no failure.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { tempDir } from '../engine/helpers.js'
import { balancerConfig, judge, POLL, REQUESTS, runScenario, startFleet } from './fleet.js'

t.setTimeout(150_000)

// Polling waits up to POLL.max; then the download, signature check and WASM
// load of the new bundle, on a 2-core machine shared with the other replicas.
const ACTIVATION_ALLOWANCE_MS = 1500

const dir = await tempDir(t, 'verdict-fleet-')
const fleet = await startFleet(dir)
t.teardown(() => fleet.close())
const result = await runScenario(fleet)
const replicaAddresses = fleet.replicas.map((r) => `127.0.0.1:${r.port}`)

t.test('the requests under load have known, different answers', async (t) => {
  t.equal(REQUESTS.length, 2)
  t.match(result.expected, [{ allow: true, status: 200 }, { allow: false, status: 403 }])
})

t.test('rollout of a new signed bundle under load', async (t) => {
  const { decisions, publishedAt, perReplica, ms } = result.rollout
  const { failed, wrong } = judge(decisions, result.expected)
  t.ok(decisions.length > 50, `steady load (${decisions.length} decisions)`)
  t.equal(failed.length, 0, `no request failed ${JSON.stringify(failed.slice(0, 3))}`)
  t.equal(wrong.length, 0, `no wrong answer ${JSON.stringify(wrong.slice(0, 3))}`)
  t.same(new Set(decisions.map((d) => d.upstream)), new Set(replicaAddresses), 'every replica answered through the balancer')
  t.same(decisions.filter((d) => d.revision !== 'r1' && d.revision !== 'r2'), [], 'no decision from a revision older than r1')
  t.same(decisions.filter((d) => d.at < publishedAt && d.revision !== 'r1'), [], 'before the publication: r1 only')
  t.ok(perReplica.every((p) => p !== undefined), `every replica reached r2 (${perReplica.join(', ')} ms)`)
  t.ok(ms !== undefined && ms <= POLL.max * 1000 + ACTIVATION_ALLOWANCE_MS,
    `rollout across replicas in ${ms ?? '?'} ms (poll ≤ ${POLL.max * 1000} ms + ${ACTIVATION_ALLOWANCE_MS} ms activation)`)
  const allNew = publishedAt + (ms ?? Infinity)
  t.same(decisions.filter((d) => d.at > allNew && d.revision !== 'r2'), [], 'once every replica said r2, every decision is r2')
  t.ok(decisions.some((d) => d.at > allNew), 'decisions after the rollout were observed')
  t.comment(`rollout: ${ms ?? '?'} ms (per replica ${perReplica.join(', ')} ms); last r1 decision ${result.rollout.lastOldDecisionMs ?? 'none'} ms after publication; ${decisions.length} decisions, ${failed.length} failed`)
})

t.test('one replica killed with SIGKILL under load', async (t) => {
  const { decisions, killedAt, killedPort, exitSignal } = result.kill
  const { failed, wrong } = judge(decisions, result.expected)
  t.equal(exitSignal, 'SIGKILL')
  t.ok(decisions.length > 50, `steady load (${decisions.length} decisions)`)
  t.equal(failed.length, 0, `no client-visible failure: nginx retried on the others ${JSON.stringify(failed.slice(0, 3))}`)
  t.equal(wrong.length, 0, 'no wrong answer')
  t.same(decisions.filter((d) => d.revision !== 'r2'), [], 'every decision from r2')
  const after = decisions.filter((d) => d.at > killedAt + 100)
  t.ok(after.length > 20, `decisions kept coming after the kill (${after.length})`)
  t.same(after.filter((d) => d.upstream === `127.0.0.1:${killedPort}`), [], 'none answered by the killed replica')
  t.comment(`kill: ${decisions.length} decisions, ${failed.length} failed, ${after.length} after the kill`)
})

t.test('docs/OPERATIONS.md "Fleet" shows the balancer configuration this test runs', async (t) => {
  const doc = await readFile(new URL('../../docs/OPERATIONS.md', import.meta.url), 'utf8')
  const block = /## Fleet[\s\S]*?```nginx\n([\s\S]*?)```/.exec(doc)?.[1]
  t.equal(block, balancerConfig([8181, 8182, 8183], 8080).replace(/^ {2}/gm, '') + '\n')
})
