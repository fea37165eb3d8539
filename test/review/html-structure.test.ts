// The auditors' HTML report, parsed with a DOM parser (linkedom): self-contained
// (no script, no external asset, a CSP that forbids loading any), the changes in
// the right places, and every value from the data kept as text, never markup.
// The same page rendered by a real Chromium is test/browser/html-report.browser.ts
// (`npm run test:browser`).
import { DOMParser } from 'linkedom'
import t, { type Test } from 'tap'
import { renderHtml } from '../../src/review/render-html.js'
import { REPORT_FORMAT, summarize, type Report } from '../../src/review/report.js'
import { review } from '../../src/review/review.js'
import { makeReviewRepo } from '../helpers/review-repo.js'

t.setTimeout(180_000)

/** The part of the DOM the checks use (the project has no DOM lib types). */
interface Node {
  textContent: string | null
  parentElement: Node | null
  getAttribute: (name: string) => string | null
  querySelector: (selector: string) => Node | null
  querySelectorAll: (selector: string) => ArrayLike<Node> & Iterable<Node>
}
const parse = (html: string): Node => new DOMParser().parseFromString(html, 'text/html') as unknown as Node
const texts = (nodes: Iterable<Node>): string[] => [...nodes].map((n) => (n.textContent ?? '').trim())

function selfContained (t: Test, doc: Node): void {
  t.equal(doc.querySelectorAll('script, link, iframe, object, embed, img').length, 0, 'no script and no external asset')
  t.equal(doc.querySelectorAll('[src], [href^="http"]').length, 0, 'nothing refers outside the page')
  const csp = doc.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? ''
  t.match(csp, /default-src 'none'/, 'a CSP that forbids loading anything')
}

const repo = await makeReviewRepo()
t.teardown(repo.cleanup)

t.test('a permission added: the granted right, and exactly the changed matrix cells', async (t) => {
  const doc = parse(renderHtml(await review({ repo: repo.dir, base: repo.baseline, head: repo.permission, access: true })))
  selfContained(t, doc)
  const headings = texts(doc.querySelectorAll('h2'))
  t.ok(headings.includes('Rights granted (1)'))
  t.ok(headings.includes('Rights revoked (0)'))
  const granted = [...doc.querySelectorAll('tr')].find((tr) => tr.querySelector('td.granted') !== null)
  t.same(texts(granted?.querySelectorAll('td') ?? []).slice(0, 4), ['ACME||SVC_PROCORE', 'pm/scmast', 'delete', 'PM_SYNC'])
  const changed = [...doc.querySelectorAll('td[data-changed="true"]')]
  t.equal(changed.length, 2, 'one changed cell in each matrix')
  for (const cell of changed) {
    t.same(texts(cell.querySelectorAll('ins.granted')), ['+delete'])
    t.same(texts(cell.querySelectorAll('span.held')), ['create', 'retrieve', 'update'])
  }
  const rowHeads = texts(doc.querySelectorAll('th[scope="row"]'))
  t.ok(rowHeads.includes('PM_SYNC') && rowHeads.includes('ACME||SVC_PROCORE'), 'the role and the principal head their matrix rows')
  t.match(doc.querySelector('pre.diff')?.textContent ?? '', /\+ {6}pm\/scmast: \[create, retrieve, update, delete\]/)
})

t.test('wide tables scroll within the page: every table sits in a scrolling box', async (t) => {
  const doc = parse(renderHtml(await review({ repo: repo.dir, base: repo.baseline, head: repo.payrollGroups, access: true })))
  const tables = [...doc.querySelectorAll('table')]
  t.ok(tables.length >= 5)
  for (const table of tables) t.equal(table.parentElement?.getAttribute('class'), 'scroll', 'the table is inside div.scroll')
  t.equal(doc.querySelectorAll('.scroll > table.matrix').length, 2, 'both matrices')
  t.match(doc.querySelector('style')?.textContent ?? '', /\.scroll\{max-width:100%;overflow:auto;/)
  t.match(doc.querySelector('ul.revisions')?.textContent ?? '', /Head: .* “payroll import: company 02 limited to the bridge jobs” by Verdict Test/)
  t.match(doc.querySelector('body')?.textContent ?? '', /Single-record access \(0 gained, 6 lost\)/)
})

t.test('values from data stay text: a hostile account name is not markup', async (t) => {
  const hostile = '<img src=x onerror="alert(1)">ACME||EVIL'
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
  const doc = parse(renderHtml(report))
  selfContained(t, doc)
  t.equal(doc.querySelectorAll('b, i, u, em, q, s').length, 0, 'labels, subjects, authors and records are not markup')
  t.match(doc.querySelector('ul.revisions')?.textContent ?? '', '“<i>subject</i>” by <u>author</u>')
  const cells = texts(doc.querySelectorAll('td'))
  t.ok(cells.includes(hostile), 'the hostile name is one cell of text')
  t.ok(cells.includes('</td><script>x</script>'), 'a closing tag in data stays text')
  t.match(doc.querySelector('pre.diff')?.textContent ?? '', '+<script>alert(2)</script>')
})
