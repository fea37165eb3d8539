// The Kysely helper on both real databases (SQLite through better-sqlite3, and a
// PostgreSQL server): every operator with NULLs and blanks in the data, `not`
// pushed down, qualified columns in a join, composition with the query's own
// WHERE, values only in parameters, and the errors that keep a scope it cannot
// apply from ever becoming an unfiltered query. A property test holds the helper,
// Verdict's own SQL renderer and a reference reading of UCAST to the same rows.
import Database from 'better-sqlite3'
import fc from 'fast-check'
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely'
import pg from 'pg'
import t from 'tap'
import { applyRows, rowsCondition, RowsFilterError } from '../../packages/client/src/kysely.js'
import { renderSql, type SqlDialect } from '../../src/rows/sql.js'
import type { Condition, Rows } from '../../src/rows/ucast.js'
import { startTestPostgres } from '../helpers/postgres.js'
import { matches } from '../helpers/ucast-eval.js'

interface DB { t: { id: number, a: string | null, b: number | null } }

const TABLE_ROWS: Array<DB['t']> = [
  { id: 1, a: 'x', b: 1 },
  { id: 2, a: 'y', b: 2 },
  { id: 3, a: '', b: 3 },
  { id: 4, a: null, b: null },
  { id: 5, a: "o'k; -- /* DROP TABLE t */", b: 10 },
  { id: 6, a: 'x', b: null },
  { id: 7, a: null, b: 5 }
]
const ALL_IDS = TABLE_ROWS.map((r) => r.id)
const columns = { A: 'a', B: 'b' }
const mapping = { table: 't', columns }

const f = (field: string, operator: string, value: unknown): Condition => ({ type: 'field', field, operator, value } as Condition)
const and = (...value: Condition[]): Condition => ({ type: 'compound', operator: 'and', value })
const or = (...value: Condition[]): Condition => ({ type: 'compound', operator: 'or', value })
const not = (c: Condition): Condition => ({ type: 'compound', operator: 'not', value: [c] })
const conditional = (filter: Condition): Rows => ({ kind: 'conditional', filter })
const referenceIds = (filter: Condition): number[] => TABLE_ROWS.filter((r) => matches({ A: r.a, B: r.b }, filter)).map((r) => r.id)

interface Target {
  name: SqlDialect
  db: Kysely<DB>
  /** ids the raw WHERE fragment of Verdict's renderer selects */
  rendered: (rows: Rows) => Promise<number[]>
}

async function sqliteTarget (): Promise<Target> {
  const raw = new Database(':memory:')
  raw.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b INTEGER)')
  const insert = raw.prepare('INSERT INTO t (id, a, b) VALUES (?, ?, ?)')
  for (const r of TABLE_ROWS) insert.run(r.id, r.a, r.b)
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: raw }) })
  return {
    name: 'sqlite',
    db,
    rendered: async (rows) => {
      const { where, params } = renderSql(rows, 'sqlite', mapping)
      return (raw.prepare(`SELECT id FROM t WHERE ${where} ORDER BY id`).all(...params) as Array<{ id: number }>).map((r) => r.id)
    }
  }
}

const server = await startTestPostgres()
t.teardown(() => server.close())
await server.pool.query('CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b INTEGER)')
for (const r of TABLE_ROWS) await server.pool.query('INSERT INTO t (id, a, b) VALUES ($1, $2, $3)', [r.id, r.a, r.b])
const pgKysely = new Kysely<DB>({ dialect: new PostgresDialect({ pool: new pg.Pool(server.poolConfig) }) })
const sqlite = await sqliteTarget()
t.teardown(async () => {
  await pgKysely.destroy()
  await sqlite.db.destroy()
})
const targets: Target[] = [
  sqlite,
  {
    name: 'postgresql',
    db: pgKysely,
    rendered: async (rows) => {
      const { where, params } = renderSql(rows, 'postgresql', mapping)
      return (await server.pool.query<{ id: number }>(`SELECT id FROM t WHERE ${where} ORDER BY id`, params)).rows.map((r) => r.id)
    }
  }
]

