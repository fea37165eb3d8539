// The AuthZEN Todo interop scenario over real HTTP: every one of the 40
// evaluations and 3 batch evaluations of openid/authzen's
// decisions-authorization-api-1_0-02.json against examples/authzen/todo, each
// request and answer valid against the specification's JSON Schemas, each answer
// exactly what the interop runner expects ({"decision": …}, nothing more).
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { authzenSchemas, fixture, scenarioDir, startAuthzen } from './harness.js'

interface Cases {
  evaluation: Array<{ request: Record<string, unknown>, expected: boolean }>
  evaluations: Array<{ request: Record<string, unknown>, expected: Array<{ decision: boolean }> }>
}

const cases = JSON.parse(await readFile(fixture('todo/decisions.json'), 'utf8')) as Cases
const schemas = await authzenSchemas()
const pdp = await startAuthzen({ policyDir: scenarioDir('todo'), entrypoint: 'authzen/decision', model: 'entities' })
t.teardown(pdp.close)

t.equal(cases.evaluation.length, 40)
t.equal(cases.evaluations.length, 3)

t.test('40 evaluations', async (t) => {
  let passed = 0
  for (const [i, c] of cases.evaluation.entries()) {
    t.ok(schemas.request(c.request), `case ${i}: the request is valid AuthZEN`)
    const res = await pdp.post('/access/v1/evaluation', c.request)
    t.equal(res.status, 200, `case ${i}: HTTP 200`)
    t.ok(schemas.response(res.json), `case ${i}: the answer is valid AuthZEN`)
    t.equal(res.text, JSON.stringify({ decision: c.expected }), `case ${i}: ${JSON.stringify(c.request)}`)
    if (res.json?.decision === c.expected) passed++
  }
  t.equal(passed, 40, 'all 40 evaluations as expected')
})

t.test('3 batch evaluations', async (t) => {
  let passed = 0
  for (const [i, c] of cases.evaluations.entries()) {
    const res = await pdp.post('/access/v1/evaluations', c.request)
    t.equal(res.status, 200)
    t.equal(res.text, JSON.stringify({ evaluations: c.expected }), `batch ${i}`)
    for (const item of res.json.evaluations) t.ok(schemas.response(item), `batch ${i}: each item is a valid AuthZEN response`)
    if (JSON.stringify(res.json.evaluations) === JSON.stringify(c.expected)) passed++
  }
  t.equal(passed, 3, 'all 3 batch evaluations as expected')
})
