#!/usr/bin/env node
// `npm run fuzz`: the fuzz of test/fuzz/decide.test.ts (malformed requests to
// /v1/decide and /v1/decide/batch with real credentials against the example
// policies: no 5xx, every error { code, message }, no decision for a non-canonical
// path, no allow the oracle disagrees with), at 20,000 requests instead of the
// 2,000 `npm test` sends. Same generators, same checks, same seed unless told.
//
// Usage: node scripts/fuzz.mjs [requests] [seed]      (defaults: 20000, 90909)
//        FUZZ_REQUESTS / FUZZ_SEED work too; arguments win.
import { spawnSync } from 'node:child_process'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const [requestsArg, seedArg] = process.argv.slice(2)
const requests = Number(requestsArg ?? process.env.FUZZ_REQUESTS ?? 20000)
const seed = Number(seedArg ?? process.env.FUZZ_SEED ?? 90909)
if (!Number.isInteger(requests) || requests < 1 || !Number.isInteger(seed)) {
  console.error('usage: node scripts/fuzz.mjs [requests] [seed]')
  process.exit(2)
}

console.log(`fuzz: ${requests} requests, seed ${seed}`)
const tap = join(repo, 'node_modules', '.bin', 'tap')
const r = spawnSync(tap, ['--disable-coverage', '--timeout', String(Math.max(300, Math.ceil(requests / 20))), '-R', 'tap', 'test/fuzz/decide.test.ts'], {
  cwd: repo,
  stdio: 'inherit',
  env: { ...process.env, FUZZ_REQUESTS: String(requests), FUZZ_SEED: String(seed) }
})
if (r.error) {
  console.error(`fuzz: cannot run tap: ${r.error.message}`)
  process.exit(2)
}
process.exit(r.status ?? 1)
