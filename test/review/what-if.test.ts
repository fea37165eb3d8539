// What-if (`--data`): edited data laid over a revision before it is evaluated,
// without a commit. The same edits as the review repository's commits must
// report what those commits report; bad what-if data is an error, never ignored.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { run as diffCommand } from '../../src/cli/diff.js'
import { can, loadAccessTable } from '../../src/review/access.js'
import { review } from '../../src/review/review.js'
import { applyData } from '../../src/review/what-if.js'
import { POLICY_DIR } from '../helpers/app.js'
import { makeReviewRepo } from '../helpers/review-repo.js'

t.setTimeout(240_000)

const repo = await makeReviewRepo()
const work = await mkdtemp(join(tmpdir(), 'verdict-what-if-'))
t.teardown(async () => {
  await repo.cleanup()
  await rm(work, { recursive: true, force: true })
})
const show = (ref: string, path: string): string => repo.git('show', `${ref}:policies/${path}`) + '\n'

t.test('a directory of edited data files: the same report as the commit that makes the edit', async (t) => {
  // The security data of the payroll commit, as a security team would edit a copy.
  const dir = join(work, 'payroll')
  await mkdir(join(dir, 'erp', 'security'), { recursive: true })
  await writeFile(join(dir, 'erp', 'security', 'data.yaml'), show(repo.payrollGroups, 'erp/security/data.yaml'))
  const whatIf = await review({ repo: repo.dir, base: repo.refactor, access: true, data: dir })
  const committed = await review({ repo: repo.dir, base: repo.refactor, head: repo.payrollGroups, access: true })
  t.same(whatIf.access?.records, committed.access?.records)
  t.same(whatIf.access?.scope, committed.access?.scope)
  t.same(whatIf.summary, committed.summary)
  t.equal(whatIf.summary.recordsLost, 3)
  t.equal(whatIf.head.label, `${repo.refactor} with --data ${dir}`)
  t.equal(whatIf.head.commit, repo.refactor, 'the head is the base revision with the data')
  t.match(whatIf.textDiff, /^\+ {4}"02": \{ groups: \[BRIDGES\] \}$/m, 'the text diff shows the edit')
  // The repository is untouched.
  t.equal(repo.git('status', '--porcelain'), '')
})

t.test('one document at the data root (JSON or YAML): each data file it reaches is replaced', async (t) => {
  const api = parseYaml(show(repo.permission, 'erp/api/data.yaml')) as unknown
  const json = join(work, 'api.json')
  await writeFile(json, JSON.stringify({ erp: { api } }))
  const r = await review({ repo: repo.dir, base: repo.baseline, access: true, data: json })
  t.same(r.access?.rights.granted.map((x) => `${x.principal} ${x.endpoint} ${x.action}`), ['ACME||SVC_PROCORE pm/scmast delete'])
  t.equal(r.summary.rightsRevoked, 0, 'the other data files are kept')

  const yaml = join(work, 'whatif.yaml')
  await writeFile(yaml, 'erp:\n  api:\n' + show(repo.permission, 'erp/api/data.yaml').split('\n').map((l) => l === '' ? l : `    ${l}`).join('\n'))
  const fromYaml = await review({ repo: repo.dir, base: repo.baseline, head: repo.baseline, access: true, data: yaml })
  t.same(fromYaml.access?.rights, r.access?.rights)

  // The CLI: exit 1 for the change, the what-if named in the report.
  const out = join(work, 'report.md')
  t.equal(await diffCommand(['--repo', repo.dir, '--data', json, '-o', out, repo.baseline]), 1)
  t.match(await readFile(out, 'utf8'), `- Head: \`${repo.baseline} with --data ${json}\``)
})

t.test('how a document is laid over the data files', async (t) => {
  const policies = join(work, 'copy')
  await mkdir(join(policies, 'erp', 'api'), { recursive: true })
  await mkdir(join(policies, 'erp', 'security'), { recursive: true })
  await writeFile(join(policies, 'erp', 'api', 'data.yaml'), 'roles: {}\n')
  await writeFile(join(policies, 'erp', 'security', 'data.yaml'), 'companies: {}\n')
  const doc = join(work, 'doc.json')
  await writeFile(doc, JSON.stringify({ erp: { api: { bypass: {} }, extra: { a: 1 } } }))
  t.same(await applyData(policies, doc), ['erp/api/data.json', 'erp/extra/data.json'])
  t.same(JSON.parse(await readFile(join(policies, 'erp', 'api', 'data.json'), 'utf8')), { bypass: {} }, 'a reached file is replaced whole')
  await t.rejects(readFile(join(policies, 'erp', 'api', 'data.yaml')), 'the replaced YAML is gone, so OPA never merges two')
  t.equal(await readFile(join(policies, 'erp', 'security', 'data.yaml'), 'utf8'), 'companies: {}\n', 'a file not reached is kept')
})

t.test('bad what-if data is an error (exit 2), never ignored', async (t) => {
  const rego = join(work, 'with-rego')
  await mkdir(rego)
  await writeFile(join(rego, 'data.json'), '{}')
  await writeFile(join(rego, 'x.rego'), 'package x\n')
  const notData = join(work, 'empty')
  await mkdir(notData)
  await writeFile(join(notData, 'notes.md'), 'notes\n')
  const list = join(work, 'list.json')
  await writeFile(list, '[1, 2]')
  const broken = join(work, 'broken.json')
  await writeFile(broken, '{"erp": ')
  const traversal = join(work, 'traversal.json')
  await writeFile(traversal, JSON.stringify({ erp: { '../../outside': {} } }))
  const cases: Array<[string, RegExp]> = [
    [join(work, 'missing'), /no such file or directory/],
    [rego, /holds Rego \(x\.rego\)/],
    [notData, /holds no data file/],
    [list, /must be a mapping at the data root/],
    [broken, /is not JSON/],
    [traversal, /cannot name a data directory/]
  ]
  for (const [data, message] of cases) {
    await t.rejects(review({ repo: repo.dir, base: repo.baseline, access: true, data }), message, data)
  }
  const write = process.stderr.write
  let stderr = ''
  process.stderr.write = ((chunk: string | Uint8Array) => { stderr += String(chunk); return true }) as typeof process.stderr.write
  let code: number
  try {
    code = await diffCommand(['--repo', repo.dir, '--data', list, repo.baseline])
  } finally {
    process.stderr.write = write
  }
  t.equal(code, 2)
  t.match(stderr, /verdict diff: --data .*list\.json must be a mapping/)
})

t.test('verdict can with --data: the what-if of the policies directory, the directory untouched', async (t) => {
  const dir = join(work, 'payroll-can')
  await mkdir(join(dir, 'erp', 'security'), { recursive: true })
  await writeFile(join(dir, 'erp', 'security', 'data.yaml'), show(repo.payrollGroups, 'erp/security/data.yaml'))
  const table = await loadAccessTable({ policies: POLICY_DIR, entrypoint: 'verdict/decision', data: dir })
  const update = can(table, 'ACME||SVC_PAYROLL').rights.find((r) => r.endpoint === 'hcm/pyemptimesheet' && r.action === 'update')
  t.equal(update?.scope, 'records: 01: all records (company-wide); 02: 23-801, 24-803, records that are not job records')
  t.match(table.revision.label, / with --data /)
  const plain = await loadAccessTable({ policies: POLICY_DIR, entrypoint: 'verdict/decision' })
  t.equal(can(plain, 'ACME||SVC_PAYROLL').rights.find((r) => r.endpoint === 'hcm/pyemptimesheet' && r.action === 'update')?.scope,
    'records: 01: all records (company-wide); 02: all records (company-wide)')
})
