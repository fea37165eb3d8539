// The policy store on its own: loads are serialized (many asks while one runs
// make one more load, not many), each outcome is announced on `events`, and a
// bundle file that fails verification leaves the last good policy active.
import { createPrivateKey, createPublicKey } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { buildBundle } from '../../src/toolchain/bundle-writer.js'
import { createPolicyStore, sourceKind, type PolicyActivatedEvent, type PolicyFailedEvent } from '../../src/lifecycle/store.js'
import { POLICY_DIR } from '../helpers/app.js'
import { copyPolicies, keyPair, repack, tempDir } from '../engine/helpers.js'

t.test('loads asked for while one runs are coalesced into one more load', async (t) => {
  const store = createPolicyStore({ dir: await copyPolicies(t), entrypoint: 'verdict/decision' })
  t.equal(store.source, 'dir')
  t.same(store.status(), { state: 'starting', source: 'dir' })
  const activated: PolicyActivatedEvent[] = []
  store.events.on('activated', (e) => activated.push(e))

  const first = store.load()
  const more = [store.load(), store.load(), store.load(), store.load()]
  const [a, ...rest] = await Promise.all([first, ...more])
  t.equal(activated.length, 2, 'five asks, two loads: the running one and one after it')
  t.not(a, rest[0], 'the asks made during the first load get the second load')
  t.ok(rest.every((p) => p === rest[0]), 'all of them the same one')
  t.equal(store.current(), rest[0])
  await store.idle()
  t.match(store.status(), { state: 'ready', source: 'dir', verified: false, loadedAt: /^\d{4}-\d\d-\d\dT/ })
})

t.test('a bundle file: verified on load; a tampered or foreign one is refused and the last good stays', async (t) => {
  const dir = await tempDir(t)
  const keys = await keyPair(dir, 'rsa')
  const other = await keyPair(dir, 'rsa', 'other')
  const signing = { key: createPrivateKey(await readFile(keys.privateFile)), alg: 'RS256' as const, keyId: 'default' }
  const good = await buildBundle({ dir: POLICY_DIR, entrypoint: 'verdict/decision', revision: 'good', signing })
  const file = join(dir, 'bundle.tar.gz')
  await writeFile(file, good.archive)

  const store = createPolicyStore({ bundleFile: file, entrypoint: 'verdict/decision' },
    { verification: { key: createPublicKey(await readFile(keys.publicFile)), alg: 'RS256' } })
  const failed: PolicyFailedEvent[] = []
  store.events.on('failed', (e) => failed.push(e))
  await store.load()
  t.match(store.status(), { state: 'ready', source: 'file', revision: 'good', verified: true })

  const cases: Array<[string, Buffer, RegExp]> = [
    ['tampered', await repack(good.archive, (f) => f.set('data.json', Buffer.from('{}'))), /data\.json does not match its signed digest/],
    ['signed with another key', (await buildBundle({ dir: POLICY_DIR, entrypoint: 'verdict/decision', revision: 'evil', signing: { ...signing, key: createPrivateKey(await readFile(other.privateFile)) } })).archive, /does not verify with the configured key/],
    ['unsigned', (await buildBundle({ dir: POLICY_DIR, entrypoint: 'verdict/decision', revision: 'unsigned' })).archive, /not signed/],
    ['not a bundle', Buffer.from('hello'), /not a readable tar\.gz/]
  ]
  for (const [name, archive, reason] of cases) {
    await writeFile(file, archive)
    await t.rejects(store.load(), { message: reason }, name)
    t.match(store.status(), { state: 'degraded', revision: 'good', error: reason }, `${name}: degraded, the good bundle still active`)
    t.equal(store.current()?.revision, 'good')
    t.match(failed.at(-1), { source: 'file', error: { message: reason } }, `${name}: announced`)
  }

  await writeFile(file, good.archive)
  await store.load()
  t.match(store.status(), { state: 'ready', revision: 'good' })
  t.notOk('error' in store.status())
})

t.test('bounds and misconfiguration', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'big.tar.gz')
  await writeFile(file, Buffer.alloc(4096))
  const store = createPolicyStore({ bundleFile: file, entrypoint: 'verdict/decision', maxBundleBytes: 1024 })
  await t.rejects(store.load(), { message: /4096 bytes, more than the 1024 allowed/ })
  t.match(store.status(), { state: 'failed', source: 'file' })

  t.throws(() => sourceKind({ entrypoint: 'x' }), /no policy source configured/)
  const url = createPolicyStore({ bundleUrl: 'http://127.0.0.1/b', entrypoint: 'x' })
  await t.rejects(url.load(), /needs a fetcher/)
})
