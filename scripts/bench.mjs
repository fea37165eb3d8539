#!/usr/bin/env node
// Verdict benchmark: the same policies, data and inputs evaluated by
//   1. the engine in this process (WASM, dist/engine/policy.js evaluate),
//   2. the OPA server (`opa run --server`, OPA's own evaluator) over HTTP,
//   3. Verdict over HTTP (POST /v1/decide: authentication + WASM evaluation),
// with figures side by side and ratios (Verdict / OPA). Before timing anything
// it checks that the OPA server's result equals the WASM result for every input
// and that Verdict's HTTP answer equals the engine's, and fails on a mismatch.
//
//   npm run build && node scripts/bench.mjs [options]
//
// Options (flag or environment variable; defaults in brackets):
//   --duration=S     BENCH_DURATION     seconds per timed run [5]
//   --warmup=S       BENCH_WARMUP       seconds of warm-up before each run [1]
//   --concurrency=L  BENCH_CONCURRENCY  HTTP concurrencies, comma-separated [1,16]
//   --inputs=N       BENCH_INPUTS       number of distinct inputs, cycled [200]
//   --seed=N         BENCH_SEED         seed of the input selection [42]
//   --json=FILE      BENCH_JSON         also write the raw figures as JSON
//
// Only loopback traffic; child processes (OPA, Verdict) are killed on exit.
import { fork, spawn, execFileSync } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import os from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { isDeepStrictEqual } from 'node:util'
import { loadPolicy } from '@open-policy-agent/opa-wasm'
import { Pool } from 'undici'
import { startIdp } from './bench/idp.mjs'
import { callers as makeCallers, policyInputOf, readErpData, requests as makeRequests, selectCases } from './bench/inputs.mjs'
import { httpLoad, percentile, timeLoop } from './bench/measure.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const ENTRYPOINT = 'verdict/decision'
const POLICY_DIR = join(root, 'policies')

// --- options -----------------------------------------------------------------

function option (name, envName, fallback) {
  const flag = process.argv.slice(2).find((a) => a === `--${name}` || a.startsWith(`--${name}=`))
  if (flag !== undefined) return flag.includes('=') ? flag.slice(flag.indexOf('=') + 1) : 'true'
  return process.env[envName] ?? fallback
}
function positive (name, value, integer = false) {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) fail(`--${name} must be a positive ${integer ? 'integer' : 'number'} (got ${value})`)
  return n
}
function fail (message) {
  console.error(`bench: ${message}`)
  process.exit(1)
}
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log('usage: node scripts/bench.mjs [--duration=5] [--warmup=1] [--concurrency=1,16] [--inputs=200] [--seed=42] [--json=FILE]')
  process.exit(0)
}
const opts = {
  durationMs: positive('duration', option('duration', 'BENCH_DURATION', '5')) * 1000,
  warmupMs: Number(option('warmup', 'BENCH_WARMUP', '1')) * 1000,
  concurrency: option('concurrency', 'BENCH_CONCURRENCY', '1,16').split(',').map((c) => positive('concurrency', c.trim(), true)),
  inputs: positive('inputs', option('inputs', 'BENCH_INPUTS', '200'), true),
  seed: positive('seed', option('seed', 'BENCH_SEED', '42'), true),
  json: option('json', 'BENCH_JSON', undefined)
}
if (!Number.isFinite(opts.warmupMs) || opts.warmupMs < 0) fail('--warmup must be a number >= 0')

// --- child processes and cleanup -----------------------------------------------

const children = new Set()
const cleanups = []
function killChildren () {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
}
let tmpDir // dev secrets of this run; removed on any exit
process.on('exit', () => {
  killChildren()
  if (tmpDir) rmSync(tmpDir, { recursive: true, force: true })
})
/** SIGTERM, then SIGKILL whatever has not exited within 2 s. */
async function stopChildren () {
  const running = [...children].filter((c) => c.exitCode === null && c.signalCode === null)
  await Promise.all(running.map((child) => new Promise((resolve) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve() }, 2000)
    child.once('exit', () => { clearTimeout(timer); resolve() })
    child.kill('SIGTERM')
  })))
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    console.error(`bench: ${signal}, stopping`)
    killChildren()
    process.exit(130)
  })
}
// The whole run is bounded: a hung server cannot keep it alive.
const runs = 1 + 2 * opts.concurrency.length
const watchdogMs = 120_000 + runs * (opts.durationMs + opts.warmupMs) * 2
setTimeout(() => {
  console.error(`bench: still running after ${Math.round(watchdogMs / 1000)} s; giving up`)
  killChildren()
  process.exit(2)
}, watchdogMs).unref()

