// The AuthZEN search interop scenario over real HTTP: the 198 subject, resource
// and action searches against examples/authzen/search. Each answer's results are
// exactly what the interop runner compares ({"type","id"} or {"name"}, in that
// order, ids as strings), the page object has the specification's shape, and every
// result — and every candidate left out — agrees with a single evaluation.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { authzenSchemas, fixture, scenarioDir, startAuthzen } from './harness.js'

type Case = { request: Record<string, any>, expected: { results: Array<Record<string, string>> } }
const load = async (kind: string): Promise<Case[]> =>
  (JSON.parse(await readFile(fixture(`search/${kind}-results.json`), 'utf8')) as { evaluation: Case[] }).evaluation
const suites = { subject: await load('subject'), resource: await load('resource'), action: await load('action') }
const users = (JSON.parse(await readFile(fixture('search/users.json'), 'utf8')) as Array<{ id: string }>).map((u) => u.id)
const records = (JSON.parse(await readFile(fixture('search/records.json'), 'utf8')) as Array<{ id: number }>).map((r) => String(r.id))
const actions = ['view', 'edit', 'delete']

const schemas = await authzenSchemas()
const pdp = await startAuthzen({ policyDir: scenarioDir('search'), entrypoint: 'authzen/decision', model: 'entities', authzen: { pageSize: 50 } })
t.teardown(pdp.close)

t.equal(suites.subject.length + suites.resource.length + suites.action.length, 198, '198 search cases')

async function decision (subject: string, action: string, record: string): Promise<boolean> {
  const request = { subject: { type: 'user', id: subject }, action: { name: action }, resource: { type: 'record', id: record } }
  t.ok(schemas.request(request))
  const res = await pdp.post('/access/v1/evaluation', request)
  t.ok(schemas.response(res.json))
  return res.json.decision
}

for (const [kind, cases] of Object.entries(suites)) {
  t.test(`${kind} search: ${cases.length} cases`, async (t) => {
    let passed = 0
    for (const [i, c] of cases.entries()) {
      const res = await pdp.post(`/access/v1/search/${kind}`, c.request, { 'x-request-id': `${kind}-${i}` })
      t.equal(res.status, 200)
      t.equal(res.headers.get('x-request-id'), `${kind}-${i}`)
      t.equal(JSON.stringify(res.json.results), JSON.stringify(c.expected.results), `${kind} ${i}: ${JSON.stringify(c.request)}`)
      t.same(res.json.page, { next_token: '', count: c.expected.results.length, total: c.expected.results.length })
      if (JSON.stringify(res.json.results) === JSON.stringify(c.expected.results)) passed++
    }
    t.equal(passed, cases.length, `all ${cases.length} ${kind} searches as expected`)
  })
}

// The answers against single evaluations: a search result must evaluate to true,
// and every candidate it leaves out to false (one request of each kind per
// subject/record, so every pair is covered without repeating the whole suite).
t.test('search answers agree with single evaluations', async (t) => {
  for (const c of suites.resource.filter((c) => c.request.action.name === 'view')) {
    const found = new Set(c.expected.results.map((r) => r.id))
    for (const record of records) t.equal(await decision(c.request.subject.id, 'view', record), found.has(record), `${c.request.subject.id} view ${record}`)
  }
  for (const c of suites.subject.filter((c) => c.request.action.name === 'edit')) {
    const found = new Set(c.expected.results.map((r) => r.id))
    for (const user of users) t.equal(await decision(user, 'edit', c.request.resource.id), found.has(user), `${user} edit ${c.request.resource.id}`)
  }
  for (const c of suites.action.filter((c) => c.request.resource.id === '110')) {
    const found = new Set(c.expected.results.map((r) => r.name))
    for (const action of actions) t.equal(await decision(c.request.subject.id, action, '110'), found.has(action), `${c.request.subject.id} ${action} 110`)
  }
})
