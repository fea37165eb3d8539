// A schema-valid decision request turned into what the engine decides on, with
// the checks a schema cannot word well: the method, the API path and the SQL
// dialect each get their own 400 code and message. Every door parses here.
import type { DecisionRequest } from '../contract/wire.js'
import type { ParsedRequest } from '../engine/decide.js'
import { actionOf, DEFAULT_PATH_VOCABULARY, endpointOf, type PathVocabulary } from '../engine/input.js'
import { SqlDialectUnknownError } from '../errors.js'
import { isSqlDialect, SQL_DIALECTS } from '../rows/dialects.js'

export type { ParsedRequest } from '../engine/decide.js'

export function parseDecisionRequest (body: DecisionRequest, paths: PathVocabulary = DEFAULT_PATH_VOCABULARY): ParsedRequest {
  const action = actionOf(body.request.method)
  const endpoint = endpointOf(body.request.path, paths)
  const { sql, ...rest } = body
  if (sql === undefined) return { body: rest, action, endpoint }
  if (!isSqlDialect(sql)) throw new SqlDialectUnknownError(JSON.stringify(sql), SQL_DIALECTS.join(', '))
  return { body: { ...rest, sql }, action, endpoint }
}
