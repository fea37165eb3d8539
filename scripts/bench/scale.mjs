// The data-scale part of the benchmark: generated policy data
// (scripts/bench/scale-data.mjs) of 1k, 10k and 100k jobs with 100, 1k and 10k
// accounts in 3 job groups each, served by Verdict with 1 worker:
//   - compile (check + YAML→JSON staging + opa build) and load (WASM setData,
//     the evaluation thread) timed in this process with the project's code,
//     the server's start-to-ready, RSS of the worker after the timed run;
//   - p50/p99 and decisions/s of single decisions of ordinary accounts;
//   - the size of the row filter answered to the account in the most groups;
//   - at the largest scale, the big-account row (accounts whose groups hold
//     500, 5,000 and 50,000 jobs ask for one record each) and the reload gap
//     (the policy reloaded under load while the biggest account asks).
// A decision past the evaluation deadline is answered 503 EVALUATION_TIMEOUT:
// counted and shown as such, never as a latency of a decision that was made.
import { existsSync } from 'node:fs'
import { readFile, rename, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Pool } from 'undici'
import { checkVerdict, ENTRYPOINT, reportMismatches, retried } from './checks.mjs'
import { fmtBytes, fmtMs, fmtRate, fmtSeconds, table } from './format.mjs'
import { httpLoad, percentile, unexpectedRefusals } from './measure.mjs'
import { refusalsText } from './table1.mjs'
import { rssBytes, startVerdict, stopChild } from './processes.mjs'
import { accountName, GROUP_SIZE, jobCode, writeScaleData } from './scale-data.mjs'
import { policyInputOf } from './inputs.mjs'

const SCALES = [{ jobs: 1000, accounts: 100 }, { jobs: 10_000, accounts: 1000 }, { jobs: 100_000, accounts: 10_000 }]
const BIG_ACCOUNT_JOBS = [500, 5000, 50_000]
const CALLING_ACCOUNTS = 40 // ordinary accounts that send the timed traffic (spread over all)
const GROUPS_PER_ACCOUNT = 3
const JOBS_PATH = '/cmicprod/jc-rest-api/rest/1/jcjob'
const SUBCONTRACTS_PATH = '/cmicprod/pm-rest-api/rest/1/scmast'

const basicCaller = (name) => ({
  label: `basic ${name}`,
  kind: 'basic',
  username: name,
  principal: { method: 'basic', idp: 'basic', subject: name, erp_user: name, roles: [], scopes: [] }
})
const jobRecord = (job, i) => ({ request: { method: 'GET', path: `${JOBS_PATH}/R${i}` }, resource: { JobCompCode: '01', JobCode: job } })

/** Jobs of an ordinary account (scale-data.mjs puts account a in groups a*3 … a*3+2). */
function jobsOf (a, groups, jobs) {
  const held = []
  for (let k = 0; k < GROUPS_PER_ACCOUNT; k++) {
    const g = (a * GROUPS_PER_ACCOUNT + k) % groups
    held.push(jobCode(Math.min(jobs - 1, g * GROUP_SIZE + (a % GROUP_SIZE))))
  }
  return held
}

/** ~70 % allowed: collection reads (row filter) and record reads in and out of the account's groups, a refused write. */
function casesFor (accounts, groups, jobs) {
  const out = []
  const step = Math.max(1, Math.floor(accounts / CALLING_ACCOUNTS))
  for (let a = 0; a < accounts && out.length < CALLING_ACCOUNTS * 7; a += step) {
    const caller = basicCaller(accountName(a))
    const held = jobsOf(a, groups, jobs)
    const outside = jobCode((Number(held[0].slice(1)) + Math.floor(jobs / 2) + 7) % jobs)
    out.push(
      { caller, body: { request: { method: 'GET', path: JOBS_PATH } } },
      { caller, body: { request: { method: 'GET', path: SUBCONTRACTS_PATH } } },
      ...held.map((job, k) => ({ caller, body: jobRecord(job, k) })),
      { caller, body: jobRecord(outside, 9) },
      { caller, body: { request: { method: 'POST', path: JOBS_PATH }, resource: { JobCompCode: '01', JobCode: held[0] } } }
    )
  }
  return out
}

