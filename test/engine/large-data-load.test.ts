// Loading a policy with large data never pauses answering: the new policy's
// thread loads the WASM and the data (and lists the endpoints) while this thread
// keeps answering /health and decisions with the old policy, over real HTTP.
// The data is generated here: the example policies' data plus ~25 MB of jobs.
import { writeFile } from 'node:fs/promises'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { join } from 'node:path'
import t from 'tap'
import { buildBundle } from '../../src/toolchain/bundle-writer.js'
import { build, POLICY_DIR } from '../helpers/build.js'
import { startCallers } from '../helpers/callers.js'
import { repack, tempDir, waitFor } from './helpers.js'

// The longest pause between two answers the test accepts (the aim is under ~100 ms;
// the bound is generous for a machine shared with other work).
const MAX_GAP_MS = 400
const BULK_JOBS = 250_000

function withBulkJobs (dataJson: Buffer): Buffer {
  const data = JSON.parse(dataJson.toString('utf8')) as { erp: Record<string, unknown> }
  const jobs: Record<string, unknown> = {}
  for (let i = 0; i < BULK_JOBS; i++) {
    const id = `LT-${String(i).padStart(7, '0')}`
    jobs[id] = { company: i % 2 === 0 ? '01' : '02', name: `load test job ${id} of group ${i % 997}`, group: `G${i % 997}`, open: i % 3 !== 0 }
  }
  data.erp.load_test_jobs = jobs
  return Buffer.from(JSON.stringify(data))
}

t.test('while a policy with ~25 MB of data loads, the old one keeps answering without a pause', async (t) => {
  const dir = await tempDir(t)
  const callers = await startCallers()
  t.teardown(() => callers.close())
  const small = await buildBundle({ dir: POLICY_DIR, entrypoint: 'verdict/decision', revision: 'small' })
  let bigData = Buffer.alloc(0)
  const big = await repack(small.archive, (files) => {
    bigData = withBulkJobs(files.get('data.json') as Buffer) as Buffer<ArrayBuffer>
    files.set('data.json', bigData)
    const manifest = JSON.parse((files.get('.manifest') as Buffer).toString('utf8')) as Record<string, unknown>
    files.set('.manifest', Buffer.from(JSON.stringify({ ...manifest, revision: 'big' })))
  })
  t.ok(bigData.length > 20 * 2 ** 20, `data.json is ${(bigData.length / 2 ** 20).toFixed(1)} MB`)
  const file = join(dir, 'bundle.tar.gz')
  await writeFile(file, small.archive)

  const app = await build(t, { policy: { bundleFile: file }, authn: callers.authn })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  const origin = `http://127.0.0.1:${address.port}`
  t.equal(app.policy.current()?.revision, 'small')

  const decide = JSON.stringify({ request: { method: 'GET', path: '/cmicprod/hcm-rest-api/rest/1/pyemployee' } })
  const answers: Array<{ at: number, revision?: string }> = []
  const failures: string[] = []
  // A machine shared with other work can starve the old policy's thread past
  // the 100 ms deadline: such a decision is refused (503), counted, never allowed.
  let timeouts = 0
  let decisions = 0
  const traffic = { running: true }
  const loop = async (health: boolean): Promise<void> => {
    while (traffic.running) {
      try {
        if (health) {
          const res = await fetch(`${origin}/health`)
          await res.arrayBuffer()
          answers.push({ at: performance.now() })
        } else {
          const res = await fetch(`${origin}/v1/decide`, { method: 'POST', body: decide, headers: { 'content-type': 'application/json', authorization: callers.header('payroll (basic)') } })
          const body = await res.json() as { allow?: boolean, code?: string, policy?: { revision?: string } }
          if (res.status === 503 && body.code === 'EVALUATION_TIMEOUT') timeouts++
          else if (res.status !== 200 || body.allow !== true) failures.push(`${res.status} ${JSON.stringify(body).slice(0, 200)}`)
          decisions++
          answers.push({ at: performance.now(), revision: body.policy?.revision })
        }
      } catch (err) {
        failures.push(String(err))
      }
    }
  }
  const loops = [loop(true), loop(false), loop(false), loop(true)]
  await new Promise((resolve) => setTimeout(resolve, 300)) // warm

  await writeFile(file, big)
  const rssBefore = process.memoryUsage().rss
  const delay = monitorEventLoopDelay({ resolution: 5 })
  delay.enable()
  const started = performance.now()
  const loading = app.policy.load()
  await waitFor('the big policy', () => app.policy.current()?.revision === 'big', 120_000)
  const loaded = performance.now()
  delay.disable()
  await loading
  await new Promise((resolve) => setTimeout(resolve, 200)) // answers with the new policy
  traffic.running = false
  await Promise.all(loops)

  const during = answers.filter((a) => a.at >= started && a.at <= loaded).map((a) => a.at)
  let maxGap = 0
  let gapAt = 0
  let previous = started
  for (const at of [...during, loaded]) {
    if (at - previous > maxGap) { maxGap = at - previous; gapAt = previous - started }
    previous = at
  }
  const rssAfter = process.memoryUsage().rss
  t.comment(`load took ${Math.round(loaded - started)} ms; ${during.length} answers meanwhile; longest gap between answers ${maxGap.toFixed(1)} ms (${Math.round(gapAt)} ms in), this thread's longest stall ${(delay.max / 1e6).toFixed(1)} ms; RSS ${(rssBefore / 2 ** 20).toFixed(0)} -> ${(rssAfter / 2 ** 20).toFixed(0)} MB`)
  t.comment(`${decisions} decisions, ${timeouts} refused EVALUATION_TIMEOUT`)
  t.same(failures.slice(0, 5), [], 'every request answered, every decision the policy\'s allow (or refused at the deadline)')
  t.ok(timeouts <= decisions * 0.05, `at most 5 % refused at the deadline (${timeouts} of ${decisions})`)
  t.ok(during.length > 10, 'answers kept coming while the policy loaded')
  t.ok(maxGap < MAX_GAP_MS, `longest gap ${maxGap.toFixed(1)} ms < ${MAX_GAP_MS} ms`)
  const revisions = answers.filter((a) => a.revision !== undefined)
  t.ok(revisions.some((a) => a.at <= started && a.revision === 'small'), 'decisions before the swap: the old policy')
  t.ok(revisions.some((a) => a.at > loaded && a.revision === 'big'), 'after the swap: the new one')
  t.equal(app.policy.current()?.endpoints?.has('jc/jcjob'), true, 'the new policy knows its endpoints (listed by its thread)')
})
