// What an error says on the wire: `{ code, message }` and a status. A client's
// mistake (4xx) keeps its code and message; a 5xx keeps its code and hides its
// details (paths, stack traces, policy text stay in the service log), except the
// few whose message is fixed text that reveals nothing internal. The one rule for
// whole requests (the app's error handler) and for batch items alike.
import type { ErrorBody } from '../contract/wire.js'

export const HIDDEN_MESSAGE = 'the decision could not be made; see the service log'

// 5xx errors whose message is fixed text that reveals nothing internal.
const PUBLIC_SERVER_ERRORS = new Set(['POLICY_NOT_LOADED', 'METRICS_UNAVAILABLE'])

export interface PublicError {
  status: number
  body: ErrorBody
  /** true for a 5xx: log the original error in full */
  serverError: boolean
}

interface ErrorLike { statusCode?: unknown, code?: unknown, message?: unknown }

export function publicError (thrown: unknown): PublicError {
  const err = (thrown ?? {}) as ErrorLike
  const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode <= 599 ? err.statusCode : 500
  const serverError = status >= 500
  const code = serverError ? codeOf(err, 'INTERNAL_ERROR') : codeOf(err, 'BAD_REQUEST')
  const message = !serverError || PUBLIC_SERVER_ERRORS.has(code) ? String(err.message ?? '') : HIDDEN_MESSAGE
  return { status, body: { code, message }, serverError }
}

// fastify's own FST_ codes are internal names: they leave as the fallback.
function codeOf (err: ErrorLike, fallback: string): string {
  return typeof err.code === 'string' && err.code !== '' && !err.code.startsWith('FST_') ? err.code : fallback
}
