// `verdict serve`: the same server as `npm start`, from the CLI, with its options.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { run } from '../src/cli/serve.js'
import { writeDevSecrets } from '../src/cli/dev-secrets.js'
import { POLICY_DIR } from './helpers/app.js'
import { CLI_ENTRY, SERVER_ENTRY, startProcess } from './server-process.js'

t.setTimeout(180_000)

async function capture (fn: () => Promise<number>): Promise<{ code: number, out: string, err: string }> {
  const out: string[] = []
  const err: string[] = []
  const stdout = process.stdout.write.bind(process.stdout)
  const stderr = process.stderr.write.bind(process.stderr)
  process.stdout.write = ((c: string) => { out.push(String(c)); return true }) as typeof process.stdout.write
  process.stderr.write = ((c: string) => { err.push(String(c)); return true }) as typeof process.stderr.write
  try {
    return { code: await fn(), out: out.join(''), err: err.join('') }
  } finally {
    process.stdout.write = stdout
    process.stderr.write = stderr
  }
}

t.test('usage', async (t) => {
  const help = await capture(() => run(['--help']))
  t.equal(help.code, 0)
  t.match(help.out, /usage: verdict serve \[--config <file>\]/)
  const bad = await capture(() => run(['--port', '1']))
  t.equal(bad.code, 2, 'an unknown option is a usage error')
  t.match(bad.err, /verdict serve: .*--port/)
  const extra = await capture(() => run(['now']))
  t.equal(extra.code, 2, 'no positional arguments')
  const missing = await capture(() => run(['--config', '/nonexistent/verdict.yaml']))
  t.equal(missing.code, 2)
  t.match(missing.err, /cannot read \/nonexistent\/verdict\.yaml/)
})

t.test('an invalid configuration is refused before anything starts', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-serve-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'verdict.yaml')
  await writeFile(file, 'server: { port: "eighty" }\n')
  const r = await capture(() => run(['-c', file]))
  t.equal(r.code, 2)
  t.match(r.err, /configuration is invalid: \/server\/port/)
})

t.test('verdict serve --config serves decisions, /metrics and /docs/json, and stops on SIGTERM', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-serve-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeDevSecrets(dir, ['ACME||SVC_PAYROLL'])
  const configFile = join(dir, 'verdict.yaml')
  const logFile = join(dir, 'decisions.log')
  await writeFile(configFile, [
    'server: { host: 127.0.0.1, port: 0, workers: 1, logLevel: info }',
    `policy: { dir: ${JSON.stringify(POLICY_DIR)}, watch: false }`,
    `authn: { basic: { secretsFile: ${JSON.stringify(join(dir, 'secrets.yaml'))}, pepperFile: ${JSON.stringify(join(dir, 'pepper'))} } }`,
    `decisionLogs: { file: { path: ${JSON.stringify(logFile)} } }`
  ].join('\n'))
  // VERDICT_CONFIG points elsewhere: --config wins.
  const server = startProcess([CLI_ENTRY, 'serve', '--config', configFile], { VERDICT_CONFIG: '/nonexistent.yaml' })
  t.teardown(() => { if (server.child.exitCode === null) server.child.kill('SIGKILL') })
  const base = await server.listening()

  t.equal((await fetch(`${base}/health`)).status, 200)
  const decision = await (await fetch(`${base}/v1/decide`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob' } })
  })).json() as { decision_id: string, status: number }
  t.equal(decision.status, 401, 'no credential: a 401 decision')
  const metrics = await (await fetch(`${base}/metrics`)).text()
  t.match(metrics, /verdict_decisions_total\{result="deny",status="401",layer="authentication"\} 1/)
  t.match(await (await fetch(`${base}/docs/json`)).json(), { openapi: /^3\./ })

  server.child.kill('SIGTERM')
  t.equal(await server.exited, 0)
  t.match(JSON.parse((await readFile(logFile, 'utf8')).trim()), { decision_id: decision.decision_id, custom: { policy_evaluated: false } })
})

t.test('src/server.ts: a configuration it cannot read stops the start with exit 1', async (t) => {
  const server = startProcess([SERVER_ENTRY], { VERDICT_CONFIG: '/nonexistent/verdict.yaml' })
  t.equal(await server.exited, 1)
  t.match(server.output(), /verdict: configuration is invalid: cannot read \/nonexistent\/verdict\.yaml/)
})

t.test('src/server.ts: a port already taken stops the start with exit 1', async (t) => {
  const taken = createServer()
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
  t.teardown(() => taken.close())
  const dir = await mkdtemp(join(tmpdir(), 'verdict-serve-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const configFile = join(dir, 'verdict.yaml')
  await writeFile(configFile, [
    `server: { host: 127.0.0.1, port: ${(taken.address() as AddressInfo).port}, workers: 1, logLevel: info }`,
    `policy: { dir: ${JSON.stringify(POLICY_DIR)}, watch: false }`
  ].join('\n'))
  const server = startProcess([SERVER_ENTRY], { VERDICT_CONFIG: configFile })
  t.teardown(() => { if (server.child.exitCode === null) server.child.kill('SIGKILL') })
  t.equal(await server.exited, 1)
  t.match(server.output(), /cannot listen/)
})
