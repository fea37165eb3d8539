// OPA-shaped status reports to a real status service that requires a bearer
// token: a report on every activation and failed load and on an interval; the
// bundle's active revision, last download and activation, errors; and a status
// service that is down costs decisions nothing.
import { createPrivateKey } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { buildBundle } from '../../src/toolchain/bundle-writer.js'
import { buildAppWithStore as buildApp, keyPair, tempDir, waitFor } from '../engine/helpers.js'
import { POLICY_DIR } from '../helpers/app.js'

const dir = await tempDir(t, 'verdict-status-')
const keys = await keyPair(dir, 'ec')
const signingKey = createPrivateKey(await readFile(keys.privateFile))
const bundle = async (revision: string): Promise<Buffer> =>
  (await buildBundle({ dir: POLICY_DIR, entrypoint: 'verdict/decision', revision, signing: { key: signingKey, alg: 'ES256', keyId: 'release' } })).archive
const r1 = await bundle('r1')
const r2 = await bundle('r2')

async function listen (handler: Parameters<typeof createServer>[1]): Promise<{ url: string, close: () => Promise<void> }> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) }
  }
}

t.test('status reports follow the bundle: activation, change, failure, interval', async (t) => {
  let served: Buffer | undefined = r1
  const bundles = await listen((req, res) => {
    if (served === undefined) { res.writeHead(500).end(); return }
    const etag = served === r1 ? '"r1"' : '"r2"'
    if (req.headers['if-none-match'] === etag) { res.writeHead(304).end(); return }
    res.writeHead(200, { etag }).end(served)
  })
  t.teardown(() => bundles.close())

  const reports: Array<Record<string, any>> = []
  let unauthorized = 0
  const statusService = await listen((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (req.method !== 'POST' || req.headers.authorization !== 'Bearer status-secret') { unauthorized++; res.writeHead(401).end(); return }
      reports.push(JSON.parse(Buffer.concat(chunks).toString()))
      res.writeHead(200).end()
    })
  })
  t.teardown(() => statusService.close())
  const tokenFile = join(dir, 'status-token')
  await writeFile(tokenFile, 'status-secret\n')

  const app = await buildApp({
    policy: { bundleUrl: `${bundles.url}/b.tar.gz`, verificationKey: keys.publicFile, polling: { minDelaySeconds: 0.05, maxDelaySeconds: 0.1 } },
    status: { url: `${statusService.url}/status`, intervalSeconds: 0.3, bearerTokenFile: tokenFile }
  })
  t.teardown(() => app.close())

  const first = await waitFor('the first report', () => reports.find((r) => r.bundles?.verdict?.active_revision === 'r1'))
  t.match(first, {
    labels: { id: String, version: String },
    bundles: { verdict: { name: 'verdict', active_revision: 'r1', last_successful_activation: String, last_successful_download: String, metrics: { activations: 1 } } },
    plugins: { bundle: { state: 'OK' }, status: { state: 'OK' } }
  }, 'OPA status shape')
  t.equal(first.labels.id, app.decisionLog.instanceId, 'the same instance id as the decision log events')

  served = r2
  await waitFor('a report of r2', () => reports.find((r) => r.bundles.verdict.active_revision === 'r2'))

  served = undefined
  const failing = await waitFor('a report of the failure', () => reports.find((r) => r.bundles.verdict.code === 'bundle_error'))
  t.match(failing, { bundles: { verdict: { active_revision: 'r2', message: /HTTP 500/, errors: [/HTTP 500/] } }, plugins: { bundle: { state: 'ERROR' } } },
    'the error is reported; r2 is still the active revision')

  const count = reports.length
  await waitFor('interval reports', () => reports.length >= count + 2)
  t.equal(unauthorized, 0, 'every report carried the token')
})

t.test('a status service that is down does not touch decisions', async (t) => {
  const down = await listen((_req, res) => { res.writeHead(200).end() })
  await down.close()
  const app = await buildApp({ policy: { dir: POLICY_DIR }, status: { url: `${down.url}/status`, intervalSeconds: 0.05, timeoutSeconds: 0.2 } })
  t.teardown(() => app.close())
  await new Promise((resolve) => setTimeout(resolve, 200))
  const d = await app.inject({ method: 'POST', url: '/v1/decide', payload: { request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob' } } })
  t.equal(d.statusCode, 200)
  t.match(d.json(), { status: 401 }, 'decided as usual (no credential: 401 decision)')
  t.match(app.statusReporter.report(), { bundles: { verdict: { active_revision: String } }, plugins: { bundle: { state: 'OK' } } })
})
