// SIGTERM under load, on the real process: requests already accepted are
// answered with real decisions, the decision log holds their events after the
// exit, and a hung request cannot hold the process past the shutdown deadline.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { secretFileName, writeDevSecrets } from '../src/cli/dev-secrets.js'
import { POLICY_DIR } from './helpers/app.js'
import { generateKey, signToken } from './helpers/jwks-server.js'
import { SERVER_ENTRY, startProcess } from './server-process.js'

// Two real processes that each compile the policies: more than tap's default 30 s
// on a busy machine.
t.setTimeout(240_000)

const AUDIENCE = 'api://verdict'
const body = JSON.stringify({ request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob' } })

interface Outcome { status?: number, json?: Record<string, any>, error?: string, sent: Promise<void> }

/** One decision on its own connection (no keep-alive reuse): the answer, or the connection error. */
function decide (base: string, authorization: string, requestId?: string): Outcome & { done: Promise<Outcome> } {
  const outcome: Partial<Outcome> = {}
  let markSent!: () => void
  const sent = new Promise<void>((resolve) => { markSent = resolve })
  const done = new Promise<Outcome>((resolve) => {
    const req = httpRequest(`${base}/v1/decide`, {
      method: 'POST',
      agent: false,
      headers: {
        authorization,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        ...(requestId !== undefined ? { 'x-request-id': requestId } : {})
      }
    }, (res) => {
      let text = ''
      res.on('data', (c: Buffer) => { text += c.toString() })
      res.on('end', () => {
        outcome.status = res.statusCode
        try { outcome.json = JSON.parse(text) } catch { outcome.error = 'unparsable answer' }
        resolve(outcome as Outcome)
      })
      res.on('error', (err: NodeJS.ErrnoException) => { outcome.error = err.code ?? err.message; resolve(outcome as Outcome) })
    })
    req.on('error', (err: NodeJS.ErrnoException) => { outcome.error = err.code ?? err.message; markSent(); resolve(outcome as Outcome) })
    req.end(body, () => markSent())
  })
  return Object.assign(outcome as Outcome, { sent, done })
}

async function setup (t: Test, extra: { shutdownTimeoutMs: number, jwksUri?: string }) {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-drain-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeDevSecrets(dir, ['ACME||SVC_PAYROLL'])
  const secret = (await readFile(join(dir, 'credentials', secretFileName('ACME||SVC_PAYROLL')), 'utf8')).trim()
  const logFile = join(dir, 'logs', 'decisions.log')
  const configFile = join(dir, 'verdict.yaml')
  const issuers = extra.jwksUri !== undefined
    // A long fetch timeout and a short refetch interval: the held key set below
    // keeps its requests in flight for as long as the test needs.
    ? `[{ name: local, profile: oidc, issuer: "https://idp.test", audience: "${AUDIENCE}", jwksUri: "${extra.jwksUri}", erpUserClaim: cmicuser, fetchTimeoutMs: 30000, unknownKidMinIntervalSec: 1 }]`
    : '[]'
  await writeFile(configFile, [
    `server: { host: 127.0.0.1, port: 0, workers: 1, logLevel: info, shutdownTimeoutMs: ${extra.shutdownTimeoutMs} }`,
    `policy: { dir: ${JSON.stringify(POLICY_DIR)}, watch: false }`,
    `authn: { basic: { secretsFile: ${JSON.stringify(join(dir, 'secrets.yaml'))}, pepperFile: ${JSON.stringify(join(dir, 'pepper'))} }, issuers: ${issuers} }`,
    `decisionLogs: { file: { path: ${JSON.stringify(logFile)} } }`
  ].join('\n'))
  const server = startProcess([SERVER_ENTRY], { VERDICT_CONFIG: configFile })
  t.teardown(() => { if (server.child.exitCode === null) server.child.kill('SIGKILL') })
  const basic = 'Basic ' + Buffer.from(`ACME||SVC_PAYROLL:${secret}`).toString('base64')
  return { server, basic, logFile, base: await server.listening() }
}

async function loggedIds (logFile: string): Promise<string[]> {
  const text = await readFile(logFile, 'utf8')
  return text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { decision_id: string }).decision_id)
}

