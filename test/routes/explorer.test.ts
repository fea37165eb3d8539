// GET /explorer: explain's access rule (off unless configured, admin roles only),
// and a page that shows the active policy's data as tables a DOM parser can read,
// with every value from data escaped (a hostile account, group and job stay text).
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { parseHTML } from 'linkedom'
import verdictApp from '../../src/app.js'
import { parseConfig } from '../../src/config.js'
import { buildApp, POLICY_DIR } from '../helpers/app.js'
import { startCallers } from '../helpers/callers.js'

t.setTimeout(180_000)

const callers = await startCallers()
const dir = await mkdtemp(join(tmpdir(), 'verdict-explorer-route-'))
const policies = join(dir, 'policies')
await cp(POLICY_DIR, policies, { recursive: true })
t.teardown(async () => {
  await callers.close()
  await rm(dir, { recursive: true, force: true })
})

// Hostile names in the data: an account, a group and a description (job codes
// are held to a pattern by the data checks, so a hostile job never compiles).
const EVIL_ACCOUNT = '<img src=x onerror="alert(1)">ACME||EVIL'
const EVIL_GROUP = '<b>BOLD</b>'
const EVIL_TEXT = '</td><script>alert(2)</script>'
async function edit (file: string, from: string, to: string): Promise<void> {
  const text = await readFile(file, 'utf8')
  if (!text.includes(from)) throw new Error(`fixture edit: ${from} not in ${file}`)
  await writeFile(file, text.replace(from, to))
}
await edit(join(policies, 'erp', 'accounts', 'data.yaml'), 'users:\n', `users:\n  ${JSON.stringify(EVIL_ACCOUNT)}:\n    kind: user\n    idps: [basic]\n`)
await edit(join(policies, 'erp', 'security', 'data.yaml'), '    HEALTHCARE:\n', `    ${JSON.stringify(EVIL_GROUP)}:\n      description: ${JSON.stringify(EVIL_TEXT)}\n      jobs: ["24-101"]\n    HEALTHCARE:\n`)
await edit(join(policies, 'erp', 'security', 'data.yaml'), 'access:\n', `access:\n  ${JSON.stringify(EVIL_ACCOUNT)}:\n    "01": { groups: [${JSON.stringify(EVIL_GROUP)}] }\n`)

const ADMIN = 'Verdict.Decide'
async function explorerApp (): Promise<FastifyInstance> {
  const config = parseConfig({ server: { logLevel: 'silent' }, policy: { dir: policies, watch: false }, authn: callers.authn, explain: { enabled: true, adminRoles: [ADMIN] } })
  const app = Fastify({ logger: false })
  await app.register(verdictApp, { config })
  await app.ready()
  return app
}

type Doc = ReturnType<typeof parseHTML>['document']
interface Row { children: ArrayLike<{ textContent: string | null }> }
const cells = (row: Row): string[] => Array.from(row.children).map((c) => (c.textContent ?? '').trim())
function rowOf (doc: Doc, table: string, first: string): string[] {
  const row = [...doc.querySelectorAll(`#${table} tbody tr`)].find((r: Row) => cells(r)[table === 'groups' ? 1 : 0] === first)
  if (!row) throw new Error(`no row ${first} in #${table}`)
  return cells(row)
}

const app = await explorerApp()
t.teardown(async () => await app.close())

t.test('off unless explain is configured', async (t) => {
  const app = await buildApp({ authn: callers.authn })
  t.teardown(async () => await app.close())
  const res = await app.inject({ method: 'GET', url: '/explorer', headers: { authorization: callers.header('power bi (entra)') } })
  t.equal(res.statusCode, 404)
})

t.test('admins only', async (t) => {
  const none = await app.inject({ method: 'GET', url: '/explorer' })
  t.equal(none.statusCode, 401)
  t.equal(none.json().code, 'EXPLAIN_UNAUTHENTICATED')
  const basic = await app.inject({ method: 'GET', url: '/explorer', headers: { authorization: callers.header('payroll (basic)') } })
  t.equal(basic.statusCode, 403, 'a valid caller without an admin role')
  t.equal(basic.json().code, 'EXPLAIN_FORBIDDEN')
  t.notMatch(basic.body, /ACME\|\|JSMITH|HEALTHCARE/, 'nothing of the data in a refusal')
})

