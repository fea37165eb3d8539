// scripts/policy-review.sh, the pull-request check, run for real: a repository
// whose base branch moved on after the pull request branched, cloned with
// --depth 1 as actions/checkout does, and the script run in the clone. The
// report must be the pull request's own change (from the merge base, which the
// shallow clone lacks until the script deepens it), the job summary must hold
// it, the exit code must follow FAIL_ON, and the comment must go to GitHub's
// API (through a recording stand-in for `gh`: GitHub cannot be reached here).
import { execFile } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { makeReviewRepo } from '../helpers/review-repo.js'

t.setTimeout(240_000)

const SCRIPT = new URL('../../scripts/policy-review.sh', import.meta.url).pathname
const VERDICT = `${process.execPath} --import ${new URL('../../node_modules/@tapjs/typescript/dist/esm/import.mjs', import.meta.url).href} ${new URL('../../src/cli/verdict.ts', import.meta.url).pathname}`

const repo = await makeReviewRepo()
const work = await mkdtemp(join(tmpdir(), 'verdict-policy-review-'))
t.teardown(async () => {
  await repo.cleanup()
  await rm(work, { recursive: true, force: true })
})

// The pull request: PM_SYNC may delete subcontracts (one commit on the baseline).
// Meanwhile the base branch revoked Jane Smith's role: a diff from the base's tip
// would wrongly show her rights as granted by the pull request.
repo.git('branch', 'feature', repo.permission)
repo.git('checkout', '-q', '-b', 'base', repo.baseline)
const api = join(repo.dir, 'policies', 'erp', 'api', 'data.yaml')
const text = await readFile(api, 'utf8')
if (!text.includes('  "ACME||JSMITH": [PROJECT_VIEWER]\n')) throw new Error('api data changed: update the test')
await writeFile(api, text.replace('  "ACME||JSMITH": [PROJECT_VIEWER]\n', ''))
repo.git('commit', '-q', '-am', 'revoke Jane Smith')
repo.git('checkout', '-q', 'main')

const clone = join(work, 'clone')
await promisify(execFile)('git', ['clone', '-q', '--depth', '1', '--branch', 'feature', `file://${repo.dir}`, clone])

// A stand-in for the GitHub CLI that records each call and answers "no comment yet".
const bin = join(work, 'bin')
const calls = join(work, 'gh-calls')
await mkdir(bin)
await writeFile(join(bin, 'gh'), `#!/usr/bin/env bash
printf '%s\\n' "$*" >> ${JSON.stringify(calls)}
for a in "$@"; do case "$a" in body=@*) cp "\${a#body=@}" ${JSON.stringify(join(work, 'comment.md'))} ;; esac; done
exit 0
`)
await chmod(join(bin, 'gh'), 0o755)

interface Run { code: number, stderr: string, report: string, summary: string }
let n = 0
async function review (env: Record<string, string>): Promise<Run> {
  const report = join(work, `report-${++n}.md`)
  const summary = join(work, `summary-${n}.md`)
  const r = await promisify(execFile)('bash', [SCRIPT], {
    cwd: clone,
    timeout: 180_000,
    env: {
      ...process.env,
      TS_NODE_TRANSPILE_ONLY: '1',
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      VERDICT,
      BASE_REF: 'base',
      REPORT: report,
      GITHUB_STEP_SUMMARY: summary,
      ...env
    }
  }).then(({ stderr }) => ({ code: 0, stderr }), (err: { code: number, stderr: string }) => ({ code: err.code, stderr: err.stderr }))
  return { ...r, report: await readFile(report, 'utf8').catch(() => ''), summary: await readFile(summary, 'utf8').catch(() => '') }
}

t.test('a --depth 1 clone: the base fetched, the history deepened, the report is the pull request\'s own change', async (t) => {
  t.equal((await promisify(execFile)('git', ['rev-parse', '--is-shallow-repository'], { cwd: clone })).stdout.trim(), 'true')
  const r = await review({ FAIL_ON: 'grants', PR_NUMBER: '7', GITHUB_REPOSITORY: 'acme/policies', GH_TOKEN: 'test-token' })
  t.equal(r.code, 1, 'a right granted fails --fail-on grants')
  t.match(r.stderr, /deepening the history/)
  t.match(r.stderr, new RegExp(`base: ${repo.baseline} \\(merge base of origin/base and HEAD\\)`))
  t.match(r.report, `- Base: \`${repo.baseline}\` ${repo.baseline.slice(0, 12)} “baseline: the example policies” by Verdict Test`)
  t.match(r.report, /^- Head: `HEAD` [0-9a-f]{12} “PM_SYNC may delete subcontracts” by Verdict Test$/m)
  t.match(r.report, /^### Rights granted \(1\)$/m)
  t.match(r.report, /^\| ACME\\\|\\\|SVC_PROCORE \| `pm\/scmast` \| delete \| PM_SYNC \|/m)
  t.notMatch(r.report, /JSMITH/, 'the base branch\'s own later change is not the pull request\'s')
  t.equal(r.summary, r.report, 'the job summary is the report')
  const gh = await readFile(calls, 'utf8')
  t.match(gh, /^api --paginate repos\/acme\/policies\/issues\/7\/comments --jq /m, 'looks for its earlier comment')
  t.match(gh, /^api --silent -X POST repos\/acme\/policies\/issues\/7\/comments -F body=@/m, 'and comments')
  t.equal(await readFile(join(work, 'comment.md'), 'utf8'), `<!-- verdict-policy-review -->\n${r.report}`)
})

t.test('FAIL_ON decides the exit code; bad settings exit 2', async (t) => {
  const revokes = await review({ FAIL_ON: 'revokes' })
  t.equal(revokes.code, 0, 'nothing revoked')
  t.match(revokes.report, /^### Rights granted \(1\)$/m, 'the report is written all the same')
  t.match(revokes.stderr, /no pull-request comment/)
  t.equal((await review({ FAIL_ON: 'everything' })).code, 2)
  const noBase = await review({ BASE_REF: 'no-such-branch' })
  t.equal(noBase.code, 2, 'a base branch that does not exist fails the check')
  t.match(noBase.stderr, /cannot fetch branch no-such-branch from origin/)
  t.equal(noBase.report, '')
})
