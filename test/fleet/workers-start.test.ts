// Two workers whose policy does not compile at start (issue 13 item 1, fail
// closed): the primary's first load fails, so no worker has a policy; every
// decision is refused with 503, /health answers 503 `failed` with the compile
// error from either worker. Once the file is fixed the primary compiles it and
// both workers serve it.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { copyPolicies, tempDir, waitFor } from '../engine/helpers.js'
import { REQUEST, startWorkers } from './workers.js'

t.setTimeout(150_000)

const policies = await copyPolicies(t)
const decisionFile = join(policies, 'verdict', 'decision.rego')
const good = await readFile(decisionFile, 'utf8')
await writeFile(decisionFile, good + 'broken := {\n')
const dir = await tempDir(t, 'verdict-workers-start-')
const workers = await startWorkers(dir, `{ dir: ${JSON.stringify(policies)} }`, (h) => h.status === 'failed' && h.fleet?.workers === 2)
t.teardown(() => workers.close())

t.test('no policy at start: every answer is a refusal, /health says why', async (t) => {
  const seen = new Set<string>()
  for (let i = 0; i < 10; i++) {
    const res = await fetch(`${workers.base}/v1/decide`, {
      method: 'POST',
      headers: { authorization: workers.authorization, 'content-type': 'application/json', connection: 'close' },
      body: JSON.stringify({ request: REQUEST })
    })
    t.equal(res.status, 503, 'refused')
    const body = await res.json() as { allow?: unknown }
    t.equal(body.allow, undefined, 'no decision in the body')
    seen.add(res.headers.get('x-verdict-worker') ?? '?')
  }
  t.equal(seen.size, 2, 'both workers refused')
  const res = await fetch(`${workers.base}/health`, { headers: { connection: 'close' } })
  t.equal(res.status, 503)
  const h = await res.json() as { status: string, policy: { error?: string }, fleet?: { agree: boolean, revision?: string } }
  t.equal(h.status, 'failed')
  t.match(h.policy.error, /rego_parse_error/, 'the compile error')
  t.equal(h.fleet?.agree, false, 'no revision to agree on')
  t.equal(h.fleet?.revision, undefined)
})

t.test('the fix is compiled once and served by both workers', async (t) => {
  await writeFile(decisionFile, good)
  const h = await waitFor('both workers serving', async () => {
    const h = await workers.health().catch(() => undefined)
    return h?.status === 'ready' && h.fleet?.agree === true ? h : undefined
  }, 60_000)
  t.same(h.fleet?.serving.map((s) => s.digest), [h.fleet?.digest, h.fleet?.digest], 'both serve the fixed policy')
  const res = await fetch(`${workers.base}/v1/decide`, {
    method: 'POST',
    headers: { authorization: workers.authorization, 'content-type': 'application/json' },
    body: JSON.stringify({ request: REQUEST })
  })
  t.equal(res.status, 200)
  t.equal((await res.json() as { allow: boolean }).allow, true)
})
