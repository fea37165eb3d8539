// The policy store on its own: loads are serialized (many asks while one runs
// make one more load, not many), each outcome is announced on `events`, a
// policy directory's files are compared with the active policy's (reconcile),
// and a bundle file that fails verification leaves the last good policy active.
import { createPrivateKey, createPublicKey } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { buildBundle } from '../../src/toolchain/bundle-writer.js'
import { createPolicyStore, sourceKind, type PolicyActivatedEvent, type PolicyFailedEvent } from '../../src/lifecycle/store.js'
import { digestPolicySources } from '../../src/lifecycle/sources.js'
import { POLICY_DIR } from '../helpers/app.js'
import { copyPolicies, keyPair, repack, tempDir, waitFor } from '../engine/helpers.js'

t.test('loads asked for while one runs are coalesced into one more load, which compiles only changed files', async (t) => {
  const dir = await copyPolicies(t)
  const store = createPolicyStore({ dir, entrypoint: 'verdict/decision' })
  t.equal(store.source, 'dir')
  t.same(store.status(), { state: 'starting', source: 'dir' })
  const activated: PolicyActivatedEvent[] = []
  store.events.on('activated', (e) => activated.push(e))

  const first = store.load()
  const more = [store.load(), store.load(), store.load(), store.load()]
  const [a, ...rest] = await Promise.all([first, ...more])
  t.equal(activated.length, 1, 'five asks, one compile: the load after it found the same files active')
  t.ok(rest.every((p) => p === a), 'all of them have the one policy')
  await store.idle()
  const sources = (await digestPolicySources(dir)).digest
  t.match(store.status(), { state: 'ready', source: 'dir', verified: false, loadedAt: /^\d{4}-\d\d-\d\dT/, sources: { active: sources, onDisk: sources, agreedAt: /Z$/ } })

  await writeFile(join(dir, 'erp', 'api', 'data.yaml'), (await readFile(join(dir, 'erp', 'api', 'data.yaml'), 'utf8')) + '\n# changed\n')
  const [b, c] = await Promise.all([store.load(), store.load()])
  t.equal(activated.length, 2, 'changed files are compiled')
  t.not(b, a)
  t.equal(c, b)
  t.not(store.status().sources?.active, sources)
})

t.test('reconcile: files that differ from the active ones are loaded; until then, and while they fail, not ready', async (t) => {
  const dir = await copyPolicies(t)
  const store = createPolicyStore({ dir, entrypoint: 'verdict/decision' })
  const activated: PolicyActivatedEvent[] = []
  const failed: PolicyFailedEvent[] = []
  store.events.on('activated', (e) => activated.push(e))
  store.events.on('failed', (e) => failed.push(e))
  await store.reconcile()
  t.equal(activated.length, 1, 'nothing active yet: the files are loaded')
  t.equal(store.status().state, 'ready')
  await store.reconcile()
  t.equal(activated.length + failed.length, 1, 'the same files: nothing loaded')
  const good = store.status()

  const decision = join(dir, 'verdict', 'decision.rego')
  const text = await readFile(decision, 'utf8')
  await writeFile(decision, text + '\nbroken := {\n')
  const broken = (await digestPolicySources(dir)).digest
  await store.reconcile()
  t.equal(failed.length, 1, 'the changed files were compiled, and failed')
  t.match(store.status(), { state: 'degraded', revision: good.revision, error: /rego_parse_error/, sources: { active: good.sources?.active, onDisk: broken, agreedAt: good.sources?.agreedAt } })
  await store.reconcile()
  t.equal(failed.length, 1, 'files that failed are not compiled again at once')

  // Put back as they were: the active policy is the one on disk again, nothing to compile.
  await writeFile(decision, text)
  await store.reconcile()
  t.equal(activated.length + failed.length, 2, 'nothing compiled')
  t.match(store.status(), { state: 'ready', revision: good.revision, sources: { active: good.sources?.active, onDisk: good.sources?.active } })
  t.notOk('error' in store.status(), 'the error was about files no longer on disk')
  t.not(store.status().sources?.agreedAt, undefined)
})

t.test('files that change while they compile: named by what was read first, and loaded again', async (t) => {
  const dir = await copyPolicies(t)
  const store = createPolicyStore({ dir, entrypoint: 'verdict/decision' })
  const data = join(dir, 'erp', 'api', 'data.yaml')
  const original = await readFile(data, 'utf8')
  const before = (await digestPolicySources(dir)).digest
  const activated: PolicyActivatedEvent[] = []
  store.events.on('activated', (e) => activated.push(e))
  const loading = store.load()
  // The digest is read at once; OPA runs for a while after it.
  await waitFor('the files read', () => store.status().sources?.onDisk === before)
  await writeFile(data, original + '\n# changed while compiling\n')
  const after = (await digestPolicySources(dir)).digest
  await loading
  await waitFor('the second load', () => store.status().sources?.active === after)
  await store.idle()
  t.equal(activated.length, 2, 'loaded again')
  t.match(store.status(), { state: 'ready', sources: { active: after, onDisk: after } })
})

t.test('the sources status is for a policy directory only', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'bundle.tar.gz')
  await writeFile(file, (await buildBundle({ dir: POLICY_DIR, entrypoint: 'verdict/decision', revision: 'r1' })).archive)
  const store = createPolicyStore({ bundleFile: file, entrypoint: 'verdict/decision' })
  await store.load()
  await store.reconcile()
  t.notOk('sources' in store.status())
  t.match(store.status(), { state: 'ready', revision: 'r1' })
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
