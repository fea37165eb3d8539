#!/usr/bin/env node
// `npm run test:policies`: runs `verdict test` (src/cli/policy-test.ts) on the
// policies — opa fmt, opa check --strict, opa test, the coverage gate of the
// policy files, the WASM build exactly as the engine builds it, the Rego lint.
// One copy of the checks and of the OPA build flags (src/toolchain/compiler.ts and
// src/toolchain/policy-checks.ts); this script only starts the command.
//
// It runs the TypeScript source through tap's loader (transpile only: the type
// check is `npm run typecheck`), so no build is needed first.
//
// Usage: node scripts/test-policies.mjs [policies-dir] [verdict test options]
import { spawnSync } from 'node:child_process'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const loader = import.meta.resolve('@tapjs/typescript/import')
const cli = join(repo, 'src', 'cli', 'verdict.ts')
const args = process.argv.slice(2)
const namesDir = (args.length > 0 && !args[0].startsWith('-')) || args.includes('--policies')
if (!namesDir) args.unshift('--policies', join(repo, 'policies'))

const r = spawnSync(process.execPath, ['--import', loader, cli, 'test', ...args], {
  stdio: 'inherit',
  env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' }
})
if (r.error) {
  console.error(`test-policies: cannot run verdict test: ${r.error.message}`)
  process.exit(2)
}
process.exit(r.status ?? 1)