async function ids (db: Kysely<DB>, rows: Rows): Promise<number[]> {
  const found = await applyRows(db.selectFrom('t').select('id').orderBy('id'), rows, { columns }).execute()
  return found.map((r) => r.id)
}

// Expected ids are written out: the reference reading is checked against them too.
const cases: Array<{ name: string, rows: Rows, ids: number[] }> = [
  { name: 'all leaves the query unrestricted', rows: { kind: 'all' }, ids: ALL_IDS },
  { name: 'none selects no row', rows: { kind: 'none' }, ids: [] },
  { name: 'eq value', rows: conditional(f('A', 'eq', 'x')), ids: [1, 6] },
  { name: 'eq blank is not NULL', rows: conditional(f('A', 'eq', '')), ids: [3] },
  { name: 'eq null is IS NULL', rows: conditional(f('A', 'eq', null)), ids: [4, 7] },
  { name: 'ne value keeps NULL rows', rows: conditional(f('A', 'ne', 'x')), ids: [2, 3, 4, 5, 7] },
  { name: 'ne null is IS NOT NULL', rows: conditional(f('A', 'ne', null)), ids: [1, 2, 3, 5, 6] },
  { name: 'in list', rows: conditional(f('A', 'in', ['x', 'y'])), ids: [1, 2, 6] },
  { name: 'in [] is false', rows: conditional(f('A', 'in', [])), ids: [] },
  { name: 'in with null matches NULL', rows: conditional(f('A', 'in', ['y', null])), ids: [2, 4, 7] },
  { name: 'in only null', rows: conditional(f('A', 'in', [null])), ids: [4, 7] },
  { name: 'nin keeps NULL rows', rows: conditional(f('A', 'nin', ['x', ''])), ids: [2, 4, 5, 7] },
  { name: 'nin with null drops NULL rows', rows: conditional(f('A', 'nin', ['x', null])), ids: [2, 3, 5] },
  { name: 'nin [] is true', rows: conditional(f('A', 'nin', [])), ids: ALL_IDS },
  { name: 'nin only null', rows: conditional(f('A', 'nin', [null])), ids: [1, 2, 3, 5, 6] },
  { name: 'lt never matches NULL', rows: conditional(f('B', 'lt', 3)), ids: [1, 2] },
  { name: 'lte', rows: conditional(f('B', 'lte', 3)), ids: [1, 2, 3] },
  { name: 'gt', rows: conditional(f('B', 'gt', 3)), ids: [5, 7] },
  { name: 'gte', rows: conditional(f('B', 'gte', 5)), ids: [5, 7] },
  { name: 'not lt is gte or NULL', rows: conditional(not(f('B', 'lt', 3))), ids: [3, 4, 5, 6, 7] },
  { name: 'not eq keeps NULL rows', rows: conditional(not(f('A', 'eq', 'x'))), ids: [2, 3, 4, 5, 7] },
  { name: 'not in keeps NULL rows', rows: conditional(not(f('A', 'in', ['x', 'y']))), ids: [3, 4, 5, 7] },
  { name: 'not and is De Morgan', rows: conditional(not(and(f('A', 'eq', 'x'), f('B', 'eq', null)))), ids: [1, 2, 3, 4, 5, 7] },
  { name: 'not not', rows: conditional(not(not(f('A', 'eq', 'x')))), ids: [1, 6] },
  { name: 'empty and is true', rows: conditional(and()), ids: ALL_IDS },
  { name: 'empty or is false', rows: conditional(or()), ids: [] },
  { name: 'not empty or is true', rows: conditional(not(or())), ids: ALL_IDS },
  { name: 'not empty and is false', rows: conditional(not(and())), ids: [] },
  { name: 'hostile value is only a parameter', rows: conditional(f('A', 'eq', "o'k; -- /* DROP TABLE t */")), ids: [5] },
  {
    name: 'policy-shaped filter',
    rows: conditional(or(f('A', 'eq', 'y'), and(f('A', 'eq', 'x'), or(f('B', 'in', [1, 2]), f('B', 'eq', null))), and(f('A', 'eq', null), f('B', 'ne', 4)))),
    ids: [1, 2, 4, 6, 7]
  }
]

