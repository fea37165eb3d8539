// The one OPA resolver (src/toolchain/opa-binary.ts): setup builds the pinned OPA
// once per version into a cache outside the checkout, so a second checkout (a
// second clone) finds it there and builds nothing; OPA_BIN must be the pinned
// version; without Go and without OPA setup stops with what to install.
// `go` here is a stand-in script on PATH that writes a stand-in `opa` (a real
// build takes minutes): it records each call, so the test sees whether a build ran.
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { OPA_VERSION, OpaSetupError, cachedOpa, ensureOpa, opaCacheRoot, resolveOpa } from '../../src/toolchain/opa-binary.js'

const root = mkdtempSync(join(tmpdir(), 'verdict-opa-binary-'))
t.teardown(() => rmSync(root, { recursive: true, force: true }))

function fakeOpa (file: string, version: string): void {
  writeFileSync(file, `#!/bin/sh\necho "Version: ${version}"\n`)
  chmodSync(file, 0o755)
}

/** A PATH holding a fake `go` whose `install` writes a fake opa into $GOBIN and logs the call. */
function fakeGo (dir: string, version = OPA_VERSION): { path: string, calls: () => string[] } {
  mkdirSync(dir, { recursive: true })
  const log = join(dir, 'go-calls.log')
  writeFileSync(join(dir, 'go'), `#!/bin/sh
echo "$@" >> "${log}"
printf '#!/bin/sh\\necho "Version: ${version}"\\n' > "$GOBIN/opa"
chmod +x "$GOBIN/opa"
`)
  chmodSync(join(dir, 'go'), 0o755)
  return { path: `${dir}:/usr/bin:/bin`, calls: () => existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [] }
}

const quiet = (): void => {}

t.test('the cache lives outside the checkout: VERDICT_OPA_CACHE, else XDG_CACHE_HOME, else ~/.cache', async (t) => {
  t.equal(opaCacheRoot({ VERDICT_OPA_CACHE: '/srv/cache' }), '/srv/cache')
  t.equal(opaCacheRoot({ XDG_CACHE_HOME: '/x' }), '/x/verdict/opa')
  t.match(opaCacheRoot({}), /\/\.cache\/verdict\/opa$/)
  t.equal(cachedOpa({ VERDICT_OPA_CACHE: '/c' }), `/c/${OPA_VERSION}/opa`)
})

t.test('built once into the cache; a second checkout reuses it without building', async (t) => {
  const cache = join(root, 'cache')
  const go = fakeGo(join(root, 'go-bin'))
  const env = { VERDICT_OPA_CACHE: cache, PATH: go.path, HOME: root }
  const first = join(root, 'clone1', '.tools', 'bin', 'opa')
  const second = join(root, 'clone2', '.tools', 'bin', 'opa')

  t.equal(ensureOpa(env, quiet, first), cachedOpa(env), 'the first clone builds into the cache')
  t.same(go.calls(), [`install github.com/open-policy-agent/opa@v${OPA_VERSION}`], 'one go install of the pinned module')
  t.ok(lstatSync(first).isSymbolicLink(), 'the checkout links to the cache')
  t.equal(realpathSync(first), realpathSync(cachedOpa(env)))
  t.same(readFileSync(cachedOpa(env), 'utf8').includes(OPA_VERSION), true)
  t.notOk(existsSync(join(root, 'clone1', '.tools', 'bin', '.build')), 'no build leftovers in the checkout')

  t.equal(ensureOpa(env, quiet, second), cachedOpa(env), 'the second clone finds the cache')
  t.equal(go.calls().length, 1, 'and builds nothing')
  t.equal(resolveOpa(env, second), second, 'the resolver answers the checkout link')
  t.equal(resolveOpa(env, join(root, 'clone3', 'opa')), cachedOpa(env), 'without a link, the cache')
})

t.test('a cache holding another version is rebuilt, per version', async (t) => {
  const cache = join(root, 'cache-old')
  mkdirSync(join(cache, OPA_VERSION), { recursive: true })
  fakeOpa(join(cache, OPA_VERSION, 'opa'), '0.70.0')
  const go = fakeGo(join(root, 'go-bin-2'))
  const env = { VERDICT_OPA_CACHE: cache, PATH: go.path, HOME: root }
  ensureOpa(env, quiet, join(root, 'clone4', 'opa'))
  t.equal(go.calls().length, 1, 'a wrong binary in the cache is replaced by a build')
  t.match(readFileSync(cachedOpa(env), 'utf8'), OPA_VERSION)
})

t.test('a cache that cannot be made: the build goes beside the checkout instead', async (t) => {
  const blocker = join(root, 'not-a-dir')
  writeFileSync(blocker, 'a file where the cache directory would be')
  const go = fakeGo(join(root, 'go-bin-3'))
  const env = { VERDICT_OPA_CACHE: join(blocker, 'cache'), PATH: go.path, HOME: root }
  const checkout = join(root, 'clone8', '.tools', 'bin', 'opa')
  const local = join(root, 'clone8', '.tools', 'opa-cache', OPA_VERSION, 'opa')
  t.equal(ensureOpa(env, quiet, checkout), local)
  t.equal(realpathSync(checkout), realpathSync(local), 'the checkout links to its own build')
  t.equal(resolveOpa(env, checkout), checkout)
})

t.test('OPA on PATH at the pin is used as it is', async (t) => {
  const bin = join(root, 'path-bin')
  mkdirSync(bin, { recursive: true })
  fakeOpa(join(bin, 'opa'), OPA_VERSION)
  const env = { VERDICT_OPA_CACHE: join(root, 'cache-path'), PATH: `${bin}:/usr/bin:/bin`, HOME: root }
  t.equal(ensureOpa(env, quiet, join(root, 'clone5', 'opa')), join(bin, 'opa'))
  t.equal(resolveOpa(env, join(root, 'nowhere', 'opa')), join(bin, 'opa'))
})

t.test('OPA_BIN must be the pinned version; without Go or OPA setup names what to install', async (t) => {
  const wrong = join(root, 'wrong-opa')
  fakeOpa(wrong, '0.1.0')
  t.throws(() => ensureOpa({ OPA_BIN: wrong, PATH: '/usr/bin:/bin' }, quiet, join(root, 'c6', 'opa')),
    new OpaSetupError(`OPA_BIN=${wrong} reports version 0.1.0; Verdict pins OPA ${OPA_VERSION}.`))
  const none = join(root, 'empty-path')
  mkdirSync(none, { recursive: true })
  t.throws(() => ensureOpa({ VERDICT_OPA_CACHE: join(root, 'cache-none'), PATH: none, HOME: root }, quiet, join(root, 'c7', 'opa')),
    /Install Go \(1\.26 or newer\).*or put OPA 1\.22\.3 on PATH.*or set OPA_BIN/)
  t.equal(resolveOpa({ VERDICT_OPA_CACHE: join(root, 'cache-none'), PATH: none }, join(root, 'c7', 'opa')), undefined)
})