async function send (pool, options) {
  const t0 = performance.now()
  try {
    const res = await pool.request(options)
    const text = await res.body.text()
    return { status: res.statusCode, text, ms: performance.now() - t0, at: performance.now() }
  } catch (err) {
    return { status: 0, text: String(err?.code ?? err), ms: performance.now() - t0, at: performance.now() }
  }
}
const codeOf = (answer) => { try { return JSON.parse(answer.text).code } catch { return undefined } }
const label = (answer) => answer.status === 200 ? '200' : `${answer.status || 'error'} ${codeOf(answer) ?? answer.text.slice(0, 40)}`
function tally (answers) {
  const counts = new Map()
  for (const a of answers) counts.set(label(a), (counts.get(label(a)) ?? 0) + 1)
  return [...counts].map(([k, v]) => `${k} ×${v}`).join(', ')
}

/** Sequential decisions of one account for one of its records: p50 of what was answered, and how. */
async function bigAccount (pool, authorization, { count, budgetMs }) {
  const answers = []
  const end = performance.now() + budgetMs
  while (answers.length < count && (answers.length === 0 || performance.now() < end)) {
    answers.push(await send(pool, { path: '/v1/decide', method: 'POST', headers: { 'content-type': 'application/json', authorization }, body: JSON.stringify(jobRecord(jobCode(0), 0)) }))
  }
  const ok = Float64Array.from(answers.filter((a) => a.status === 200).map((a) => a.ms)).sort()
  const all = Float64Array.from(answers.map((a) => a.ms)).sort()
  const refusedToo = ok.length < all.length ? ` (p50 of all answers ${fmtMs(percentile(all, 50))} ms)` : ''
  return { count: answers.length, p50Ms: percentile(ok, 50), allP50Ms: percentile(all, 50), answers: tally(answers) + refusedToo, timeouts: answers.filter((a) => codeOf(a) === 'EVALUATION_TIMEOUT').length }
}

/**
 * The policy reloaded under load: 16 connections of ordinary decisions and the
 * biggest account asking in a loop; one job of the data renamed (a new data
 * document, so a new digest) by an atomic rename; runs until ordinary answers
 * name the new digest, then one more second. The longest gap is the longest
 * time without any answer to an ordinary caller from the edit to the end.
 */
