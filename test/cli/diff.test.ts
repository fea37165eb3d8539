// `verdict diff` and `verdict replay` as commands: the CI gate's exit codes
// (0 nothing changed, 1 something changed, 2 an error), --fail-on, the formats,
// the working tree as head, data the enumeration cannot cover, and bad usage.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { run as diff } from '../../src/cli/diff.js'
import { run as replay } from '../../src/cli/replay.js'
import type { Report } from '../../src/review/report.js'
import { makeReviewRepo } from '../helpers/review-repo.js'

// Each revision compiles once per process (cached by tree); the real-process test compiles again.
t.setTimeout(240_000)

const repo = await makeReviewRepo()
const out = await mkdtemp(join(tmpdir(), 'verdict-diff-cli-'))
t.teardown(async () => {
  await repo.cleanup()
  await rm(out, { recursive: true, force: true })
})

// stderr of the command under test (tap reports on stdout, so only stderr is captured)
async function withStderr (fn: () => Promise<number>): Promise<{ code: number, stderr: string }> {
  const write = process.stderr.write
  let stderr = ''
  process.stderr.write = ((chunk: string | Uint8Array) => { stderr += String(chunk); return true }) as typeof process.stderr.write
  try {
    return { code: await fn(), stderr }
  } finally {
    process.stderr.write = write
  }
}

let n = 0
async function runDiff (args: string[], format = 'json'): Promise<{ code: number, stderr: string, text: string }> {
  const file = join(out, `report-${++n}`)
  const r = await withStderr(async () => await diff(['--repo', repo.dir, '--format', format, '-o', file, ...args]))
  const text = await readFile(file, 'utf8').catch(() => '')
  return { ...r, text }
}
const json = (text: string): Report => JSON.parse(text) as Report

t.test('exit codes of the CI gate', async (t) => {
  const changed = await runDiff([repo.baseline, repo.permission])
  t.equal(changed.code, 1, 'a granted right: 1')
  t.equal(json(changed.text).format, 'verdict-review/1')
  t.equal(json(changed.text).summary.rightsGranted, 1)
  const refactor = await runDiff([repo.serviceAccount, repo.refactor])
  t.equal(refactor.code, 0, 'the refactor: 0')
  t.equal(json(refactor.text).summary.changed, false)
  t.not(json(refactor.text).textDiff, '', 'though its text changed')
  t.equal((await runDiff([repo.refactor, repo.refactor])).code, 0, 'the same revision twice: 0')
})

t.test('--fail-on grants: only new access fails the gate', async (t) => {
  t.equal((await runDiff(['--fail-on', 'grants', repo.permission, repo.jobMove])).code, 0, 'a job moved away: lost scope only')
  t.equal((await runDiff(['--fail-on', 'grants', repo.baseline, repo.permission])).code, 1, 'a right granted')
  t.equal((await runDiff(['--fail-on', 'grants', repo.jobMove, repo.serviceAccount])).code, 1, 'a principal added')
  t.equal((await runDiff(['--fail-on', 'grants', repo.serviceAccount, repo.jobMove])).code, 0, 'a principal removed')
  t.equal((await runDiff(['--fail-on', 'revokes', repo.permission, repo.jobMove])).code, 1, '--fail-on revokes: lost scope')
  t.equal((await runDiff(['--fail-on', 'revokes', repo.baseline, repo.permission])).code, 0, '--fail-on revokes: a grant passes')
  t.equal((await runDiff(['--fail-on', 'any', repo.permission, repo.jobMove])).code, 1)
})

t.test('errors exit 2 with a message', async (t) => {
  const badRef = await runDiff(['no-such-ref', repo.refactor])
  t.equal(badRef.code, 2)
  t.match(badRef.stderr, /"no-such-ref" names no commit/)
  t.equal(badRef.text, '', 'no report is written')

  const notRepo = await withStderr(async () => await diff(['--repo', out, 'HEAD']))
  t.equal(notRepo.code, 2)
  t.match(notRepo.stderr, /not inside a git repository/)

  const noPolicies = await runDiff(['--policies', 'nothing-here', repo.baseline, repo.refactor])
  t.equal(noPolicies.code, 2)
  t.match(noPolicies.stderr, /has no nothing-here\/ directory/)

  // A commit whose Rego does not compile, on a branch of its own.
  repo.git('checkout', '-q', '-b', 'broken')
  await writeFile(join(repo.dir, 'policies', 'verdict', 'broken.rego'), 'package verdict.broken\n\nthis is not rego\n')
  repo.git('add', '-A')
  repo.git('commit', '-q', '-m', 'broken rego')
  const broken = repo.git('rev-parse', 'HEAD')
  repo.git('checkout', '-q', 'main')
  const compile = await runDiff([repo.refactor, broken])
  t.equal(compile.code, 2)
  t.match(compile.stderr, /do not compile/)

  const badLog = await runDiff(['--replay', join(out, 'missing.log'), repo.baseline, repo.permission])
  t.equal(badLog.code, 2)
  t.match(badLog.stderr, /cannot read decision log .*missing\.log/)
  const badLogReplay = await withStderr(async () => await replay(['--repo', repo.dir, '--log', join(out, 'missing.log'), repo.baseline]))
  t.equal(badLogReplay.code, 2)
})