t.test('SIGTERM during load: accepted requests get real decisions, their events are flushed, exit 0', async (t) => {
  // An identity provider whose key set is held back until the test releases it:
  // decisions for its callers are provably in flight (waiting in authentication).
  // Verdict fetches the keys at start: that fetch is answered at once without
  // the key, so the held tokens' kid is unknown and their refetch is held.
  const key = generateKey('RS256')
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  const jwks = { requests: 0, holding: false }
  const idp = createServer((_req, res) => {
    const send = (keys: unknown[]): void => { res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys })) }
    if (!jwks.holding) {
      send([])
      return
    }
    jwks.requests++
    released.then(() => send([key.publicJwk])).catch(() => {})
  })
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { release(); idp.closeAllConnections(); idp.close() })
  const jwksUri = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/jwks`

  const { server, basic, logFile, base } = await setup(t, { shutdownTimeoutMs: 20_000, jwksUri })
  const now = Math.floor(Date.now() / 1000)
  const bearer = 'Bearer ' + signToken({ iss: 'https://idp.test', aud: AUDIENCE, client_id: 'pm-desktop', sub: 'pm-desktop', cmicuser: 'ACME||JSMITH', iat: now, exp: now + 600 }, key)

  // Background load: four callers deciding back to back until SIGTERM.
  const state = { stop: false }
  const load: Array<Outcome & { done: Promise<Outcome> }> = []
  const loops = Array.from({ length: 4 }, async () => {
    while (!state.stop) {
      const d = decide(base, basic)
      load.push(d)
      await d.done
    }
  })
  while (load.filter((d) => d.status === 200).length < 20) await new Promise((resolve) => setTimeout(resolve, 5))

  // Twelve decisions that wait on the held key set (past the 1 s refetch interval).
  await new Promise((resolve) => setTimeout(resolve, 1100))
  jwks.holding = true
  const held = Array.from({ length: 12 }, (_, i) => decide(base, bearer, `held-${i}`))
  await Promise.all(held.map((d) => d.sent))
  while (jwks.requests === 0) await new Promise((resolve) => setTimeout(resolve, 5))
  // The server's own log says it has each of them (the request id is ours).
  const accepted = (): number => held.filter((_, i) => server.output().includes(`"reqId":"held-${i}"`)).length
  while (accepted() < held.length) await new Promise((resolve) => setTimeout(resolve, 10))
  t.equal(held.filter((d) => d.status !== undefined || d.error !== undefined).length, 0, 'none of them is answered yet')

  server.child.kill('SIGTERM')
  state.stop = true
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.equal(server.child.exitCode, null, 'the process waits for its requests in flight')
  release()

  const code = await server.exited
  await Promise.all(loops)
  const heldOutcomes = await Promise.all(held.map((d) => d.done))
  const loadOutcomes = await Promise.all(load.map((d) => d.done))
  t.equal(code, 0, 'exit 0')

  for (const o of heldOutcomes) {
    t.match(o, { status: 200, json: { decision_id: String, principal: { id: 'ACME||JSMITH', idp: 'local' } } }, 'an in-flight request got its real decision')
  }
  const refused = loadOutcomes.filter((o) => o.status === undefined)
  t.ok(refused.every((o) => o.error === 'ECONNREFUSED' || o.error === 'ECONNRESET'), `after the close, connections are refused (${refused.length})`)
  const answered = [...heldOutcomes, ...loadOutcomes].filter((o) => o.status === 200)
  t.ok(loadOutcomes.every((o) => o.status === undefined || o.status === 200 || o.status === 503), 'a load request is answered, refused, or told 503')
  t.ok(answered.every((o) => typeof o.json?.decision_id === 'string' && typeof o.json?.allow === 'boolean'), 'every 200 is a decision')

  const ids = await loggedIds(logFile)
  t.same(new Set(ids), new Set(answered.map((o) => o.json?.decision_id)), 'the decision log holds exactly the answered decisions')
  t.equal(ids.length, answered.length, 'each once')
  t.match(server.output(), /shutting down: no new connections/)
  t.match(server.output(), /shut down cleanly/)
})

t.test('a request that hangs cannot hold the process past the shutdown deadline', async (t) => {
  const { server, basic, logFile, base } = await setup(t, { shutdownTimeoutMs: 300 })
  const answered = await decide(base, basic).done
  t.equal(answered.status, 200)

  // Headers and half a body, then silence: the request is in flight for good.
  const port = Number(new URL(base).port)
  const socket = connect(port, '127.0.0.1')
  await new Promise<void>((resolve) => socket.once('connect', resolve))
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  socket.on('error', () => {})
  socket.write(`POST /v1/decide HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: ${basic}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body.slice(0, 10)}`)
  await new Promise((resolve) => setTimeout(resolve, 200))

  server.child.kill('SIGTERM')
  t.equal(await server.exited, 0, 'the process exits')
  await closed
  t.pass('the hung connection was closed by the server')
  t.match(server.output(), /requests still running at the shutdown deadline/)
  t.same(await loggedIds(logFile), [answered.json?.decision_id], 'the answered decision was flushed')
})
