// `policy.evaluationDeadlineMs`: the configured deadline is the one the served
// policy's decisions run under. A decision past it is refused (503
// EVALUATION_TIMEOUT, never the allow the policy would have given); a longer
// deadline lets the same decision finish. Out of range values stop the start.
import { join } from 'node:path'
import t from 'tap'
import { parseConfig } from '../../src/config.js'
import { createPolicyStore } from '../../src/lifecycle/store.js'
import type { PolicyInput } from '../../src/engine/result.js'
import { tempDir, writeSlowBundle } from '../engine/helpers.js'

const SLOW = 20_000_000 // many seconds of WASM: only the deadline ends it
const MODERATE = 1_000_000 // about a second: past the default deadline (100 ms), within 30 s

t.test('the configured deadline governs the served policy', async (t) => {
  const bundleFile = join(await tempDir(t), 'slow.tar.gz')
  await writeSlowBundle(bundleFile)
  const storeWith = async (evaluationDeadlineMs: number) => {
    const { policy } = parseConfig({ policy: { bundleFile, entrypoint: 'slow/decision', evaluationDeadlineMs } })
    const store = createPolicyStore(policy)
    const active = await store.load()
    t.teardown(() => active.close())
    return active
  }

  const strict = await storeWith(50)
  const started = Date.now()
  await t.rejects(strict.decide({ n: SLOW } as unknown as PolicyInput), { code: 'EVALUATION_TIMEOUT', statusCode: 503 }, 'past 50 ms: refused, not allowed')
  t.ok(Date.now() - started < 5000, 'refused at the deadline, not after the evaluation')

  const patient = await storeWith(30_000)
  const result = await patient.decide({ n: MODERATE } as unknown as PolicyInput)
  t.equal(result.allow, true, 'a 30 s deadline lets the same kind of decision finish')
})

t.test('a deadline out of range is a config error', async (t) => {
  for (const evaluationDeadlineMs of [0, -1, 1.5, 60_001]) {
    t.throws(() => parseConfig({ policy: { dir: '/p', evaluationDeadlineMs } }), { code: 'CONFIG_INVALID' }, String(evaluationDeadlineMs))
  }
})