function tail (chunks) {
  return Buffer.concat(chunks).toString('utf8').slice(-2000).trim()
}

async function freePort () {
  const server = createServer()
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function startOpa (opaBin) {
  const port = await freePort()
  const output = []
  const child = spawn(opaBin, ['run', '--server', '--addr', `127.0.0.1:${port}`, '--log-level', 'error', POLICY_DIR], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, OPA_TELEMETRY: 'false' }
  })
  children.add(child)
  child.stdout.on('data', (c) => output.push(c))
  child.stderr.on('data', (c) => output.push(c))
  const origin = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  const probe = new Pool(origin, { connections: 1 })
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`opa exited with ${child.exitCode}: ${tail(output)}`)
      if (Date.now() > deadline) throw new Error(`opa did not become healthy in 30 s: ${tail(output)}`)
      try {
        const res = await probe.request({ path: '/health', method: 'GET' })
        await res.body.text()
        if (res.statusCode === 200) break
      } catch {}
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  } finally {
    await probe.close()
  }
  return { child, origin }
}

async function startVerdict (config) {
  const output = []
  const child = fork(join(root, 'scripts', 'bench', 'verdict-server.mjs'), [], {
    cwd: root,
    // e.g. BENCH_VERDICT_EXEC_ARGV="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the server
    execArgv: (process.env.BENCH_VERDICT_EXEC_ARGV ?? '').split(' ').filter(Boolean),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, BENCH_VERDICT_CONFIG: JSON.stringify(config) }
  })
  children.add(child)
  child.stdout.on('data', (c) => output.push(c))
  child.stderr.on('data', (c) => output.push(c))
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Verdict did not start in 60 s: ${tail(output)}`)), 60_000)
    child.once('message', (m) => { clearTimeout(timer); resolve(m.port) })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`Verdict exited with ${code}: ${tail(output)}`)) })
  })
  const origin = `http://127.0.0.1:${port}`
  const probe = new Pool(origin, { connections: 1 })
  try {
    const res = await probe.request({ path: '/health', method: 'GET' })
    const health = await res.body.text()
    if (res.statusCode !== 200) throw new Error(`Verdict /health answered ${res.statusCode}: ${health}`)
  } finally {
    await probe.close()
  }
  return { child, origin }
}

// --- formatting ----------------------------------------------------------------

const fmtRate = (n) => Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—'
const fmtMs = (n) => Number.isFinite(n) ? n.toFixed(n < 1 ? 3 : 2) : '—'
const fmtUs = (n) => Number.isFinite(n) ? n.toFixed(0) : '—'
const fmtRatio = (a, b) => Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : '—'

function table (header, rows) {
  const all = [header, ...rows]
  const widths = header.map((_, c) => Math.max(...all.map((r) => String(r[c]).length)))
  const line = (r) => '| ' + r.map((cell, c) => c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c])).join(' | ') + ' |'
  const rule = '|' + widths.map((w, c) => c === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':').join('|') + '|'
  return [line(header), rule, ...rows.map(line)].join('\n')
}

// --- main ----------------------------------------------------------------------

