// The Basic failure limit is shared by the workers of a real process: the
// cluster primary counts for all of them, so 2 workers do not give twice the
// guesses. Real HTTP, a new connection per request (so the primary spreads
// them over both workers), client addresses through a trusted proxy.
import { request } from 'node:http'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { secretFileName, writeDevSecrets } from '../../src/cli/dev-secrets.js'
import { POLICY_DIR } from '../helpers/app.js'
import { wasmBuildArgs } from '../../src/toolchain/compiler.js'
import { runOpa } from '../../src/toolchain/opa-cli.js'
import { SERVER_ENTRY, startProcess } from '../server-process.js'

t.setTimeout(300_000)

const ACCOUNT = 'ACME||SVC_PAYROLL'

/** POST /v1/decide on a fresh connection; returns the decision's status and first reason code. */
function decide (base: string, authorization: string, forwardedFor: string): Promise<{ status: number, code: string | undefined }> {
  const body = JSON.stringify({ request: { method: 'GET', path: '/cmictest/hcm-rest-api/rest/1/pyemployee' } })
  return new Promise((resolve, reject) => {
    const req = request(`${base}/v1/decide`, {
      method: 'POST',
      agent: false,
      headers: { authorization, 'content-type': 'application/json', 'x-forwarded-for': forwardedFor, connection: 'close' }
    }, (res) => {
      let text = ''
      res.on('data', (chunk: Buffer) => { text += chunk.toString() })
      res.on('end', () => {
        const decision = JSON.parse(text) as { status: number, reasons: Array<{ code: string }> }
        resolve({ status: decision.status, code: decision.reasons[0]?.code })
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}

t.test('two workers share one Basic failure limit', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-basic-cluster-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeDevSecrets(dir, [ACCOUNT])
  const secret = (await readFile(join(dir, 'credentials', secretFileName(ACCOUNT)), 'utf8')).trim()
  // Compiled once here, so the two workers only load it (a policy directory
  // would be compiled by each worker at start).
  const bundleFile = join(dir, 'bundle.tar.gz')
  await runOpa(wasmBuildArgs('verdict/decision', bundleFile), { cwd: POLICY_DIR })
  const configFile = join(dir, 'verdict.yaml')
  await writeFile(configFile, [
    'server: { host: 127.0.0.1, port: 0, workers: 2, logLevel: info }',
    `policy: { bundleFile: ${JSON.stringify(bundleFile)} }`,
    'authn:',
    '  trustedProxies: [127.0.0.1]',
    `  basic: { secretsFile: ${JSON.stringify(join(dir, 'secrets.yaml'))}, pepperFile: ${JSON.stringify(join(dir, 'pepper'))},`,
    '           rateLimit: { maxFailures: 4, delaySec: 60, maxDelaySec: 60 } }'
  ].join('\n'))

  const server = startProcess([SERVER_ENTRY], { VERDICT_CONFIG: configFile })
  t.teardown(() => { if (server.child.exitCode === null) server.child.kill('SIGKILL') })
  // Both workers must be up before the first request (each loads the policy);
  // on a loaded machine that can take longer than the shared helper waits.
  const deadline = Date.now() + 240_000
  let ports: string[] = []
  while (ports.length < 2 && Date.now() < deadline && server.child.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    ports = [...server.output().matchAll(/Server listening at http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => m[1] as string)
  }
  t.equal(ports.length, 2, 'two workers listening')
  const base = `http://127.0.0.1:${ports[0] ?? '0'}`

  const basic = (s: string): string => 'Basic ' + Buffer.from(`${ACCOUNT}:${s}`).toString('base64')
  const codes: string[] = []
  for (let i = 0; i < 12; i++) codes.push((await decide(base, basic(`wrong-${i}`), '203.0.113.50')).code ?? 'none')
  const checked = codes.filter((c) => c === 'basic_invalid_credentials').length
  t.equal(checked, 4, `4 guesses checked across both workers, not 4 per worker (${codes.join(', ')})`)
  t.same(codes.slice(4), Array(8).fill('basic_rate_limited'), 'every later attempt refused unchecked')

  t.match(await decide(base, basic(secret), '203.0.113.50'), { status: 401, code: 'basic_rate_limited' },
    'the throttled client waits even with the right secret')
  for (let i = 0; i < 4; i++) {
    t.match(await decide(base, basic(secret), `198.51.100.${i}`), { status: 200 }, `another client (${i}) gets in`)
  }

  // The requests really went to both workers: each logs its own pid.
  const pids = new Set([...server.output().matchAll(/"pid":(\d+)[^\n]*"msg":"request completed"/g)].map((m) => m[1]))
  t.equal(pids.size, 2, 'both workers answered')

  server.child.kill('SIGTERM')
  t.equal(await server.exited, 0)
})
