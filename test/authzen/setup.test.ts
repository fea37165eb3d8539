// Setting up a PEP: keygen's key is accepted by the PEP authentication and its
// hash is all the key file holds; the example configurations of the interop
// scenarios are valid and name their policy directories.
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { makeApiKey } from '../../src/authzen/keygen.js'
import { createPepAuthenticator, loadApiKeys } from '../../src/authzen/pep.js'
import { loadConfig } from '../../src/config.js'
import { REPO } from './harness.js'

t.test('keygen makes a key the PEP authentication accepts', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-keygen-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeFile(join(dir, 'pepper'), 'a-development-pepper-of-enough-bytes\n')
  const keys = join(dir, 'keys.yaml')
  const { keyFile } = await makeApiKey('gateway', keys, join(dir, 'pepper'))
  await makeApiKey('todo', keys, join(dir, 'pepper'))
  const key = (await readFile(keyFile, 'utf8')).trim()
  t.notOk((await readFile(keys, 'utf8')).includes(key), 'the key file holds hashes only')
  const loaded = await loadApiKeys(keys)
  t.same(loaded.map((k) => k.name), ['gateway', 'todo'])
  const authenticate = createPepAuthenticator({
    keys: loaded,
    pepper: Buffer.from('a-development-pepper-of-enough-bytes'),
    clients: [],
    authenticate: async () => ({ ok: false, code: 'credential_missing', message: 'x' })
  })
  t.same(await authenticate({ headers: { authorization: key } }), { ok: true, pep: { name: 'gateway', method: 'apikey' } })
  t.match(await authenticate({ headers: { authorization: key.slice(0, -1) } }), { ok: false, status: 401 })
  await t.rejects(makeApiKey('bad name', keys, join(dir, 'pepper')), /key name/)
})

t.test('a key file that is not hashes stops the start', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-keygen-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeFile(join(dir, 'keys.yaml'), 'pep: { scheme: plain, key: secret }\n')
  await t.rejects(loadApiKeys(join(dir, 'keys.yaml')), { code: 'CONFIG_INVALID', message: /invalid at \/pep/ })
  await t.rejects(loadApiKeys(join(dir, 'missing.yaml')), { code: 'CONFIG_INVALID' })
})

for (const name of ['todo', 'gateway', 'search']) {
  t.test(`examples/authzen/verdict-${name}.yaml`, async (t) => {
    const cwd = process.cwd()
    process.chdir(REPO)
    t.teardown(() => process.chdir(cwd))
    const config = loadConfig({ VERDICT_CONFIG: `examples/authzen/verdict-${name}.yaml` })
    t.equal(config.policy.dir, `examples/authzen/${name}`)
    t.ok(existsSync(join(REPO, config.policy.dir ?? '')))
    t.equal(config.policy.entrypoint, 'authzen/decision')
    t.match(config.authzen, { enabled: true, model: 'entities', apiKeysFile: '.dev/authzen-keys.yaml' })
  })
}
