// `verdict replay` over a decision log recorded by the real app and its file
// sink under the baseline policies: replayed under baseline → job move (two
// commits: PM_SYNC may delete subcontracts; job 23-415 leaves HEALTHCARE), it
// lists exactly the decisions those changes flip, and names every event it
// cannot replay (an authentication failure, a masked input, unreadable lines).
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { extractCommit } from '../../src/review/git.js'
import { renderMarkdown } from '../../src/review/render-markdown.js'
import { review } from '../../src/review/review.js'
import { exitCode } from '../../src/review/report.js'
import { startCallers } from '../helpers/callers.js'
import { makeReviewRepo } from '../helpers/review-repo.js'
import { recordDecisionLog } from '../helpers/review-log.js'

// Every revision compiles once (about a second or two each); leave room on a busy machine.
t.setTimeout(180_000)

const repo = await makeReviewRepo()
const callers = await startCallers()
const work = await mkdtemp(join(tmpdir(), 'verdict-replay-'))
t.teardown(async () => {
  await callers.close()
  await repo.cleanup()
  await rm(work, { recursive: true, force: true })
})

// The log is written under the baseline's policies, as a service running them would.
const baselinePolicies = await extractCommit(repo.dir, repo.baseline, 'policies', join(work, 'baseline'))
const log = join(work, 'decisions.log')
await recordDecisionLog({
  policyDir: baselinePolicies,
  path: log,
  callers,
  requests: [
    // flips deny→allow: PM_SYNC gains delete on pm/scmast
    { caller: 'procore (local)', method: 'DELETE', endpoint: 'pm/scmast/SC-9', resource: { company: '01', job: '23-410' }, status: 403 },
    // flips allow→deny: 23-415 leaves Jane Smith's only group
    { caller: 'jane smith (local)', method: 'GET', endpoint: 'jc/jcjob/23-415', resource: { company: '01', job: '23-415' }, status: 200 },
    // rows change: her job list shrinks
    { caller: 'jane smith (local)', method: 'GET', endpoint: 'jc/jcjob', status: 200 },
    // unchanged: everything else (a record still allowed is no flip, though the
    // scope its answer carries changed)
    { caller: 'jane smith (local)', method: 'GET', endpoint: 'jc/jcjob/23-410', resource: { company: '01', job: '23-410' }, status: 200 },
    { caller: 'power bi (entra)', method: 'GET', endpoint: 'pm/scmast/SC-1', resource: { company: '01', job: '23-415' }, status: 200 },
    { caller: 'power bi (entra)', method: 'GET', endpoint: 'pm/scmast', status: 200 },
    { caller: 'procore (local)', method: 'DELETE', endpoint: 'cm/cmmast/CO-1', resource: { company: '01', job: '23-410' }, status: 403 },
    { caller: 'payroll (basic)', method: 'GET', endpoint: 'hcm/pyemptimesheet', status: 200 },
    { caller: 'legacy ftp (basic)', method: 'GET', endpoint: 'sys/currency', status: 200 },
    // not replayable: the credential failed, the policy never ran
    { caller: 'payroll, wrong secret (basic)', method: 'GET', endpoint: 'hcm/pyemployee', status: 401 }
  ]
})
// A second service masks the record in its log: that event would flip, but its
// recorded input is not what was evaluated, so it must be named, not replayed.
const maskedLog = join(work, 'masked.log')
await recordDecisionLog({
  policyDir: baselinePolicies,
  path: maskedLog,
  callers,
  mask: ['/input/resource'],
  requests: [{ caller: 'jane smith (local)', method: 'GET', endpoint: 'jc/jcjob/23-415', resource: { company: '01', job: '23-415' }, status: 200 }]
})
const junkLog = join(work, 'junk.log')
await writeFile(junkLog, 'not json\n[1, 2]\n\n')

