#!/usr/bin/env node
// Makes the pinned OPA CLI available at .tools/bin/opa, which is where every
// script and the server look for it (OPA_BIN overrides). Runs as `postinstall`.
// It also writes .tools/wasm-capabilities.json (see writeWasmCapabilities).
//
// Order: OPA_BIN (checked, never replaced) → .tools/bin/opa already at the pin →
// `opa` on PATH at the pin (linked) → `go install` of the pinned module version
// into .tools/bin → stop with a message naming what to install.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const OPA_VERSION = '1.22.3'
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const binDir = join(root, '.tools', 'bin')
const target = join(binDir, 'opa')
const capabilitiesFile = join(root, '.tools', 'wasm-capabilities.json')

function versionOf (bin) {
  try {
    const out = execFileSync(bin, ['version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    return /^Version:\s*(\S+)/m.exec(out)?.[1]
  } catch {
    return undefined
  }
}

function onPath (name) {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' })
  return found.status === 0 ? found.stdout.trim() : undefined
}

function fail (message) {
  console.error(`setup-opa: ${message}`)
  process.exit(1)
}

function ensureOpa () {
  if (process.env.OPA_BIN) {
    const v = versionOf(process.env.OPA_BIN)
    if (v !== OPA_VERSION) fail(`OPA_BIN=${process.env.OPA_BIN} reports version ${v ?? 'none'}; Verdict pins OPA ${OPA_VERSION}.`)
    console.log(`setup-opa: using OPA_BIN (${OPA_VERSION})`)
    return
  }

  if (versionOf(target) === OPA_VERSION) {
    console.log(`setup-opa: OPA ${OPA_VERSION} already at .tools/bin/opa`)
    return
  }

  mkdirSync(binDir, { recursive: true })
  const pathOpa = onPath('opa')
  if (pathOpa && versionOf(pathOpa) === OPA_VERSION) {
    rmSync(target, { force: true })
    symlinkSync(pathOpa, target)
    console.log(`setup-opa: linked ${pathOpa} (OPA ${OPA_VERSION}) to .tools/bin/opa`)
    return
  }

  const go = onPath('go')
  if (!go) {
    fail(`OPA ${OPA_VERSION} is needed. Install Go (1.26 or newer) so it can be built with ` +
      `\`go install github.com/open-policy-agent/opa@v${OPA_VERSION}\`, or put OPA ${OPA_VERSION} on PATH, ` +
      'or set OPA_BIN to its path; then run `npm install` again.')
  }

  console.log(`setup-opa: building OPA ${OPA_VERSION} with go install (a few minutes the first time)…`)
  const built = spawnSync(go, ['install', `github.com/open-policy-agent/opa@v${OPA_VERSION}`], {
    stdio: 'inherit',
    env: { ...process.env, GOBIN: binDir, CGO_ENABLED: '0' }
  })
  if (built.status !== 0) fail(`go install of OPA ${OPA_VERSION} failed (exit ${built.status}).`)
  if (!existsSync(target) || versionOf(target) !== OPA_VERSION) fail(`go install finished but ${target} is not OPA ${OPA_VERSION}.`)
  console.log(`setup-opa: OPA ${OPA_VERSION} built at .tools/bin/opa`)
}

// opa-wasm ships the list of built-ins its runtime implements, but that file
// predates OPA 1.0 and lacks the `rego_v1` feature, so OPA 1.x refuses to parse
// v1 Rego with it as it is. This adds the parser features and keeps the built-ins
// list untouched: a call to a built-in the WASM runtime lacks still fails the build.
function writeWasmCapabilities () {
  const require = createRequire(import.meta.url)
  const shipped = join(dirname(require.resolve('@open-policy-agent/opa-wasm')), '..', 'capabilities.json')
  const capabilities = JSON.parse(readFileSync(shipped, 'utf8'))
  capabilities.features = ['rego_v1', 'keywords_in_refs']
  capabilities.future_keywords = ['and', 'not', 'or']
  mkdirSync(dirname(capabilitiesFile), { recursive: true })
  writeFileSync(capabilitiesFile, JSON.stringify(capabilities, null, 2) + '\n')
  console.log('setup-opa: wrote .tools/wasm-capabilities.json')
}

ensureOpa()
writeWasmCapabilities()
