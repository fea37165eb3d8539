// Table 1: the same decisions from every target, side by side, in interleaved
// rounds (each round runs every target once in turn; the table shows medians),
// all driven by the same load generator at the same concurrency:
//   the HTTP floor, Verdict with 1 and N workers, with the file decision log,
//   the OPA server, Verdict with JWT callers, and Verdict's batch endpoint.
// Before each timed run the target's answers are checked against the engine.
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import { join } from 'node:path'
import { loadPolicy } from '@open-policy-agent/opa-wasm'
import { Pool } from 'undici'
import { checkBatch, checkConstant, checkOpa, checkVerdict, ENTRYPOINT, reportMismatches, retried } from './checks.mjs'
import { fmtMs, fmtRate, fmtRatio, median, table } from './format.mjs'
import { startIdp } from './idp.mjs'
import { callers as makeCallers, policyInputOf, readErpData, requests as makeRequests, selectCases } from './inputs.mjs'
import { httpLoad, unexpectedRefusals } from './measure.mjs'
import { startFloor, startOpa, startVerdict } from './processes.mjs'

export const BATCH_SIZE = 20
// ~70 % allowed; reads both as collections (row filter) and as single records.
const MIX = { 'allow collection': 0.3, 'allow record': 0.4, 'deny collection': 0.1, 'deny record': 0.15, 'deny write-no-record': 0.05 }

/**
 * The shares of MIX that the candidates can fill: a class with fewer candidates
 * than its share is taken whole and the rest of its side's share (allowed or
 * denied) goes to the other classes of that side, so the allowed share holds.
 */
export function feasibleMix (available, count, mix) {
  const out = {}
  for (const side of ['allow', 'deny']) {
    let open = Object.keys(mix).filter((k) => k.startsWith(`${side} `))
    let share = open.reduce((sum, k) => sum + mix[k], 0)
    for (let capped = true; capped && open.length > 0;) {
      capped = false
      const weight = open.reduce((sum, k) => sum + mix[k], 0)
      for (const k of open) {
        const have = (available[k] ?? 0) / count
        if ((share * mix[k]) / weight > have) {
          out[k] = have
          share -= have
          open = open.filter((o) => o !== k)
          capped = true
          break
        }
      }
    }
    const weight = open.reduce((sum, k) => sum + mix[k], 0)
    for (const k of open) out[k] = (share * mix[k]) / weight
  }
  return out
}

/** Picks `count` cases of callers of one kind (basic or jwt), each with its engine result. */
function pickCases (policy, candidates, kind, count, seed) {
  const ofKind = candidates.filter((c) => c.caller.kind === kind)
  const outcomeOf = (c) => {
    const r = policy.evaluate(c.input)
    const deciding = r.reasons[r.reasons.length - 1]
    const shape = c.input.resource !== undefined ? 'record' : c.input.action === 'retrieve' ? 'collection' : 'write-no-record'
    return { allow: r.allow, key: `${r.allow ? 'allow' : 'deny'} ${deciding.layer}/${deciding.code}`, cls: `${r.allow ? 'allow' : 'deny'} ${shape}` }
  }
  const available = {}
  for (const c of ofKind) {
    const { cls } = outcomeOf(c)
    available[cls] = (available[cls] ?? 0) + 1
  }
  const cases = selectCases(ofKind, count, seed, outcomeOf, feasibleMix(available, count, MIX))
  for (const c of cases) c.engine = policy.evaluate(c.input)
  return cases
}

/** Batches of BATCH_SIZE items, one caller each (a batch is one caller's), wrapping around its cases. */
function makeBatches (cases) {
  const byCaller = new Map()
  for (const c of cases) byCaller.set(c.caller, [...(byCaller.get(c.caller) ?? []), c])
  const batches = []
  for (const list of byCaller.values()) {
    for (let start = 0; start < list.length; start += BATCH_SIZE) {
      batches.push(Array.from({ length: BATCH_SIZE }, (_, k) => list[(start + k) % list.length]))
    }
  }
  return batches
}

const describe = (cases) => {
  const allowed = cases.filter((c) => c.engine.allow).length
  return `${cases.length} inputs, ${allowed} allowed (${Math.round((100 * allowed) / cases.length)} %), ${cases.length - allowed} denied`
}

