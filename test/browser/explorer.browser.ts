// The policy explorer in a real browser: Debian's headless Chromium opens
// GET /explorer through a real nginx gateway that authenticates the security team
// (it adds an admin's bearer token, as an SSO proxy would), under the page's own
// Content-Security-Policy. The query string fills the form and submits it; the
// page's script POSTs to /v1/explain and shows the decision and the trace, which
// the dumped DOM must hold. A screenshot of the answered page is kept as an
// artifact (.tap/browser/explorer.png, path printed). Without Chromium or nginx
// the test fails loudly.
import { execFile } from 'node:child_process'
import { access, mkdir, mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import Fastify from 'fastify'
import verdictApp from '../../src/app.js'
import { parseConfig } from '../../src/config.js'
import { POLICY_DIR } from '../helpers/app.js'
import { startCallers } from '../helpers/callers.js'
import { freePort, startNginx } from '../helpers/nginx.js'

t.setTimeout(180_000)
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium'
const ARTIFACTS = resolve('.tap', 'browser')

const callers = await startCallers()
const config = parseConfig({ server: { logLevel: 'silent' }, policy: { dir: POLICY_DIR, watch: false }, authn: callers.authn, explain: { enabled: true, adminRoles: ['Verdict.Decide'] } })
const app = Fastify({ logger: false })
await app.register(verdictApp, { config })
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
const upstream = typeof address === 'object' && address !== null ? address.port : 0
const port = await freePort()
// The gateway: every request reaches Verdict with the admin's token, as behind an SSO proxy.
const nginx = await startNginx(`
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://127.0.0.1:${upstream};
      proxy_set_header Authorization "${callers.header('power bi (entra)')}";
    }
  }`, [port])
t.teardown(async () => {
  await nginx.close()
  await app.close()
  await callers.close()
})

async function chromium (args: string[]): Promise<string> {
  try {
    await access(CHROMIUM)
  } catch {
    throw new Error(`Chromium is required for the explorer browser test and was not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_BIN)`)
  }
  const profile = await mkdtemp(join(tmpdir(), 'verdict-chromium-'))
  try {
    const { stdout } = await promisify(execFile)(CHROMIUM, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`,
      // Virtual time waits for the page's fetch of /v1/explain before the dump or the shot.
      '--virtual-time-budget=15000', ...args
    ], { timeout: 90_000, maxBuffer: 32 * 1024 * 1024 })
    return stdout
  } finally {
    await rm(profile, { recursive: true, force: true })
  }
}

const denied = new URLSearchParams({ account: 'ACME||JSMITH', idp: 'local', method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob/24-101', company: '01', job: '24-101', run: '1' })
const url = `http://127.0.0.1:${port}/explorer?${denied.toString()}`

t.test('the page renders its tables, and the submitted form shows the decision and the trace', async (t) => {
  const dom = await chromium(['--dump-dom', url])
  t.match(dom, /<h1>Verdict policy explorer<\/h1>/)
  t.match(dom, /<tr><th scope="row">PROJECT_VIEWER<\/th>/, 'the role matrix')
  t.match(dom, /<tr><th scope="row">ACME\|\|JSMITH<\/th><td>user<\/td><td>local, basic<\/td><td>PROJECT_VIEWER<\/td>/, 'the account row')
  t.match(dom, /<td>01<\/td><th scope="row">HEALTHCARE<\/th><td>23-410, 23-415<\/td>/, 'the group row')
  // The script ran under the CSP (its hash allowed it), filled the form, asked /v1/explain and showed the answer.
  t.match(dom, /<body data-explained="deny">/, 'the form was submitted and answered')
  t.match(dom, /<span id="verdict" class="deny">deny \(403\) — api:role_grants_action, application:job_not_in_groups<\/span>/)
  const trace = /<pre id="trace">([\s\S]*?)<\/pre>/.exec(dom)?.[1] ?? ''
  t.match(trace, /"resolved_by": "erp_user"/, 'identity evidence')
  t.match(trace, /"granting_roles": \[\s*"PROJECT_VIEWER"\s*\]/, 'API evidence')
  t.match(trace, /"HEALTHCARE": \[\s*"23-410",\s*"23-415"\s*\]/, 'application evidence: the groups and their jobs')
  t.match(trace, /"code": "job_not_in_groups"/)
})

t.test('a screenshot of the answered page is kept', async (t) => {
  await mkdir(ARTIFACTS, { recursive: true })
  const file = join(ARTIFACTS, 'explorer.png')
  await rm(file, { force: true })
  await chromium([`--screenshot=${file}`, '--window-size=1280,1600', '--hide-scrollbars', url])
  const { size } = await stat(file)
  t.ok(size > 10_000, `screenshot written (${size} bytes)`)
  t.comment(`explorer screenshot: ${file}`)
})