for (const target of targets) {
  t.test(`${target.name}: each operator selects what the policy means`, async (t) => {
    for (const c of cases) {
      if (c.rows.kind === 'conditional') t.same(referenceIds(c.rows.filter), c.ids, `reference: ${c.name}`)
      t.same(await ids(target.db, c.rows), c.ids, `kysely: ${c.name}`)
      t.same(await target.rendered(c.rows), c.ids, `renderSql: ${c.name}`)
    }
  })

  t.test(`${target.name}: the scope is ANDed with the query's own conditions`, async (t) => {
    const q = target.db.selectFrom('t').select('id').where('b', '>=', 2).orderBy('id')
    const found = await applyRows(q, conditional(or(f('A', 'eq', 'x'), f('A', 'eq', 'y'), f('A', 'eq', null))), { columns }).execute()
    t.same(found.map((r) => r.id), [2, 7])
  })

  t.test(`${target.name}: a column may name the table of a join`, async (t) => {
    const q = target.db.selectFrom('t as r').innerJoin('t as s', 's.id', 'r.id').select('r.id').orderBy('r.id')
    const found = await applyRows(q, conditional(f('A', 'ne', 'x')), { columns: { A: 'r.a' } }).execute()
    t.same(found.map((r) => r.id), [2, 3, 4, 5, 7])
  })

  t.test(`${target.name}: rowsCondition serves update and delete queries`, async (t) => {
    const condition = rowsCondition(conditional(f('A', 'eq', 'nothing-matches')), { columns })
    t.ok(condition)
    if (condition === undefined) return
    const result = await target.db.updateTable('t').set({ b: 99 }).where(condition).executeTakeFirst()
    t.equal(Number(result.numUpdatedRows), 0)
    t.equal(rowsCondition({ kind: 'all' }, { columns }), undefined, 'all is no condition')
  })
}

