// The AuthZEN API-gateway interop scenario over real HTTP: the 25 route
// evaluations of `identity` subjects against examples/authzen/gateway, each
// request and answer valid against the specification's JSON Schemas, each answer
// exactly {"decision": …}.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { authzenSchemas, fixture, scenarioDir, startAuthzen } from './harness.js'

const cases = (JSON.parse(await readFile(fixture('gateway/decisions.json'), 'utf8')) as {
  evaluation: Array<{ request: Record<string, unknown>, expected: boolean }>
}).evaluation
const schemas = await authzenSchemas()
const pdp = await startAuthzen({ policyDir: scenarioDir('gateway'), entrypoint: 'authzen/decision', model: 'entities' })
t.teardown(pdp.close)

t.equal(cases.length, 25)
t.test('25 evaluations', async (t) => {
  let passed = 0
  for (const [i, c] of cases.entries()) {
    t.ok(schemas.request(c.request), `case ${i}: the request is valid AuthZEN`)
    const res = await pdp.post('/access/v1/evaluation', c.request)
    t.equal(res.status, 200, `case ${i}: HTTP 200`)
    t.ok(schemas.response(res.json), `case ${i}: the answer is valid AuthZEN`)
    t.equal(res.text, JSON.stringify({ decision: c.expected }), `case ${i}: ${JSON.stringify(c.request)}`)
    if (res.json?.decision === c.expected) passed++
  }
  t.equal(passed, 25, 'all 25 gateway evaluations as expected')
})
