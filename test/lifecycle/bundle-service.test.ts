// The bundle service as operators run it: real HTTP(S) servers that require a
// bearer token, an API-key header or a client certificate (mutual TLS) before
// they serve the signed bundle; and the last good bundle persisted on disk, so a
// restart while the bundle service is down still serves the policy (and /health
// says it is the persisted one), while a persisted file changed on disk is refused.
import { createPrivateKey } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { createServer as createHttpServer, type IncomingMessage } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo, Server } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { parseConfig } from '../../src/config.js'
import { buildBundle } from '../../src/toolchain/bundle-writer.js'
import { buildAppWithStore as buildApp, keyPair, repack, tempDir, waitFor } from '../engine/helpers.js'
import { POLICY_DIR } from '../helpers/app.js'
import { createTestCa, writePem } from '../helpers/test-ca.js'

const dir = await tempDir(t, 'verdict-bundle-service-')
const keys = await keyPair(dir, 'ec')
const signingKey = createPrivateKey(await readFile(keys.privateFile))
const bundle = async (revision: string): Promise<Buffer> =>
  (await buildBundle({ dir: POLICY_DIR, entrypoint: 'verdict/decision', revision, signing: { key: signingKey, alg: 'ES256', keyId: 'release' } })).archive
const r1 = await bundle('r1')

type Check = (req: IncomingMessage) => boolean

interface BundleServer { url: string, refused: number, served: number, close: () => Promise<void> }

async function listen (server: Server, scheme: 'http' | 'https', stats: { refused: number, served: number }): Promise<BundleServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `${scheme}://${scheme === 'https' ? 'localhost' : '127.0.0.1'}:${port}/bundles/verdict.tar.gz`,
    get refused () { return stats.refused },
    get served () { return stats.served },
    close: async () => { (server as { closeAllConnections?: () => void }).closeAllConnections?.(); await new Promise((resolve) => server.close(resolve)) }
  } as BundleServer
}

async function httpBundleServer (check: Check, body = r1): Promise<BundleServer> {
  const stats = { refused: 0, served: 0 }
  const server = createHttpServer((req, res) => {
    if (!check(req)) { stats.refused++; res.writeHead(401).end(); return }
    stats.served++
    res.writeHead(200, { etag: '"r1"', 'content-type': 'application/gzip' }).end(body)
  })
  return await listen(server, 'http', stats)
}

const policy = (url: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  bundleUrl: url,
  verificationKey: keys.publicFile,
  polling: { minDelaySeconds: 0.05, maxDelaySeconds: 0.1 },
  fetchTimeoutSeconds: 1,
  ...extra
})