t.test('bad usage exits 2 and says why; --help exits 0', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [[], /give a base revision/],
    [['a', 'b', 'c'], /give a base revision/],
    [['--format', 'pdf', 'HEAD'], /--format must be one of markdown, json, html/],
    [['--fail-on', 'everything', 'HEAD'], /--fail-on must be one of grants, revokes, any/],
    [['--no-such-option', 'HEAD'], /Unknown option/],
    [['--log', 'x.log', 'HEAD'], /--log belongs to `verdict replay`/],
    [['--', '-HEAD'], /"-HEAD" is not a git revision/]
  ]
  for (const [args, message] of cases) {
    const r = await withStderr(async () => await diff(['--repo', repo.dir, ...args]))
    t.equal(r.code, 2, args.join(' '))
    t.match(r.stderr, message, args.join(' '))
  }
  const noLog = await withStderr(async () => await replay(['HEAD']))
  t.equal(noLog.code, 2)
  t.match(noLog.stderr, /at least one decision log/)
  const wrongOption = await withStderr(async () => await replay(['--replay', 'x.log', 'HEAD']))
  t.equal(wrongOption.code, 2)
  t.match(wrongOption.stderr, /--replay belongs to `verdict diff`/)

  const write = process.stdout.write
  let stdout = ''
  process.stdout.write = ((chunk: string | Uint8Array) => { stdout += String(chunk); return true }) as typeof process.stdout.write
  let codes: number[]
  try {
    codes = [await diff(['--help']), await replay(['-h'])]
  } finally {
    process.stdout.write = write
  }
  t.same(codes, [0, 0])
  t.match(stdout, /usage: verdict diff \[options\] <base-ref> \[<head-ref>\]/)
  t.match(stdout, /usage: verdict replay --log <file>/)
  t.match(stdout, /--fail-on/)
})

t.test('the working tree is the default head, uncommitted and untracked files included', async (t) => {
  const api = join(repo.dir, 'policies', 'erp', 'api', 'data.yaml')
  const original = await readFile(api, 'utf8')
  t.teardown(async () => {
    await writeFile(api, original)
    await rm(join(repo.dir, 'policies', 'erp', 'extra'), { recursive: true, force: true })
  })
  const edited = original.replace('  "ACME||JSMITH": [PROJECT_VIEWER]\n', '')
  t.not(edited, original)
  await writeFile(api, edited)
  await mkdir(join(repo.dir, 'policies', 'erp', 'extra'), { recursive: true })
  await writeFile(join(repo.dir, 'policies', 'erp', 'extra', 'notes.md'), 'an untracked file\n')
  const r = await runDiff(['HEAD'])
  t.equal(r.code, 1)
  const report = json(r.text)
  t.equal(report.head.label, 'working tree')
  t.equal(report.head.commit, null)
  t.same(report.access?.rights.revoked.map((x) => `${x.principal} ${x.endpoint} ${x.action} ${x.roles.join(',')}`), [
    'ACME||JSMITH cm/cmmast retrieve PROJECT_VIEWER',
    'ACME||JSMITH jc/jcjob retrieve PROJECT_VIEWER',
    'ACME||JSMITH pm/scmast retrieve PROJECT_VIEWER'
  ])
  t.same(report.access?.principals.changed, [{ id: 'ACME||JSMITH', changes: ['roles removed: PROJECT_VIEWER'] }])
  t.match(report.textDiff, /^- {2}"ACME\|\|JSMITH": \[PROJECT_VIEWER\]$/m)
  t.match(report.textDiff, /^diff --git a\/policies\/erp\/extra\/notes\.md b\/policies\/erp\/extra\/notes\.md$/m)
})

