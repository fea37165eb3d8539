// The TypeScript client calling services use to ask Verdict before they serve a
// request (docs/ARCHITECTURE.md, "Decision request" and "Decision response"):
//
//   const verdict = createVerdictClient({ baseUrl: 'http://verdict.internal:8080', timeoutMs: 2000 })
//   const decision = await verdict.decide(req.headers.authorization, {
//     request: { method: 'GET', path: '/cmictest/jc-rest-api/rest/1/jcjob' },
//     sql: 'postgresql'
//   })
//   if (!decision.allow) return reply.code(decision.status).send()
//
// Anything but a well-formed decision — an HTTP error, a timeout, a refused
// connection, a body that is not a decision — throws a VerdictClientError. An
// error is never an allow: there is no code path that returns a decision the
// server did not send. Plain global fetch with a per-call AbortSignal.timeout
// (one signal per call: a shared timeout signal would abort every later call).
import type { BatchItemError, BatchResult, Decision, DecisionRequest as WireDecisionRequest } from '../../../src/contract/wire.js'
import type { SqlDialect } from '../../../src/contract/rows.js'
import { isRows } from '../../../src/rows/ucast.js'

// The types are the wire contract's (src/contract), the single source for the
// server's validation, its OpenAPI document and this client.
export type { CompoundCondition, CompoundOperator, Condition, DecisionRows, FieldCondition, FieldOperator, RenderedSql, SqlDialect } from '../../../src/contract/rows.js'
export type { Action, Reason as DecisionReason } from '../../../src/contract/policy.js'
export type { BatchItemError, BatchItemId, BatchResult, Decision } from '../../../src/contract/wire.js'
// The Kysely helper lives in ./kysely.js, apart: kysely is an optional peer
// dependency, and this module must load without it.

export type ResourceValue = string | number | boolean | null

/** A decision request; `sql` names one of the dialects the server renders. */
export type DecisionRequest = Omit<WireDecisionRequest, 'sql'> & { sql?: SqlDialect }

export interface BatchItem extends DecisionRequest {
  /** the caller's label for the item, echoed in its result */
  id?: string | number
}

export function isBatchItemError (result: BatchResult): result is BatchItemError {
  return 'error' in result
}

/**
 * Why a call produced no decision. `code` is the server's error code for an
 * HTTP error answer (`REQUEST_INVALID`, `SQL_DIALECT_UNKNOWN`, …, or
 * `HTTP_<status>` when the body names none), else one of: `TIMEOUT`,
 * `NETWORK_ERROR`, `RESPONSE_INVALID`. `status` is the HTTP status when there
 * was an answer.
 */
export class VerdictClientError extends Error {
  readonly code: string
  readonly status: number | undefined
  constructor (code: string, message: string, status?: number, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'VerdictClientError'
    this.code = code
    this.status = status
  }
}

export interface VerdictClientOptions {
  /** Verdict's base URL, e.g. http://verdict.internal:8080 (a path prefix is kept) */
  baseUrl: string
  /** per call, for the whole exchange (connect, headers, body); default 5000 ms */
  timeoutMs?: number
  /** a fetch implementation; global fetch by default */
  fetch?: typeof globalThis.fetch
}

export interface VerdictClient {
  /**
   * One decision for the caller whose credential is `authorization` (the
   * Authorization header the calling service received, forwarded unchanged;
   * undefined or '' when it received none — the decision is then a 401).
   */
  decide: (authorization: string | undefined, body: DecisionRequest) => Promise<Decision>
  /**
   * 1 to 100 decisions for one caller, answered in the order of the items; a
   * malformed item gets its own BatchItemError and the others are still decided.
   * An empty or oversized batch is a 400 (VerdictClientError).
   */
  decideBatch: (authorization: string | undefined, items: BatchItem[]) => Promise<BatchResult[]>
}

export const DEFAULT_TIMEOUT_MS = 5000

