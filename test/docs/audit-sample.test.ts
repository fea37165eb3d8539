// docs/audit-sample.md is the Markdown report `verdict diff job-move-parent job-move`
// prints for the job-move commit of the review test repository, produced here and
// never pasted: the test fails when the file differs from what the code prints
// today. VERDICT_UPDATE_DOCS=1 rewrites the file instead.
// Commit ids differ on every run (the commits are made now), so the sample leaves
// them out; everything else is the report as printed.
import { readFile, writeFile } from 'node:fs/promises'
import t from 'tap'
import { exitCode } from '../../src/review/report.js'
import { renderMarkdown } from '../../src/review/render-markdown.js'
import { review } from '../../src/review/review.js'
import { makeReviewRepo } from '../helpers/review-repo.js'

t.setTimeout(180_000)

const sampleFile = new URL('../../docs/audit-sample.md', import.meta.url)

t.test('docs/audit-sample.md is the report the job-move commit produces', async (t) => {
  const repo = await makeReviewRepo()
  t.teardown(repo.cleanup)
  repo.git('branch', 'job-move-parent', `${repo.jobMove}~1`)
  repo.git('branch', 'job-move', repo.jobMove)

  const report = await review({ repo: repo.dir, base: 'job-move-parent', head: 'job-move', access: true })
  t.equal(exitCode(report, 'any'), 1, 'the change is reported (exit code 1)')
  t.equal(report.summary.scopeLost, 3, 'Jane Smith loses job 23-415 on three objects')
  report.base.commit = null
  report.head.commit = null
  const markdown = renderMarkdown(report)

  if (process.env.VERDICT_UPDATE_DOCS === '1') {
    await writeFile(sampleFile, markdown)
    t.pass('docs/audit-sample.md rewritten')
    return
  }
  const current = await readFile(sampleFile, 'utf8')
  t.equal(current, markdown, 'docs/audit-sample.md is up to date (VERDICT_UPDATE_DOCS=1 npx tap test/docs/audit-sample.test.ts rewrites it)')
})
