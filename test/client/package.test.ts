// @verdict/client as a calling service gets it: `npm pack` of packages/client,
// the tarball installed into an empty project with no Go on PATH, the project's
// TypeScript type-checked against the package's types (and a wrong request
// refused by them), then run against a real Verdict on loopback. The package
// has no install scripts and brings no server dependency.
import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { build } from '../helpers/build.js'
import { startCallers } from '../helpers/callers.js'

t.setTimeout(300_000)

const run = promisify(execFile)
const PACKAGE_DIR = new URL('../../packages/client', import.meta.url).pathname
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const TIMESHEETS = '/cmictest/hcm-rest-api/rest/1/pyemptimesheet'

/** PATH without any directory that holds a `go` binary. */
const PATH = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '' && !existsSync(join(dir, 'go'))).join(delimiter)
const env: NodeJS.ProcessEnv = { ...process.env, PATH }
delete env.GOROOT
delete env.GOPATH

const work = await mkdtemp(join(tmpdir(), 'verdict-client-package-'))
t.teardown(() => rm(work, { recursive: true, force: true }))

const callers = await startCallers()
t.teardown(() => callers.close())
const app = await build(t, { authn: callers.authn })
const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' })

t.test('packed, installed without Go, type-checked and run against a real Verdict', async (t) => {
  t.notOk((await run('sh', ['-c', 'command -v go || true'], { env })).stdout.trim(), 'no go on PATH')

  const packed = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: PACKAGE_DIR, env, maxBuffer: 16 << 20 })
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string, files: Array<{ path: string }> }>
  const tarball = join(work, (info as { filename: string }).filename)
  const files = info?.files.map((f) => f.path) ?? []
  t.ok(files.includes('dist/packages/client/src/index.js') && files.includes('dist/packages/client/src/kysely.d.ts'), 'the client, built')
  t.ok(files.includes('dist/src/contract/wire.d.ts') && files.includes('dist/src/rows/predicate.js'), 'the contract and the row-filter semantics compiled in')
  t.notOk(files.some((f) => f.startsWith('src/') || f.includes('/authn/') || f.includes('/engine/')), 'no source and no server code')

  const manifest = JSON.parse(await readFile(join(PACKAGE_DIR, 'package.json'), 'utf8')) as { scripts?: Record<string, string>, dependencies?: Record<string, string> }
  for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) t.notOk(manifest.scripts?.[hook], `no ${hook} script`)
  t.same(Object.keys(manifest.dependencies ?? {}), ['@sinclair/typebox'], 'its one dependency: the contract\'s schema library')

  const project = join(work, 'consumer')
  await run('mkdir', ['-p', join(project, 'src')])
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: project, env, maxBuffer: 16 << 20 })
  const installed = readdirSync(join(project, 'node_modules'), { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.'))
    .flatMap((e) => e.name.startsWith('@') ? readdirSync(join(project, 'node_modules', e.name)).map((n) => `${e.name}/${n}`) : [e.name])
  t.same(installed.sort(), ['@sinclair/typebox', '@verdict/client'], 'nothing of the server comes with it')

  await writeFile(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, lib: ['ES2023', 'DOM'], types: [], outDir: 'out', skipLibCheck: false },
    include: ['src/main.ts']
  }))
  await writeFile(join(project, 'src', 'main.ts'), `import { createVerdictClient, VerdictClientError, type Decision, type DecisionRequest } from '@verdict/client'

declare const process: { env: Record<string, string | undefined> } // no @types/node here: the package needs none

const verdict = createVerdictClient({ baseUrl: process.env.VERDICT_URL as string, timeoutMs: 5000 })
const request: DecisionRequest = { request: { method: 'GET', path: '${TIMESHEETS}' }, sql: 'postgresql' }
const decision: Decision = await verdict.decide(process.env.AUTHORIZATION, request)
const anonymous: Decision = await verdict.decide(undefined, request)
let error: string | undefined
try {
  await verdict.decide(process.env.AUTHORIZATION, { request: { method: 'OPTIONS', path: '${TIMESHEETS}' } })
} catch (err) {
  if (err instanceof VerdictClientError) error = err.code
}
const rows = decision.rows
console.log(JSON.stringify({
  allow: decision.allow,
  status: decision.status,
  principal: decision.principal?.id,
  rows: rows.kind,
  where: rows.sql?.where,
  anonymous: anonymous.status,
  error
}))
`)
  // The types are real: a dialect the contract does not name is a type error.
  await writeFile(join(project, 'src', 'wrong.ts'), `import type { DecisionRequest } from '@verdict/client'
export const wrong: DecisionRequest = { request: { method: 'GET', path: '/x' }, sql: 'oracle' }
`)
  const tsc = async (args: string[]): Promise<{ code: number, out: string }> => {
    try {
      const r = await run(process.execPath, [TSC, ...args], { cwd: project, env })
      return { code: 0, out: r.stdout + r.stderr }
    } catch (err) {
      const e = err as { code?: number, stdout?: string, stderr?: string }
      return { code: e.code ?? 1, out: (e.stdout ?? '') + (e.stderr ?? '') }
    }
  }
  const checked = await tsc(['-p', 'tsconfig.json'])
  t.equal(checked.code, 0, `the consumer type-checks against the package: ${checked.out}`)
  await writeFile(join(project, 'tsconfig.wrong.json'), JSON.stringify({ extends: './tsconfig.json', compilerOptions: { noEmit: true }, include: ['src/wrong.ts'] }))
  const refused = await tsc(['-p', 'tsconfig.wrong.json'])
  t.not(refused.code, 0, 'a wrong dialect does not type-check')
  t.match(refused.out, /"oracle"/)

  const ran = await run(process.execPath, [join(project, 'out', 'main.js')], {
    cwd: project,
    env: { ...env, VERDICT_URL: baseUrl, AUTHORIZATION: callers.header('payroll (basic)') }
  })
  t.same(JSON.parse(ran.stdout), {
    allow: true,
    status: 200,
    principal: 'ACME||SVC_PAYROLL',
    rows: 'conditional',
    where: '("tsh_comp_code" = $1 OR "tsh_comp_code" = $2)',
    anonymous: 401,
    error: 'METHOD_UNKNOWN'
  }, 'a real decision, a 401 without a credential, and an error that is never a decision')
})
