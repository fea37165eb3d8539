// `verdict build`: an OPA bundle of the policies, its revision from git (commit,
// commit-dirty-digest, or the digest outside git), signed when asked; bad usage
// is exit 2 with a message, policies that do not compile exit 1 with file:line.
import { execFileSync, spawn } from 'node:child_process'
import { cp, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { run } from '../../src/cli/build.js'
import { readBundle, readBundleFiles } from '../../src/bundle/bundle.js'
import { createPublicKey } from 'node:crypto'
import { POLICY_DIR } from '../helpers/app.js'
import { capture, copyPolicies, keyPair, tempDir } from '../engine/helpers.js'

const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=Verdict Test', '-c', 'user.email=test@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd, encoding: 'utf8' }).trim()

t.test('an unsigned bundle: the three files, roots, entrypoint; revision from git', async (t) => {
  const repo = await tempDir(t)
  const policies = join(repo, 'policies')
  await cp(POLICY_DIR, policies, { recursive: true })
  git(repo, 'init', '-q')
  git(repo, 'add', '.')
  git(repo, 'commit', '-q', '-m', 'policies')
  const commit = git(repo, 'rev-parse', 'HEAD')
  const out = join(repo, 'bundle.tar.gz')

  const clean = await capture(run, ['--policies', policies, '-o', out])
  t.equal(clean.code, 0, clean.stderr)
  t.match(clean.stdout, new RegExp(`wrote .*bundle\\.tar\\.gz: revision ${commit}, digest sha256:[0-9a-f]{64}, roots \\["erp","verdict"\\], unsigned`))
  const files = await readBundleFiles(await readFile(out))
  t.same([...files.keys()].sort(), ['.manifest', 'data.json', 'policy.wasm'])
  const manifest = JSON.parse((files.get('.manifest') as Buffer).toString())
  t.match(manifest, { revision: commit, roots: ['erp', 'verdict'], wasm: [{ entrypoint: 'verdict/decision', module: '/policy.wasm' }] })
  const bundle = await readBundle(await readFile(out))
  t.equal(bundle.revision, commit, 'the engine reads the git commit as the revision')

  // An uncommitted change under the policy directory: the commit does not name it.
  await writeFile(join(policies, 'erp', 'api', 'data.yaml'), (await readFile(join(policies, 'erp', 'api', 'data.yaml'), 'utf8')) + '\n# edited\n')
  const dirty = await capture(run, ['--policies', policies, '-o', out])
  t.equal(dirty.code, 0)
  const dirtyBundle = await readBundle(await readFile(out))
  t.equal(dirtyBundle.revision, `${commit}-dirty-${dirtyBundle.digest.slice(7, 19)}`, 'commit-dirty-<digest>')

  const named = await capture(run, ['--policies', policies, '-o', out, '--revision', 'release-7'])
  t.equal(named.code, 0)
  t.equal((await readBundle(await readFile(out))).revision, 'release-7', '--revision wins')
})

t.test('outside git the revision is the content digest', async (t) => {
  const policies = await copyPolicies(t) // a temp dir, not in a work tree
  const out = join(policies, '..', 'b.tar.gz')
  const r = await capture(run, ['--policies', policies, '--output', out])
  t.equal(r.code, 0, r.stderr)
  const bundle = await readBundle(await readFile(out))
  t.equal(bundle.revision, bundle.digest)
})

t.test('signed: RS256 by default with key id "default", ES256 on request; verified on read', async (t) => {
  const dir = await tempDir(t)
  const rsa = await keyPair(dir, 'rsa')
  const ec = await keyPair(dir, 'ec')
  const out = join(dir, 'signed.tar.gz')

  const r = await capture(run, ['--policies', POLICY_DIR, '-o', out, '--signing-key', rsa.privateFile])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /signed RS256, key id default/)
  const files = await readBundleFiles(await readFile(out))
  t.ok(files.has('.signatures.json'))
  t.equal((await readBundle(await readFile(out), { verification: { key: createPublicKey(await readFile(rsa.publicFile)), alg: 'RS256', keyId: 'default' } })).verified, true)

  const e = await capture(run, ['--policies', POLICY_DIR, '-o', out, '--signing-key', ec.privateFile, '--signing-alg', 'ES256', '--signing-key-id', 'release-2026'])
  t.equal(e.code, 0, e.stderr)
  t.match(e.stdout, /signed ES256, key id release-2026/)
  t.equal((await readBundle(await readFile(out), { verification: { key: createPublicKey(await readFile(ec.publicFile)), alg: 'ES256', keyId: 'release-2026' } })).verified, true)
})

t.test('bad usage: exit 2 with what is wrong; broken policies: exit 1 with file and line', async (t) => {
  const dir = await tempDir(t)
  const ec = await keyPair(dir, 'ec')
  const usage: Array<[string, string[], RegExp]> = [
    ['an unknown option', ['--sign'], /Unknown option '--sign'/],
    ['an algorithm it does not sign with', ['--signing-key', ec.privateFile, '--signing-alg', 'HS256'], /--signing-alg must be one of RS256, ES256, not "HS256"/],
    ['an algorithm without a key', ['--signing-alg', 'ES256'], /need --signing-key/],
    ['a key that does not fit the algorithm', ['--signing-key', ec.privateFile], /RS256 needs an RSA key/],
    ['a key file that does not exist', ['--signing-key', join(dir, 'nope.pem')], /signing key .*nope\.pem: ENOENT/],
    ['a positional argument', ['policies'], /Unexpected argument 'policies'/]
  ]
  for (const [name, args, message] of usage) {
    const r = await capture(run, ['-o', join(dir, 'x.tar.gz'), ...args])
    t.equal(r.code, 2, name)
    t.match(r.stderr, message, name)
  }

  const help = await capture(run, ['--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /usage: verdict build/)

  const policies = await copyPolicies(t)
  await writeFile(join(policies, 'verdict', 'broken.rego'), 'package verdict.broken\n\nx := {\n')
  const broken = await capture(run, ['--policies', policies, '-o', join(dir, 'y.tar.gz')])
  t.equal(broken.code, 1)
  t.match(broken.stderr, `${join(policies, 'verdict', 'broken.rego')}:4`)
  t.match(broken.stderr, /rego_parse_error/)
})

t.test('through the verdict dispatcher, as a process', async (t) => {
  const dir = await tempDir(t)
  const out = join(dir, 'bundle.tar.gz')
  const child = spawn(process.execPath, ['--import', import.meta.resolve('@tapjs/typescript/import'),
    new URL('../../src/cli/verdict.ts', import.meta.url).pathname, 'build', '--policies', POLICY_DIR, '-o', out, '--revision', 'from-a-process'], {
    // The type check is `npm run typecheck`; here only the command is under test.
    // Transpiled differently, the child's coverage would not merge with the
    // in-process runs above, so it is left out of coverage (no NODE_OPTIONS hook).
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (c: Buffer) => { output += c.toString() })
  child.stderr.on('data', (c: Buffer) => { output += c.toString() })
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  t.equal(code, 0, output)
  t.match(output, /wrote .*bundle\.tar\.gz: revision from-a-process/)
  t.equal((await readBundle(await readFile(out))).revision, 'from-a-process')
})
