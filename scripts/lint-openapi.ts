// Lints the OpenAPI document Verdict serves at GET /docs/json with @redocly/cli's
// recommended rules (redocly.yaml): the app is built as the tests build it (the
// example policies, no listening), the document written to a temporary file and
// linted. Part of `npm run lint`, so of `npm test`.
//
//   npm run lint:openapi
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import verdictApp from '../src/app.js'
import { parseConfig } from '../src/config.js'

const repo = fileURLToPath(new URL('..', import.meta.url))
const config = parseConfig({ server: { logLevel: 'silent' }, policy: { dir: join(repo, 'policies') } })
const app = Fastify({ logger: false })
await app.register(verdictApp, { config })
await app.ready()
const res = await app.inject({ method: 'GET', url: '/docs/json' })
await app.close()
if (res.statusCode !== 200) {
  console.error(`lint-openapi: GET /docs/json answered ${res.statusCode}`)
  process.exit(1)
}
const dir = mkdtempSync(join(tmpdir(), 'verdict-openapi-'))
const file = join(dir, 'openapi.json')
writeFileSync(file, res.body)
const lint = spawnSync(join(repo, 'node_modules', '.bin', 'redocly'), ['lint', file, '--config', join(repo, 'redocly.yaml')], { stdio: 'inherit' })
rmSync(dir, { recursive: true, force: true })
process.exit(lint.status ?? 1)