export function createVerdictClient (options: VerdictClientOptions): VerdictClient {
  const base = parseBaseUrl(options?.baseUrl)
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new VerdictClientError('CLIENT_CONFIG_INVALID', `timeoutMs must be a positive integer, got ${String(timeoutMs)}`)
  }
  const fetchImpl = options.fetch ?? globalThis.fetch

  async function post (path: string, authorization: string | undefined, body: unknown): Promise<unknown> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' }
    if (authorization !== undefined && authorization !== '') headers.authorization = authorization
    const url = base + path
    let response: Response
    let text: string
    try {
      const signal = AbortSignal.timeout(timeoutMs)
      response = await fetchImpl(url, { method: 'POST', headers, body: JSON.stringify(body), signal })
      // The body is read under the same signal: a server that sends headers and
      // then stalls times out too.
      text = await response.text()
    } catch (err) {
      throw transportError(err, url, timeoutMs)
    }
    const json = parseJson(text)
    if (response.status !== 200) {
      const e = json as { code?: unknown, message?: unknown } | undefined
      const code = typeof e?.code === 'string' && e.code !== '' ? e.code : `HTTP_${response.status}`
      const message = typeof e?.message === 'string' ? e.message : `Verdict answered HTTP ${response.status}`
      throw new VerdictClientError(code, message, response.status)
    }
    if (json === undefined) throw new VerdictClientError('RESPONSE_INVALID', 'Verdict answered 200 with a body that is not JSON', 200)
    return json
  }

  return {
    async decide (authorization, body) {
      const answer = await post('/v1/decide', authorization, body)
      return checkDecision(answer, 'the decision')
    },
    async decideBatch (authorization, items) {
      if (!Array.isArray(items)) throw new VerdictClientError('CLIENT_USAGE', 'decideBatch takes an array of items')
      const answer = await post('/v1/decide/batch', authorization, { items }) as { results?: unknown }
      const results = answer?.results
      if (!Array.isArray(results) || results.length !== items.length) {
        throw new VerdictClientError('RESPONSE_INVALID', `the batch answer does not hold one result per item (${items.length} sent)`, 200)
      }
      return results.map((r, i) => isErrorResult(r) ? r : checkDecision(r, `result ${i}`))
    }
  }
}

function parseBaseUrl (baseUrl: unknown): string {
  let url: URL
  try {
    url = new URL(String(baseUrl))
  } catch {
    throw new VerdictClientError('CLIENT_CONFIG_INVALID', `baseUrl ${JSON.stringify(String(baseUrl)).slice(0, 200)} is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new VerdictClientError('CLIENT_CONFIG_INVALID', `baseUrl must be http or https, got ${url.protocol}`)
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new VerdictClientError('CLIENT_CONFIG_INVALID', 'baseUrl must not carry a query, a fragment or credentials')
  }
  return url.href.replace(/\/+$/, '')
}

function transportError (err: unknown, url: string, timeoutMs: number): VerdictClientError {
  const name = (err as { name?: unknown })?.name
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new VerdictClientError('TIMEOUT', `Verdict did not answer within ${timeoutMs} ms (${url})`, undefined, { cause: err })
  }
  const cause = (err as { cause?: { code?: unknown, message?: unknown } })?.cause
  const detail = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : (err as Error)?.message
  return new VerdictClientError('NETWORK_ERROR', `cannot reach Verdict at ${url}: ${String(detail)}`, undefined, { cause: err })
}

function parseJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function isErrorResult (value: unknown): value is BatchItemError {
  if (value === null || typeof value !== 'object' || !('error' in value)) return false
  const e = (value as { error: unknown }).error as { code?: unknown, message?: unknown } | null
  return e !== null && typeof e === 'object' && typeof e.code === 'string' && typeof e.message === 'string'
}

const STATUSES = new Set([200, 401, 403])

/** The decision, if it has the contract's shape; anything else is response_invalid. */
function checkDecision (value: unknown, what: string): Decision {
  const d = value as Partial<Decision> | null
  const bad = (why: string): VerdictClientError => new VerdictClientError('RESPONSE_INVALID', `${what} ${why}`, 200)
  if (d === null || typeof d !== 'object') throw bad('is not an object')
  if (typeof d.allow !== 'boolean') throw bad('has no boolean allow')
  if (typeof d.status !== 'number' || !STATUSES.has(d.status)) throw bad('has a status other than 200, 401 or 403')
  if (d.allow !== (d.status === 200)) throw bad('has allow and status that disagree')
  if (typeof d.decision_id !== 'string') throw bad('has no decision_id')
  if (!Array.isArray(d.reasons)) throw bad('has no reasons')
  if (!isRows(d.rows)) throw bad('has no well-formed rows')
  return d as Decision
}
