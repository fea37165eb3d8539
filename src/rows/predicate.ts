// The one reading of a row filter that SQL can run safely, shared by the server's
// SQL renderer (sql.ts) and the client's Kysely helper (packages/client): a UCAST
// condition becomes a predicate with no NOT and with NULL spelled out.
//
// Semantics are the policy's single-record check, not SQL's three-valued logic:
// a NULL (or missing) column equals null and differs from every value. SQL's NOT
// would turn an UNKNOWN leaf into UNKNOWN and hide that, so negation is pushed
// down to the leaves (De Morgan) and each leaf says whether a NULL column matches
// (`orNull`): then every leaf is TRUE exactly when the check holds and FALSE or
// UNKNOWN otherwise, and with no NOT above it UNKNOWN acts as false. The printers
// only spell this form; they decide nothing about NULLs or negation.
//
//   eq v  -> col = v                      eq null -> col IS NULL
//   ne v  -> col <> v OR col IS NULL      ne null -> col IS NOT NULL
//   in [a, null] -> col IN (a) OR col IS NULL        in [] -> false
//   nin [a]      -> col NOT IN (a) OR col IS NULL    nin [] -> true
//   lt v -> col < v      not(lt v) -> col >= v OR col IS NULL (NULL compares with nothing)
//   empty and -> true, empty or -> false
import type { Condition, FieldCondition } from './ucast.js'

export type Scalar = string | number | boolean | null
export type Comparison = '=' | '<>' | '<' | '<=' | '>' | '>='

export type Predicate =
  | { kind: 'true' }
  | { kind: 'false' }
  | { kind: 'and' | 'or', parts: Predicate[] }
  /** the column IS NULL, or IS NOT NULL when `negated` */
  | { kind: 'null', field: string, negated: boolean }
  /** column <op> value (never null), OR column IS NULL when `orNull` */
  | { kind: 'compare', field: string, op: Comparison, value: Exclude<Scalar, null>, orNull: boolean }
  /** column IN (values) — NOT IN when `negated` — (values never null, never empty), OR column IS NULL when `orNull` */
  | { kind: 'in', field: string, values: Array<Exclude<Scalar, null>>, negated: boolean, orNull: boolean }

export type PredicateErrorCode = 'ROWS_INVALID' | 'VALUE_INVALID'

/** A condition that is not a well-formed filter: the caller refuses it, never widens the query. */
export class PredicateError extends Error {
  constructor (readonly code: PredicateErrorCode, message: string) {
    super(message)
    this.name = 'PredicateError'
  }
}

export const MAX_DEPTH = 64

const TRUE: Predicate = { kind: 'true' }
const FALSE: Predicate = { kind: 'false' }
const NEGATED = { lt: '>=', lte: '>', gt: '<=', gte: '<' } as const
const COMPARISON = { lt: '<', lte: '<=', gt: '>', gte: '>=' } as const

/** The filter as a NOT-free, null-explicit predicate. Throws PredicateError for a malformed condition. */
export function toPredicate (c: Condition): Predicate {
  return predicate(c, true, 0)
}

function predicate (c: Condition, positive: boolean, depth: number): Predicate {
  if (depth > MAX_DEPTH) throw new PredicateError('ROWS_INVALID', `the filter nests deeper than ${MAX_DEPTH} levels`)
  if (c === null || typeof c !== 'object') throw new PredicateError('ROWS_INVALID', 'a condition is not an object')
  if (c.type === 'field') return field(c, positive)
  if (c.type !== 'compound' || !Array.isArray(c.value)) throw new PredicateError('ROWS_INVALID', 'a condition is neither a field nor a compound condition')
  switch (c.operator) {
    case 'not':
      // UCAST's `not` wraps exactly one condition; anything else is ambiguous.
      if (c.value.length !== 1) throw new PredicateError('ROWS_INVALID', `"not" takes exactly one condition, got ${c.value.length}`)
      return predicate(c.value[0] as Condition, !positive, depth + 1)
    case 'and':
    case 'or': {
      // not(a and b) = not a or not b; an empty and is true, an empty or false.
      const conjunction = (c.operator === 'and') === positive
      const parts = c.value.map((child) => predicate(child, positive, depth + 1))
      if (parts.length === 0) return conjunction ? TRUE : FALSE
      if (parts.length === 1) return parts[0] as Predicate
      return { kind: conjunction ? 'and' : 'or', parts }
    }
    default:
      throw new PredicateError('ROWS_INVALID', `unknown compound operator ${JSON.stringify(String((c as { operator?: unknown }).operator)).slice(0, 40)}`)
  }
}

function field (c: FieldCondition, positive: boolean): Predicate {
  if (typeof c.field !== 'string') throw new PredicateError('ROWS_INVALID', 'a field condition has no field name')
  switch (c.operator) {
    case 'eq': return equals(c.field, scalar(c), positive)
    case 'ne': return equals(c.field, scalar(c), !positive)
    case 'in': return member(c.field, list(c), positive)
    case 'nin': return member(c.field, list(c), !positive)
    case 'lt': case 'lte': case 'gt': case 'gte': {
      const value = scalar(c)
      if (value === null) throw new PredicateError('VALUE_INVALID', `"${c.operator}" on ${JSON.stringify(c.field).slice(0, 80)} compares with null`)
      // not(c < v) is c >= v for a non-NULL column; a NULL column matches no comparison.
      return positive
        ? { kind: 'compare', field: c.field, op: COMPARISON[c.operator], value, orNull: false }
        : { kind: 'compare', field: c.field, op: NEGATED[c.operator], value, orNull: true }
    }
    default:
      throw new PredicateError('ROWS_INVALID', `unknown field operator ${JSON.stringify(String((c as { operator?: unknown }).operator)).slice(0, 40)}`)
  }
}

/** field = value, null-safe: NULL equals null and differs from every value. */
function equals (field: string, value: Scalar, positive: boolean): Predicate {
  if (value === null) return { kind: 'null', field, negated: !positive }
  return positive
    ? { kind: 'compare', field, op: '=', value, orNull: false }
    : { kind: 'compare', field, op: '<>', value, orNull: true }
}

/** field in list, null-safe: a null in the list matches a NULL column. */
function member (field: string, values: Scalar[], positive: boolean): Predicate {
  const hasNull = values.includes(null)
  const present = values.filter((v): v is Exclude<Scalar, null> => v !== null)
  if (positive) {
    if (present.length === 0) return hasNull ? { kind: 'null', field, negated: false } : FALSE
    return { kind: 'in', field, values: present, negated: false, orNull: hasNull }
  }
  // A NULL column is "not in" the list exactly when null is not listed.
  if (present.length === 0) return hasNull ? { kind: 'null', field, negated: true } : TRUE
  return { kind: 'in', field, values: present, negated: true, orNull: !hasNull }
}

function isScalar (value: unknown): value is Scalar {
  return value === null || typeof value === 'string' || typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
}

function scalar (c: FieldCondition): Scalar {
  if (!isScalar(c.value)) throw new PredicateError('VALUE_INVALID', `"${c.operator}" on ${JSON.stringify(c.field).slice(0, 80)} needs a string, number, boolean or null`)
  return c.value
}

function list (c: FieldCondition): Scalar[] {
  if (!Array.isArray(c.value) || !c.value.every(isScalar)) {
    throw new PredicateError('VALUE_INVALID', `"${c.operator}" on ${JSON.stringify(c.field).slice(0, 80)} needs a list of strings, numbers, booleans or nulls`)
  }
  return c.value
}
