// The capabilities the served WASM bundle is built with (compiler.ts reads the
// file this writes; `npm install` writes it through scripts/setup-opa.mjs).
// opa-wasm ships the list of built-ins its runtime implements, but that file
// predates OPA 1.0 and lacks the `rego_v1` feature, so OPA 1.x refuses to parse
// v1 Rego with it as it is. This adds the parser features and keeps the built-ins
// list untouched: a call to a built-in the WASM runtime lacks still fails the build.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { wasmCapabilitiesFile } from './compiler.js'

export function writeWasmCapabilities (): string {
  const require = createRequire(import.meta.url)
  const shipped = join(dirname(require.resolve('@open-policy-agent/opa-wasm')), '..', 'capabilities.json')
  const capabilities = JSON.parse(readFileSync(shipped, 'utf8')) as Record<string, unknown>
  capabilities.features = ['rego_v1', 'keywords_in_refs']
  capabilities.future_keywords = ['and', 'not', 'or']
  const file = wasmCapabilitiesFile()
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, JSON.stringify(capabilities, null, 2) + '\n')
  return file
}