export async function runTable1 (ctx) {
  const { root, tmp, opts, dist, opaBin } = ctx
  const policyDir = join(root, 'policies')
  const bundle = await dist.compilePolicies({ dir: policyDir, entrypoint: ENTRYPOINT })
  const policy = await dist.loadDecisionPolicy(bundle, ENTRYPOINT)
  // The raw WASM result too, to compare with OPA's untouched by the adapter.
  const raw = await loadPolicy(bundle.wasm)
  raw.setData(JSON.parse(bundle.dataJson.toString('utf8')))

  const idp = await startIdp()
  ctx.cleanups.push(() => idp.close())
  const data = await readErpData(policyDir)
  const callerList = makeCallers(idp.issuers)
  const candidates = []
  for (const caller of callerList) {
    for (const body of makeRequests(data)) candidates.push({ caller, body, input: policyInputOf(caller.principal, body, dist) })
  }
  const basic = pickCases(policy, candidates, 'basic', opts.inputs, opts.seed)
  const jwt = pickCases(policy, candidates, 'jwt', opts.inputs, opts.seed)
  const batches = makeBatches(basic)
  console.log(`  policy ${bundle.revision}; Basic callers: ${describe(basic)}; JWT callers: ${describe(jwt)}; ${batches.length} batches of ${BATCH_SIZE}`)

  const basicAccounts = [...new Set(callerList.filter((c) => c.kind === 'basic').map((c) => c.username))]
  await dist.writeDevSecrets(tmp, basicAccounts)
  const authorization = new Map()
  for (const caller of callerList) {
    if (caller.kind === 'basic') {
      const secret = (await readFile(join(tmp, 'credentials', dist.secretFileName(caller.username)), 'utf8')).trim()
      authorization.set(caller, `Basic ${Buffer.from(`${caller.username}:${secret}`).toString('base64')}`)
    } else {
      authorization.set(caller, `Bearer ${idp.token(caller.idp, caller.claims)}`)
    }
  }

  // Servers, one after the other (each Verdict compiles the policy as it starts).
  const workers = os.availableParallelism()
  const verdictConfig = (extra = {}) => ({
    server: { workers: 1 },
    policy: { dir: policyDir, watch: false },
    authn: { basic: { secretsFile: join(tmp, 'secrets.yaml'), pepperFile: join(tmp, 'pepper') }, issuers: idp.config },
    ...extra
  })
  const v1 = await startVerdict(root, tmp, '1w', verdictConfig())
  const vN = await startVerdict(root, tmp, 'Nw', { ...verdictConfig(), server: { workers } })
  const vLog = await startVerdict(root, tmp, '1w-log', verdictConfig({ decisionLogs: { file: { path: join(tmp, 'decisions.log') } } }))
  const opa = await startOpa(opaBin, policyDir)

  const poolOptions = { connections: opts.connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 30_000, bodyTimeout: 30_000 }
  const pool = (origin) => {
    const p = new Pool(origin, poolOptions)
    ctx.cleanups.push(() => p.close())
    return p
  }
  const decideRequest = (cases) => {
    const bodies = cases.map((c) => JSON.stringify(c.body))
    const headers = cases.map((c) => ({ 'content-type': 'application/json', authorization: authorization.get(c.caller) }))
    return (i) => ({ path: '/v1/decide', method: 'POST', headers: headers[i], body: bodies[i] })
  }
  const basicRequest = decideRequest(basic)
  const jwtRequest = decideRequest(jwt)
  const opaBodies = basic.map((c) => JSON.stringify({ input: c.input }))
  const opaRequest = (i) => ({ path: '/v1/data/verdict/decision', method: 'POST', headers: { 'content-type': 'application/json' }, body: opaBodies[i] })
  const batchBodies = batches.map((items) => JSON.stringify({ items: items.map((c, id) => ({ id, ...c.body })) }))
  const batchHeaders = batches.map((items) => ({ 'content-type': 'application/json', authorization: authorization.get(items[0].caller) }))
  const batchRequest = (b) => ({ path: '/v1/decide/batch', method: 'POST', headers: batchHeaders[b], body: batchBodies[b] })

  // The floor answers a constant the size of Verdict's median answer.
  const pool1 = pool(v1.origin)
  const first = await checkVerdict({ pool: pool1, request: basicRequest, cases: basic, name: 'Verdict, 1 worker' })
  if (first.mismatches.length > 0) return fail(first.mismatches)
  const size = median(first.sizes)
  const floorBody = JSON.stringify({ allow: true, pad: 'x'.repeat(Math.max(0, size - 25)) })
  const floor = await startFloor(root, floorBody)
  const floorRequest = basicRequest // the very requests Verdict gets; the floor ignores the credential
  const floorPool = pool(floor.origin)
  const floorCheck = () => checkConstant({ pool: floorPool, request: floorRequest, count: basic.length, body: floorBody })

  const verdictCheck = (p, request, cases, name) => async () => (await checkVerdict({ pool: p, request, cases, name })).mismatches
  const poolN = pool(vN.origin)
  const poolLog = pool(vLog.origin)
  const poolOpa = pool(opa.origin)
  const targets = [
    { key: 'floor', label: 'HTTP floor (bare Fastify route, constant decision-sized answer)', pool: floorPool, request: floorRequest, n: basic.length, check: floorCheck },
    { key: 'verdict1', label: 'Verdict, 1 worker', pool: pool1, request: basicRequest, n: basic.length, check: verdictCheck(pool1, basicRequest, basic, 'Verdict, 1 worker') },
    { key: 'verdictN', label: `Verdict, ${workers} workers`, pool: poolN, request: basicRequest, n: basic.length, check: verdictCheck(poolN, basicRequest, basic, `Verdict, ${workers} workers`) },
    { key: 'verdictLog', label: 'Verdict, 1 worker, file decision log on', pool: poolLog, request: basicRequest, n: basic.length, check: verdictCheck(poolLog, basicRequest, basic, 'Verdict, file log') },
    { key: 'opa', label: 'OPA server (opa run --server, same Rego and data, no authentication)', pool: poolOpa, request: opaRequest, n: basic.length, check: () => checkOpa({ pool: poolOpa, request: opaRequest, cases: basic, raw, toPolicyResult: dist.toPolicyResult }) },
    { key: 'jwt', label: 'Verdict, 1 worker, JWT callers (cached tokens)', pool: pool1, request: jwtRequest, n: jwt.length, check: verdictCheck(pool1, jwtRequest, jwt, 'Verdict, JWT') },
    { key: 'batch', label: `Verdict, 1 worker, batch endpoint (${BATCH_SIZE} items per request; latency per request)`, pool: pool1, request: batchRequest, n: batches.length, items: BATCH_SIZE, check: () => checkBatch({ pool: pool1, request: batchRequest, batches, name: 'Verdict batch' }) }
  ]
  console.log(`  started: Verdict 1 worker (${Math.round(v1.startMs)} ms to ready), ${workers} workers (${Math.round(vN.startMs)} ms), with file log (${Math.round(vLog.startMs)} ms); ` +
    `pids ${[floor, v1, vN, vLog, opa].map((s) => s.child.pid).join(' ')}`)

  const runs = new Map(targets.map((t) => [t.key, []]))
  for (let round = 1; round <= opts.rounds; round++) {
    process.stdout.write(`  round ${round}/${opts.rounds}:`)
    for (const t of targets) {
      const mismatches = await t.check()
      if (mismatches.length > 0) return fail(mismatches)
      const r = await httpLoad(t.pool, t.request, t.n, { concurrency: opts.connections, warmupMs: opts.warmupMs, durationMs: opts.durationMs })
      const items = t.items ?? 1
      runs.get(t.key).push({ ...r, decisionsPerSecond: r.perSecond * items })
      process.stdout.write(` ${t.key} ${fmtRate(r.perSecond * items)}/s${r.errors ? ` (${r.errors} non-2xx)` : ''};`)
    }
    process.stdout.write('\n')
  }

  const med = (key, field) => median(runs.get(key).map((r) => r[field]))
  const floorRate = med('floor', 'decisionsPerSecond')
  const rows = targets.map((t) => [t.label, fmtRate(med(t.key, 'decisionsPerSecond')), fmtMs(med(t.key, 'p50Ms')), fmtMs(med(t.key, 'p99Ms')), fmtRatio(med(t.key, 'decisionsPerSecond'), floorRate)])
  const errors = [...runs.values()].flat().reduce((sum, r) => sum + unexpectedRefusals(r.refusals), 0)
  const refused = targets.map((t) => [t.label, refusalsText(runs.get(t.key).map((r) => r.refusals))]).filter(([, text]) => text !== '')
  const ratioRate = fmtRatio(med('verdictN', 'decisionsPerSecond'), med('opa', 'decisionsPerSecond'))
  const ratioP99 = fmtRatio(med('verdictN', 'p99Ms'), med('opa', 'p99Ms'))
  const markdown = [
    table(['target', 'decisions/s', 'p50 ms', 'p99 ms', 'vs floor'], rows),
    '',
    `Verdict ${workers} workers / OPA server: decisions/s ${ratioRate}, p99 ${ratioP99} (above 1 is better for decisions/s, below 1 for p99).`,
    '',
    `Medians of ${opts.rounds} interleaved rounds; each timed run ${opts.durationMs / 1000} s after ${opts.warmupMs / 1000} s of warm-up, ` +
      `${opts.connections} connections, closed loop (undici Pool, scripts/bench/measure.mjs httpLoad); ${describe(basic)}; ` +
      `non-2xx answers during the timed runs: ${refused.length === 0 ? 'none' : refused.map(([label, text]) => `${label}: ${text}`).join('; ')}. ` +
      'Before every timed run every answer of that target was checked (Verdict against the engine, OPA against the WASM result, the floor against its constant)' +
      (retried.count > 0 ? `; ${retried.count} decisions answered 503 EVALUATION_TIMEOUT during the checks were asked again.` : '.')
  ].join('\n')
  return { markdown, errors, runs: Object.fromEntries(runs), workers, ratio: { decisionsPerSecond: ratioRate, p99: ratioP99 } }
}

/** "503 EVALUATION_TIMEOUT ×3" over the rounds of one target; '' when there were none. */
export function refusalsText (list) {
  const sum = {}
  for (const refusals of list) for (const [key, n] of Object.entries(refusals ?? {})) sum[key] = (sum[key] ?? 0) + n
  return Object.entries(sum).map(([key, n]) => `${key} ×${n}`).join(', ')
}

function fail (mismatches) {
  reportMismatches(mismatches)
  return { mismatches }
}
