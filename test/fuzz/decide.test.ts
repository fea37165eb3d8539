// Issue 9, item 9: a seeded fuzz of malformed decision requests to /v1/decide and
// /v1/decide/batch, with real credentials (Basic and JWTs) against the example
// policies. For every request: no 5xx; every error is exactly { code, message };
// a path that is not canonical is never decided; and every allow is one the
// oracle (test/fuzz/requests.ts) agrees with. `npm test` runs 2,000 requests;
// `npm run fuzz` (scripts/fuzz.mjs) runs the same with FUZZ_REQUESTS=20000 or more.
// FUZZ_SEED picks another seed; a failure prints the seed and the request.
import fc from 'fast-check'
import t from 'tap'
import { buildApp } from '../helpers/app.js'
import { startCallers } from '../helpers/callers.js'
import { readErpPolicyData } from '../helpers/erp-dataset.js'
import { CANONICAL, caseArbitrary, wrongAllow, type DecisionItem, type FuzzCase } from './requests.js'

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 2000)
const SEED = Number(process.env.FUZZ_SEED ?? 90909)
// About 10 ms a request on a quiet machine; room for a busy one.
t.setTimeout(Math.max(180_000, REQUESTS * 40))

interface Tally {
  requests: number
  byStatus: Record<string, number>
  decisions: number
  allows: number
  itemErrors: Record<string, number>
  problems: string[]
}

const isCanonical = (path: unknown): boolean => typeof path === 'string' && CANONICAL.test(path)

function isError (value: unknown): value is { code: string, message: string } {
  if (value === null || typeof value !== 'object') return false
  const keys = Object.keys(value).sort()
  const v = value as Record<string, unknown>
  return keys.length === 2 && keys[0] === 'code' && keys[1] === 'message' && typeof v.code === 'string' && typeof v.message === 'string'
}

t.test(`fuzz: ${REQUESTS} malformed decision requests (seed ${SEED})`, async (t) => {
  const data = readErpPolicyData()
  const callers = await startCallers()
  t.teardown(() => callers.close())
  const app = await buildApp({ authn: callers.authn })
  t.teardown(() => app.close())

  const cases = fc.sample(caseArbitrary(data), { numRuns: REQUESTS, seed: SEED })
  const tally: Tally = { requests: 0, byStatus: {}, decisions: 0, allows: 0, itemErrors: {}, problems: [] }
  const problem = (c: FuzzCase, what: string): void => {
    if (tally.problems.length < 20) tally.problems.push(`${what}\n  caller: ${c.caller}\n  ${c.route} ${c.contentType ?? '(no content type)'}: ${String(c.payload).slice(0, 400)}`)
    else tally.problems.push(what)
  }
  // A decision (or an item's decision) must be for a canonical path, and an allow must be right.
  const checkDecision = (c: FuzzCase, item: DecisionItem | undefined, decision: Record<string, unknown>): void => {
    tally.decisions++
    if (item === undefined) return problem(c, 'a decision for a request that is not a decision request')
    if (!isCanonical(item.request.path)) problem(c, `a decision for the non-canonical path ${JSON.stringify(item.request.path)}`)
    if (decision.allow === true) {
      tally.allows++
      const wrong = wrongAllow(data, c.caller, item)
      if (wrong !== undefined) problem(c, `a wrong allow: ${wrong}`)
    }
  }

  for (const c of cases) {
    const headers: Record<string, string> = {}
    if (c.contentType !== undefined) headers['content-type'] = c.contentType
    if (c.caller !== 'none') headers.authorization = callers.header(c.caller)
    const res = await app.inject({ method: 'POST', url: c.route, headers, payload: c.payload })
    tally.requests++
    tally.byStatus[res.statusCode] = (tally.byStatus[res.statusCode] ?? 0) + 1
    let body: unknown
    try {
      body = res.json()
    } catch {
      problem(c, `${res.statusCode} with a body that is not JSON: ${res.body.slice(0, 200)}`)
      continue
    }
    if (res.statusCode >= 500) { problem(c, `a ${res.statusCode}: ${res.body.slice(0, 200)}`); continue }
    if (res.statusCode !== 200) {
      if (!isError(body)) problem(c, `a ${res.statusCode} that is not { code, message }: ${res.body.slice(0, 200)}`)
      continue
    }
    const answer = body as Record<string, unknown>
    if (c.route === '/v1/decide') {
      checkDecision(c, c.items[0], answer)
      continue
    }
    const results = answer.results
    if (!Array.isArray(results) || results.length !== c.items.length) { problem(c, `a batch answer without one result per item: ${res.body.slice(0, 200)}`); continue }
    results.forEach((result: Record<string, unknown>, i) => {
      if ('error' in result) {
        if (!isError(result.error)) problem(c, `item ${i}: an error that is not { code, message }`)
        else {
          tally.itemErrors[result.error.code] = (tally.itemErrors[result.error.code] ?? 0) + 1
          if (/^(INTERNAL_ERROR|POLICY_|SQL_RENDER)/.test(result.error.code)) problem(c, `item ${i}: an engine failure ${result.error.code}`)
        }
        return
      }
      checkDecision(c, c.items[i], result)
    })
  }

  t.comment(`requests ${tally.requests}, by status ${JSON.stringify(tally.byStatus)}, decisions ${tally.decisions}, allows ${tally.allows}, batch item errors ${JSON.stringify(tally.itemErrors)}`)
  t.equal(tally.requests, REQUESTS, `${REQUESTS} requests sent`)
  t.same(tally.problems.slice(0, 20), [], `no 5xx, every error { code, message }, no decision for a non-canonical path, no wrong allow (seed ${SEED}; ${tally.problems.length} problems)`)
  t.equal(Object.keys(tally.byStatus).filter((s) => Number(s) >= 500).length, 0, 'no 5xx')
  // The fuzz is only worth its name if it reaches the engine and gets allows to check.
  t.ok(tally.allows >= REQUESTS / 100, `allows were checked against the oracle (${tally.allows})`)
  t.ok((tally.byStatus[400] ?? 0) >= REQUESTS / 4, `most requests are malformed (${tally.byStatus[400] ?? 0} answered 400)`)
})