async function main () {
  const dist = (file) => pathToFileURL(join(root, 'dist', file)).href
  if (!existsSync(join(root, 'dist', 'engine', 'compiler.js'))) fail('dist/ is missing: run `npm run build` first (or `npm run bench`)')
  const { compilePolicies } = await import(dist('toolchain/compiler.js'))
  const { loadDecisionPolicy } = await import(dist('engine/policy.js'))
  const { toPolicyResult } = await import(dist('engine/result.js'))
  const { actionOf, endpointOf } = await import(dist('engine/input.js'))
  const { opaBinary } = await import(dist('toolchain/opa-cli.js'))
  const { writeDevSecrets, secretFileName } = await import(dist('cli/dev-secrets.js'))

  const opaBin = opaBinary()
  const opaVersion = /^Version:\s*(\S+)/m.exec(execFileSync(opaBin, ['version'], { encoding: 'utf8' }))?.[1] ?? '?'
  const cpus = os.cpus()
  console.log('Verdict benchmark')
  console.log(`  node ${process.version}, ${os.type()} ${os.release()} ${os.arch()}`)
  console.log(`  cpu: ${cpus[0]?.model ?? '?'}, ${os.availableParallelism()} cores; memory ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`)
  console.log(`  OPA ${opaVersion} (${opaBin}); @open-policy-agent/opa-wasm ${JSON.parse(await readFile(join(root, 'node_modules/@open-policy-agent/opa-wasm/package.json'), 'utf8')).version}`)
  console.log(`  load average before the run: ${os.loadavg().map((l) => l.toFixed(2)).join(', ')} (1, 5, 15 min; other work on the machine skews every figure)`)
  console.log(`  runs: ${opts.durationMs / 1000} s each after ${opts.warmupMs / 1000} s warm-up; HTTP concurrency ${opts.concurrency.join(', ')}; ${opts.inputs} inputs, seed ${opts.seed}`)

  // Policy: compiled by the project's compiler, loaded by the project's adapter.
  let t = performance.now()
  const bundle = await compilePolicies({ dir: POLICY_DIR, entrypoint: ENTRYPOINT })
  const policy = await loadDecisionPolicy(bundle, ENTRYPOINT)
  // The raw WASM result too, to compare with OPA's untouched by the adapter.
  const raw = await loadPolicy(bundle.wasm)
  raw.setData(JSON.parse(bundle.dataJson.toString('utf8')))
  console.log(`  policy ${bundle.revision} (${(bundle.wasm.length / 1024).toFixed(0)} KiB WASM) compiled and loaded in ${Math.round(performance.now() - t)} ms`)

  // Workload.
  const idp = await startIdp()
  cleanups.push(() => idp.close())
  const data = await readErpData(POLICY_DIR)
  const callerList = makeCallers(idp.issuers)
  const requestList = makeRequests(data)
  const candidates = []
  for (const caller of callerList) {
    for (const body of requestList) {
      candidates.push({ caller, body, input: policyInputOf(caller.principal, body, { actionOf, endpointOf }) })
    }
  }
  // Mostly allowed traffic; reads both as collections (row filter) and as
  // single records; every deny reason represented.
  const mix = { 'allow collection': 0.3, 'allow record': 0.4, 'deny collection': 0.1, 'deny record': 0.15, 'deny write-no-record': 0.05 }
  const cases = selectCases(candidates, opts.inputs, opts.seed, (c) => {
    const r = policy.evaluate(c.input)
    const deciding = r.reasons[r.reasons.length - 1]
    const shape = c.input.resource !== undefined ? 'record' : c.input.action === 'retrieve' ? 'collection' : 'write-no-record'
    return { allow: r.allow, key: `${r.allow ? 'allow' : 'deny'} ${deciding.layer}/${deciding.code}`, cls: `${r.allow ? 'allow' : 'deny'} ${shape}` }
  }, mix)
  const n = cases.length
  const inputs = cases.map((c) => c.input)
  describeMix(cases, candidates.length)

  // Servers.
  const tmp = tmpDir = await mkdtemp(join(os.tmpdir(), 'verdict-bench-'))
  const basicAccounts = [...new Set(callerList.filter((c) => c.kind === 'basic').map((c) => c.username))]
  await writeDevSecrets(tmp, basicAccounts)
  const authorization = new Map()
  for (const caller of callerList) {
    if (caller.kind === 'basic') {
      const secret = (await readFile(join(tmp, 'credentials', secretFileName(caller.username)), 'utf8')).trim()
      authorization.set(caller, `Basic ${Buffer.from(`${caller.username}:${secret}`).toString('base64')}`)
    } else {
      authorization.set(caller, `Bearer ${idp.token(caller.idp, caller.claims)}`)
    }
  }
  t = performance.now()
  const [opa, verdict] = await Promise.all([
    startOpa(opaBin),
    startVerdict({
      server: { host: '127.0.0.1', port: 0, logLevel: 'silent' },
      policy: { dir: POLICY_DIR, entrypoint: ENTRYPOINT },
      authn: {
        basic: { secretsFile: join(tmp, 'secrets.yaml'), pepperFile: join(tmp, 'pepper') },
        issuers: idp.config
      }
    })
  ])
  console.log(`  OPA server (pid ${opa.child.pid}) at ${opa.origin}, Verdict (pid ${verdict.child.pid}) at ${verdict.origin}; both ready in ${Math.round(performance.now() - t)} ms`)

  const opaBodies = inputs.map((input) => JSON.stringify({ input }))
  const opaRequest = (i) => ({ path: '/v1/data/verdict/decision', method: 'POST', headers: { 'content-type': 'application/json' }, body: opaBodies[i] })
  const verdictBodies = cases.map((c) => JSON.stringify(c.body))
  const verdictHeaders = cases.map((c) => ({ 'content-type': 'application/json', authorization: authorization.get(c.caller) }))
  const verdictRequest = (i) => ({ path: '/v1/decide', method: 'POST', headers: verdictHeaders[i], body: verdictBodies[i] })
  const maxC = Math.max(...opts.concurrency)
  const poolOptions = { connections: maxC, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 15_000, bodyTimeout: 15_000 }
  const opaPool = new Pool(opa.origin, poolOptions)
  const verdictPool = new Pool(verdict.origin, poolOptions)
  cleanups.push(() => opaPool.close(), () => verdictPool.close())

  // Correctness, before any timing.
  const mismatches = await checkResults({ cases, raw, policy, toPolicyResult, opaPool, opaRequest, verdictPool, verdictRequest })
  if (mismatches.length > 0) {
    console.error(`\nbench: ${mismatches.length} mismatch(es); no figures are reported for results that disagree:`)
    for (const m of mismatches.slice(0, 10)) console.error(JSON.stringify(m, null, 2))
    if (mismatches.length > 10) console.error(`… and ${mismatches.length - 10} more`)
    process.exitCode = 1
    return
  }
  console.log(`  results: OPA server = WASM for all ${n} inputs; Verdict /v1/decide = engine for all ${n} requests\n`)

  // 1. Engine, in process.
  process.stdout.write('  engine (in process) … ')
  const engine = timeLoop((i) => policy.evaluate(inputs[i]), n, opts)
  console.log(`${fmtRate(engine.perSecond)}/s`)

  // OPA's own timers, one request at a time: its evaluation alone (topdown),
  // comparable to the engine figure, and its whole handler.
  process.stdout.write('  OPA server timers (?metrics=true, sequential) … ')
  const opaTimers = await opaServerTimers(opaPool, opaBodies, opts)
  console.log(`${opaTimers.count} samples`)

  // 2 + 3. HTTP, closed loop, per concurrency.
  const http = []
  for (const concurrency of opts.concurrency) {
    const common = { concurrency, warmupMs: opts.warmupMs, durationMs: opts.durationMs }
    process.stdout.write(`  HTTP c=${concurrency}: OPA server … `)
    const o = await httpLoad(opaPool, opaRequest, n, { ...common, pid: opa.child.pid })
    process.stdout.write(`${fmtRate(o.perSecond)}/s; Verdict … `)
    const v = await httpLoad(verdictPool, verdictRequest, n, { ...common, pid: verdict.child.pid })
    console.log(`${fmtRate(v.perSecond)}/s`)
    http.push({ concurrency, opa: o, verdict: v })
  }

  const rows = [
    ['engine, 1 thread: decisions/s (Verdict: WASM evaluate)', fmtRate(engine.perSecond), '—', '—'],
    ['engine: p50 ms per decision (OPA: server eval timer)', fmtMs(engine.p50Ms), fmtMs(opaTimers.evalP50Ms), fmtRatio(engine.p50Ms, opaTimers.evalP50Ms)],
    ['engine: p99 ms per decision (OPA: server eval timer)', fmtMs(engine.p99Ms), fmtMs(opaTimers.evalP99Ms), fmtRatio(engine.p99Ms, opaTimers.evalP99Ms)]
  ]
  for (const { concurrency: c, opa: o, verdict: v } of http) {
    rows.push(
      [`HTTP c=${c}: decisions/s`, fmtRate(v.perSecond), fmtRate(o.perSecond), fmtRatio(v.perSecond, o.perSecond)],
      [`HTTP c=${c}: p50 ms`, fmtMs(v.p50Ms), fmtMs(o.p50Ms), fmtRatio(v.p50Ms, o.p50Ms)],
      [`HTTP c=${c}: p99 ms`, fmtMs(v.p99Ms), fmtMs(o.p99Ms), fmtRatio(v.p99Ms, o.p99Ms)],
      [`HTTP c=${c}: server CPU µs per decision`, fmtUs(v.serverCpuUsPerReq), fmtUs(o.serverCpuUsPerReq), fmtRatio(v.serverCpuUsPerReq, o.serverCpuUsPerReq)],
      [`HTTP c=${c}: server cores busy`, v.serverCores.toFixed(2), o.serverCores.toFixed(2), '—']
    )
  }
  console.log('')
  console.log(table(['scenario', 'Verdict', 'OPA server', 'Verdict/OPA'], rows))
  console.log('')
  console.log(`  engine: ${engine.count.toLocaleString('en-US')} evaluations in ${engine.seconds.toFixed(1)} s (includes JSON encoding of the input and decoding of the result)`)
  console.log(`  OPA server timers over ${opaTimers.count} sequential requests: eval p50 ${fmtMs(opaTimers.evalP50Ms)} / p99 ${fmtMs(opaTimers.evalP99Ms)} ms; ` +
    `input parse p50 ${fmtMs(opaTimers.parseP50Ms)} ms; whole handler p50 ${fmtMs(opaTimers.handlerP50Ms)} / p99 ${fmtMs(opaTimers.handlerP99Ms)} ms`)
  for (const { concurrency: c, opa: o, verdict: v } of http) {
    console.log(`  HTTP c=${c}: Verdict ${v.count.toLocaleString('en-US')} requests in ${v.seconds.toFixed(1)} s, ${v.errors} non-2xx; ` +
      `OPA ${o.count.toLocaleString('en-US')} requests in ${o.seconds.toFixed(1)} s, ${o.errors} non-2xx; ` +
      `load generator cores busy: ${v.clientCores.toFixed(2)} (Verdict run), ${o.clientCores.toFixed(2)} (OPA run)`)
  }
  console.log(`  load average after the run: ${os.loadavg().map((l) => l.toFixed(2)).join(', ')}`)
  console.log('  Ratios are Verdict / OPA server: above 1x is better for Verdict in decisions/s, worse in latency and CPU.')
  console.log('  Verdict authenticates every request (Basic HMAC check, or a cached verified JWT); the OPA server authenticates nothing.')

  const errors = http.reduce((sum, h) => sum + h.opa.errors + h.verdict.errors, 0)
  if (errors > 0) {
    console.error(`bench: ${errors} request(s) were answered with a non-2xx status`)
    process.exitCode = 1
  }
  if (opts.json) {
    await writeFile(opts.json, JSON.stringify({
      machine: { node: process.version, cpu: cpus[0]?.model, cores: os.availableParallelism(), os: `${os.type()} ${os.release()}`, opa: opaVersion },
      options: opts,
      policy: { revision: bundle.revision, digest: bundle.digest },
      engine,
      opaTimers,
      http
    }, null, 2) + '\n')
    console.log(`  figures written to ${opts.json}`)
  }
}