t.test('the page: roles × endpoints × actions, accounts, groups per company, the explain form', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/explorer', headers: { authorization: callers.header('power bi (entra)') } })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/html; charset=utf-8/)
  const csp = String(res.headers['content-security-policy'])
  t.match(csp, /default-src 'none'/)
  t.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'/)
  t.match(csp, /connect-src 'self'/)
  t.notMatch(res.body, /<link|<[^>]*\ssrc=|https?:\/\//i, 'self-contained: no external asset, no URL')

  const { document } = parseHTML(res.body)
  const health = (await app.inject({ method: 'GET', url: '/health' })).json()
  t.equal(document.querySelector('#revision')?.textContent, health.policy.revision, 'the served policy')

  // The role matrix: a header per endpoint, a row per role, cells the actions.
  const head = [...document.querySelectorAll('#roles thead th')].map((th) => th.textContent)
  t.equal(head[0], 'API role')
  t.ok(head.includes('pm/scmast') && head.includes('sys/currency') && head.includes('hcm/pyemployee'))
  const col = (ep: string): number => head.indexOf(ep)
  t.equal(rowOf(document, 'roles', 'PM_SYNC')[col('pm/scmast')], 'create retrieve update')
  t.equal(rowOf(document, 'roles', 'HR_WRITER')[col('hcm/pyemployee')], 'create')
  t.equal(rowOf(document, 'roles', 'HR_WRITER')[col('pm/scmast')], '')
  t.equal(rowOf(document, 'roles', 'SECURITY_ADMIN')[col('sys/jcjobsecgrpuser')], 'create retrieve update delete')
  t.equal(rowOf(document, 'roles', '(bypass list)')[col('sys/currency')], 'retrieve')

  // Accounts with kind, IdPs, roles, OAuth clients and groups per company.
  t.same(rowOf(document, 'accounts', 'ACME||SVC_POWERBI'), ['ACME||SVC_POWERBI', 'service_account', 'entra, local', 'BI_READER', 'entra: 8a4f2c71-3d5e-4b9a-9c1f-6e2d7b0a5f13', '01: HEALTHCARE, COMMERCIAL02: WATER'])
  t.same(rowOf(document, 'accounts', 'ACME||JSMITH').slice(2), ['local, basic', 'PROJECT_VIEWER', 'none', '01: HEALTHCARE'])
  t.same(rowOf(document, 'accounts', 'ACME||SVC_HRWRITER').at(-1), '01: company access, no jobs02: company access, no jobs')
  t.same(rowOf(document, 'accounts', 'ACME||SVC_LEGACY_FTP')[3], 'none', 'an account without a role')

  // Groups with their jobs per company.
  t.same(rowOf(document, 'groups', 'HEALTHCARE'), ['01', 'HEALTHCARE', '23-410, 23-415', 'Hospitals and clinics'])
  t.same(rowOf(document, 'groups', 'BRIDGES'), ['02', 'BRIDGES', '23-801, 24-803', 'Bridges and highways'])
  const masters = [...document.querySelectorAll('#groups tbody tr')].map(cells).filter((r) => r[1] === 'MASTER')
  t.same(masters.map((r) => [r[0], r[2]]), [['01', 'all jobs of the company'], ['02', 'all jobs of the company']])

  // The form names what /v1/explain takes; the script posts to it.
  const form = document.querySelector('form#explain')
  t.ok(form)
  t.same([...form!.querySelectorAll('input,select')].map((e) => e.getAttribute('name')), ['account', 'idp', 'method', 'path', 'company', 'job', 'credential'])
  t.equal(form!.querySelector('[name=credential]')?.getAttribute('type'), 'password')
  t.match(document.querySelector('script')?.textContent, /fetch\('\/v1\/explain'/)
})

t.test('every value from data is escaped: hostile names stay text', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/explorer', headers: { authorization: callers.header('power bi (entra)') } })
  t.equal(res.statusCode, 200)
  t.notMatch(res.body, /<img|<b>|<script>alert/, 'no markup from data in the page text')
  const { document } = parseHTML(res.body)
  t.equal(document.querySelectorAll('img').length, 0)
  t.equal(document.querySelectorAll('b').length, 0)
  t.equal(document.querySelectorAll('script').length, 1, 'only the page\'s own script')
  t.same(rowOf(document, 'accounts', EVIL_ACCOUNT).at(-1), `01: ${EVIL_GROUP}`)
  t.same(rowOf(document, 'groups', EVIL_GROUP), ['01', EVIL_GROUP, '24-101', EVIL_TEXT])
})
