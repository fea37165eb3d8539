// Which OPA binary to run, answered in one place for `npm install`
// (scripts/setup-opa.mjs makes the pinned OPA available), the Rego lint and the
// engine's toolchain (opa-cli.ts). Verdict pins one OPA version.
//
// Where it looks, in order:
//   1. OPA_BIN, when set (setup checks that it is the pinned version)
//   2. <checkout>/.tools/bin/opa, the link `npm install` makes
//   3. the per-version cache outside the checkout:
//      $VERDICT_OPA_CACHE/<version>/opa, default ~/.cache/verdict/opa/<version>/opa
//      ($XDG_CACHE_HOME instead of ~/.cache when set), so a second clone reuses
//      the build of the first
//   4. `opa` on PATH, when it reports the pinned version
// Setup builds it with `go install` into the cache when none of these has it.
import { execFileSync, spawnSync } from 'node:child_process'
import { accessSync, constants, copyFileSync, lstatSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const OPA_VERSION = '1.22.3'
export const OPA_MODULE = 'github.com/open-policy-agent/opa'

type Env = Record<string, string | undefined>

/** The checkout's link to the OPA binary (from src/toolchain or dist/toolchain alike). */
export const CHECKOUT_OPA = fileURLToPath(new URL('../../.tools/bin/opa', import.meta.url))

/** The cache of OPA builds, one directory per version. */
export function opaCacheRoot (env: Env = process.env): string {
  if (env.VERDICT_OPA_CACHE) return resolve(env.VERDICT_OPA_CACHE)
  const base = env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache')
  return join(base, 'verdict', 'opa')
}

/** Where the cache keeps the pinned OPA. */
export function cachedOpa (env: Env = process.env, version = OPA_VERSION): string {
  return join(opaCacheRoot(env), version, 'opa')
}

/** The version an OPA binary reports, or undefined when it does not run. */
export function opaVersion (bin: string): string | undefined {
  try {
    const out = execFileSync(bin, ['version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000 })
    return /^Version:\s*(\S+)/m.exec(out)?.[1]
  } catch {
    return undefined
  }
}

function executable (file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** The first executable `name` on PATH. */
export function onPath (name: string, env: Env = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, name)
    if (executable(candidate)) return candidate
  }
  return undefined
}

const pathOpaAtPin = new Map<string, string | undefined>()

/**
 * The OPA binary to run, or undefined when there is none. Only the PATH candidate
 * has its version checked (once per process): the others are placed by setup.
 */
export function resolveOpa (env: Env = process.env, checkout = CHECKOUT_OPA): string | undefined {
  if (env.OPA_BIN) return env.OPA_BIN
  if (executable(checkout)) return checkout
  const cached = cachedOpa(env)
  if (executable(cached)) return cached
  const path = env.PATH ?? ''
  if (!pathOpaAtPin.has(path)) {
    const found = onPath('opa', env)
    pathOpaAtPin.set(path, found !== undefined && opaVersion(found) === OPA_VERSION ? found : undefined)
  }
  return pathOpaAtPin.get(path)
}

/** The OPA binary to run; when there is none, the path setup would have put it at (so errors name it). */
export function opaBinary (env: Env = process.env): string {
  return resolveOpa(env) ?? CHECKOUT_OPA
}

export class OpaSetupError extends Error {}

/**
 * `npm install`'s step: make the pinned OPA available and link it at
 * .tools/bin/opa. Returns the binary's path. Builds it with `go install` into the
 * cache when neither OPA_BIN, the cache nor PATH has it; throws OpaSetupError
 * naming what to install when it cannot.
 */
export function ensureOpa (env: Env = process.env, log: (line: string) => void = console.log, checkout = CHECKOUT_OPA): string {
  if (env.OPA_BIN) {
    const v = opaVersion(env.OPA_BIN)
    if (v !== OPA_VERSION) throw new OpaSetupError(`OPA_BIN=${env.OPA_BIN} reports version ${v ?? 'none'}; Verdict pins OPA ${OPA_VERSION}.`)
    log(`using OPA_BIN (${OPA_VERSION})`)
    return env.OPA_BIN
  }

  const cached = cachedOpa(env)
  let found: string | undefined
  if (opaVersion(cached) === OPA_VERSION) {
    log(`OPA ${OPA_VERSION} from the cache (${cached})`)
    found = cached
  } else if (!lstatSync(checkout, { throwIfNoEntry: false })?.isSymbolicLink() && opaVersion(checkout) === OPA_VERSION) {
    // A checkout set up before the cache existed: its binary seeds the cache.
    try {
      mkdirSync(dirname(cached), { recursive: true })
      const partial = `${cached}.${process.pid}.partial`
      copyFileSync(checkout, partial)
      renameSync(partial, cached)
      log(`OPA ${OPA_VERSION} at ${checkout}, copied to the cache (${cached})`)
    } catch (err) {
      log(`OPA ${OPA_VERSION} at ${checkout} (not copied to the cache ${cached}: ${(err as Error).message})`)
    }
    return checkout
  } else {
    const pathOpa = onPath('opa', env)
    if (pathOpa !== undefined && opaVersion(pathOpa) === OPA_VERSION) {
      log(`OPA ${OPA_VERSION} on PATH (${pathOpa})`)
      found = pathOpa
    } else {
      found = goInstall(env, writableTarget(cached, checkout, log), log)
    }
  }
  linkCheckout(found, checkout)
  return found
}

function goInstall (env: Env, target: string, log: (line: string) => void): string {
  const go = onPath('go', env)
  if (go === undefined) {
    throw new OpaSetupError(`OPA ${OPA_VERSION} is needed. Install Go (1.26 or newer) so it can be built with ` +
      `\`go install ${OPA_MODULE}@v${OPA_VERSION}\`, or put OPA ${OPA_VERSION} on PATH, ` +
      'or set OPA_BIN to its path; then run `npm install` again.')
  }
  log(`building OPA ${OPA_VERSION} with go install into ${dirname(target)} (a few minutes, once per machine)…`)
  // Built into a private directory and renamed into place, so a second install
  // running at the same time never sees half a binary.
  const root = dirname(dirname(target))
  const staging = mkdtempSync(join(root, `.build-${OPA_VERSION}-`))
  try {
    const built = spawnSync(go, ['install', `${OPA_MODULE}@v${OPA_VERSION}`], {
      stdio: 'inherit',
      env: { ...process.env, ...env, GOBIN: staging, CGO_ENABLED: '0' }
    })
    if (built.status !== 0) throw new OpaSetupError(`go install of OPA ${OPA_VERSION} failed (exit ${built.status ?? built.signal}).`)
    const binary = join(staging, 'opa')
    if (opaVersion(binary) !== OPA_VERSION) throw new OpaSetupError(`go install finished but ${binary} is not OPA ${OPA_VERSION}.`)
    mkdirSync(dirname(target), { recursive: true })
    renameSync(binary, target)
  } finally {
    rmSync(staging, { recursive: true, force: true })
  }
  log(`OPA ${OPA_VERSION} built at ${target}`)
  return target
}

/**
 * Where the build goes: the cache, or — when the cache directory cannot be made
 * (a HOME that is not writable) — beside the checkout's link, in .tools/opa-cache.
 */
function writableTarget (cached: string, checkout: string, log: (line: string) => void): string {
  try {
    mkdirSync(dirname(cached), { recursive: true })
    return cached
  } catch (err) {
    const local = join(dirname(dirname(checkout)), 'opa-cache', OPA_VERSION, 'opa')
    log(`the cache ${dirname(cached)} cannot be made (${(err as Error).message}); building into ${dirname(local)} (set VERDICT_OPA_CACHE to share builds)`)
    mkdirSync(dirname(local), { recursive: true })
    return local
  }
}

/** .tools/bin/opa points at the binary, for people and scripts that run `.tools/bin/opa` by hand. */
function linkCheckout (binary: string, checkout: string): void {
  if (resolve(binary) === checkout) return
  mkdirSync(dirname(checkout), { recursive: true })
  // Made beside it and renamed over it: a process running OPA meanwhile never finds no binary.
  const partial = `${checkout}.${process.pid}.link`
  rmSync(partial, { force: true })
  symlinkSync(resolve(binary), partial)
  renameSync(partial, checkout)
}
