// Two workers on a bundle URL (issue 13 item 1): the primary downloads,
// verifies and persists each bundle once and hands it to both workers, so the
// bundle server sees one download per change, not one per worker, and both
// workers serve the new revision together.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createPrivateKey } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { buildBundle } from '../../src/toolchain/bundle-writer.js'
import { keyPair, tempDir, waitFor } from '../engine/helpers.js'
import { POLICY_DIR } from '../helpers/app.js'
import { startWorkers } from './workers.js'

t.setTimeout(150_000)

const dir = await tempDir(t, 'verdict-workers-bundle-')
const keys = await keyPair(dir, 'ec', 'release')
const signingKey = createPrivateKey(await readFile(keys.privateFile))
const build = async (revision: string): Promise<Buffer> =>
  (await buildBundle({ dir: POLICY_DIR, entrypoint: 'verdict/decision', revision, signing: { key: signingKey, alg: 'ES256', keyId: 'release' } })).archive

// The bundle service: a real HTTP server with ETags, counting full downloads and 304s.
let bundle = { etag: '"r1"', body: await build('r1') }
const served = { downloads: 0, notModified: 0 }
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  if (req.headers['if-none-match'] === bundle.etag) {
    served.notModified++
    res.writeHead(304, { etag: bundle.etag }).end()
    return
  }
  served.downloads++
  res.writeHead(200, { etag: bundle.etag, 'content-type': 'application/gzip' }).end(bundle.body)
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
t.teardown(() => { server.close() })
const address = server.address()
const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/bundle.tar.gz`

const workers = await startWorkers(dir, `{ bundleUrl: ${JSON.stringify(url)}, verificationKey: ${JSON.stringify(keys.publicFile)}, persistDir: ${JSON.stringify(join(dir, 'persist'))}, polling: { minDelaySeconds: 0.2, maxDelaySeconds: 0.3 } }`)
t.teardown(() => workers.close())

t.test('one download per change for the whole process, and both workers switch', async (t) => {
  const first = await workers.health()
  t.equal(first.fleet?.revision, 'r1')
  t.same(first.fleet?.serving.map((s) => s.revision), ['r1', 'r1'], 'both workers serve r1')
  t.equal(served.downloads, 1, 'r1 was downloaded once, for both workers')

  // A few polls with nothing new: 304s only.
  const polled = served.notModified
  await waitFor('unchanged polls', () => served.notModified >= polled + 3, 10_000)
  t.equal(served.downloads, 1, 'unchanged polls download nothing')

  bundle = { etag: '"r2"', body: await build('r2') }
  const after = await waitFor('both workers on r2', async () => {
    const h = await workers.health().catch(() => undefined)
    return h?.fleet?.agree === true && h.fleet.revision === 'r2' ? h : undefined
  }, 30_000)
  t.same(after.fleet?.serving.map((s) => s.revision), ['r2', 'r2'], 'both workers serve r2')
  t.equal(after.fleet?.lastSwitch?.outcome, 'activated')
  t.equal(after.status, 'ready')
  // Polls go on after the change: still nothing more downloaded.
  const polledAfter = served.notModified
  await waitFor('polls after the change', () => served.notModified >= polledAfter + 3, 10_000)
  t.equal(served.downloads, 2, 'r2 was downloaded once, for both workers (2 downloads in all)')
  t.ok(await readFile(join(dir, 'persist', 'bundle.tar.gz')).then((b) => b.equals(bundle.body)), 'the primary persisted r2')
  t.comment(`bundle server: ${served.downloads} downloads, ${served.notModified} not-modified answers; switch to r2: prepare ${after.fleet?.lastSwitch?.prepareMs ?? '?'} ms, activation skew ${after.fleet?.lastSwitch?.skewMs ?? '?'} ms`)
})