function describeMix (cases, candidateCount) {
  const count = (f) => cases.filter(f).length
  const allows = count((c) => c.outcome.allow)
  const records = count((c) => c.input.resource !== undefined)
  const retrieveCollections = count((c) => c.input.resource === undefined && c.input.action === 'retrieve')
  const byKey = new Map()
  for (const c of cases) byKey.set(c.outcome.key, (byKey.get(c.outcome.key) ?? 0) + 1)
  const byCaller = new Map()
  for (const c of cases) byCaller.set(c.caller.label, (byCaller.get(c.caller.label) ?? 0) + 1)
  console.log(`  inputs: ${cases.length} chosen from ${candidateCount} (caller × request); ${allows} allowed, ${cases.length - allows} denied; ` +
    `${retrieveCollections} collection retrieves, ${records} single-record checks, ${cases.length - records - retrieveCollections} writes without a record`)
  console.log(`    callers: ${[...byCaller].map(([k, v]) => `${k} ${v}`).join('; ')}`)
  console.log(`    outcomes (deciding layer/code): ${[...byKey].sort().map(([k, v]) => `${k} ${v}`).join('; ')}`)
}

async function checkResults ({ cases, raw, policy, toPolicyResult, opaPool, opaRequest, verdictPool, verdictRequest }) {
  const mismatches = []
  for (let i = 0; i < cases.length; i++) {
    const { input, caller } = cases[i]
    const wasmRaw = raw.evaluate(input, ENTRYPOINT)?.[0]?.result
    const engine = policy.evaluate(input)

    const res = await opaPool.request(opaRequest(i))
    const opaBody = JSON.parse(await res.body.text())
    if (res.statusCode !== 200) {
      mismatches.push({ input: i, what: `OPA server answered ${res.statusCode}`, body: opaBody })
    } else if (!isDeepStrictEqual(opaBody.result, wasmRaw)) {
      mismatches.push({ input: i, what: 'OPA server result differs from the WASM result', policyInput: input, opa: opaBody.result, wasm: wasmRaw })
    } else if (!isDeepStrictEqual(toPolicyResult(opaBody.result), engine)) {
      mismatches.push({ input: i, what: 'engine adapter result differs from the OPA result', opa: opaBody.result, engine })
    }

    const vres = await verdictPool.request(verdictRequest(i))
    const decision = JSON.parse(await vres.body.text())
    const expected = {
      allow: engine.allow,
      status: engine.status,
      principal: { id: engine.principal?.id ?? caller.principal.erp_user ?? caller.principal.client_id ?? caller.principal.subject, kind: engine.principal?.kind ?? 'unknown', idp: caller.principal.idp },
      reasons: engine.reasons,
      rows: engine.rows
    }
    const got = { allow: decision.allow, status: decision.status, principal: decision.principal, reasons: decision.reasons, rows: decision.rows }
    if (vres.statusCode !== 200 || !isDeepStrictEqual(got, expected)) {
      mismatches.push({ input: i, what: `Verdict /v1/decide (HTTP ${vres.statusCode}) differs from the engine for the same input`, caller: caller.label, request: cases[i].body, verdict: decision, engine: expected })
    }
  }
  return mismatches
}

