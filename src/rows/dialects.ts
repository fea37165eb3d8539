// What differs between the SQL dialects Verdict renders row filters for: how an
// identifier is quoted, how the n-th parameter is written, and how a value is
// bound. Everything else (operators, NULL handling) is the same standard SQL in
// all four, so it lives once in sql.ts.
import { SQL_DIALECTS, type SqlDialect } from '../contract/rows.js'

export { SQL_DIALECTS, type SqlDialect }

export type SqlScalar = string | number | boolean | null

export interface DialectRules {
  /** The identifier quoted so that no character in it can end the quoting. */
  quote (identifier: string): string
  /** The placeholder of the n-th parameter (1-based). */
  placeholder (n: number): string
  /** The value as the dialect's usual driver binds it. */
  bind (value: SqlScalar): unknown
}

// Standard SQL quoting. Beware SQLite builds that keep the legacy "double-quoted
// string literal" fallback (SQLITE_DQS): there a misspelt column in the mapping
// would silently become a string. better-sqlite3 is built without it ("no such
// column"), as should any SQLite that runs these fragments.
const doubleQuoted = (id: string): string => '"' + id.replaceAll('"', '""') + '"'
const asIs = (value: SqlScalar): unknown => value

export const DIALECTS: Readonly<Record<SqlDialect, DialectRules>> = Object.freeze({
  postgresql: { quote: doubleQuoted, placeholder: (n) => `$${n}`, bind: asIs },
  mysql: { quote: (id) => '`' + id.replaceAll('`', '``') + '`', placeholder: () => '?', bind: asIs },
  // SQLite has no boolean type (true is 1) and better-sqlite3 refuses to bind a
  // JavaScript boolean, so booleans travel as 1 and 0.
  sqlite: { quote: doubleQuoted, placeholder: () => '?', bind: (v) => typeof v === 'boolean' ? (v ? 1 : 0) : v },
  sqlserver: { quote: (id) => '[' + id.replaceAll(']', ']]') + ']', placeholder: (n) => `@p${n}`, bind: asIs }
})

export function isSqlDialect (value: unknown): value is SqlDialect {
  return typeof value === 'string' && (SQL_DIALECTS as readonly string[]).includes(value)
}
