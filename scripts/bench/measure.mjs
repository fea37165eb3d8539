// Timing helpers: percentiles, a time-bounded in-process loop, a time-bounded
// closed-loop HTTP load (N workers, each one request at a time, over an undici
// Pool of keep-alive connections) that counts refusals by status and error
// code, and the CPU time of a child process.
import { readFileSync } from 'node:fs'

/** Nearest-rank percentile of an ascending array. */
export function percentile (sorted, p) {
  if (sorted.length === 0) return NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]
}

function summarize (latenciesNs, elapsedNs, extra = {}) {
  const sorted = Float64Array.from(latenciesNs).sort()
  return {
    count: sorted.length,
    seconds: elapsedNs / 1e9,
    perSecond: sorted.length / (elapsedNs / 1e9),
    p50Ms: percentile(sorted, 50) / 1e6,
    p99Ms: percentile(sorted, 99) / 1e6,
    ...extra
  }
}

/** Calls fn(i) for i = 0, 1, … over the inputs until the time is up. */
export function timeLoop (fn, n, { warmupMs, durationMs }) {
  let i = 0
  const warmEnd = performance.now() + warmupMs
  while (performance.now() < warmEnd) fn(i++ % n)
  const latencies = []
  const start = process.hrtime.bigint()
  const end = start + BigInt(Math.round(durationMs * 1e6))
  let now = start
  while (now < end) {
    const t0 = now
    fn(i++ % n)
    now = process.hrtime.bigint()
    latencies.push(Number(now - t0))
  }
  return summarize(latencies, Number(now - start))
}

/**
 * Closed-loop load: `concurrency` workers, each sending the next request as
 * soon as its previous answer arrived. request(i) returns undici request
 * options for input i. Non-2xx answers are counted as errors.
 */
export async function httpLoad (pool, request, n, { concurrency, warmupMs, durationMs, pid }) {
  let next = 0
  let errors = 0
  let refusals = {}
  let latencies = null
  let stopAt = performance.now() + warmupMs
  async function worker () {
    while (performance.now() < stopAt) {
      const i = next++ % n
      const t0 = process.hrtime.bigint()
      const res = await pool.request(request(i))
      const text = await res.body.text()
      const t1 = process.hrtime.bigint()
      if (res.statusCode < 200 || res.statusCode > 299) {
        errors++
        const key = refusalOf(res.statusCode, text)
        refusals[key] = (refusals[key] ?? 0) + 1
      }
      if (latencies) latencies.push(Number(t1 - t0))
    }
  }
  const run = () => Promise.all(Array.from({ length: concurrency }, worker))
  await run()
  latencies = []
  errors = 0
  refusals = {}
  const cpu0 = pid ? processCpuMs(pid) : NaN
  const client0 = process.cpuUsage()
  const start = process.hrtime.bigint()
  stopAt = performance.now() + durationMs
  await run()
  const elapsed = Number(process.hrtime.bigint() - start)
  const cpuMs = pid ? processCpuMs(pid) - cpu0 : NaN
  const client = process.cpuUsage(client0)
  return summarize(latencies, elapsed, {
    errors,
    refusals,
    concurrency,
    // Server CPU time (user + system, all threads) per answered request, and
    // the average number of cores the server kept busy.
    serverCpuUsPerReq: (cpuMs * 1000) / latencies.length,
    serverCores: cpuMs / (elapsed / 1e6),
    // The same for this process, the load generator, which shares the machine.
    clientCores: ((client.user + client.system) / 1000) / (elapsed / 1e6)
  })
}

/** "503 EVALUATION_TIMEOUT": the status and the error code of a refusal ({ code, message } body). */
export function refusalOf (status, text) {
  try {
    const code = JSON.parse(text)?.code
    return typeof code === 'string' ? `${status} ${code}` : String(status)
  } catch {
    return String(status)
  }
}

/** Refusals other than EVALUATION_TIMEOUT (a deadline the machine's load can cause, reported as such). */
export const unexpectedRefusals = (refusals) => Object.entries(refusals ?? {}).filter(([key]) => key !== '503 EVALUATION_TIMEOUT').reduce((sum, [, n]) => sum + n, 0)

let clockTicks
/** utime + stime of a process in ms, from /proc (Linux); NaN elsewhere. */
export function processCpuMs (pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    clockTicks ??= 100 // USER_HZ is 100 on every Linux this runs on
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks
  } catch {
    return NaN
  }
}
