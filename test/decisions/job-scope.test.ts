// An account whose groups hold many jobs, in overlapping groups listed out of
// order, evaluated in WASM as the service does: the collection's job list is
// every held job once, sorted (the policy lists a set in WASM's hash order; the
// engine sorts `in` lists), and a record's answer names only its own job.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { dump, load } from 'js-yaml'
import { loadDecisionPolicy } from '../../src/engine/policy.js'
import type { PolicyInput } from '../../src/engine/result.js'
import { compilePolicies, DECISION_ENTRYPOINT } from '../../src/toolchain/compiler.js'
import { copyPolicies } from '../engine/helpers.js'

const ACCOUNT = 'ACME||SVC_PROCORE'
const job = (i: number): string => `J${String(i).padStart(4, '0')}`
const jobsOf01 = (jobs: string[]): object => ({
  kind: 'conditional',
  filter: {
    type: 'compound',
    operator: 'and',
    value: [
      { type: 'field', field: 'JobCompCode', operator: 'eq', value: '01' },
      { type: 'field', field: 'JobCode', operator: 'in', value: jobs }
    ]
  }
})

t.test('many jobs in overlapping groups', async (t) => {
  const dir = await copyPolicies(t)
  const file = join(dir, 'erp/security/data.yaml')
  const security = load(await readFile(file, 'utf8')) as {
    jobs: { '01': Record<string, unknown> }
    groups: { '01': Record<string, unknown> }
    access: Record<typeof ACCOUNT, { '01': { groups: string[] } }>
  }
  for (let i = 0; i < 800; i++) security.jobs['01'][job(i)] = { name: `Job ${i}`, status: 'active' }
  // Three groups of 300 jobs each, overlapping by 100, each listed backwards.
  const held: string[] = ['23-410', '23-502', '24-205']
  for (const g of [0, 1, 2]) {
    const jobs = Array.from({ length: 300 }, (_, k) => job(g * 200 + k)).reverse()
    security.groups['01'][`BULK${g}`] = { jobs }
    held.push(...jobs)
  }
  security.access[ACCOUNT]['01'].groups.push('BULK2', 'BULK0', 'BULK1')
  await writeFile(file, dump(security))
  const policy = await loadDecisionPolicy(await compilePolicies({ dir, entrypoint: DECISION_ENTRYPOINT }), DECISION_ENTRYPOINT)
  t.teardown(() => policy.close())

  const principal = { method: 'jwt', idp: 'local', issuer: 'http://127.0.0.1/oidc', subject: 'procore-sync', client_id: 'procore-sync', erp_user: ACCOUNT, roles: [], scopes: [] }
  const ask = (resource?: Record<string, unknown>): PolicyInput => ({
    principal,
    action: 'retrieve',
    request: { method: 'GET', path: '/acme/jc-rest-api/rest/1/jcjob', query: {} },
    endpoint: { env: 'acme', module: 'jc', version: '1', resource: 'jcjob' },
    ...(resource === undefined ? {} : { resource })
  } as unknown as PolicyInput)

  const expected = [...new Set(held)].sort()
  t.equal(expected.length, 703, 'the fixture: 700 bulk jobs and 3 of PROCORE_SYNC')
  const collection = policy.evaluate(ask())
  t.equal(collection.allow, true, `collection allowed: ${JSON.stringify(collection.reasons)}`)
  t.same(collection.rows, jobsOf01(expected), 'every held job once, sorted')

  const record = policy.evaluate(ask({ company: '01', job: job(450) }))
  t.equal(record.allow, true)
  t.same(record.reasons.map((r) => r.code), ['role_grants_action', 'job_in_group'])
  t.match(record.reasons[1]?.message, /group BULK1, BULK2$/, 'the groups that list the job, sorted')
  t.same(record.rows, jobsOf01([job(450)]), "a record's answer names its own job only")

  const outside = policy.evaluate(ask({ company: '01', job: job(700) }))
  t.equal(outside.allow, false, 'a job no group lists is denied')
  t.same(outside.reasons.map((r) => r.code), ['role_grants_action', 'job_not_in_groups'])
  t.same(outside.rows, { kind: 'none' })
})
