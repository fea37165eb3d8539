// The Basic failure limit is shared by the workers of a real process: the
// cluster primary counts for all of them, so 2 workers do not give twice the
// guesses. Real HTTP, a new connection per request (so the primary spreads
// them over both workers), client addresses through a trusted proxy.
import { request } from 'node:http'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { secretFileName, writeDevSecrets } from '../../src/cli/dev-secrets.js'
import { POLICY_DIR } from '../helpers/app.js'
import { wasmBuildArgs } from '../../src/toolchain/compiler.js'
import { runOpa } from '../../src/toolchain/opa-cli.js'
import { SERVER_ENTRY, startProcess, type ServerProcess } from '../server-process.js'

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

/** A real 2-worker process with one Basic account; `extra` is appended to the authn.basic mapping. */
async function startCluster (t: Test, extra: string): Promise<{ base: string, secret: string, server: ServerProcess }> {
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
    `           ${extra} }`
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
  return { base: `http://127.0.0.1:${ports[0] ?? '0'}`, secret, server }
}

const basic = (s: string): string => 'Basic ' + Buffer.from(`${ACCOUNT}:${s}`).toString('base64')

/** The workers that answered so far: each logs its own pid. */
function answeringPids (server: ServerProcess): Set<string | undefined> {
  return new Set([...server.output().matchAll(/"pid":(\d+)[^\n]*"msg":"request completed"/g)].map((m) => m[1]))
}

t.test('two workers share one Basic failure limit', async (t) => {
  const { base, secret, server } = await startCluster(t, 'rateLimit: { maxFailures: 4, delaySec: 60, maxDelaySec: 60 }')
  const codes: string[] = []
  for (let i = 0; i < 12; i++) codes.push((await decide(base, basic(`wrong-${i}`), '203.0.113.50')).code ?? 'none')
  const checked = codes.filter((c) => c === 'basic_invalid_credentials').length
  t.equal(checked, 4, `4 guesses checked across both workers, not 4 per worker (${codes.join(', ')})`)
  t.same(codes.slice(4), Array(8).fill('basic_rate_limited'), 'every later attempt refused unchecked')

  t.match(await decide(base, basic(secret), '203.0.113.50'), { status: 401, code: 'basic_rate_limited' },
    'the throttled client waits with the right secret not yet verified (not cached): it would be a check')
  for (let i = 0; i < 4; i++) {
    t.match(await decide(base, basic(secret), `198.51.100.${i}`), { status: 200 }, `another client (${i}) gets in`)
  }

  t.equal(answeringPids(server).size, 2, 'both workers answered')
  server.child.kill('SIGTERM')
  t.equal(await server.exited, 0)
})

// A gateway or a pool sending one account's right secret many times at once
// from one address: each worker checks the header once (the others wait for
// that check) and then answers from its cache, so the attempts counted as
// pending failures in the primary never reach maxFailures.
const N = 32
for (const cached of [true, false]) {
  const name = cached ? 'with the cache' : 'with the cache off'
  const extra = `rateLimit: { maxFailures: 4, delaySec: 60, maxDelaySec: 60 }${cached ? '' : ', cache: { maxEntries: 0 }'}`
  t.test(`${N} concurrent right requests from one address over two workers all get in (${name}); wrong ones are still limited`, async (t) => {
    const { base, secret, server } = await startCluster(t, extra)
    for (const round of ['cold', 'warm']) {
      const results = await Promise.all(Array.from({ length: N }, async () => await decide(base, basic(secret), '203.0.113.60')))
      const refused = results.filter((r) => r.status !== 200).map((r) => r.code)
      t.same(refused, [], `${round}: all ${N} accepted`)
    }
    const guesses = await Promise.all(Array.from({ length: N }, async (_, i) => await decide(base, basic(`wrong-${i}`), '203.0.113.61')))
    const codes = guesses.map((r) => r.code)
    t.equal(codes.filter((c) => c === 'basic_invalid_credentials').length, 4, `${N} parallel guesses: 4 checked across both workers`)
    t.equal(codes.filter((c) => c === 'basic_rate_limited').length, N - 4, 'the rest refused unchecked')

    // A guesser behind the address of a pool that uses the right secret.
    const mixed = await Promise.all(Array.from({ length: N }, async (_, i) =>
      await decide(base, basic(i % 2 === 0 ? secret : `mixed-${i}`), '203.0.113.62')))
    const right = mixed.filter((_, i) => i % 2 === 0).map((r) => r.status === 200 ? 'accepted' : r.code)
    const wrong = mixed.filter((_, i) => i % 2 === 1).map((r) => r.status === 200 ? 'accepted' : r.code)
    t.notOk(wrong.includes('accepted'), 'no guess accepted')
    if (cached) {
      // Verified once by each worker in the cold round: cache hits, which
      // neither count as guesses nor erase the guesses counted.
      t.same(right, Array(N / 2).fill('accepted'), 'a mix: the pool is served throughout')
      t.ok(wrong.filter((c) => c === 'basic_invalid_credentials').length <= 4, `a mix: at most 4 guesses checked (${wrong.join(', ')})`)
    } else {
      // Without the cache each right request is a check again, refused while
      // the address is throttled; each success also forgets the pair's
      // failures (rate-limit.ts), so here the per-address limit is what bounds
      // the guesses.
      t.same(right.filter((c) => c !== 'accepted' && c !== 'basic_rate_limited'), [], 'a mix: the pool is accepted or told to wait, never refused as wrong')
    }
    t.equal(answeringPids(server).size, 2, 'both workers answered')
    server.child.kill('SIGTERM')
    t.equal(await server.exited, 0)
  })
}
