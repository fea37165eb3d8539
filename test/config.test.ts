// Configuration: defaults, environment overrides, and refusals that stop a start.
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig, parseConfig } from '../src/config.js'

t.test('defaults fill what the file leaves out', async (t) => {
  const config = parseConfig({ policy: { dir: 'policies' } })
  t.same(config.server, {
    host: '127.0.0.1',
    port: 8181,
    bodyLimitBytes: 65536,
    workers: 'auto',
    logLevel: 'info',
    shutdownTimeoutMs: 10000,
    requestTimeoutMs: 20000,
    maxHeaderBytes: 16384,
    paths: { envs: ['cmictest', 'cmicprod'], versions: ['1'] }
  })
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
    ['an env that is not a path segment', { policy: { dir: 'p' }, server: { paths: { envs: ['cmic/test'] } } }, /\/server\/paths\/envs\/0/],
    ['no API version', { policy: { dir: 'p' }, server: { paths: { versions: [] } } }, /\/server\/paths\/versions/],
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

t.test('policy sources: a dir, a bundle file or a bundle URL, and what goes with each', async (t) => {
  const ok: Array<[string, Record<string, unknown>, Record<string, string>?]> = [
    ['a watched dir', { dir: 'p', watch: false }],
    ['a bundle URL with polling, verification and bounds', {
      bundleUrl: 'https://bundles.example.com/verdict.tar.gz',
      verificationKey: 'k.pem',
      verificationKeyId: 'release',
      verificationAlg: 'ES256',
      verificationScope: 'write',
      polling: { minDelaySeconds: 10, maxDelaySeconds: 20 },
      fetchTimeoutSeconds: 5,
      maxBundleBytes: 1048576
    }],
    ['a signed bundle file', { bundleFile: 'b.tar.gz', verificationKey: 'k.pem' }],
    ['only a max delay below the default min', { bundleUrl: 'http://127.0.0.1/b', polling: { maxDelaySeconds: 5 } }]
  ]
  for (const [name, policy] of ok) t.doesNotThrow(() => parseConfig({ policy }), name)

  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a dir and a URL', { dir: 'p', bundleUrl: 'https://x/b' }, /exactly one of dir and bundleFile \(or bundleUrl\)/],
    ['a URL that is not http(s)', { bundleUrl: 'file:///etc/passwd' }, /\/policy\/bundleUrl: must be http or https/],
    ['not a URL', { bundleUrl: 'bundles' }, /\/policy\/bundleUrl: not a URL/],
    ['credentials in the URL', { bundleUrl: 'https://u:p@x/b' }, /credentials do not belong in the URL/],
    ['watch without a dir', { bundleFile: 'b', watch: true }, /\/policy\/watch: applies to a policy dir only/],
    ['polling without a URL', { bundleFile: 'b', polling: { minDelaySeconds: 1 } }, /\/policy\/polling: applies to bundleUrl only/],
    ['min delay above max', { bundleUrl: 'https://x/b', polling: { minDelaySeconds: 30, maxDelaySeconds: 10 } }, /minDelaySeconds is larger than maxDelaySeconds/],
    ['a verification key for a dir', { dir: 'p', verificationKey: 'k.pem' }, /a policy dir is not a bundle/],
    ['a key id without a key', { bundleFile: 'b', verificationKeyId: 'x' }, /\/policy\/verificationKeyId: needs verificationKey/],
    ['an HMAC algorithm', { bundleFile: 'b', verificationKey: 'k', verificationAlg: 'HS256' }, /verificationAlg/],
    ['a zero timeout', { bundleUrl: 'https://x/b', fetchTimeoutSeconds: 0 }, /fetchTimeoutSeconds/],
    ['an unknown key', { bundleFile: 'b', verifyKey: 'k' }, /verifyKey|additional|Unexpected/i]
  ]
  for (const [name, policy, message] of bad) t.throws(() => parseConfig({ policy }), { code: 'CONFIG_INVALID', message }, name)
})

t.test('policy environment overrides: each source replaces the others', async (t) => {
  const url = parseConfig({ policy: { dir: 'p', watch: true } }, { VERDICT_POLICY_BUNDLE_URL: 'https://x/b.tar.gz', VERDICT_POLICY_VERIFICATION_KEY: '/k.pem' })
  t.same(url.policy, { bundleUrl: 'https://x/b.tar.gz', verificationKey: '/k.pem', entrypoint: 'verdict/decision' }, 'the dir and its watch flag are gone')
  t.same(parseConfig({ policy: { bundleUrl: 'https://x/b' } }, { VERDICT_POLICY_DIR: 'p' }).policy, { dir: 'p', entrypoint: 'verdict/decision' })
})
