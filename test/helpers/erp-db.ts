// Puts ERP rows into the two real databases of the tests — SQLite (better-sqlite3)
// and PostgreSQL (pg) — under the table and column names of the objects'
// `sql` mapping in policy data, plus an integer primary key `id`; and reads back
// the ids a WHERE fragment selects. Loads are bulk: one transaction of prepared
// inserts on SQLite, one INSERT … SELECT unnest(…) per table on PostgreSQL.
import Database from 'better-sqlite3'
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely'
import pg from 'pg'
import type { ErpDataset, ErpObject, ErpRow, ObjectDeclaration } from './erp-dataset.js'

export interface ErpTable {
  object: ErpObject
  table: string
  /** logical fields, in the order of `columns` */
  fields: string[]
  columns: string[]
}

export function erpTable (object: ErpObject, decl: ObjectDeclaration): ErpTable {
  const fields = Object.keys(decl.sql.columns)
  return { object, table: decl.sql.table, fields, columns: fields.map((f) => decl.sql.columns[f] as string) }
}

const q = (identifier: string): string => '"' + identifier.replaceAll('"', '""') + '"'

function createTableSql (t: ErpTable): string {
  return `CREATE TABLE ${q(t.table)} (id INTEGER PRIMARY KEY, ${t.columns.map((c) => `${q(c)} TEXT`).join(', ')})`
}

function values (row: ErpRow, t: ErpTable): Array<string | null> {
  return t.fields.map((f) => {
    const v = row[f]
    return v === undefined || v === null ? null : String(v)
  })
}

// --- SQLite ----------------------------------------------------------------

export function openSqlite (tables: ErpTable[]): Database.Database {
  const db = new Database(':memory:')
  for (const t of tables) db.exec(createTableSql(t))
  return db
}

export function fillSqlite (db: Database.Database, tables: ErpTable[], rows: Partial<ErpDataset>): void {
  db.transaction(() => {
    for (const t of tables) {
      db.prepare(`DELETE FROM ${q(t.table)}`).run()
      const insert = db.prepare(`INSERT INTO ${q(t.table)} (id, ${t.columns.map(q).join(', ')}) VALUES (${['?', ...t.columns.map(() => '?')].join(', ')})`)
      for (const row of rows[t.object] ?? []) insert.run(row.id, ...values(row, t))
    }
  })()
}

/** Ids of the rows `where` selects (all rows when where is undefined), ascending. */
export function sqliteIds (db: Database.Database, table: string, where: string | undefined, params: readonly unknown[] = []): number[] {
  const text = `SELECT id FROM ${q(table)}${where !== undefined ? ` WHERE ${where}` : ''} ORDER BY id`
  return (db.prepare(text).all(...params) as Array<{ id: number }>).map((r) => r.id)
}

// --- PostgreSQL --------------------------------------------------------------

export async function createPostgresTables (pool: pg.Pool, tables: ErpTable[]): Promise<void> {
  for (const t of tables) await pool.query(createTableSql(t))
}

export async function fillPostgres (pool: pg.Pool, tables: ErpTable[], rows: Partial<ErpDataset>): Promise<void> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    for (const t of tables) {
      await client.query(`DELETE FROM ${q(t.table)}`)
      const list = rows[t.object] ?? []
      if (list.length === 0) continue
      const columnArrays = t.fields.map((_, i) => list.map((row) => values(row, t)[i]))
      const casts = t.columns.map((_, i) => `$${i + 2}::text[]`)
      await client.query(
        `INSERT INTO ${q(t.table)} (id, ${t.columns.map(q).join(', ')}) SELECT * FROM unnest($1::int[], ${casts.join(', ')})`,
        [list.map((r) => r.id), ...columnArrays])
    }
    await client.query('COMMIT')
  } catch (err) {
    await client.query('ROLLBACK')
    throw err
  } finally {
    client.release()
  }
}

export async function postgresIds (pool: pg.Pool, table: string, where: string | undefined, params: readonly unknown[] = []): Promise<number[]> {
  const text = `SELECT id FROM ${q(table)}${where !== undefined ? ` WHERE ${where}` : ''} ORDER BY id`
  const result = await pool.query<{ id: number }>(text, params as unknown[])
  return result.rows.map((r) => r.id)
}

/** What differs between two ascending id lists, for a readable failure. */
export function idDifference (got: number[], want: number[]): { missing: number[], extra: number[] } {
  const g = new Set(got)
  const w = new Set(want)
  return { missing: want.filter((id) => !g.has(id)), extra: got.filter((id) => !w.has(id)) }
}

/** Row tables typed loosely: the tests address them by name and read only `id`. */
export type AnyDB = Record<string, { id: number }>

/** Kysely over the same SQLite database and PostgreSQL schema the tests loaded; `destroy` closes both. */
export function openKysely (sqlite: Database.Database, poolConfig: pg.PoolConfig): { sqlite: Kysely<AnyDB>, pg: Kysely<AnyDB>, destroy: () => Promise<void> } {
  const onSqlite = new Kysely<AnyDB>({ dialect: new SqliteDialect({ database: sqlite }) })
  const onPg = new Kysely<AnyDB>({ dialect: new PostgresDialect({ pool: new pg.Pool(poolConfig) }) })
  return {
    sqlite: onSqlite,
    pg: onPg,
    destroy: async () => {
      await onPg.destroy()
      await onSqlite.destroy()
    }
  }
}