t.test('values never appear in the SQL text; identifiers are quoted', async (t) => {
  const hostile = "x'); DELETE FROM t; --"
  for (const target of targets) {
    const compiled = applyRows(target.db.selectFrom('t').select('id'), conditional(and(f('A', 'in', [hostile, 'y']), f('B', 'ne', 3))), { columns }).compile()
    t.notOk(compiled.sql.includes('DELETE'), `${target.name}: ${compiled.sql}`)
    t.match(compiled.sql, /"a" in \(/, `${target.name}: column quoted`)
    t.same(compiled.parameters, [hostile, 'y', 3], `${target.name}: params in order`)
  }
  t.same(await ids(sqlite.db, conditional(f('A', 'eq', hostile))), [])
  t.same((await sqlite.db.selectFrom('t').select('id').execute()).length, TABLE_ROWS.length, 'table intact')
})

t.test('what cannot be applied throws and never widens the query', async (t) => {
  const q = sqlite.db.selectFrom('t').select('id')
  const bad: Array<{ name: string, rows: unknown, code: string }> = [
    { name: 'a field without a column', rows: conditional(f('Job', 'eq', 'x')), code: 'FIELD_UNMAPPED' },
    { name: 'a field inherited from Object.prototype', rows: conditional(f('toString', 'eq', 'x')), code: 'FIELD_UNMAPPED' },
    { name: 'unknown kind', rows: { kind: 'some' }, code: 'ROWS_INVALID' },
    { name: 'rows not an object', rows: null, code: 'ROWS_INVALID' },
    { name: 'condition not an object', rows: { kind: 'conditional', filter: 'A = 1' }, code: 'ROWS_INVALID' },
    { name: 'unknown condition type', rows: { kind: 'conditional', filter: { type: 'sql', value: '1=1' } }, code: 'ROWS_INVALID' },
    { name: 'compound value not a list', rows: { kind: 'conditional', filter: { type: 'compound', operator: 'or', value: {} } }, code: 'ROWS_INVALID' },
    { name: 'unknown compound operator', rows: { kind: 'conditional', filter: { type: 'compound', operator: 'xor', value: [] } }, code: 'ROWS_INVALID' },
    { name: 'not with two conditions', rows: conditional({ type: 'compound', operator: 'not', value: [f('A', 'eq', 'x'), f('A', 'eq', 'y')] }), code: 'ROWS_INVALID' },
    { name: 'unknown field operator', rows: conditional(f('A', 'like', '%')), code: 'ROWS_INVALID' },
    { name: 'field name not a string', rows: conditional(f(7 as unknown as string, 'eq', 'x')), code: 'ROWS_INVALID' },
    { name: 'object value', rows: conditional(f('A', 'eq', { $ne: 1 })), code: 'VALUE_INVALID' },
    { name: 'in with a non-list', rows: conditional(f('A', 'in', 'x')), code: 'VALUE_INVALID' },
    { name: 'in with an object in the list', rows: conditional(f('A', 'in', ['x', {}])), code: 'VALUE_INVALID' },
    { name: 'infinite number', rows: conditional(f('B', 'eq', Infinity)), code: 'VALUE_INVALID' },
    { name: 'ordering against null', rows: conditional(f('B', 'lt', null)), code: 'VALUE_INVALID' }
  ]
  let deep: Condition = f('A', 'eq', 'x')
  for (let i = 0; i < 70; i++) deep = not(deep)
  bad.push({ name: 'nesting beyond 64 levels', rows: conditional(deep), code: 'ROWS_INVALID' })
  for (const b of bad) {
    t.throws(() => applyRows(q, b.rows as Rows, { columns }), { name: 'RowsFilterError', code: b.code }, b.name)
  }
  t.throws(() => applyRows(q, conditional(f('A', 'eq', 'x')), undefined as unknown as { columns: Record<string, string> }),
    { name: 'RowsFilterError', code: 'FIELD_UNMAPPED' }, 'no options at all')
  try {
    applyRows(q, conditional(f('Job', 'eq', 'x')), { columns })
  } catch (err) {
    t.ok(err instanceof RowsFilterError, 'a RowsFilterError instance')
    t.match((err as Error).message, /"Job".*no column/, 'the message names the field')
  }
})

// Random filters over A (text with blanks and NULLs) and B (integers with NULLs).
const textValue = fc.constantFrom('x', 'y', '', "o'k; -- /* DROP TABLE t */", 'zz', null)
const intValue = fc.constantFrom(1, 2, 3, 5, 10, 42, null)
const leaf: fc.Arbitrary<Condition> = fc.oneof(
  fc.record({ field: fc.constant('A'), operator: fc.constantFrom('eq', 'ne'), value: textValue }),
  fc.record({ field: fc.constant('B'), operator: fc.constantFrom('eq', 'ne'), value: intValue }),
  fc.record({ field: fc.constant('A'), operator: fc.constantFrom('in', 'nin'), value: fc.array(textValue, { maxLength: 4 }) }),
  fc.record({ field: fc.constant('B'), operator: fc.constantFrom('in', 'nin'), value: fc.array(intValue, { maxLength: 4 }) }),
  fc.record({ field: fc.constant('B'), operator: fc.constantFrom('lt', 'lte', 'gt', 'gte'), value: fc.constantFrom(0, 2, 3, 6, 11) })
).map((x) => ({ type: 'field', ...x } as Condition))
const { tree } = fc.letrec<{ tree: Condition }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.record({ type: fc.constant('compound'), operator: fc.constantFrom('and', 'or'), value: fc.array(tie('tree'), { maxLength: 3 }) }) as fc.Arbitrary<Condition>,
    tie('tree').map((c) => not(c)))
}))

const SEED = 4242
t.test(`random filters: kysely = renderSql = reference on both databases (fast-check seed ${SEED})`, async (t) => {
  await fc.assert(fc.asyncProperty(tree, async (filter) => {
    const want = referenceIds(filter)
    for (const target of targets) {
      const rows = conditional(filter)
      const viaKysely = await ids(target.db, rows)
      const viaRenderer = await target.rendered(rows)
      if (JSON.stringify(viaKysely) !== JSON.stringify(want) || JSON.stringify(viaRenderer) !== JSON.stringify(want)) {
        throw new Error(`${target.name}: kysely ${JSON.stringify(viaKysely)}, renderSql ${JSON.stringify(viaRenderer)}, reference ${JSON.stringify(want)} for ${JSON.stringify(filter)}`)
      }
    }
  }), { seed: SEED, numRuns: 300 })
  t.pass('300 random filters agree')
})
