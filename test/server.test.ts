// The process, as `npm start` runs it: configuration from VERDICT_CONFIG, workers
// (node:cluster), real HTTP, logs without credentials, and a clean exit on SIGTERM.
import { spawn } from 'node:child_process'
import { request } from 'node:http'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { secretFileName, writeDevSecrets } from '../src/cli/dev-secrets.js'
import { POLICY_DIR } from './helpers/app.js'

// Runs src/server.ts as it is, with tap's TypeScript loader, so no build is needed.
const tsLoader = import.meta.resolve('@tapjs/typescript/import')
const serverEntry = new URL('../src/server.ts', import.meta.url).pathname

/** One request on a connection of its own (agent: false), so node:cluster hands each to the next worker in turn. */
async function onNewConnection (url: string, method: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number, text: string }> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      let text = ''
      res.on('data', (c: Buffer) => { text += c.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** The sum of a metric's samples whose labels include `labels`. */
function metricSum (exposition: string, name: string, labels: string[] = []): number {
  return exposition.split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .filter((line) => labels.every((l) => line.includes(l)))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0)
}

t.test('two workers serve decisions, answer /metrics as one, and stop on SIGTERM', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-server-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeDevSecrets(dir, ['ACME||SVC_PAYROLL'])
  const secret = (await readFile(join(dir, 'credentials', secretFileName('ACME||SVC_PAYROLL')), 'utf8')).trim()
  const configFile = join(dir, 'verdict.yaml')
  await writeFile(configFile, [
    'server: { host: 127.0.0.1, port: 0, workers: 2, logLevel: info }',
    `policy: { dir: ${JSON.stringify(POLICY_DIR)} }`,
    `authn: { basic: { secretsFile: ${JSON.stringify(join(dir, 'secrets.yaml'))}, pepperFile: ${JSON.stringify(join(dir, 'pepper'))} } }`,
    `decisionLogs: { file: { path: ${JSON.stringify(join(dir, 'logs', 'decisions.log'))} } }`
  ].join('\n'))

  const child = spawn(process.execPath, ['--import', tsLoader, serverEntry], {
    env: { ...process.env, VERDICT_CONFIG: configFile },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })

  // Both workers say where they listen (cluster shares one port between them).
  const deadline = Date.now() + 60_000
  let ports: string[] = []
  while (Date.now() < deadline) {
    ports = [...output.matchAll(/Server listening at http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => m[1] as string)
    if (ports.length >= 2) break
    if (child.exitCode !== null) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.equal(ports.length, 2, 'two workers listening')
  t.equal(new Set(ports).size, 1, 'on one shared port')
  const base = `http://127.0.0.1:${ports[0] ?? '0'}`

  const health = await fetch(`${base}/health`)
  t.equal(health.status, 200)

  const authorization = 'Basic ' + Buffer.from(`ACME||SVC_PAYROLL:${secret}`).toString('base64')
  const ids: string[] = []
  for (let i = 0; i < 6; i++) {
    const res = await fetch(`${base}/v1/decide`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ request: { method: 'GET', path: '/cmictest/hcm-rest-api/rest/1/pyemployee' } })
    })
    const decision = await res.json() as { decision_id: string }
    t.match(decision, { allow: true, status: 200, principal: { id: 'ACME||SVC_PAYROLL' } })
    ids.push(decision.decision_id)
  }
  // More decisions, each on a new connection: the workers take turns.
  for (let i = 0; i < 14; i++) {
    const res = await onNewConnection(`${base}/v1/decide`, 'POST', { authorization, 'content-type': 'application/json' },
      JSON.stringify({ request: { method: 'GET', path: '/cmictest/hcm-rest-api/rest/1/pyemployee' } }))
    const decision = JSON.parse(res.text) as { decision_id: string, allow: boolean }
    t.equal(decision.allow, true)
    ids.push(decision.decision_id)
  }

  // Every scrape, whichever worker answers it, counts the decisions of both.
  for (let i = 0; i < 4; i++) {
    const scrape = await onNewConnection(`${base}/metrics`, 'GET')
    t.equal(scrape.status, 200)
    t.equal(metricSum(scrape.text, 'verdict_decisions_total'), ids.length, `scrape ${i + 1}: ${ids.length} decisions in all`)
    t.equal(metricSum(scrape.text, 'verdict_http_responses_total', ['route="/v1/decide"', 'status_class="2xx"']), ids.length, `scrape ${i + 1}: ${ids.length} 2xx answers of /v1/decide`)
    t.equal(metricSum(scrape.text, 'verdict_policy_info'), 2, 'both workers serve the one policy revision')
  }

  child.kill('SIGTERM')
  t.equal(await exited, 0, 'SIGTERM: workers finish and the process exits 0')
  t.match(output, /SIGTERM: stopping workers/)
  t.notOk(output.includes(secret), 'the secret never reaches the log')
  t.notOk(output.includes(authorization.slice(6)), 'the credential never reaches the log')
  t.match(output, /"msg":"decision"/, 'decisions are logged')

  // Each worker writes its own decision-log file, so no two processes append to
  // (or rotate) the same file.
  const files = await readdir(join(dir, 'logs'))
  t.ok(files.length === 2 && files.every((f) => /^decisions-worker\d+\.log$/.test(f)), `both workers decided, each in its own file: ${files.join(', ')}`)
  const logged: string[] = []
  for (const file of files) {
    const text = await readFile(join(dir, 'logs', file), 'utf8')
    logged.push(...text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { decision_id: string }).decision_id))
  }
  t.same(logged.sort(), ids.sort(), 'every decision has its event, flushed before the workers exited')
})
