// Applies a decision's row scope to a Kysely query, so a calling service filters
// its own SELECT by what Verdict decided:
//
//   const decision = await verdict.decide(authorization, { request })
//   if (!decision.allow) return reply.code(decision.status).send()
//   const jobs = await applyRows(db.selectFrom('jcjob').selectAll(), decision.rows, {
//     columns: { JobCompCode: 'job_comp_code', JobCode: 'job_code' }
//   }).execute()
//
// The semantics are those of the policy's single-record check and of Verdict's
// own SQL renderer (src/rows/sql.ts), not SQL's three-valued logic: a NULL
// column equals null and differs from every value (eq null is IS NULL, ne and
// nin match NULL columns, a null in an `in` list matches NULL), `in []` selects
// nothing, and `not` is pushed down to the leaves so NULL can only ever mean
// "no". Values always travel as parameters; identifiers only come from
// `columns`. Anything this helper does not understand throws: a scope it cannot
// apply must never turn into an unfiltered query.
//
// kysely is an optional peer dependency: only `sql` is needed at run time.
import { sql, type Expression, type RawBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely'
import type { Condition, FieldCondition, Rows } from '../rows/ucast.js'

export interface ApplyRowsOptions {
  /**
   * Logical field of the filter (the business object's own field name, e.g.
   * `VouJobCode`) -> column. A column is a Kysely reference: `vou_job_code`, or
   * `v.vou_job_code` to name the table of a join. A field not listed throws.
   */
  columns: Readonly<Record<string, string>>
}

export type RowsFilterErrorCode = 'ROWS_INVALID' | 'FIELD_UNMAPPED' | 'VALUE_INVALID'

/** The row scope cannot be applied as given: fail the query, never widen it. */
export class RowsFilterError extends Error {
  readonly code: RowsFilterErrorCode
  constructor (code: RowsFilterErrorCode, message: string) {
    super(message)
    this.name = 'RowsFilterError'
    this.code = code
  }
}

type Scalar = string | number | boolean | null

const MAX_DEPTH = 64

/**
 * The query restricted to the rows the decision allows: `all` leaves it as it
 * is, `none` selects no row, `conditional` adds the filter as a WHERE condition
 * (ANDed with the query's own conditions).
 */
export function applyRows<DB, TB extends keyof DB, O> (
  query: SelectQueryBuilder<DB, TB, O>,
  rows: Rows,
  options: ApplyRowsOptions
): SelectQueryBuilder<DB, TB, O> {
  const condition = rowsCondition(rows, options)
  return condition === undefined ? query : query.where(condition)
}

/**
 * The decision's row scope as a boolean expression for any Kysely `where`
 * (update and delete queries too); undefined for `all` (no restriction).
 */
export function rowsCondition (rows: Rows, options: ApplyRowsOptions): Expression<SqlBool> | undefined {
  if (rows === null || typeof rows !== 'object') throw new RowsFilterError('ROWS_INVALID', 'rows is not an object')
  switch (rows.kind) {
    case 'all': return undefined
    case 'none': return FALSE()
    case 'conditional': return condition(rows.filter, true, 0, options)
    default: throw new RowsFilterError('ROWS_INVALID', `rows.kind ${JSON.stringify(String((rows as { kind?: unknown }).kind)).slice(0, 40)} is not all, none or conditional`)
  }
}

// No boolean literal in SQL Server; these work in every dialect Kysely supports.
const TRUE = (): RawBuilder<SqlBool> => sql<SqlBool>`1 = 1`
const FALSE = (): RawBuilder<SqlBool> => sql<SqlBool>`1 = 0`

/** The condition (positive) or its negation, as SQL that is TRUE exactly when it holds. */
function condition (c: Condition, positive: boolean, depth: number, options: ApplyRowsOptions): RawBuilder<SqlBool> {
  if (depth > MAX_DEPTH) throw new RowsFilterError('ROWS_INVALID', `the filter nests deeper than ${MAX_DEPTH} levels`)
  if (c === null || typeof c !== 'object') throw new RowsFilterError('ROWS_INVALID', 'a condition is not an object')
  if (c.type === 'field') return field(c, positive, options)
  if (c.type !== 'compound' || !Array.isArray(c.value)) throw new RowsFilterError('ROWS_INVALID', 'a condition is neither a field nor a compound condition')
  switch (c.operator) {
    case 'not': {
      if (c.value.length !== 1) throw new RowsFilterError('ROWS_INVALID', `"not" takes exactly one condition, got ${c.value.length}`)
      return condition(c.value[0] as Condition, !positive, depth + 1, options)
    }
    case 'and':
    case 'or': {
      // not(a and b) = not a or not b; an empty and is true, an empty or false.
      const conjunction = (c.operator === 'and') === positive
      const parts = c.value.map((child) => condition(child, positive, depth + 1, options))
      if (parts.length === 0) return conjunction ? TRUE() : FALSE()
      return group(parts, conjunction ? 'and' : 'or')
    }
    default:
      throw new RowsFilterError('ROWS_INVALID', `unknown compound operator ${JSON.stringify(String((c as { operator?: unknown }).operator)).slice(0, 40)}`)
  }
}

function field (c: FieldCondition, positive: boolean, options: ApplyRowsOptions): RawBuilder<SqlBool> {
  const column = columnOf(c.field, options)
  switch (c.operator) {
    case 'eq': return equals(column, scalar(c), positive)
    case 'ne': return equals(column, scalar(c), !positive)
    case 'in': return member(column, list(c), positive)
    case 'nin': return member(column, list(c), !positive)
    case 'lt': case 'lte': case 'gt': case 'gte': {
      const value = scalar(c)
      if (value === null) throw new RowsFilterError('VALUE_INVALID', `"${c.operator}" on ${c.field} compares with null`)
      // not(c < v) is c >= v for a non-NULL column; a NULL column matches no comparison.
      const op = sql.raw(positive ? COMPARISON[c.operator] : COMPARISON[NEGATED[c.operator]])
      const test = sql<SqlBool>`${column} ${op} ${value}`
      return positive ? test : sql<SqlBool>`(${test} or ${column} is null)`
    }
    default:
      throw new RowsFilterError('ROWS_INVALID', `unknown field operator ${JSON.stringify(String((c as { operator?: unknown }).operator)).slice(0, 40)}`)
  }
}

function equals (column: RawBuilder<unknown>, value: Scalar, positive: boolean): RawBuilder<SqlBool> {
  if (value === null) return positive ? sql<SqlBool>`${column} is null` : sql<SqlBool>`${column} is not null`
  return positive ? sql<SqlBool>`${column} = ${value}` : sql<SqlBool>`(${column} <> ${value} or ${column} is null)`
}

function member (column: RawBuilder<unknown>, values: Scalar[], positive: boolean): RawBuilder<SqlBool> {
  const hasNull = values.includes(null)
  const present = values.filter((v) => v !== null)
  if (positive) {
    const parts: Array<RawBuilder<SqlBool>> = []
    if (present.length > 0) parts.push(sql<SqlBool>`${column} in (${sql.join(present)})`)
    if (hasNull) parts.push(sql<SqlBool>`${column} is null`)
    return parts.length === 0 ? FALSE() : group(parts, 'or')
  }
  // NOT IN is false-or-NULL for a NULL column: right exactly when null is listed.
  if (present.length === 0) return hasNull ? sql<SqlBool>`${column} is not null` : TRUE()
  const notIn = sql<SqlBool>`${column} not in (${sql.join(present)})`
  return hasNull ? notIn : sql<SqlBool>`(${notIn} or ${column} is null)`
}

const COMPARISON = { lt: '<', lte: '<=', gt: '>', gte: '>=' } as const
const NEGATED = { lt: 'gte', lte: 'gt', gt: 'lte', gte: 'lt' } as const

function group (parts: Array<RawBuilder<SqlBool>>, joiner: 'and' | 'or'): RawBuilder<SqlBool> {
  if (parts.length === 1) return parts[0] as RawBuilder<SqlBool>
  return sql<SqlBool>`(${sql.join(parts, sql.raw(` ${joiner} `))})`
}

function columnOf (fieldName: unknown, options: ApplyRowsOptions): RawBuilder<unknown> {
  if (typeof fieldName !== 'string') throw new RowsFilterError('ROWS_INVALID', 'a field condition has no field name')
  const columns = options?.columns
  const column = columns !== null && typeof columns === 'object' && Object.hasOwn(columns, fieldName) ? columns[fieldName] : undefined
  if (typeof column !== 'string' || column === '') {
    throw new RowsFilterError('FIELD_UNMAPPED', `field ${JSON.stringify(fieldName).slice(0, 80)} of the row filter has no column in options.columns`)
  }
  return sql.ref(column)
}

function isScalar (value: unknown): value is Scalar {
  return value === null || typeof value === 'string' || typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
}

function scalar (c: FieldCondition): Scalar {
  if (!isScalar(c.value)) throw new RowsFilterError('VALUE_INVALID', `"${c.operator}" on ${JSON.stringify(c.field).slice(0, 80)} needs a string, number, boolean or null`)
  return c.value
}

function list (c: FieldCondition): Scalar[] {
  if (!Array.isArray(c.value) || !c.value.every(isScalar)) {
    throw new RowsFilterError('VALUE_INVALID', `"${c.operator}" on ${JSON.stringify(c.field).slice(0, 80)} needs a list of strings, numbers, booleans or nulls`)
  }
  return c.value
}