t.test('data the enumeration cannot cover is named in the report', async (t) => {
  const accounts = join(repo.dir, 'policies', 'erp', 'accounts', 'data.yaml')
  const api = join(repo.dir, 'policies', 'erp', 'api', 'data.yaml')
  const originals = [await readFile(accounts, 'utf8'), await readFile(api, 'utf8')] as const
  t.teardown(async () => {
    await writeFile(accounts, originals[0])
    await writeFile(api, originals[1])
  })
  // An account without idps (any configured provider may speak for it), an action
  // no HTTP method maps to, an endpoint key no path can name, a key not understood.
  await writeFile(accounts, originals[0].replace('    idps: [local, basic]\n    name: Jane Smith', '    name: Jane Smith'))
  await writeFile(api, originals[1]
    .replace('      pm/scmast: [retrieve]\n      cm/cmmast: [retrieve]\n\n', '      pm/scmast: [retrieve, export]\n      cm/cmmast: [retrieve]\n      "Not An Endpoint": [retrieve]\n\n')
    .replace('bypass:\n', 'audit_owner: security@acme.example\n\nbypass:\n'))
  const r = await runDiff(['HEAD'])
  const report = json(r.text)
  const items = report.notCovered.map((n) => n.item)
  t.same(items, [
    'data.erp.api.audit_owner (head working tree)',
    'account ACME||JSMITH',
    'endpoint "Not An Endpoint"',
    'role PROJECT_VIEWER action "export" on pm/scmast (head)'
  ])
  t.match(report.notCovered[1]?.reason, /lists no idps.*evaluated for the providers the data names \(basic, entra, local\)/)
  t.equal(report.summary.notCovered, 4)
  // The enumeration still covers what it can: JSMITH may now be authenticated by entra.
  t.same(report.access?.rights.granted.map((x) => `${x.principal} ${x.endpoint} ${x.action} via ${x.via.join(',')}`), [
    'ACME||JSMITH cm/cmmast retrieve via entra token (cmicuser)',
    'ACME||JSMITH jc/jcjob retrieve via entra token (cmicuser)',
    'ACME||JSMITH pm/scmast retrieve via entra token (cmicuser)',
    'ACME||JSMITH sys/currency retrieve via entra token (cmicuser)'
  ])
  t.same(report.access?.principals.changed, [{ id: 'ACME||JSMITH', changes: ['identity providers local, basic → (any)'] }])
  t.same(report.access?.roles.rightsAdded, [
    { role: 'PROJECT_VIEWER', endpoint: 'Not An Endpoint', action: 'retrieve' },
    { role: 'PROJECT_VIEWER', endpoint: 'pm/scmast', action: 'export' }
  ])
  const md = await runDiff(['HEAD'], 'markdown')
  t.match(md.text, /### Not covered \(4\)/)
  t.match(md.text, /\| account ACME\\\|\\\|JSMITH \| lists no idps/)
})

t.test('markdown on stdout through the real `verdict` process', async (t) => {
  const bin = new URL('../../src/cli/verdict.ts', import.meta.url).pathname
  const tsImport = new URL('../../node_modules/@tapjs/typescript/dist/esm/import.mjs', import.meta.url).href
  const r = await promisify(execFile)(process.execPath, ['--import', tsImport, bin, 'diff', repo.baseline, repo.permission], {
    cwd: repo.dir, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' }, timeout: 120_000
  }).then(() => ({ code: 0, stdout: '' }), (err: { code: number, stdout: string }) => ({ code: err.code, stdout: err.stdout }))
  t.equal(r.code, 1)
  t.match(r.stdout, /^## Verdict: What this policy change does$/m)
  t.match(r.stdout, /^\| ACME\\\|\\\|SVC_PROCORE \| `pm\/scmast` \| delete \| PM_SYNC \| local client procore-sync, local token \(cmicuser\) \| records: 01: 23-410, 23-502, 24-205 \|$/m)
  t.match(r.stdout, /^### Rights revoked \(0\)$/m)
})

t.test('verdict replay writes its report like diff', async (t) => {
  const log = join(out, 'one.log')
  await writeFile(log, JSON.stringify({ decision_id: 'd-1', input: { principal: { method: 'basic', idp: 'basic', subject: 'ACME||SVC_PROCORE', erp_user: 'ACME||SVC_PROCORE', roles: [], scopes: [] }, action: 'delete', request: { method: 'DELETE', path: '/cmictest/pm-rest-api/rest/1/scmast/1' }, endpoint: { env: 'cmictest', module: 'pm', version: '1', resource: 'scmast', id: '1' }, resource: { company: '01', job: '23-410' } }, result: { allow: false } }) + '\n')
  const file = join(out, 'replay.md')
  const r = await withStderr(async () => await replay(['--repo', repo.dir, '--log', log, '-o', file, repo.baseline, repo.permission]))
  t.equal(r.code, 0, 'SVC_PROCORE may not use Basic (idps: local), so nothing flips')
  const md = await readFile(file, 'utf8')
  t.match(md, /## Verdict: Decision log replay/)
  t.match(md, /1 replayed under base and head; 0 not replayable/)
  await writeFile(log, (await readFile(log, 'utf8')).replace('"idp":"basic"', '"idp":"local"').replace('"method":"basic"', '"method":"jwt"'))
  const flipped = await withStderr(async () => await replay(['--repo', repo.dir, '--log', log, '--format', 'json', '-o', file, repo.baseline, repo.permission]))
  t.equal(flipped.code, 1)
  t.same(json(await readFile(file, 'utf8')).replay?.flips.map((f) => `${f.decision_id} ${f.change} ${f.roles.join(',')}`), ['d-1 deny→allow PM_SYNC'])
})
