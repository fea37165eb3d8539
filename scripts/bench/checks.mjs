// Correctness before timing: every target's answers are compared with the
// engine's result for the same input (and OPA's with the raw WASM result), so
// no figure is reported for a server that answers something else. Each check
// returns a list of mismatches (empty when all agree).
import { isDeepStrictEqual } from 'node:util'

export const ENTRYPOINT = 'verdict/decision'

/** What Verdict's answer must hold for a case whose engine result is `engine`. */
function expectedDecision (engine, principal) {
  return {
    allow: engine.allow,
    status: engine.status,
    principal: { id: engine.principal?.id ?? principal.erp_user ?? principal.client_id ?? principal.subject, kind: engine.principal?.kind ?? 'unknown', idp: principal.idp },
    reasons: engine.reasons,
    rows: engine.rows
  }
}
const decisionPart = (d) => ({ allow: d?.allow, status: d?.status, principal: d?.principal, reasons: d?.reasons, rows: d?.rows })

/** Decisions answered 503 EVALUATION_TIMEOUT during the checks and asked again. */
export const retried = { count: 0 }
const MAX_ATTEMPTS = 3

// A decision past the evaluation deadline (it can happen on a loaded machine) is
// a refusal, not an answer to compare: it is asked again, at most 3 times.
const isTimeout = (body) => body?.code === 'EVALUATION_TIMEOUT'
const timedOut = ({ status, body }) => status === 503 && isTimeout(body)
const batchTimedOut = (a) => timedOut(a) || (a.status === 200 && Array.isArray(a.body?.results) && a.body.results.some((r) => isTimeout(r?.error)))

async function send (pool, options, retryWhen = timedOut) {
  for (let attempt = 1; ; attempt++) {
    const res = await pool.request(options)
    const text = await res.body.text()
    let body
    try { body = JSON.parse(text) } catch { body = text }
    const answer = { status: res.statusCode, text, body }
    if (attempt >= MAX_ATTEMPTS || !retryWhen(answer)) return answer
    retried.count++
  }
}

/**
 * The result with the value lists of `in`/`nin` row conditions sorted: the policy
 * leaves their order to the evaluator (OPA's sets come sorted, WASM's sort is
 * quadratic so the policy does not sort) and the engine adapter sorts them.
 */
function canonicalOrder (value) {
  if (Array.isArray(value)) return value.map(canonicalOrder)
  if (value === null || typeof value !== 'object') return value
  const out = {}
  for (const [k, v] of Object.entries(value)) out[k] = canonicalOrder(v)
  if ((out.operator === 'in' || out.operator === 'nin') && Array.isArray(out.value)) out.value = [...out.value].sort()
  return out
}

/** OPA's result equals the raw WASM result (up to the order of in/nin lists) and, through the adapter, the engine's. */
export async function checkOpa ({ pool, request, cases, raw, toPolicyResult }) {
  const mismatches = []
  for (let i = 0; i < cases.length; i++) {
    const { status, body } = await send(pool, request(i))
    const wasm = raw.evaluate(cases[i].input, ENTRYPOINT)?.[0]?.result
    if (status !== 200) mismatches.push({ input: i, what: `OPA server answered ${status}`, body })
    else if (!isDeepStrictEqual(canonicalOrder(body.result), canonicalOrder(wasm))) mismatches.push({ input: i, what: 'OPA server result differs from the WASM result', opa: body.result, wasm })
    else if (!isDeepStrictEqual(toPolicyResult(body.result), cases[i].engine)) mismatches.push({ input: i, what: 'engine adapter result differs from the OPA result' })
  }
  return mismatches
}

/** Verdict's POST /v1/decide answers equal the engine's results; returns the answers' sizes too. */
export async function checkVerdict ({ pool, request, cases, name }) {
  const mismatches = []
  const sizes = []
  for (let i = 0; i < cases.length; i++) {
    const { status, text, body } = await send(pool, request(i))
    sizes.push(Buffer.byteLength(text))
    const expected = expectedDecision(cases[i].engine, cases[i].caller.principal)
    if (status !== 200 || !isDeepStrictEqual(decisionPart(body), expected)) {
      mismatches.push({ input: i, what: `${name}: /v1/decide (HTTP ${status}) differs from the engine`, caller: cases[i].caller.label, request: cases[i].body, verdict: body, engine: expected })
    }
  }
  return { mismatches, sizes }
}

/** Every item of every batch equals the engine's result for its case, in order. */
export async function checkBatch ({ pool, request, batches, name }) {
  const mismatches = []
  for (let b = 0; b < batches.length; b++) {
    const { status, body } = await send(pool, request(b), batchTimedOut)
    const results = body?.results
    if (status !== 200 || !Array.isArray(results) || results.length !== batches[b].length) {
      mismatches.push({ batch: b, what: `${name}: /v1/decide/batch answered ${status} with ${Array.isArray(results) ? results.length : 'no'} results for ${batches[b].length} items`, body })
      continue
    }
    batches[b].forEach((c, k) => {
      const expected = expectedDecision(c.engine, c.caller.principal)
      if (!isDeepStrictEqual(decisionPart(results[k]), expected)) mismatches.push({ batch: b, item: k, what: `${name}: batch item differs from the engine`, verdict: results[k], engine: expected })
    })
  }
  return mismatches
}

/** The floor answers its constant. */
export async function checkConstant ({ pool, request, count, body: expected }) {
  const mismatches = []
  for (let i = 0; i < count; i++) {
    const { status, text } = await send(pool, request(i))
    if (status !== 200 || text !== expected) mismatches.push({ input: i, what: `floor answered ${status} with another body` })
  }
  return mismatches
}

export function reportMismatches (mismatches) {
  console.error(`\nbench: ${mismatches.length} mismatch(es); no figures are reported for answers that disagree:`)
  for (const m of mismatches.slice(0, 10)) console.error(JSON.stringify(m, null, 2))
  if (mismatches.length > 10) console.error(`… and ${mismatches.length - 10} more`)
}
