#!/usr/bin/env node
// Writes schemas/*.json from their TypeBox sources in src/contract (the list is
// src/toolchain/schema-files.ts). Run it after changing a contract schema:
//   node scripts/write-schemas.mjs
// A test fails while a committed schema differs from its source.
//
// The sources are TypeScript: this script runs itself again under tap's
// TypeScript loader (transpile only), as scripts/test-policies.mjs does.
import { spawnSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')

if (!process.env.VERDICT_WRITE_SCHEMAS_LOADED) {
  const loader = import.meta.resolve('@tapjs/typescript/import')
  const r = spawnSync(process.execPath, ['--import', loader, fileURLToPath(import.meta.url)], {
    stdio: 'inherit',
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', VERDICT_WRITE_SCHEMAS_LOADED: '1' }
  })
  process.exit(r.status ?? 1)
}

const { SCHEMA_FILES, schemaText } = await import('../src/toolchain/schema-files.js')
for (const [path, schema] of Object.entries(SCHEMA_FILES)) {
  const file = join(repo, path)
  await mkdir(dirname(file), { recursive: true })
  await writeFile(file, schemaText(schema))
  console.log(`wrote ${path}`)
}
