// The HTML report in a real browser: Debian's headless Chromium loads the file
// (no network: the page has no external asset and a CSP that forbids loading
// any) and dumps the rendered DOM, which must show the changes: the changed
// matrix cells, the principal, the job. Without Chromium the test fails loudly.
import { execFile } from 'node:child_process'
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { run as diff } from '../../src/cli/diff.js'
import { esc, renderHtml } from '../../src/review/render-html.js'
import { REPORT_FORMAT, summarize, type Report } from '../../src/review/report.js'
import { makeReviewRepo } from '../helpers/review-repo.js'

t.setTimeout(180_000)
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium'

const repo = await makeReviewRepo()
const out = await mkdtemp(join(tmpdir(), 'verdict-html-'))
t.teardown(async () => {
  await repo.cleanup()
  await rm(out, { recursive: true, force: true })
})

async function renderedDom (file: string): Promise<string> {
  try {
    await access(CHROMIUM)
  } catch {
    throw new Error(`Chromium is required for the HTML report test and was not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_BIN)`)
  }
  const profile = await mkdtemp(join(tmpdir(), 'verdict-chromium-'))
  try {
    const { stdout } = await promisify(execFile)(CHROMIUM, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--dump-dom', `file://${file}`
    ], { timeout: 60_000, maxBuffer: 32 * 1024 * 1024 })
    return stdout
  } finally {
    await rm(profile, { recursive: true, force: true })
  }
}

async function htmlReport (base: string, head: string, name: string): Promise<{ file: string, code: number }> {
  const file = join(out, `${name}.html`)
  const code = await diff(['--repo', repo.dir, '--format', 'html', '-o', file, base, head])
  return { file, code }
}

t.test('a permission added: the role matrix marks the changed cell, the principal matrix too', async (t) => {
  const { file, code } = await htmlReport(repo.baseline, repo.permission, 'permission')
  t.equal(code, 1)
  const html = await readFile(file, 'utf8')
  t.notMatch(html, /<script|<link|src=|https?:\/\/(?!www\.w3\.org)/i, 'self-contained: no script, no external asset')
  const dom = await renderedDom(file)
  t.match(dom, /<h2>Rights granted \(1\)<\/h2>/)
  t.match(dom, /<td class="granted">ACME\|\|SVC_PROCORE<\/td><td><code>pm\/scmast<\/code><\/td><td class="granted">delete<\/td><td>PM_SYNC<\/td>/)
  // Exactly one changed cell per matrix, and it holds the granted action.
  const changed = [...dom.matchAll(/<td class="changed" data-changed="true">(.*?)<\/td>/g)].map((m) => m[1])
  t.same(changed, [
    '<span class="held">create</span> <span class="held">retrieve</span> <span class="held">update</span> <ins class="granted" data-change="granted" title="granted">+delete</ins>',
    '<span class="held">create</span> <span class="held">retrieve</span> <span class="held">update</span> <ins class="granted" data-change="granted" title="granted">+delete</ins>'
  ])
  t.match(dom, /<tr><th scope="row">PM_SYNC<\/th>/)
  t.match(dom, /<tr><th scope="row">ACME\|\|SVC_PROCORE<\/th>/)
  t.match(dom, /<span class="add">\+ {6}pm\/scmast: \[create, retrieve, update, delete\]<\/span>/)
})

t.test('a job moved: the principal and the job it loses, per principal', async (t) => {
  const { file } = await htmlReport(repo.permission, repo.jobMove, 'job-move')
  const dom = await renderedDom(file)
  t.match(dom, /<h2>Job scope changes per principal \(0 gained, 3 lost\)<\/h2>/)
  t.match(dom, /<h3>ACME\|\|JSMITH<\/h3>/)
  const rows = [...dom.matchAll(/<tr><td>ACME\|\|JSMITH<\/td><td><code>([^<]+)<\/code><\/td><td>retrieve<\/td><td>01<\/td><td class="removed">job 23-415<\/td>/g)].map((m) => m[1])
  t.same(rows, ['cm/cmmast', 'jc/jcjob', 'pm/scmast'])
  t.notMatch(dom, /data-changed="true"/, 'no right changed, so no matrix cell is marked')
})

t.test('the refactor: the page says nothing changed', async (t) => {
  const { file, code } = await htmlReport(repo.serviceAccount, repo.refactor, 'refactor')
  t.equal(code, 0)
  const dom = await renderedDom(file)
  t.match(dom, /<p class="verdict unchanged">No change in access\.<\/p>/)
  t.notMatch(dom, /data-changed="true"/)
})

t.test('values from data are escaped: a hostile account name stays text in the browser', async (t) => {
  const hostile = '<img src=x onerror="alert(1)">ACME||EVIL'
  t.equal(esc(hostile), '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;ACME||EVIL')
  const report: Report = {
    format: REPORT_FORMAT,
    command: 'diff',
    base: { label: '<b>base</b>', commit: null, subject: null, author: null, digest: 'sha256:x' },
    head: { label: 'head', commit: '0123456789abcdef0123456789abcdef01234567', subject: '<i>subject</i>', author: '<u>author</u>', digest: 'sha256:y' },
    summary: summarize(null, null, []),
    access: {
      rights: { granted: [{ principal: hostile, kind: 'service_account', endpoint: 'jc/jcjob', action: 'retrieve', roles: ['R<1>'], via: ['basic'], rows: 'all rows' }], revoked: [] },
      scope: { gained: [], lost: [] },
      records: {
        gained: [],
        lost: [{ principal: hostile, endpoint: 'jc/jcjob', action: 'update', company: '<s>01</s>', records: ['<em>j</em>'], scope: '<em>j</em>', keeps: '<q>k</q>', roles: ['R<1>'], via: ['basic'] }]
      },
      decisions: [],
      principals: { added: [], removed: [], changed: [], clients: [] },
      roles: { added: [], removed: [], rightsAdded: [], rightsRemoved: [] },
      roleMatrix: [],
      principalMatrix: [{ row: hostile, endpoint: 'jc/jcjob', action: 'retrieve', base: false, head: true }],
      space: { routes: 1, accounts: 1, endpoints: 1, actions: 4, evaluations: 4, records: 1, recordEvaluations: 4 }
    },
    replay: null,
    notCovered: [{ item: '</td><script>x</script>', reason: 'r' }],
    limits: [],
    textDiff: '+<script>alert(2)</script>\n'
  }
  const file = join(out, 'hostile.html')
  await writeFile(file, renderHtml(report))
  const dom = await renderedDom(file)
  t.notMatch(dom, /<img|<script|<b>base|<i>|<u>|<em>|<q>|<s>/)
  t.match(dom, /0123456789ab “&lt;i&gt;subject&lt;\/i&gt;” by &lt;u&gt;author&lt;\/u&gt;/)
  t.match(dom, /<td>&lt;s&gt;01&lt;\/s&gt;<\/td><td class="removed">&lt;em&gt;j&lt;\/em&gt;<\/td><td>&lt;q&gt;k&lt;\/q&gt;<\/td>/)
  t.match(dom, /&lt;img src=x onerror="alert\(1\)"&gt;ACME\|\|EVIL/)
  t.match(dom, /&lt;\/td&gt;&lt;script&gt;x&lt;\/script&gt;/)
})
