// Renders a row filter (UCAST, expanded syntax) as a parameterized SQL WHERE
// fragment. Identifiers come only from the object's column mapping (policy data)
// and are always quoted; every value is a parameter, never SQL text.
//
// Semantics are the policy's single-record check, not SQL's three-valued logic:
// a NULL column equals null and differs from every value, so
//   eq null -> IS NULL            ne v  -> (c <> v OR c IS NULL)
//   in [..., null] -> ... OR c IS NULL   nin is the exact negation of in
// `not` is pushed down to the leaves (De Morgan), so every leaf is rendered in
// the form that is TRUE exactly when the policy's check holds and FALSE or
// NULL otherwise; with no NOT left above a leaf, NULL then acts as false and
// the fragment selects exactly the rows the single-record check allows.
import { SqlDialectUnknownError, SqlRenderError } from '../errors.js'
import { DIALECTS, SQL_DIALECTS, isSqlDialect, type DialectRules, type SqlDialect, type SqlScalar } from './dialects.js'
import type { Condition, FieldCondition, Rows } from './ucast.js'
import type { RenderedSql, SqlMapping } from '../contract/index.js'

export { SQL_DIALECTS, isSqlDialect, type SqlDialect } from './dialects.js'

export type { RenderedSql, SqlMapping } from '../contract/index.js'

// SQL Server has no boolean literal; these two work in every dialect.
const TRUE = '1=1'
const FALSE = '1=0'
const MAX_DEPTH = 64

/**
 * The rows answer as a WHERE fragment: `all` is `1=1`, `none` is `1=0`,
 * `conditional` is the filter. Throws SqlDialectUnknownError (400) for an
 * unknown dialect and SqlRenderError (500) for a filter the mapping or SQL
 * cannot express (a policy defect, never an allow).
 */
export function renderSql (rows: Rows, dialect: SqlDialect, mapping: SqlMapping): RenderedSql {
  if (!isSqlDialect(dialect)) throw new SqlDialectUnknownError(JSON.stringify(String(dialect)).slice(0, 40), SQL_DIALECTS.join(', '))
  if (rows.kind === 'all') return { dialect, where: TRUE, params: [] }
  if (rows.kind === 'none') return { dialect, where: FALSE, params: [] }
  const renderer = new Renderer(DIALECTS[dialect], mapping)
  const where = renderer.condition(rows.filter, true, 0)
  return { dialect, where, params: renderer.params }
}

class Renderer {
  readonly params: unknown[] = []

  constructor (private readonly rules: DialectRules, private readonly mapping: SqlMapping) {}

  /** The condition (`positive`) or its negation, as SQL that is TRUE exactly when it holds. */
  condition (c: Condition, positive: boolean, depth: number): string {
    if (depth > MAX_DEPTH) throw new SqlRenderError(`the filter nests deeper than ${MAX_DEPTH} levels`)
    if (c === null || typeof c !== 'object') throw new SqlRenderError('a condition is not an object')
    if (c.type === 'field') return this.field(c, positive)
    if (c.type !== 'compound' || !Array.isArray(c.value)) throw new SqlRenderError('a condition is neither a field nor a compound condition')
    switch (c.operator) {
      case 'not':
        // UCAST's `not` wraps exactly one condition; anything else is ambiguous.
        if (c.value.length !== 1) throw new SqlRenderError(`"not" takes exactly one condition, got ${c.value.length}`)
        return this.condition(c.value[0] as Condition, !positive, depth + 1)
      case 'and':
      case 'or': {
        // not(a and b) = not a or not b; empty and = true, empty or = false.
        const conjunction = (c.operator === 'and') === positive
        const parts = c.value.map((child) => this.condition(child, positive, depth + 1))
        if (parts.length === 0) return conjunction ? TRUE : FALSE
        return group(parts, conjunction ? 'AND' : 'OR')
      }
      default:
        throw new SqlRenderError(`unknown compound operator ${JSON.stringify(String((c as { operator: unknown }).operator)).slice(0, 40)}`)
    }
  }

