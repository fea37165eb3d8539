#!/usr/bin/env node
// The Rego lint of `npm run lint`: package paths mirror folders, tests sit beside
// what they test, METADATA on every package and public rule, no redundant
// imports. The rules live in src/toolchain/rego-lint.ts (which `verdict test`
// runs in-process); this only runs them, through tap's TypeScript loader so no
// build is needed first.
//
// Usage: node scripts/lint-rego.mjs [policies-dir]
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

process.env.TS_NODE_TRANSPILE_ONLY = '1'
await import('@tapjs/typescript/import')
const { RegoLintError, lintRego, lintReport } = await import('../src/toolchain/rego-lint.ts')

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const dir = resolve(process.argv[2] ?? join(repo, 'policies'))
try {
  const { ok, output } = lintReport(dir, lintRego(dir))
  process.stdout.write(output)
  process.exit(ok ? 0 : 1)
} catch (err) {
  if (!(err instanceof RegoLintError)) throw err
  console.error(`lint-rego: ${err.message}`)
  process.exit(2)
}