async function reloadGap ({ pool, request, n, bigPool, bigAuthorization, dir, connections, digest, timeoutMs }) {
  const state = { stop: false, newDigestAt: undefined } // shared with the loops below
  const times = []
  const failed = []
  const bigAnswers = []
  let next = 0
  const editAt = { t: Infinity }
  async function worker () {
    while (!state.stop) {
      const a = await send(pool, request(next++ % n))
      if (a.at >= editAt.t) times.push(a.at)
      if (a.status !== 200) failed.push(label(a))
      else if (state.newDigestAt === undefined && a.at >= editAt.t && !a.text.includes(digest)) state.newDigestAt = a.at
    }
  }
  async function big () {
    while (!state.stop) {
      const a = await send(bigPool, { path: '/v1/decide', method: 'POST', headers: { 'content-type': 'application/json', authorization: bigAuthorization }, body: JSON.stringify(jobRecord(jobCode(0), 0)) })
      if (a.at >= editAt.t) bigAnswers.push(a)
    }
  }
  const running = [...Array.from({ length: connections }, worker), big()]
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const file = join(dir, 'erp/security/data.yaml')
  const text = await readFile(file, 'utf8')
  const edited = text.replace('name: Job 0\n', 'name: Job 0 (renamed by the benchmark)\n')
  if (edited === text) throw new Error('reload gap: the generated data has no "name: Job 0" to edit')
  await writeFile(join(dir, 'erp/security/.data.yaml.bench'), edited) // hidden: not a policy file
  editAt.t = performance.now()
  await rename(join(dir, 'erp/security/.data.yaml.bench'), file)
  const deadline = editAt.t + timeoutMs
  while (state.newDigestAt === undefined && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  await new Promise((resolve) => setTimeout(resolve, 1000))
  state.stop = true
  const end = performance.now()
  await Promise.all(running)
  const sorted = times.sort((a, b) => a - b)
  let gap = sorted.length > 0 ? sorted[0] - editAt.t : end - editAt.t
  for (let i = 1; i < sorted.length; i++) gap = Math.max(gap, sorted[i] - sorted[i - 1])
  return {
    reloaded: state.newDigestAt !== undefined,
    reloadMs: state.newDigestAt === undefined ? NaN : state.newDigestAt - editAt.t,
    longestGapMs: gap,
    answers: sorted.length,
    failed: failed.length,
    failures: [...new Set(failed)].join(', '),
    big: tally(bigAnswers)
  }
}

export async function runScale (ctx) {
  const { root, tmp, opts, dist } = ctx
  // --only=reload: the largest scale's reload under load alone (no timed run, no big accounts).
  const reloadOnly = opts.only === 'reload'
  const scales = reloadOnly ? SCALES.slice(-1) : opts.quick ? SCALES.slice(0, 1) : SCALES
  const rows = []
  const raw = []
  let big
  let reload
  let errors = 0
  const refused = []
  for (const [index, scale] of scales.entries()) {
    const largest = index === scales.length - 1
    const dir = join(tmp, `policies-${scale.jobs}`)
    const data = await writeScaleData(root, dir, { ...scale, groupsPerAccount: GROUPS_PER_ACCOUNT, wideJobs: BIG_ACCOUNT_JOBS })
    const yamlBytes = (await stat(join(dir, 'erp/security/data.yaml'))).size + (await stat(join(dir, 'erp/accounts/data.yaml'))).size + (await stat(join(dir, 'erp/api/data.yaml'))).size
    process.stdout.write(`  ${scale.jobs} jobs, ${scale.accounts} accounts (${fmtBytes(yamlBytes)} of YAML): compile … `)

    let t = performance.now()
    const bundle = await dist.compilePolicies({ dir, entrypoint: ENTRYPOINT })
    const compileMs = performance.now() - t
    t = performance.now()
    const policy = await dist.loadDecisionPolicy(bundle, ENTRYPOINT, { isolate: {} })
    const loadMs = performance.now() - t
    process.stdout.write(`${fmtSeconds(compileMs)}, load ${fmtSeconds(loadMs)}; Verdict … `)

    const cases = casesFor(scale.accounts, data.groups, scale.jobs)
    for (const c of cases) {
      c.input = policyInputOf(c.caller.principal, c.body, dist)
      c.engine = policy.evaluate(c.input)
    }
    await policy.close()
    const callersByName = new Map(cases.map((c) => [c.caller.username, c.caller]))
    const secretsDir = join(tmp, `secrets-${scale.jobs}`)
    await dist.writeDevSecrets(secretsDir, [...callersByName.keys(), ...data.wide.map((w) => w.name)])
    const authorizationOf = async (name) => `Basic ${Buffer.from(`${name}:${(await readFile(join(secretsDir, 'credentials', dist.secretFileName(name)), 'utf8')).trim()}`).toString('base64')}`
    const authorization = new Map()
    for (const name of [...callersByName.keys(), ...data.wide.map((w) => w.name)]) authorization.set(name, await authorizationOf(name))

    const verdict = await startVerdict(root, tmp, `scale-${scale.jobs}`, {
      server: { workers: 1 },
      policy: { dir, watch: largest },
      authn: { basic: { secretsFile: join(secretsDir, 'secrets.yaml'), pepperFile: join(secretsDir, 'pepper') } }
    })
    const pool = new Pool(verdict.origin, { connections: opts.connections, pipelining: 1, headersTimeout: 60_000, bodyTimeout: 60_000 })
    const bigPool = new Pool(verdict.origin, { connections: 1, headersTimeout: 60_000, bodyTimeout: 60_000 })
    try {
      const bodies = cases.map((c) => JSON.stringify(c.body))
      const headers = cases.map((c) => ({ 'content-type': 'application/json', authorization: authorization.get(c.caller.username) }))
      const request = (i) => ({ path: '/v1/decide', method: 'POST', headers: headers[i], body: bodies[i] })
      const { mismatches, sizes } = await checkVerdict({ pool, request, cases, name: `${scale.jobs} jobs` })
      if (mismatches.length > 0) {
        reportMismatches(mismatches)
        return { mismatches }
      }
      if (!reloadOnly) {
        const allowed = cases.filter((c) => c.engine.allow).length
        const load = await httpLoad(pool, request, cases.length, { concurrency: opts.connections, warmupMs: opts.warmupMs, durationMs: opts.durationMs })
        errors += unexpectedRefusals(load.refusals)
        if (load.errors > 0) refused.push(`${fmtRate(scale.jobs)} jobs: ${refusalsText([load.refusals])}`)
        const rss = rssBytes(verdict.child.pid)
        process.stdout.write(`${fmtRate(load.perSecond)}/s; row filter … `)

        // The row filter of the account in the most groups at this scale.
        const widest = data.wide.at(-1)
        const filter = await send(bigPool, { path: '/v1/decide', method: 'POST', headers: { 'content-type': 'application/json', authorization: authorization.get(widest.name) }, body: JSON.stringify({ request: { method: 'GET', path: JOBS_PATH } }) })
        let filterText = label(filter)
        if (filter.status === 200) filterText = `${fmtBytes(Buffer.byteLength(JSON.stringify(JSON.parse(filter.text).rows ?? null)))} (${fmtMs(filter.ms)} ms)`
        rows.push([
          `${fmtRate(scale.jobs)} jobs, ${fmtRate(scale.accounts)} accounts, ${fmtRate(data.groups)} groups, ${fmtRate(data.memberships)} memberships`,
          fmtBytes(yamlBytes), fmtSeconds(compileMs), fmtSeconds(loadMs), fmtSeconds(verdict.startMs), fmtBytes(rss),
          fmtMs(load.p50Ms), fmtMs(load.p99Ms), fmtRate(load.perSecond), `${fmtRate(widest.jobs)} jobs: ${filterText}`
        ])
        raw.push({ ...scale, data, yamlBytes, compileMs, loadMs, startMs: verdict.startMs, rssBytes: rss, load, allowed, cases: cases.length, medianAnswerBytes: sizes.sort((a, b) => a - b)[sizes.length >> 1], rowFilter: { account: widest.name, jobs: widest.jobs, status: filter.status, text: filterText } })
        console.log('done')
      }
      if (largest) {
        big = reloadOnly ? undefined : []
        for (const w of reloadOnly ? [] : data.wide) {
          process.stdout.write(`  big account, ${fmtRate(w.jobs)} jobs … `)
          const r = await bigAccount(bigPool, authorization.get(w.name), { count: opts.quick ? 3 : 10, budgetMs: opts.quick ? 5000 : 60_000 })
          big.push({ jobs: w.jobs, ...r })
          console.log(r.answers)
        }
        process.stdout.write(`  reload of the ${fmtRate(scale.jobs)}-job policy under load … `)
        const policyDigest = JSON.parse((await send(pool, request(0))).text).policy.digest
        const widestAuth = authorization.get(data.wide.at(-1).name)
        reload = { jobs: scale.jobs, bigJobs: data.wide.at(-1).jobs, ...await reloadGap({ pool, request, n: cases.length, bigPool, bigAuthorization: widestAuth, dir, connections: opts.connections, digest: policyDigest, timeoutMs: 300_000 }) }
        console.log(reload.reloaded ? `reloaded in ${fmtSeconds(reload.reloadMs)}` : 'NOT reloaded within 300 s')
      }
    } finally {
      await pool.close()
      await bigPool.close()
      await stopChild(verdict.child)
    }
  }

  // The engine's own cost of the account's job scope (no HTTP, no deadline), by
  // the rego helper's scripts/bench/job-scope.mjs when it is there.
  let engineScope
  const jobScopeFile = join(root, 'scripts', 'bench', 'job-scope.mjs')
  if (big && existsSync(jobScopeFile)) {
    const { measureJobScope } = await import(pathToFileURL(jobScopeFile).href)
    if (typeof measureJobScope === 'function') {
      process.stdout.write('  job scope in the engine (scripts/bench/job-scope.mjs) … ')
      engineScope = await measureJobScope({ sizes: big.map((b) => b.jobs), rounds: opts.quick ? 1 : 5, dist: join(root, 'dist') })
      console.log('done')
    }
  }

  const parts = [
    table(['data', 'YAML', 'compile (from YAML)', 'load', 'start to ready', 'RSS per worker', 'p50 ms', 'p99 ms', 'decisions/s', 'row filter of the account in the most groups'], rows),
    '',
    `Single decisions of ${CALLING_ACCOUNTS} ordinary accounts (3 groups each; ~70 % allowed: collection reads, record reads in and out of their groups, a refused write), ` +
      `Verdict 1 worker, ${opts.connections} connections, ${opts.durationMs / 1000} s after ${opts.warmupMs / 1000} s of warm-up, answers checked against the engine first. ` +
      'Compile and load are timed in the bench process with the code the server runs (`compilePolicies`; `loadDecisionPolicy` with the evaluation thread); start to ready is the server process from spawn to its first 200 on /ready; RSS after the timed run. ' +
      `Non-2xx answers during the timed runs: ${refused.length === 0 ? 'none' : refused.join('; ')}` +
      (retried.count > 0 ? `; decisions answered 503 EVALUATION_TIMEOUT during the checks and asked again (whole run): ${retried.count}.` : '.')
  ]
  if (big) {
    const header = ['account whose groups hold', 'decision p50 ms (answered 200)', 'answers']
    if (engineScope) header.push('engine: record ms', 'engine: collection ms', 'record answer', 'collection answer')
    const bigRows = BIG_ACCOUNT_JOBS.map((jobs) => {
      const b = big.find((x) => x.jobs === jobs)
      const row = b ? [`${fmtRate(jobs)} jobs`, fmtMs(b.p50Ms), b.answers] : [`${fmtRate(jobs)} jobs`, '—', `not measured: the data has ${fmtRate(scales.at(-1).jobs)} jobs`]
      const e = engineScope?.find((x) => x.heldJobs === jobs)
      if (engineScope) row.push(...(e ? [fmtMs(e.recordMs), fmtMs(e.collectionMs), fmtBytes(e.recordBytes), fmtBytes(e.collectionBytes)] : ['—', '—', '—', '—']))
      return row
    })
    parts.push('', table(header, bigRows), '',
      `At ${fmtRate(scales.at(-1).jobs)} jobs: sequential single-record reads (\`POST /v1/decide\`) of one job the account holds. A decision past the evaluation deadline is answered 503 EVALUATION_TIMEOUT (no decision; the evaluator is replaced): counted in "answers", not in the p50.` +
      (engineScope
        ? ' The engine columns come from `measureJobScope` of `scripts/bench/job-scope.mjs` (the WASM evaluation in the bench process: no HTTP, no deadline; its own generated data, see that file) with the size of each decision\'s JSON.'
        : ' (`scripts/bench/job-scope.mjs` was not there: no engine-only figures.)'))
  }
  if (reload) {
    parts.push('', table(['reload under load', 'longest gap between answers ms', 'failed requests', 'answers', 'reload took', `account with ${fmtRate(reload.bigJobs)} jobs asking meanwhile`], [[
      `${fmtRate(reload.jobs)}-job policy, ${opts.connections} connections`, fmtMs(reload.longestGapMs), `${reload.failed}${reload.failures ? ` (${reload.failures})` : ''}`, fmtRate(reload.answers),
      reload.reloaded ? fmtSeconds(reload.reloadMs) : 'not within 300 s', reload.big || 'no answer'
    ]]), '', 'One job of the security data renamed (atomic rename of data.yaml; the watcher reloads); from the edit until ordinary answers name the new policy digest, plus 1 s. The gap is the longest time without any answer to the ordinary callers; failed = any answer other than 200 or a connection error.')
  }
  return { markdown: parts.join('\n'), errors, scales: raw, bigAccount: big, engineJobScope: engineScope, reload }
}
