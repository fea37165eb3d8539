// Configuration: defaults, environment overrides, and refusals that stop a start.
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig, parseConfig } from '../src/config.js'

t.test('defaults fill what the file leaves out', async (t) => {
  const config = parseConfig({ policy: { dir: 'policies' } })
  t.same(config.server, { host: '127.0.0.1', port: 8181, bodyLimitBytes: 65536, workers: 'auto', logLevel: 'info' })
  t.equal(config.policy.entrypoint, 'verdict/decision')
})

t.test('environment overrides', async (t) => {
  const config = parseConfig({ policy: { dir: 'policies' } }, {
    VERDICT_HOST: '0.0.0.0',
    VERDICT_PORT: '9000',
    VERDICT_LOG_LEVEL: 'warn',
    VERDICT_WORKERS: '3',
    VERDICT_POLICY_BUNDLE: '/srv/bundle.tar.gz'
  })
  t.equal(config.server.host, '0.0.0.0')
  t.equal(config.server.port, 9000)
  t.equal(config.server.logLevel, 'warn')
  t.equal(config.server.workers, 3)
  t.same(config.policy, { bundleFile: '/srv/bundle.tar.gz', entrypoint: 'verdict/decision' }, 'a bundle replaces the directory')
  t.equal(parseConfig({ policy: { bundleFile: 'b' } }, { VERDICT_POLICY_DIR: 'p' }).policy.dir, 'p')
})

t.test('invalid configurations are refused with where and why', async (t) => {
  const table: Array<[string, unknown, RegExp, Record<string, string>?]> = [
    ['unknown key', { policy: { dir: 'p' }, sever: {} }, /sever|additional|Unexpected/i],
    ['port out of range', { policy: { dir: 'p' }, server: { port: 70000 } }, /\/server\/port/],
    ['port from env not a number', { policy: { dir: 'p' } }, /\/server\/port/, { VERDICT_PORT: 'abc' }],
    ['no policy source', {}, /exactly one of dir and bundleFile/],
    ['two policy sources', { policy: { dir: 'p', bundleFile: 'b' } }, /exactly one of dir and bundleFile/],
    ['bad log level', { policy: { dir: 'p' }, server: { logLevel: 'loud' } }, /logLevel/],
    ['issuer without a key source', { policy: { dir: 'p' }, authn: { issuers: [{ name: 'x', profile: 'oidc', issuer: 'https://x', audience: 'a' }] } }, /\/authn: issuers\[0\]: set exactly one of discovery or jwksUri/],
    ['top level not a mapping', 'just text', /mapping|object|Expected/i]
  ]
  for (const [name, raw, message, env] of table) {
    t.throws(() => parseConfig(raw, env ?? {}), { code: 'CONFIG_INVALID', message }, name)
  }
})

t.test('loadConfig reads YAML from VERDICT_CONFIG', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-config-'))
  const file = join(dir, 'verdict.yaml')
  await writeFile(file, 'server:\n  port: 9191\npolicy:\n  dir: policies\n')
  t.equal(loadConfig({ VERDICT_CONFIG: file }).server.port, 9191)
  await writeFile(file, 'server: [unclosed\n')
  t.throws(() => loadConfig({ VERDICT_CONFIG: file }), { code: 'CONFIG_INVALID', message: /not valid YAML/ })
  t.throws(() => loadConfig({ VERDICT_CONFIG: join(dir, 'missing.yaml') }), { code: 'CONFIG_INVALID', message: /cannot read/ })
  t.equal(loadConfig({ VERDICT_CONFIG: 'config/verdict.yaml' }).policy.dir, 'policies', 'the development config is valid')
})
