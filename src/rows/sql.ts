// Renders a row filter (UCAST, expanded syntax) as a parameterized SQL WHERE
// fragment. Identifiers come only from the object's column mapping (policy data)
// and are always quoted; every value is a parameter, never SQL text.
//
// Semantics are the policy's single-record check, not SQL's three-valued logic.
// They are decided once, in predicate.ts (shared with the client's Kysely
// helper): the filter becomes a predicate with no NOT and with NULL spelled out,
// and this file only prints that predicate in a dialect.
import { SqlDialectUnknownError, SqlRenderError } from '../errors.js'
import { DIALECTS, SQL_DIALECTS, isSqlDialect, type DialectRules, type SqlDialect, type SqlScalar } from './dialects.js'
import { PredicateError, toPredicate, type Predicate } from './predicate.js'
import type { Rows } from './ucast.js'
import type { RenderedSql, SqlMapping } from '../contract/index.js'

export { SQL_DIALECTS, isSqlDialect, type SqlDialect } from './dialects.js'

export type { RenderedSql, SqlMapping } from '../contract/index.js'

// SQL Server has no boolean literal; these two work in every dialect.
const TRUE = '1=1'
const FALSE = '1=0'

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
  let predicate: Predicate
  try {
    predicate = toPredicate(rows.filter)
  } catch (err) {
    if (err instanceof PredicateError) throw new SqlRenderError(err.message)
    throw err
  }
  const printer = new Printer(DIALECTS[dialect], mapping)
  const where = printer.print(predicate)
  return { dialect, where, params: printer.params }
}

class Printer {
  readonly params: unknown[] = []

  constructor (private readonly rules: DialectRules, private readonly mapping: SqlMapping) {}

  print (p: Predicate): string {
    switch (p.kind) {
      case 'true': return TRUE
      case 'false': return FALSE
      case 'and': case 'or': return group(p.parts.map((part) => this.print(part)), p.kind === 'and' ? 'AND' : 'OR')
      case 'null': return `${this.column(p.field)} ${p.negated ? 'IS NOT NULL' : 'IS NULL'}`
      case 'compare': {
        const column = this.column(p.field)
        return orNull(`${column} ${p.op} ${this.param(p.value)}`, column, p.orNull)
      }
      case 'in': {
        const column = this.column(p.field)
        const placeholders = p.values.map((v) => this.param(v)).join(', ')
        return orNull(`${column} ${p.negated ? 'NOT IN' : 'IN'} (${placeholders})`, column, p.orNull)
      }
    }
  }

  private column (field: string): string {
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

function orNull (test: string, column: string, withNull: boolean): string {
  return withNull ? `(${test} OR ${column} IS NULL)` : test
}

function group (parts: string[], joiner: 'AND' | 'OR'): string {
  return parts.length === 1 ? parts[0] as string : `(${parts.join(` ${joiner} `)})`
}