type App = Awaited<ReturnType<typeof buildApp>>
const health = async (app: App): Promise<Record<string, any>> => (await app.inject({ method: 'GET', url: '/health' })).json()
const decideStatus = async (app: App): Promise<number> =>
  (await app.inject({ method: 'POST', url: '/v1/decide', payload: { request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob' } } })).statusCode

t.test('a bearer token read from a file, rotated without a restart', async (t) => {
  let accepted = 'token-one'
  const server = await httpBundleServer((req) => req.headers.authorization === `Bearer ${accepted}`)
  t.teardown(() => server.close())
  const tokenFile = join(dir, 'bundle-token')
  await writeFile(tokenFile, 'token-one\n')
  const app = await buildApp({ policy: policy(server.url, { bundleService: { bearerTokenFile: tokenFile } }) })
  t.teardown(() => app.close())
  t.match(await health(app), { status: 'ready', policy: { revision: 'r1', verified: true } }, 'the token opened the bundle service')

  accepted = 'token-two'
  await waitFor('a refused poll', () => server.refused > 0)
  // The server counts the refusal before the store has heard it: wait for the store.
  await waitFor('degraded', async () => (await health(app)).status === 'degraded')
  t.match(await health(app), { status: 'degraded', policy: { error: /HTTP 401/ } }, 'an outdated token: degraded, r1 kept')
  await writeFile(tokenFile, 'token-two')
  await waitFor('ready again', async () => (await health(app)).status === 'ready')
  t.pass('the rotated token is read at the next download')

  const noToken = await buildApp({ policy: policy(server.url) })
  t.teardown(() => noToken.close())
  t.match(await health(noToken), { status: 'failed', policy: { error: /HTTP 401/ } }, 'without the token: nothing loads')
  t.equal(await decideStatus(noToken), 503, 'and decisions answer 503, never an allow')
})

t.test('extra headers (an API key)', async (t) => {
  const server = await httpBundleServer((req) => req.headers['x-api-key'] === 'k-123')
  t.teardown(() => server.close())
  const app = await buildApp({ policy: policy(server.url, { bundleService: { headers: { 'X-Api-Key': 'k-123' } } }) })
  t.teardown(() => app.close())
  t.match(await health(app), { status: 'ready', policy: { revision: 'r1' } })
})

t.test('mutual TLS with the bundle service', async (t) => {
  const ca = await createTestCa('Bundle service CA')
  const serverPem = await ca.issue({ cn: 'localhost', dns: ['localhost'], usage: 'server' })
  const stats = { refused: 0, served: 0 }
  const https = createHttpsServer({ cert: serverPem.cert, key: serverPem.key, ca: ca.cert, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const socket = req.socket as import('node:tls').TLSSocket
    if (!socket.authorized) { stats.refused++; res.writeHead(401).end(); return }
    stats.served++
    res.writeHead(200, { etag: '"r1"' }).end(r1)
  })
  const server = await listen(https, 'https', stats)
  t.teardown(() => server.close())
  const client = await writePem(dir, 'bundle-client', await ca.issue({ cn: 'verdict', usage: 'client' }))
  const caFile = join(dir, 'bundle-ca.crt')
  await writeFile(caFile, ca.cert)

  const app = await buildApp({ policy: policy(server.url, { bundleService: { clientCertFile: client.certFile, clientKeyFile: client.keyFile, caFile } }) })
  t.teardown(() => app.close())
  t.match(await health(app), { status: 'ready', policy: { revision: 'r1', verified: true } }, 'the client certificate opened the bundle service')

  const withoutCert = await buildApp({ policy: policy(server.url, { bundleService: { caFile } }) })
  t.teardown(() => withoutCert.close())
  t.match(await health(withoutCert), { status: 'failed', policy: { error: /HTTP 401/ } }, 'no client certificate: refused')

  const untrustedServer = await buildApp({ policy: policy(server.url) })
  t.teardown(() => untrustedServer.close())
  t.match(await health(untrustedServer), { status: 'failed' }, 'a server certificate from an unknown CA is not trusted (system CAs only)')
})

t.test('the last good bundle persisted on disk serves a restart while the bundle service is down', async (t) => {
  const persistDir = join(await tempDir(t, 'verdict-persist-'), 'bundles')
  const server = await httpBundleServer(() => true)
  const first = await buildApp({ policy: policy(server.url, { persistDir }) })
  t.match(await health(first), { status: 'ready', policy: { revision: 'r1' } })
  await waitFor('the bundle on disk', async () => await readFile(join(persistDir, 'bundle.tar.gz')).then((b) => b.equals(r1), () => false))
  await first.close()
  await server.close()

  // Restart with the bundle service gone.
  const restarted = await buildApp({ policy: policy(server.url, { persistDir }) })
  t.teardown(() => restarted.close())
  const h = await health(restarted)
  t.match(h, { status: 'degraded', policy: { revision: 'r1', verified: true, persisted: { savedAt: String } } }, 'serving the persisted r1, and saying so')
  t.equal(await decideStatus(restarted), 200, 'decisions are made')

  // Without persistence the same restart serves nothing.
  const bare = await buildApp({ policy: policy(server.url) })
  t.teardown(() => bare.close())
  t.equal(await decideStatus(bare), 503, 'no persistDir: 503 until the service is back')

  // A persisted bundle changed on disk is verified like a download, and refused.
  // (the data changed, the signature left as it was)
  const tampered = await repack(r1, (files) => {
    const data = files.get('data.json')
    if (data === undefined) throw new Error('the bundle has no data.json')
    files.set('data.json', Buffer.from(data.toString().replace('"ACME||SVC_LEGACY_FTP"', '"ACME||SVC_LEGACY_FTX"')))
  })
  t.not(tampered.length, 0)
  await writeFile(join(persistDir, 'bundle.tar.gz'), tampered)
  const refused = await buildApp({ policy: policy(server.url, { persistDir }) })
  t.teardown(() => refused.close())
  t.match(await health(refused), { status: 'failed', policy: { error: /signature|digest|hash/i } }, 'a tampered persisted bundle is refused by its signature')
  t.equal(await decideStatus(refused), 503)
})

t.test('bundle service configuration rules', async (t) => {
  const parse = (p: Record<string, unknown>): unknown => parseConfig({ policy: p })
  t.throws(() => parse({ dir: POLICY_DIR, bundleService: { headers: { a: 'b' } } }), /bundleService: applies to bundleUrl only/)
  t.throws(() => parse({ dir: POLICY_DIR, persistDir: '/tmp/x' }), /persistDir: applies to bundleUrl only/)
  t.throws(() => parse({ bundleUrl: 'https://b.example/x', bundleService: { clientCertFile: '/c' } }), /clientCertFile and clientKeyFile go together/)
  t.throws(() => parse({ bundleUrl: 'https://b.example/x', bundleService: { headers: { 'If-None-Match': 'x' } } }), /If-None-Match is set by Verdict/)
  t.throws(() => parse({ bundleUrl: 'https://b.example/x', bundleService: { bearerTokenFile: '/t', headers: { Authorization: 'x' } } }), /conflicts with bearerTokenFile/)
  t.throws(() => parse({ bundleUrl: 'https://b.example/x', bundleService: { headers: { 'x-a': 'line\r\nInjected: 1' } } }), /bundleService\/headers/)
})
