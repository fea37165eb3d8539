// A temporary git repository for the `verdict diff` / `verdict replay` tests:
// the repo's policies/ copied in, then real commits, each one kind of change an
// auditor reviews. Files are edited as text at anchors (so the diff is what a
// person would write), and every edit checks that its anchor matched, so a test
// can never pass on a no-op commit.
import { execFileSync } from 'node:child_process'
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { POLICY_DIR } from './app.js'

export interface ReviewRepo {
  dir: string
  /** commit ids, each the child of the one before */
  baseline: string
  /** PM_SYNC may also delete pm/scmast */
  permission: string
  /** job 23-415 of company 01 moves from HEALTHCARE to COMMERCIAL */
  jobMove: string
  /** a new service account ACME||SVC_FIELDVIEW (Entra client, PROJECT_VIEWER, BRIDGES in company 02) */
  serviceAccount: string
  /** a Rego refactor with no effect: api.rego's private helpers renamed */
  refactor: string
  /** SVC_PAYROLL's group in company 02 goes from MASTER to BRIDGES: it keeps two jobs there and loses the rest, writes included */
  payrollGroups: string
  git: (...args: string[]) => string
  cleanup: () => Promise<void>
}

export const FIELDVIEW = 'ACME||SVC_FIELDVIEW'
export const FIELDVIEW_CLIENT = 'b7e1d2c3-4a5b-4c6d-8e7f-9a0b1c2d3e4f'

async function editText (file: string, edits: Array<[RegExp, string]>): Promise<void> {
  let text = await readFile(file, 'utf8')
  for (const [pattern, replacement] of edits) {
    if (!pattern.test(text)) throw new Error(`${file} no longer matches ${String(pattern)}: update the refactor commit`)
    text = text.replace(pattern, replacement)
  }
  await writeFile(file, text)
}

export async function makeReviewRepo (): Promise<ReviewRepo> {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-review-repo-'))
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
  git('init', '-q', '-b', 'main')
  git('config', 'user.name', 'Verdict Test')
  git('config', 'user.email', 'verdict-test@example.invalid')
  git('config', 'commit.gpgsign', 'false')
  await cp(POLICY_DIR, join(dir, 'policies'), { recursive: true })
  const commit = (message: string): string => {
    git('add', '-A')
    git('commit', '-q', '-m', message)
    return git('rev-parse', 'HEAD')
  }
  const file = (...parts: string[]): string => join(dir, 'policies', ...parts)

  const baseline = commit('baseline: the example policies')

  await editText(file('erp', 'api', 'data.yaml'), [
    [/(PM_SYNC:[^]*?pm\/scmast: \[create, retrieve, update)\]/, '$1, delete]']
  ])
  const permission = commit('PM_SYNC may delete subcontracts')

  await editText(file('erp', 'security', 'data.yaml'), [
    [/(HEALTHCARE:\n[^\n]*\n\s+jobs: )\["23-410", "23-415"\]/, '$1["23-410"]'],
    [/(COMMERCIAL:\n[^\n]*\n\s+jobs: )\["23-502", "24-118"\]/, '$1["23-415", "23-502", "24-118"]']
  ])
  const jobMove = commit('move job 23-415 from HEALTHCARE to COMMERCIAL')

  await editText(file('erp', 'accounts', 'data.yaml'), [
    [/\n\n(# OAuth client id -> account)/, `
  "${FIELDVIEW}":
    kind: service_account
    idps: [entra]
    name: Field viewer
    description: Read-only job and subcontract viewer for the field app, company 02 bridges.
    owner: field@acme.example

$1`],
    [/( +)("8a4f2c71-3d5e-4b9a-9c1f-6e2d7b0a5f13": "ACME\|\|SVC_POWERBI"\n)/, `$1$2$1"${FIELDVIEW_CLIENT}": "${FIELDVIEW}"\n`]
  ])
  await editText(file('erp', 'api', 'data.yaml'), [
    [/(\n {2}"ACME\|\|JSMITH": \[PROJECT_VIEWER\]\n)/, `$1  "${FIELDVIEW}": [PROJECT_VIEWER]\n`]
  ])
  await editText(file('erp', 'security', 'data.yaml'), [
    [/(\n {2}"ACME\|\|JSMITH":\n {4}"01": \{ groups: \[HEALTHCARE\] \}\n)/, `$1  "${FIELDVIEW}":\n    "02": { groups: [BRIDGES] }\n`]
  ])
  const serviceAccount = commit('add service account ACME||SVC_FIELDVIEW')

  await editText(file('verdict', 'api', 'api.rego'), [
    [/\b_names\(/g, '_sorted_names('],
    [/\b_grant_word\(/g, '_verb(']
  ])
  const refactor = commit('api.rego: clearer helper names')

  await editText(file('erp', 'security', 'data.yaml'), [
    [/(\n {2}"ACME\|\|SVC_PAYROLL":\n {4}"01": \{ groups: \[MASTER\] \}\n {4}"02": \{ groups: )\[MASTER\]/, '$1[BRIDGES]']
  ])
  const payrollGroups = commit('payroll import: company 02 limited to the bridge jobs')

  return { dir, baseline, permission, jobMove, serviceAccount, refactor, payrollGroups, git, cleanup: async () => { await rm(dir, { recursive: true, force: true }) } }
}
