// The cost of an account's job scope: for an account whose groups hold N jobs
// (ACME||WIDE of scale-data.mjs), the time of one decision in WASM (the
// engine's synchronous evaluate, in this thread) for a collection (its row
// filter) and for a single record, and the size of each answer's JSON.
// Needs the built service (npm run build: dist/).
//
//   node scripts/bench/job-scope.mjs [N ...]     default 500 5000 50000
//
// measureJobScope() is what scripts/bench.mjs calls for its data-scale table.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { GROUP_SIZE, jobCode, WIDE_ACCOUNT, writeScaleData } from './scale-data.mjs'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

const principal = { method: 'basic', idp: 'basic', subject: WIDE_ACCOUNT, erp_user: WIDE_ACCOUNT, roles: [], scopes: [] }
const endpoint = { env: 'acme', module: 'jc', version: '1', resource: 'jcjob' }
const request = { method: 'GET', path: '/acme/jc-rest-api/rest/1/jcjob', query: {} }

/**
 * The wide account's collection request, a single-record request for one of
 * its jobs (the last one it holds) and one for a job it does not hold (denied:
 * its message names all the account's groups).
 */
export function jobScopeInputs (heldJobs) {
  const collection = { principal, action: 'retrieve', request, endpoint }
  const record = { ...collection, resource: { company: '01', job: jobCode(heldJobs - 1) } }
  const outside = { ...collection, resource: { company: '01', job: jobCode(heldJobs) } }
  return { collection, record, outside }
}

function median (values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

/**
 * For each N in `sizes`: generated data where ACME||WIDE holds N jobs (N/50
 * groups of 50, of 2N jobs in all), compiled and loaded as the service does;
 * then `rounds` timed evaluations of each request (fewer when one takes over
 * `budgetMs`), after one untimed. Returns one row per N: { heldJobs,
 * compileMs, loadMs, collectionMs, recordMs, deniedRecordMs, collectionBytes,
 * recordBytes }.
 */
export async function measureJobScope ({ sizes = [500, 5000, 50000], rounds = 5, budgetMs = 5000, dist = join(ROOT, 'dist') } = {}) {
  const { compilePolicies, DECISION_ENTRYPOINT } = await import(join(dist, 'toolchain/compiler.js'))
  const { loadDecisionPolicy } = await import(join(dist, 'engine/policy.js'))
  const rows = []
  for (const heldJobs of sizes) {
    const dir = await mkdtemp(join(tmpdir(), 'verdict-job-scope-'))
    try {
      await writeScaleData(ROOT, dir, { jobs: heldJobs * 2, accounts: 10, wideGroups: Math.ceil(heldJobs / GROUP_SIZE) })
      let t = performance.now()
      const bundle = await compilePolicies({ dir, entrypoint: DECISION_ENTRYPOINT })
      const compileMs = performance.now() - t
      t = performance.now()
      const policy = await loadDecisionPolicy(bundle, DECISION_ENTRYPOINT)
      const loadMs = performance.now() - t
      const inputs = jobScopeInputs(heldJobs)
      const time = (input) => {
        const times = []
        let result
        policy.evaluate(input) // warm-up: the first evaluation grows WASM memory
        const stop = performance.now() + budgetMs
        for (let i = 0; i < rounds && (i === 0 || performance.now() < stop); i++) {
          const t0 = performance.now()
          result = policy.evaluate(input)
          times.push(performance.now() - t0)
        }
        return { ms: median(times), bytes: Buffer.byteLength(JSON.stringify(result)), result }
      }
      const collection = time(inputs.collection)
      const record = time(inputs.record)
      const outside = time(inputs.outside)
      if (!collection.result.allow || !record.result.allow) throw new Error(`N=${heldJobs}: the wide account was denied (${JSON.stringify(record.result.reasons)})`)
      if (outside.result.allow) throw new Error(`N=${heldJobs}: a job the wide account does not hold was allowed`)
      rows.push({
        heldJobs,
        compileMs: Math.round(compileMs),
        loadMs: Math.round(loadMs),
        collectionMs: +collection.ms.toFixed(2),
        recordMs: +record.ms.toFixed(2),
        deniedRecordMs: +outside.ms.toFixed(2),
        collectionBytes: collection.bytes,
        recordBytes: record.bytes
      })
      await policy.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }
  return rows
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0)
  const rows = await measureJobScope(sizes.length > 0 ? { sizes } : {})
  console.log('| jobs held | collection decision (ms) | record decision (ms) | denied record (ms) | collection answer (bytes) | record answer (bytes) | compile (ms) | load (ms) |')
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const r of rows) console.log(`| ${r.heldJobs} | ${r.collectionMs} | ${r.recordMs} | ${r.deniedRecordMs} | ${r.collectionBytes} | ${r.recordBytes} | ${r.compileMs} | ${r.loadMs} |`)
}
