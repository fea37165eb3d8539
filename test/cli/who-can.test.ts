// `verdict who-can` and `verdict can` as commands: the policies directory or a
// git revision (--ref), text and JSON, and bad usage (exit 2 with the reason).
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { run as can } from '../../src/cli/can.js'
import { run as whoCan } from '../../src/cli/who-can.js'
import type { CanAnswer, WhoCanAnswer } from '../../src/review/access.js'
import { POLICY_DIR } from '../helpers/app.js'
import { makeReviewRepo } from '../helpers/review-repo.js'

t.setTimeout(180_000)

const repo = await makeReviewRepo()
const out = await mkdtemp(join(tmpdir(), 'verdict-who-can-'))
t.teardown(async () => {
  await repo.cleanup()
  await rm(out, { recursive: true, force: true })
})

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
async function answer (command: typeof can, args: string[]): Promise<{ code: number, stderr: string, text: string }> {
  const file = join(out, `answer-${++n}`)
  const r = await withStderr(async () => await command(['-o', file, ...args]))
  return { ...r, text: await readFile(file, 'utf8').catch(() => '') }
}

t.test('who-can from a git revision: the job move takes Jane Smith off job 23-415', async (t) => {
  const ask = async (ref: string): Promise<WhoCanAnswer> => {
    const r = await answer(whoCan, ['--repo', repo.dir, '--ref', ref, '--format', 'json', '--company', '01', '--job', '23-415', 'retrieve', 'pm/scmast'])
    t.equal(r.code, 0, r.stderr)
    return JSON.parse(r.text) as WhoCanAnswer
  }
  const before = await ask(repo.permission)
  const after = await ask(repo.jobMove)
  t.same(before.accounts.map((a) => a.account), ['ACME||JSMITH', 'ACME||SVC_POWERBI'])
  t.same(after.accounts.map((a) => a.account), ['ACME||SVC_POWERBI'])
  t.equal(after.revision.commit, repo.jobMove)
  t.equal(after.revision.subject, 'move job 23-415 from HEALTHCARE to COMMERCIAL')
  t.same(after.record, { company: '01', job: '23-415' })
})

t.test('can as text and JSON, from the policies directory', async (t) => {
  const text = await answer(can, ['--policies', POLICY_DIR, 'ACME||SVC_PROCORE'])
  t.equal(text.code, 0, text.stderr)
  t.match(text.text, /^## What ACME\\\|\\\|SVC_PROCORE can do$/m)
  t.match(text.text, /^\| `pm\/scmast` \| update \| records: 01: 23-410, 23-502, 24-205 \| PM_SYNC \| local client procore-sync, local token \(cmicuser\) \|$/m)
  const json = await answer(can, ['--policies', POLICY_DIR, '--format', 'json', 'ACME||SVC_PROCORE'])
  const a = JSON.parse(json.text) as CanAnswer
  t.same(a.routes, ['local token (cmicuser)', 'local client procore-sync'])
  t.same(a.rights.filter((r) => r.endpoint === 'pm/scmast').map((r) => r.action), ['create', 'retrieve', 'update'])
})

t.test('bad usage and unknown accounts exit 2 and say why', async (t) => {
  const cases: Array<[typeof can, string[], RegExp]> = [
    [whoCan, ['retrieve'], /give an action and an endpoint/],
    [whoCan, ['read', 'jc/jcjob'], /"read" is not an action/],
    [whoCan, ['retrieve', 'jcjob'], /"jcjob" is not an endpoint/],
    [whoCan, ['--job', '23-410', 'retrieve', 'jc/jcjob'], /--job needs --company/],
    [whoCan, ['--format', 'html', 'retrieve', 'jc/jcjob'], /--format must be text or json/],
    [can, [], /give one account/],
    [can, ['--policies', POLICY_DIR, 'ACME||NOBODY'], /"ACME\|\|NOBODY" is not an account/],
    [can, ['--repo', repo.dir, '--ref', 'no-such-ref', 'ACME||JSMITH'], /"no-such-ref" names no commit/]
  ]
  for (const [command, args, message] of cases) {
    const r = await answer(command, args)
    t.equal(r.code, 2, args.join(' '))
    t.match(r.stderr, message, args.join(' '))
    t.equal(r.text, '', 'no answer written')
  }
})
