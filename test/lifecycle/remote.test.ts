// Remote bundles against a real HTTP server on loopback that serves a signed
// bundle with an ETag, answers 304 when If-None-Match matches, fails with 500, or
// accepts the request and never answers. Verdict polls every 50-100 ms here.
import { createPrivateKey } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import t from 'tap'
import { buildBundle } from '../../src/toolchain/bundle-writer.js'
import type { PolicyActivatedEvent, PolicyFailedEvent } from '../../src/lifecycle/store.js'
import { backoffDelay, BACKOFF_BASE_MS, createBundleFetcher, pollDelay, startPolling } from '../../src/lifecycle/remote.js'
import { POLICY_DIR } from '../helpers/app.js'
import { buildAppWithStore as buildApp, keyPair, repack, tempDir, waitFor } from '../engine/helpers.js'

type Mode = { kind: 'serve', body: Buffer, etag: string } | { kind: 'fail' } | { kind: 'hang' }

interface BundleServer {
  url: string
  mode: Mode
  requests: Array<{ ifNoneMatch?: string, answered: number }>
  hungClosed: number
  close (): Promise<void>
}

async function startBundleServer (mode: Mode): Promise<BundleServer> {
  const sockets = new Set<Socket>()
  const state: BundleServer = {
    url: '',
    mode,
    requests: [],
    hungClosed: 0,
    async close () {
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  }
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const m = state.mode
    const ifNoneMatch = req.headers['if-none-match']
    if (m.kind === 'hang') {
      state.requests.push({ ifNoneMatch, answered: 0 })
      req.socket.on('close', () => state.hungClosed++)
      return // never answers
    }
    if (m.kind === 'fail') {
      state.requests.push({ ifNoneMatch, answered: 500 })
      res.writeHead(500).end('upstream broke')
      return
    }
    if (ifNoneMatch === m.etag) {
      state.requests.push({ ifNoneMatch, answered: 304 })
      res.writeHead(304, { etag: m.etag }).end()
      return
    }
    state.requests.push({ ifNoneMatch, answered: 200 })
    res.writeHead(200, { etag: m.etag, 'content-type': 'application/gzip', 'content-length': m.body.length }).end(m.body)
  })
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bundles/verdict.tar.gz`
  return state
}

const dir = await tempDir(t)
const keys = await keyPair(dir, 'ec')
const other = await keyPair(dir, 'ec', 'other')
const signingKey = createPrivateKey(await readFile(keys.privateFile))
const bundle = async (revision: string, key = signingKey): Promise<Buffer> =>
  (await buildBundle({ dir: POLICY_DIR, entrypoint: 'verdict/decision', revision, signing: { key, alg: 'ES256', keyId: 'release' } })).archive
const r1 = await bundle('r1')
const r2 = await bundle('r2')

const policyConfig = (url: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  bundleUrl: url,
  verificationKey: keys.publicFile,
  polling: { minDelaySeconds: 0.05, maxDelaySeconds: 0.1 },
  fetchTimeoutSeconds: 0.3,
  ...extra
})
const health = async (app: Awaited<ReturnType<typeof buildApp>>): Promise<{ status: string, policy: Record<string, unknown> }> =>
  (await app.inject({ method: 'GET', url: '/health' })).json()

t.test('polling: ETag and 304, a changed bundle, 500, a server that hangs, refused bundles, recovery', async (t) => {
  const server = await startBundleServer({ kind: 'serve', body: r1, etag: '"r1"' })
  t.teardown(() => server.close())
  const app = await buildApp({ policy: policyConfig(server.url) })
  t.teardown(() => app.close())
  const activated: PolicyActivatedEvent[] = []
  const failed: PolicyFailedEvent[] = []
  app.policy.events.on('activated', (e) => activated.push(e))
  app.policy.events.on('failed', (e) => failed.push(e))

  t.match(await health(app), { status: 'ready', policy: { revision: 'r1', source: 'url', verified: true } })

  // Unchanged: conditional requests, 304, nothing activated.
  await waitFor('three 304s', () => server.requests.filter((r) => r.answered === 304).length >= 3)
  t.ok(server.requests.slice(1).every((r) => r.ifNoneMatch === '"r1"'), 'every poll after the first sends If-None-Match with the ETag')
  t.equal(activated.length, 0, 'a 304 activates nothing')

  // Changed: downloaded, verified, swapped.
  server.mode = { kind: 'serve', body: r2, etag: '"r2"' }
  await waitFor('r2 active', () => activated.length === 1)
  t.match(activated[0], { revision: 'r2', source: 'url' })
  t.match(await health(app), { status: 'ready', policy: { revision: 'r2' } })

  // 500: degraded, r2 kept.
  server.mode = { kind: 'fail' }
  await waitFor('a 500', () => failed.some((f) => /HTTP 500/.test(f.error.message)))
  t.match(await health(app), { status: 'degraded', policy: { revision: 'r2', error: /answered HTTP 500/ } })
  const d = await app.inject({ method: 'POST', url: '/v1/decide', payload: { request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob' } } })
  t.match(d.json(), { policy: { revision: 'r2' } }, 'decisions still use r2')

  // A server that accepts and never answers: each poll times out.
  server.mode = { kind: 'hang' }
  await waitFor('a timeout', () => failed.some((f) => /did not answer within 300 ms/.test(f.error.message)))
  t.match(await health(app), { status: 'degraded', policy: { revision: 'r2', error: /did not answer/ } })
  await waitFor('the hung request given up (its connection closed)', () => server.hungClosed >= 1)

  // A tampered bundle and one signed with another key: refused, r2 kept; their
  // ETags are not remembered, so the next poll downloads again.
  server.mode = { kind: 'serve', body: await repack(r1, (f) => f.set('data.json', Buffer.from('{"erp":{}}'))), etag: '"tampered"' }
  await waitFor('the tampered bundle refused', () => failed.some((f) => /data\.json does not match its signed digest/.test(f.error.message)))
  t.match(await health(app), { status: 'degraded', policy: { revision: 'r2', error: /refused: data\.json does not match/ } })
  await waitFor('a second download of it', () => server.requests.filter((r) => r.answered === 200 && r.ifNoneMatch === '"r2"').length >= 2)

  server.mode = { kind: 'serve', body: await bundle('evil', createPrivateKey(await readFile(other.privateFile))), etag: '"evil"' }
  await waitFor('the other key refused', () => failed.some((f) => /does not verify with the configured key/.test(f.error.message)))
  t.match(await health(app), { status: 'degraded', policy: { revision: 'r2' } })

  // The server serves r2 again: 304 (the active bundle's ETag), ready again.
  server.mode = { kind: 'serve', body: r2, etag: '"r2"' }
  await waitFor('ready again', async () => (await health(app)).status === 'ready')
  t.equal(server.requests.at(-1)?.answered, 304, 'recovered by a 304: the active bundle is current')
  t.same(activated.map((a) => a.revision), ['r2'], 'only r2 was ever activated after r1')

  // Closing the app stops the polling.
  await app.close()
  const count = server.requests.length
  await new Promise((resolve) => setTimeout(resolve, 400))
  t.equal(server.requests.length, count, 'no poll after close')
})

t.test('a bundle URL that fails at start: starting → failed, retried with backoff, then ready', async (t) => {
  const server = await startBundleServer({ kind: 'fail' })
  t.teardown(() => server.close())
  const app = await buildApp({ policy: policyConfig(server.url) })
  t.teardown(() => app.close())
  t.match(await health(app), { status: 'failed', policy: { error: /HTTP 500/ } })
  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 503)
  t.equal((await app.inject({ method: 'POST', url: '/v1/decide', payload: { request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob' } } })).statusCode, 503)
  await waitFor('retries', () => server.requests.length >= 3)
  t.ok(server.requests.every((r) => r.ifNoneMatch === undefined), 'no ETag is sent before a bundle is active')

  server.mode = { kind: 'serve', body: r1, etag: '"r1"' }
  await waitFor('ready', async () => (await app.inject({ method: 'GET', url: '/ready' })).statusCode === 200)
  t.match(await health(app), { status: 'ready', policy: { revision: 'r1' } })
})

t.test('a bundle server that hangs at start does not stop the start', async (t) => {
  const server = await startBundleServer({ kind: 'hang' })
  t.teardown(() => server.close())
  // The download would time out only after an hour; the start goes on without it.
  const app = await buildApp({ policy: policyConfig(server.url, { fetchTimeoutSeconds: 3600 }) })
  t.teardown(() => app.close())
  t.match(await health(app), { status: 'starting', policy: { state: 'starting', source: 'url' } })
  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 503)
  t.equal((await app.inject({ method: 'POST', url: '/v1/decide', payload: { request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob' } } })).statusCode, 503,
    'no policy yet: 503, never an allow')
})

t.test('a hanging download is aborted when the app closes', async (t) => {
  const server = await startBundleServer({ kind: 'serve', body: r1, etag: '"r1"' })
  t.teardown(() => server.close())
  const app = await buildApp({ policy: policyConfig(server.url, { fetchTimeoutSeconds: 3600 }) })
  server.mode = { kind: 'hang' }
  await waitFor('a hung poll', () => server.requests.some((r) => r.answered === 0))
  await app.close()
  await waitFor('the hung connection closed by Verdict', () => server.hungClosed >= 1)
  t.pass('closed without waiting for the download timeout')
})

t.test('bounds: a bundle larger than maxBundleBytes, by Content-Length or by its body', async (t) => {
  const server = await startBundleServer({ kind: 'serve', body: r1, etag: '"r1"' })
  t.teardown(() => server.close())
  const fetcher = createBundleFetcher(server.url, { timeoutMs: 5000, maxBytes: 1024 })
  t.teardown(() => fetcher.close())
  await t.rejects(fetcher.fetch(), { code: 'POLICY_BUNDLE_FETCH_FAILED', message: /sent \d+ bytes, more than the 1024 allowed/ })

  // Chunked (no Content-Length): cut off while reading.
  const chunked = createServer((_req, res) => { res.writeHead(200); res.write(Buffer.alloc(800)); res.end(Buffer.alloc(800)) })
  await new Promise<void>((resolve) => chunked.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => chunked.close(resolve)))
  const f2 = createBundleFetcher(`http://127.0.0.1:${(chunked.address() as AddressInfo).port}/`, { timeoutMs: 5000, maxBytes: 1024 })
  await t.rejects(f2.fetch(), { message: /sent more than the 1024 bytes allowed/ })

  // A port nothing listens on any more.
  const gone = createServer()
  await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve))
  const gonePort = (gone.address() as AddressInfo).port
  await new Promise((resolve) => gone.close(resolve))
  const refused = createBundleFetcher(`http://127.0.0.1:${gonePort}/none`, { timeoutMs: 5000, maxBytes: 1024 })
  await t.rejects(refused.fetch(), { code: 'POLICY_BUNDLE_FETCH_FAILED', message: /ECONNREFUSED/ })
  refused.close()
  await t.rejects(refused.fetch(), { message: /closed/ })

  const app = await buildApp({ policy: policyConfig(server.url, { maxBundleBytes: 1024 }) })
  t.teardown(() => app.close())
  t.match(await health(app), { status: 'failed', policy: { error: /more than the 1024 allowed/ } })
})