t.test('the flips the changes cause, and no others', async (t) => {
  const r = await review({ repo: repo.dir, base: repo.baseline, head: repo.jobMove, access: false, logs: [log, maskedLog, junkLog] })
  const replay = r.replay
  if (!replay) throw new Error('no replay section')
  t.equal(r.command, 'replay')
  t.equal(r.access, null)
  t.equal(replay.events, 13)
  t.equal(replay.replayed, 9)
  t.equal(replay.recordedDiffers, 0, 'the base revision reproduces every recorded decision')
  t.same(replay.flips.map((f) => ({ principal: f.principal, endpoint: f.endpoint, action: f.action, change: f.change, roles: f.roles, line: f.line, log: f.log })), [
    { principal: 'ACME||SVC_PROCORE', endpoint: 'pm/scmast', action: 'delete', change: 'deny→allow', roles: ['PM_SYNC'], line: 1, log },
    { principal: 'ACME||JSMITH', endpoint: 'jc/jcjob', action: 'retrieve', change: 'allow→deny', roles: ['PROJECT_VIEWER'], line: 2, log },
    { principal: 'ACME||JSMITH', endpoint: 'jc/jcjob', action: 'retrieve', change: 'rows', roles: ['PROJECT_VIEWER'], line: 3, log }
  ])
  // Each flip names the record it concerned (company, job, id) and the account.
  t.same(replay.flips.map((f) => f.record), [
    { company: '01', job: '23-410', id: 'SC-9' },
    { company: '01', job: '23-415', id: '23-415' },
    null
  ])
  const md = renderMarkdown(r)
  t.match(md, /^\| ACME\\\|\\\|JSMITH \| `jc\/jcjob` \| company 01, job 23-415, id 23-415 \| retrieve \| allow→deny \|/m)
  t.match(md, /^\| ACME\\\|\\\|JSMITH \| `jc\/jcjob` \| collection \| retrieve \| rows \|/m)
  t.match(md, /^\| account \| endpoint \| record \| action \|/m)
  t.match(replay.flips[0]?.base, /^deny \(api:action_not_granted\)$/)
  t.match(replay.flips[0]?.head, /^allow \(api:role_grants_action, application:job_in_group\)$/)
  t.match(replay.flips[1]?.head, /application:job_not_in_groups/)
  t.equal(replay.flips[2]?.base, 'rows: 01: jobs 23-410, 23-415')
  t.equal(replay.flips[2]?.head, 'rows: 01: job 23-410')
  t.same(replay.byEndpoint, {
    'pm/scmast': { allowToDeny: 0, denyToAllow: 1, rowsChanged: 0 },
    'jc/jcjob': { allowToDeny: 1, denyToAllow: 0, rowsChanged: 1 }
  })
  t.same(replay.byRole, {
    PM_SYNC: { allowToDeny: 0, denyToAllow: 1, rowsChanged: 0 },
    PROJECT_VIEWER: { allowToDeny: 1, denyToAllow: 0, rowsChanged: 1 }
  })
  t.equal(replay.rowsWidened, 0)
  t.equal(replay.rowsNarrowed, 1)
  t.same(replay.unreplayable.map((u) => ({ log: u.log, line: u.line, id: typeof u.decision_id })), [
    { log, line: 10, id: 'string' },
    { log: maskedLog, line: 1, id: 'string' },
    { log: junkLog, line: 1, id: 'object' },
    { log: junkLog, line: 2, id: 'object' }
  ])
  t.match(replay.unreplayable[0]?.reason, /^authentication failure \(basic_invalid_credentials\)/)
  t.match(replay.unreplayable[1]?.reason, /^input masked at \/input\/resource/)
  t.match(replay.unreplayable[2]?.reason, /not JSON/)
  t.match(replay.unreplayable[3]?.reason, /not a decision-log event/)
  t.same({ flips: r.summary.replayFlips, a2d: r.summary.replayAllowToDeny, d2a: r.summary.replayDenyToAllow, rows: r.summary.replayRowsChanged, unreplayable: r.summary.replayUnreplayable },
    { flips: 3, a2d: 1, d2a: 1, rows: 1, unreplayable: 4 })
  t.equal(exitCode(r, 'any'), 1)
  t.equal(exitCode(r, 'grants'), 1, 'a deny→allow is new access')
  t.equal(exitCode(r, 'revokes'), 1)
})

t.test('replayed under a change that affects none of the logged decisions: no flips', async (t) => {
  const r = await review({ repo: repo.dir, base: repo.jobMove, head: repo.refactor, access: false, logs: [log] })
  t.equal(r.replay?.replayed, 9)
  t.same(r.replay?.flips, [])
  t.equal(r.replay?.recordedDiffers, 3, 'the three decisions the earlier commits changed differ from the log')
  t.equal(exitCode(r, 'any'), 0)
})

t.test('only the job move: the two Jane Smith flips', async (t) => {
  const r = await review({ repo: repo.dir, base: repo.permission, head: repo.jobMove, access: false, logs: [log] })
  t.same(r.replay?.flips.map((f) => `${f.line} ${f.change}`), ['2 allow→deny', '3 rows'])
  t.equal(exitCode(r, 'grants'), 0, 'nothing widens')
  t.equal(exitCode(r, 'revokes'), 1)
})

t.test('diff --replay: the access diff and the replay in one report', async (t) => {
  const r = await review({ repo: repo.dir, base: repo.baseline, head: repo.permission, access: true, logs: [log] })
  t.equal(r.command, 'diff')
  t.equal(r.summary.rightsGranted, 1)
  t.same(r.replay?.flips.map((f) => `${f.line} ${f.change}`), ['1 deny→allow'])
})