async function opaServerTimers (pool, bodies, { warmupMs, durationMs }) {
  const request = (i) => ({ path: '/v1/data/verdict/decision?metrics=true', method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[i] })
  const evalNs = []
  const parseNs = []
  const handlerNs = []
  const n = bodies.length
  let i = 0
  const warmEnd = performance.now() + warmupMs
  while (performance.now() < warmEnd) {
    const res = await pool.request(request(i++ % n))
    await res.body.text()
  }
  // At most half a run: this is a sample of OPA's own timers, not a throughput figure.
  const end = performance.now() + Math.max(1000, durationMs / 2)
  while (performance.now() < end) {
    const res = await pool.request(request(i++ % n))
    const { metrics } = JSON.parse(await res.body.text())
    evalNs.push(metrics.timer_rego_query_eval_ns)
    parseNs.push(metrics.timer_rego_input_parse_ns ?? NaN)
    handlerNs.push(metrics.timer_server_handler_ns)
  }
  const sorted = (a) => Float64Array.from(a).sort()
  const e = sorted(evalNs)
  const p = sorted(parseNs)
  const h = sorted(handlerNs)
  return {
    count: e.length,
    evalP50Ms: percentile(e, 50) / 1e6,
    evalP99Ms: percentile(e, 99) / 1e6,
    parseP50Ms: percentile(p, 50) / 1e6,
    handlerP50Ms: percentile(h, 50) / 1e6,
    handlerP99Ms: percentile(h, 99) / 1e6
  }
}

try {
  await main()
} catch (err) {
  console.error(`bench: ${err?.stack ?? err}`)
  process.exitCode = 1
} finally {
  for (const cleanup of cleanups.reverse()) {
    try { await cleanup() } catch {}
  }
  await stopChildren()
}