t.test('delays: jittered exponential backoff, bounded; polls uniform in [min, max]', async (t) => {
  const low = (): number => 0
  const high = (): number => 1
  t.same([1, 2, 3, 4].map((n) => backoffDelay(n, 60_000, high)), [BACKOFF_BASE_MS, 2 * BACKOFF_BASE_MS, 4 * BACKOFF_BASE_MS, 8 * BACKOFF_BASE_MS], 'doubles per failure')
  t.equal(backoffDelay(3, 60_000, low), 2 * BACKOFF_BASE_MS, 'jitter takes off up to half')
  t.equal(backoffDelay(100, 60_000, high), 60_000, 'never above the maximum')
  t.equal(backoffDelay(100, 60_000, low), 30_000)
  t.equal(pollDelay(1000, 2000, low), 1000)
  t.equal(pollDelay(1000, 2000, high), 2000)

  // The loop: polls never overlap, back off while failing, stop when asked.
  let active = 0
  let overlap = false
  let calls = 0
  const poller = startPolling(async () => {
    calls++
    overlap ||= active > 0
    active++
    await new Promise((resolve) => setTimeout(resolve, 20))
    active--
    if (calls % 2 === 0) throw new Error('every other poll fails')
  }, { minMs: 1, maxMs: 5 })
  await waitFor('polls', () => calls >= 6)
  poller.stop()
  const stoppedAt = calls
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.notOk(overlap, 'no two polls at once')
  t.ok(calls <= stoppedAt + 1, 'stopped')
})
