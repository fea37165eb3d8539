// The evaluation deadline: a decision that runs longer than the deadline is
// refused with EVALUATION_TIMEOUT (503) — never an allow, even when the policy
// would have allowed — and the thread that ran it is replaced, so later
// decisions (including those queued behind the slow one) are answered.
import t from 'tap'
import { loadDecisionPolicy } from '../../src/engine/policy.js'
import { startIsolatedEvaluator } from '../../src/engine/isolate.js'
import type { PolicyInput } from '../../src/engine/result.js'
import { buildSlowBundle } from './helpers.js'

const build = buildSlowBundle

const SLOW = 20_000_000 // many seconds of WASM: only the deadline ends it
const json = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v))
// The thread answers the result set as the JSON text the WASM wrote.
const parsed = async (text: Promise<ArrayBuffer>): Promise<unknown> => JSON.parse(new TextDecoder().decode(await text))

t.test('isolated evaluator', async (t) => {
  const bundle = await build()
  const ev = await startIsolatedEvaluator(bundle.wasm, bundle.dataJson, 'slow/decision', 100)
  t.teardown(() => ev.close())
  t.match(await parsed(ev.evaluate(json({ n: 3 }))), [{ result: { allow: true, work: 3 } }], 'a quick decision is answered')
  t.equal(ev.generation, 1)

  const started = Date.now()
  const slow = ev.evaluate(json({ n: SLOW }))
  const queued = ev.evaluate(json({ n: 5 })) // waits behind the slow one
  await t.rejects(slow, { code: 'EVALUATION_TIMEOUT', statusCode: 503 }, 'the slow decision is refused at the deadline')
  const waited = Date.now() - started
  t.ok(waited >= 100 && waited < 2000, `refused after ${waited} ms (deadline 100 ms), not after the evaluation`)
  t.match(await parsed(queued), [{ result: { work: 5 } }], 'the decision queued behind it is answered by the replacement')
  t.equal(ev.generation, 2, 'the thread was replaced')
  t.match(await parsed(ev.evaluate(json({ n: 7 }))), [{ result: { work: 7 } }], 'and keeps answering')
})

t.test('many decisions in the thread at once: each answered with its own result, each with a deadline of its own', async (t) => {
  const bundle = await build()
  const ev = await startIsolatedEvaluator(bundle.wasm, bundle.dataJson, 'slow/decision', 100)
  t.teardown(() => ev.close())
  const many = Array.from({ length: 40 }, (_, i) => i + 1)
  const answers = await Promise.all(many.map(async (n) => await parsed(ev.evaluate(json({ n })))))
  t.same(answers.map((a) => (a as Array<{ result: { work: number } }>)[0]?.result.work), many, 'in order, none mixed up')

  // Behind a decision that times out: the ones sent with it go to the replacement.
  const slow = ev.evaluate(json({ n: SLOW }))
  const behind = many.map(async (n) => await parsed(ev.evaluate(json({ n }))))
  await t.rejects(slow, { code: 'EVALUATION_TIMEOUT' })
  t.same((await Promise.all(behind)).map((a) => (a as Array<{ result: { work: number } }>)[0]?.result.work), many, 'all answered by the replacement, in order')
  t.equal(ev.generation, 2)

  // Many short decisions (each a small fraction of the deadline, even on a
  // machine starving this process tenfold), together far longer than it: a
  // clock for the whole queue would refuse the later ones.
  const probe = await startIsolatedEvaluator(bundle.wasm, bundle.dataJson, 'slow/decision', 60_000)
  t.teardown(() => probe.close())
  let single = Infinity
  for (let i = 0; i < 3; i++) { // the fastest of three: the first also compiles
    const at = Date.now()
    await probe.evaluate(json({ n: 20_000 }))
    single = Math.min(single, Date.now() - at)
  }
  const count = 300
  const deadline = Math.max(100, Math.floor(count * Math.max(single, 1) / 3)) // a hundred decisions long
  const patient = await startIsolatedEvaluator(bundle.wasm, bundle.dataJson, 'slow/decision', deadline)
  t.teardown(() => patient.close())
  const started = Date.now()
  const each = await Promise.all(Array.from({ length: count }, async () => await parsed(patient.evaluate(json({ n: 20_000 })))))
  const took = Date.now() - started
  t.equal(each.length, count)
  t.ok(took > deadline, `together ${took} ms, more than one deadline (${deadline} ms): each decision's clock is its own`)
  t.equal(patient.generation, 1, 'no decision was refused')
})

t.test('a stall of this thread longer than the deadline does not refuse an answer that came in time', async (t) => {
  const bundle = await build()
  const ev = await startIsolatedEvaluator(bundle.wasm, bundle.dataJson, 'slow/decision', 100)
  t.teardown(() => ev.close())
  await ev.evaluate(json({ n: 1 })) // warm
  const answer = ev.evaluate(json({ n: 2 }))
  const until = Date.now() + 300
  while (Date.now() < until) { /* this thread busy: the deadline's timer and the answer wait together */ }
  t.match(await parsed(answer), [{ result: { work: 2 } }], 'answered')
  t.equal(ev.generation, 1, 'the thread was not replaced')
})

t.test('the policy on the request path: past the deadline is a 503 error, never an allow', async (t) => {
  const bundle = await build()
  const policy = await loadDecisionPolicy(bundle, 'slow/decision', { isolate: { deadlineMs: 50 } })
  t.teardown(() => policy.close())
  t.match(await policy.decide({ n: 2 } as unknown as PolicyInput), { allow: true }, 'this policy allows')
  await t.rejects(policy.decide({ n: SLOW } as unknown as PolicyInput), { code: 'EVALUATION_TIMEOUT', statusCode: 503 }, 'slow: refused, not allowed')
  t.match(await policy.decide({ n: 4 } as unknown as PolicyInput), { allow: true }, 'answered again after the replacement')
  // Without isolation (offline review, tools) `decide` is the in-thread evaluation.
  const local = await loadDecisionPolicy(bundle, 'slow/decision')
  t.match(await local.decide({ n: 2 } as unknown as PolicyInput), { allow: true })
})

t.test('a bundle whose WASM does not load fails the load, not the first decision', async (t) => {
  await t.rejects(startIsolatedEvaluator(Buffer.from('not wasm'), Buffer.from('{}'), 'slow/decision'), { code: 'POLICY_BUNDLE_INVALID' })
})