  private field (c: FieldCondition, positive: boolean): string {
    const column = this.column(c.field)
    switch (c.operator) {
      case 'eq': return this.equals(column, scalar(c), positive)
      case 'ne': return this.equals(column, scalar(c), !positive)
      case 'in': return this.member(column, list(c), positive)
      case 'nin': return this.member(column, list(c), !positive)
      case 'lt': case 'lte': case 'gt': case 'gte': {
        const value = scalar(c)
        if (value === null) throw new SqlRenderError(`"${c.operator}" on ${c.field} compares with null`)
        // not(c < v) is c >= v for a non-NULL column; a NULL column matches no comparison.
        const op = positive ? COMPARISON[c.operator] : COMPARISON[NEGATED[c.operator]]
        const test = `${column} ${op} ${this.param(value)}`
        return positive ? test : `(${test} OR ${column} IS NULL)`
      }
      default:
        throw new SqlRenderError(`unknown field operator ${JSON.stringify(String((c as { operator: unknown }).operator)).slice(0, 40)}`)
    }
  }

  /** column = value, null-safe: NULL equals null and differs from every value. */
  private equals (column: string, value: SqlScalar, positive: boolean): string {
    if (value === null) return `${column} ${positive ? 'IS NULL' : 'IS NOT NULL'}`
    const p = this.param(value)
    return positive ? `${column} = ${p}` : `(${column} <> ${p} OR ${column} IS NULL)`
  }

  /** column in list, null-safe: a null in the list matches a NULL column. */
  private member (column: string, values: SqlScalar[], positive: boolean): string {
    const hasNull = values.includes(null)
    const present = values.filter((v) => v !== null)
    const placeholders = present.map((v) => this.param(v)).join(', ')
    if (positive) {
      const parts: string[] = []
      if (present.length > 0) parts.push(`${column} IN (${placeholders})`)
      if (hasNull) parts.push(`${column} IS NULL`)
      return parts.length === 0 ? FALSE : group(parts, 'OR')
    }
    // NOT IN is FALSE-or-NULL for a NULL column, which is right exactly when
    // null is in the list; otherwise a NULL column is "not in" and must match.
    if (present.length === 0) return hasNull ? `${column} IS NOT NULL` : TRUE
    const notIn = `${column} NOT IN (${placeholders})`
    return hasNull ? notIn : `(${notIn} OR ${column} IS NULL)`
  }

  private column (field: unknown): string {
    if (typeof field !== 'string') throw new SqlRenderError('a field condition has no field name')
    const columns = this.mapping?.columns
    const column = columns !== null && typeof columns === 'object' && Object.hasOwn(columns, field) ? columns[field] : undefined
    if (typeof column !== 'string' || column.length === 0 || column.includes('\u0000')) {
      throw new SqlRenderError(`field ${JSON.stringify(field).slice(0, 80)} has no column in the SQL mapping of ${JSON.stringify(String(this.mapping?.table)).slice(0, 80)}`)
    }
    return this.rules.quote(column)
  }

  private param (value: SqlScalar): string {
    this.params.push(this.rules.bind(value))
    return this.rules.placeholder(this.params.length)
  }
}

const COMPARISON = { lt: '<', lte: '<=', gt: '>', gte: '>=' } as const
const NEGATED = { lt: 'gte', lte: 'gt', gt: 'lte', gte: 'lt' } as const

function group (parts: string[], joiner: 'AND' | 'OR'): string {
  return parts.length === 1 ? parts[0] as string : `(${parts.join(` ${joiner} `)})`
}

function isScalar (value: unknown): value is SqlScalar {
  return value === null || typeof value === 'string' || typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
}

function scalar (c: FieldCondition): SqlScalar {
  if (!isScalar(c.value)) throw new SqlRenderError(`"${c.operator}" on ${JSON.stringify(c.field).slice(0, 80)} needs a string, number, boolean or null`)
  return c.value
}

function list (c: FieldCondition): SqlScalar[] {
  if (!Array.isArray(c.value) || !c.value.every(isScalar)) {
    throw new SqlRenderError(`"${c.operator}" on ${JSON.stringify(c.field).slice(0, 80)} needs a list of strings, numbers, booleans or nulls`)
  }
  return c.value
}
