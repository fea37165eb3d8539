#!/usr/bin/env node
// `npm install`'s postinstall: makes the pinned OPA available (built once per
// version into a cache outside the checkout, linked at .tools/bin/opa) and writes
// .tools/wasm-capabilities.json. The logic is src/toolchain/opa-binary.ts (one
// resolver for setup, the Rego lint and the engine) and
// src/toolchain/wasm-capabilities.ts; this only runs it (through tap's
// TypeScript loader, so no build is needed first).
//
// Environment: OPA_BIN (a binary at the pin, used as it is), VERDICT_OPA_CACHE
// (the cache directory; default ~/.cache/verdict/opa).
process.env.TS_NODE_TRANSPILE_ONLY = '1'
await import('@tapjs/typescript/import')
const { ensureOpa, OpaSetupError } = await import('../src/toolchain/opa-binary.ts')
const { writeWasmCapabilities } = await import('../src/toolchain/wasm-capabilities.ts')

try {
  ensureOpa(process.env, (line) => console.log(`setup-opa: ${line}`))
} catch (err) {
  if (!(err instanceof OpaSetupError)) throw err
  console.error(`setup-opa: ${err.message}`)
  process.exit(1)
}
const file = writeWasmCapabilities()
console.log(`setup-opa: wrote ${file}`)
