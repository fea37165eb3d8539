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
// own SQL renderer, decided once for both in src/rows/predicate.ts: the filter
// becomes a predicate with no NOT and with NULL spelled out (a NULL column
// equals null and differs from every value; `in []` selects nothing), which
// this file only prints as Kysely SQL. Values always travel as parameters;
// identifiers only come from `columns`. Anything this helper does not
// understand throws: a scope it cannot apply must never turn into an
// unfiltered query.
//
// kysely is an optional peer dependency: only `sql` is needed at run time.
import { sql, type Expression, type RawBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely'
import { PredicateError, toPredicate, type Predicate } from '../../../src/rows/predicate.js'
import type { Rows } from '../../../src/rows/ucast.js'

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
    case 'conditional': return condition(rows.filter, options)
    default: throw new RowsFilterError('ROWS_INVALID', `rows.kind ${JSON.stringify(String((rows as { kind?: unknown }).kind)).slice(0, 40)} is not all, none or conditional`)
  }
}

// No boolean literal in SQL Server; these work in every dialect Kysely supports.
const TRUE = (): RawBuilder<SqlBool> => sql<SqlBool>`1 = 1`
const FALSE = (): RawBuilder<SqlBool> => sql<SqlBool>`1 = 0`

function condition (filter: unknown, options: ApplyRowsOptions): RawBuilder<SqlBool> {
  let predicate: Predicate
  try {
    predicate = toPredicate(filter as Parameters<typeof toPredicate>[0])
  } catch (err) {
    if (err instanceof PredicateError) throw new RowsFilterError(err.code, err.message)
    throw err
  }
  return print(predicate, options)
}

function print (p: Predicate, options: ApplyRowsOptions): RawBuilder<SqlBool> {
  switch (p.kind) {
    case 'true': return TRUE()
    case 'false': return FALSE()
    case 'and': case 'or': return group(p.parts.map((part) => print(part, options)), p.kind)
    case 'null': {
      const column = columnOf(p.field, options)
      return p.negated ? sql<SqlBool>`${column} is not null` : sql<SqlBool>`${column} is null`
    }
    case 'compare': {
      const column = columnOf(p.field, options)
      return orNull(sql<SqlBool>`${column} ${sql.raw(p.op)} ${p.value}`, column, p.orNull)
    }
    case 'in': {
      const column = columnOf(p.field, options)
      const test = p.negated ? sql<SqlBool>`${column} not in (${sql.join(p.values)})` : sql<SqlBool>`${column} in (${sql.join(p.values)})`
      return orNull(test, column, p.orNull)
    }
  }
}

function orNull (test: RawBuilder<SqlBool>, column: RawBuilder<unknown>, withNull: boolean): RawBuilder<SqlBool> {
  return withNull ? sql<SqlBool>`(${test} or ${column} is null)` : test
}

function group (parts: Array<RawBuilder<SqlBool>>, joiner: 'and' | 'or'): RawBuilder<SqlBool> {
  if (parts.length === 1) return parts[0] as RawBuilder<SqlBool>
  return sql<SqlBool>`(${sql.join(parts, sql.raw(` ${joiner} `))})`
}

function columnOf (fieldName: string, options: ApplyRowsOptions): RawBuilder<unknown> {
  const columns = options?.columns
  const column = columns !== null && typeof columns === 'object' && Object.hasOwn(columns, fieldName) ? columns[fieldName] : undefined
  if (typeof column !== 'string' || column === '') {
    throw new RowsFilterError('FIELD_UNMAPPED', `field ${JSON.stringify(fieldName).slice(0, 80)} of the row filter has no column in options.columns`)
  }
  return sql.ref(column)
}
