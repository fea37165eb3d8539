// The SQL renderer, dialect by dialect: the exact WHERE text and params for each
// operator, quoting of hostile identifiers, hostile values staying in params, the
// errors a policy defect gets, and — on a real SQLite database — that the
// fragment selects exactly the rows the policy's null-safe semantics match.
import Database from 'better-sqlite3'
import fc from 'fast-check'
import t from 'tap'
import { renderSql, SQL_DIALECTS, isSqlDialect, type SqlDialect, type SqlMapping } from '../../src/rows/sql.js'
import type { Condition, Rows } from '../../src/rows/ucast.js'

const mapping: SqlMapping = { table: 'scmast', columns: { Comp: 'comp_code', Job: 'job_code', Type: 'type_code', Amount: 'amount' } }

const field = (f: string, operator: string, value: unknown): Condition => ({ type: 'field', field: f, operator, value } as Condition)
const compound = (operator: 'and' | 'or' | 'not', value: Condition[]): Condition => ({ type: 'compound', operator, value })
const conditional = (filter: Condition): Rows => ({ kind: 'conditional', filter })

// Each case is written once with neutral markers and expanded per dialect:
// {c} quoted column `c`, ? the next placeholder.
interface RenderCase { name: string, rows: Rows, where: string, params: unknown[] }

const renderCases: RenderCase[] = [
  { name: 'kind all is true', rows: { kind: 'all' }, where: '1=1', params: [] },
  { name: 'kind none is false', rows: { kind: 'none' }, where: '1=0', params: [] },
  { name: 'eq value', rows: conditional(field('Comp', 'eq', '01')), where: '{comp_code} = ?', params: ['01'] },
  { name: 'eq null is IS NULL', rows: conditional(field('Job', 'eq', null)), where: '{job_code} IS NULL', params: [] },
  { name: 'ne value is null-safe', rows: conditional(field('Type', 'ne', 'J')), where: '({type_code} <> ? OR {type_code} IS NULL)', params: ['J'] },
  { name: 'ne null is IS NOT NULL', rows: conditional(field('Type', 'ne', null)), where: '{type_code} IS NOT NULL', params: [] },
  { name: 'in list', rows: conditional(field('Job', 'in', ['23-410', '23-415'])), where: '{job_code} IN (?, ?)', params: ['23-410', '23-415'] },
  { name: 'in empty list is false', rows: conditional(field('Job', 'in', [])), where: '1=0', params: [] },
  { name: 'in list with null', rows: conditional(field('Job', 'in', ['a', null])), where: '({job_code} IN (?) OR {job_code} IS NULL)', params: ['a'] },
  { name: 'in only null', rows: conditional(field('Job', 'in', [null])), where: '{job_code} IS NULL', params: [] },
  { name: 'nin list is null-safe', rows: conditional(field('Job', 'nin', ['a', 'b'])), where: '({job_code} NOT IN (?, ?) OR {job_code} IS NULL)', params: ['a', 'b'] },
  { name: 'nin list with null excludes NULL', rows: conditional(field('Job', 'nin', ['a', null])), where: '{job_code} NOT IN (?)', params: ['a'] },
  { name: 'nin empty list is true', rows: conditional(field('Job', 'nin', [])), where: '1=1', params: [] },
  { name: 'nin only null', rows: conditional(field('Job', 'nin', [null])), where: '{job_code} IS NOT NULL', params: [] },
  { name: 'lt', rows: conditional(field('Amount', 'lt', 10)), where: '{amount} < ?', params: [10] },
  { name: 'lte', rows: conditional(field('Amount', 'lte', 10)), where: '{amount} <= ?', params: [10] },
  { name: 'gt', rows: conditional(field('Amount', 'gt', 10.5)), where: '{amount} > ?', params: [10.5] },
  { name: 'gte', rows: conditional(field('Amount', 'gte', -1)), where: '{amount} >= ?', params: [-1] },
  { name: 'not lt is gte or NULL', rows: conditional(compound('not', [field('Amount', 'lt', 10)])), where: '({amount} >= ? OR {amount} IS NULL)', params: [10] },
  { name: 'not gte is lt', rows: conditional(compound('not', [field('Amount', 'gte', 10)])), where: '({amount} < ? OR {amount} IS NULL)', params: [10] },
  { name: 'not eq is null-safe ne', rows: conditional(compound('not', [field('Comp', 'eq', '01')])), where: '({comp_code} <> ? OR {comp_code} IS NULL)', params: ['01'] },
  { name: 'not ne is eq', rows: conditional(compound('not', [field('Type', 'ne', 'J')])), where: '{type_code} = ?', params: ['J'] },
  { name: 'not not is the condition', rows: conditional(compound('not', [compound('not', [field('Comp', 'eq', '01')])])), where: '{comp_code} = ?', params: ['01'] },
  { name: 'not and is De Morgan', rows: conditional(compound('not', [compound('and', [field('Comp', 'eq', '01'), field('Job', 'eq', null)])])), where: '(({comp_code} <> ? OR {comp_code} IS NULL) OR {job_code} IS NOT NULL)', params: ['01'] },
  { name: 'empty and is true', rows: conditional(compound('and', [])), where: '1=1', params: [] },
  { name: 'empty or is false', rows: conditional(compound('or', [])), where: '1=0', params: [] },
  { name: 'not empty and is false', rows: conditional(compound('not', [compound('and', [])])), where: '1=0', params: [] },
  { name: 'not empty or is true', rows: conditional(compound('not', [compound('or', [])])), where: '1=1', params: [] },
  { name: 'one-child and is the child', rows: conditional(compound('and', [field('Comp', 'eq', '01')])), where: '{comp_code} = ?', params: ['01'] },
  { name: 'booleans and numbers are params', rows: conditional(compound('or', [field('Amount', 'eq', 0), field('Type', 'eq', true)])), where: '({amount} = ? OR {type_code} = ?)', params: [0, true] },
  {
    // The shape application.rego emits: one condition per company, a MASTER
    // company as one condition, a job company with jobs, blank jobs and non-job lines.
    name: 'policy-shaped filter keeps param order',
    rows: conditional(compound('or', [
      field('Comp', 'eq', '01'),
      compound('and', [field('Comp', 'eq', '02'), compound('or', [field('Job', 'in', ['j1', 'j2']), field('Job', 'eq', null), field('Job', 'eq', ''), field('Type', 'ne', 'J')])])
    ])),
    where: '({comp_code} = ? OR ({comp_code} = ? AND ({job_code} IN (?, ?) OR {job_code} IS NULL OR {job_code} = ? OR ({type_code} <> ? OR {type_code} IS NULL))))',
    params: ['01', '02', 'j1', 'j2', '', 'J']
  }
]

const quoteOf: Record<SqlDialect, (c: string) => string> = {
  postgresql: (c) => `"${c}"`,
  sqlite: (c) => `"${c}"`,
  mysql: (c) => `\`${c}\``,
  sqlserver: (c) => `[${c}]`
}

function expand (template: string, dialect: SqlDialect): string {
  let n = 0
  return template
    .replace(/\{([a-z_]+)\}/g, (_m, c: string) => quoteOf[dialect](c))
    .replace(/\?/g, () => {
      n++
      if (dialect === 'postgresql') return `$${n}`
      if (dialect === 'sqlserver') return `@p${n}`
      return '?'
    })
}

t.test('SQL_DIALECTS lists the four dialects', async (t) => {
  t.same([...SQL_DIALECTS], ['postgresql', 'mysql', 'sqlite', 'sqlserver'])
  t.ok(Object.isFrozen(SQL_DIALECTS))
  t.ok(isSqlDialect('sqlite'))
  t.notOk(isSqlDialect('oracle'))
  t.notOk(isSqlDialect(1))
})

for (const dialect of SQL_DIALECTS) {
  t.test(`rendering in ${dialect}`, async (t) => {
    for (const c of renderCases) {
      const rendered = renderSql(c.rows, dialect, mapping)
      t.same(rendered, { dialect, where: expand(c.where, dialect), params: c.params }, c.name)
    }
  })
}

t.test('SQLite binds booleans as 1 and 0 (better-sqlite3 refuses booleans)', async (t) => {
  const rows = conditional(compound('or', [field('Type', 'eq', true), field('Type', 'in', [false, 'x'])]))
  t.same(renderSql(rows, 'sqlite', mapping).params, [1, 0, 'x'])
  t.same(renderSql(rows, 'postgresql', mapping).params, [true, false, 'x'])
})

t.test('hostile column names stay inside their quotes', async (t) => {
  const hostile = ['a"b', 'a`b', 'a]b', 'x" OR 1=1 --', 'x`; DROP TABLE t; --', 'x]; DROP TABLE t; --', 'sélect "ü" /* c */', 'SELECT']
  const expected: Record<SqlDialect, (c: string) => string> = {
    postgresql: (c) => '"' + c.replaceAll('"', '""') + '"',
    sqlite: (c) => '"' + c.replaceAll('"', '""') + '"',
    mysql: (c) => '`' + c.replaceAll('`', '``') + '`',
    sqlserver: (c) => '[' + c.replaceAll(']', ']]') + ']'
  }
  for (const dialect of SQL_DIALECTS) {
    for (const column of hostile) {
      const rendered = renderSql(conditional(field('F', 'eq', 'v')), dialect, { table: 't', columns: { F: column } })
      const quoted = expected[dialect](column)
      t.equal(rendered.where, `${quoted} = ${expand('?', dialect)}`, `${dialect}: ${column}`)
    }
  }
})

const hostileValues = [
  "O'Brien", "01' OR '1'='1", '"; DROP TABLE jcjob; --', '23-410; DELETE FROM jcjob', '-- comment', '/* block */',
  '*/ OR 1=1 /*', 'SELECT * FROM users', 'NULL', '$1', '@p1', '?', '`x`', '[x]', 'Ünïcødé 工程 🚧', '\\', 'a\nb', ''
]

t.test('hostile values are params, never SQL text', async (t) => {
  const filter = compound('or', [
    ...hostileValues.map((v) => field('Comp', 'eq', v)),
    field('Job', 'in', hostileValues),
    compound('not', [field('Type', 'nin', hostileValues)])
  ])
  for (const dialect of SQL_DIALECTS) {
    const { where, params } = renderSql(conditional(filter), dialect, mapping)
    t.same(params, [...hostileValues, ...hostileValues, ...hostileValues], `${dialect}: every value is a param, in order`)
    // What is left once quoted identifiers and placeholders are removed is only
    // SQL keywords, operators and parentheses.
    const stripped = where
      .replace(/"[^"]*"|`[^`]*`|\[[^\]]*\]/g, 'C')
      .replace(/\$\d+|@p\d+|\?/g, 'P')
    t.match(stripped, /^(?:AND|OR|IN|NOT|IS|NULL|[CP()=<>, ])+$/, `${dialect}: only identifiers, placeholders and keywords`)
    // (values that look like a placeholder or a keyword are covered by the match above)
    const textual = hostileValues.filter((v) => v.length > 2 && !['NULL', '@p1'].includes(v))
    for (const v of textual) t.notOk(where.includes(v), `${dialect}: ${JSON.stringify(v)} not in the text`)
  }
})

interface ErrorCase { name: string, rows: Rows, mapping?: SqlMapping, message: RegExp }

const errorCases: ErrorCase[] = [
  { name: 'field not in the mapping', rows: conditional(field('Other', 'eq', '01')), message: /"Other" has no column in the SQL mapping of "scmast"/ },
  { name: 'inherited property as field', rows: conditional(field('constructor', 'eq', '01')), message: /constructor/ },
  { name: '__proto__ as field', rows: conditional(field('__proto__', 'eq', '01')), message: /__proto__/ },
  { name: 'empty column name', rows: conditional(field('Comp', 'eq', '01')), mapping: { table: 't', columns: { Comp: '' } }, message: /no column/ },
  { name: 'column name with NUL', rows: conditional(field('Comp', 'eq', '01')), mapping: { table: 't', columns: { Comp: 'a\u0000b' } }, message: /no column/ },
  { name: 'column that is not a string', rows: conditional(field('Comp', 'eq', '01')), mapping: { table: 't', columns: { Comp: 1 as unknown as string } }, message: /no column/ },
  { name: 'no columns at all', rows: conditional(field('Comp', 'eq', '01')), mapping: { table: 't' } as unknown as SqlMapping, message: /no column/ },
  { name: 'object value', rows: conditional(field('Comp', 'eq', { $ne: 1 })), message: /needs a string, number, boolean or null/ },
  { name: 'array value for eq', rows: conditional(field('Comp', 'eq', ['01'])), message: /needs a string/ },
  { name: 'NaN value', rows: conditional(field('Amount', 'eq', Number.NaN)), message: /needs a string/ },
  { name: 'in with a non-list', rows: conditional(field('Job', 'in', 'a')), message: /needs a list/ },
  { name: 'in with an object in the list', rows: conditional(field('Job', 'in', ['a', { b: 1 }])), message: /needs a list/ },
  { name: 'ordering against null', rows: conditional(field('Amount', 'lt', null)), message: /compares with null/ },
  { name: 'not with two conditions', rows: conditional(compound('not', [field('Comp', 'eq', '1'), field('Comp', 'eq', '2')])), message: /exactly one condition, got 2/ },
  { name: 'not with none', rows: conditional(compound('not', [])), message: /exactly one condition, got 0/ },
  { name: 'unknown field operator', rows: conditional(field('Comp', 'like', '%')), message: /unknown field operator "like"/ },
  { name: 'unknown compound operator', rows: conditional({ type: 'compound', operator: 'xor', value: [] } as unknown as Condition), message: /unknown compound operator "xor"/ },
  { name: 'neither field nor compound', rows: conditional({ type: 'raw', sql: '1=1' } as unknown as Condition), message: /neither a field nor a compound/ },
  { name: 'a condition that is not an object', rows: conditional(compound('and', [null as unknown as Condition])), message: /not an object/ },
  { name: 'field name that is not a string', rows: conditional({ type: 'field', field: 1, operator: 'eq', value: 1 } as unknown as Condition), message: /no field name/ },
  {
    name: 'nesting deeper than 64',
    rows: conditional(Array.from({ length: 70 }).reduce<Condition>((c) => compound('and', [c]), field('Comp', 'eq', '01'))),
    message: /deeper than 64/
  }
]

t.test('a filter SQL cannot express is a policy defect (500), never a filter', async (t) => {
  for (const c of errorCases) {
    for (const dialect of SQL_DIALECTS) {
      t.throws(() => renderSql(c.rows, dialect, c.mapping ?? mapping), { code: 'SQL_RENDER_FAILED', statusCode: 500, message: c.message }, `${c.name} (${dialect})`)
    }
  }
})

t.test('an unknown dialect is a 400 naming the accepted ones', async (t) => {
  for (const bad of ['oracle', 'PostgreSQL', '', 'sqlite; DROP']) {
    t.throws(() => renderSql({ kind: 'all' }, bad as SqlDialect, mapping), {
      code: 'SQL_DIALECT_UNKNOWN',
      statusCode: 400,
      message: /is not one of postgresql, mysql, sqlite, sqlserver/
    }, JSON.stringify(bad))
  }
})

// --- Semantics on a real database --------------------------------------------

// The policy's semantics of a filter on one row: JSON equality (null equals
// null), a missing or NULL field differs from every value, ordering never
// matches a NULL. This is what the single-record check in application.rego does.
type Row = Record<'Comp' | 'Job' | 'Amount', string | number | null>

function matches (c: Condition, row: Row): boolean {
  if (c.type === 'compound') {
    if (c.operator === 'and') return c.value.every((x) => matches(x, row))
    if (c.operator === 'or') return c.value.some((x) => matches(x, row))
    return !matches(c.value[0] as Condition, row)
  }
  const v = row[c.field as keyof Row] ?? null
  switch (c.operator) {
    case 'eq': return v === c.value
    case 'ne': return v !== c.value
    case 'in': return (c.value as unknown[]).includes(v)
    case 'nin': return !(c.value as unknown[]).includes(v)
    case 'lt': return v !== null && (v as number) < (c.value as number)
    case 'lte': return v !== null && (v as number) <= (c.value as number)
    case 'gt': return v !== null && (v as number) > (c.value as number)
    case 'gte': return v !== null && (v as number) >= (c.value as number)
  }
}

const textValue = fc.constantFrom<string | null>('01', '02', '', "o'k", '-- x', null)
const numberValue = fc.constantFrom<number | null>(-1, 0, 5, 10, null)

const conditionArb: fc.Arbitrary<Condition> = fc.letrec<{ c: Condition }>((tie) => ({
  c: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(fc.constantFrom('Comp', 'Job'), fc.constantFrom('eq', 'ne'), textValue).map(([f, op, v]) => field(f, op, v)),
    fc.tuple(fc.constantFrom('Comp', 'Job'), fc.constantFrom('in', 'nin'), fc.array(textValue, { maxLength: 4 })).map(([f, op, v]) => field(f, op, v)),
    fc.tuple(fc.constantFrom('lt', 'lte', 'gt', 'gte', 'eq', 'ne'), fc.constantFrom(-1, 0, 5, 10)).map(([op, v]) => field('Amount', op, v)),
    fc.tuple(fc.constantFrom<'and' | 'or'>('and', 'or'), fc.array(tie('c'), { maxLength: 3 })).map(([op, v]) => compound(op, v)),
    tie('c').map((x) => compound('not', [x]))
  )
})).c

t.test('on SQLite the fragment selects exactly the rows the policy semantics match', async (t) => {
  const db = new Database(':memory:')
  t.teardown(() => db.close())
  db.exec('CREATE TABLE scmast (id INTEGER PRIMARY KEY, comp_code TEXT, job_code TEXT, amount INTEGER)')
  const rowsArb = fc.array(fc.record({ Comp: textValue, Job: textValue, Amount: numberValue }), { minLength: 1, maxLength: 12 })
  fc.assert(fc.property(conditionArb, rowsArb, (filter, rows) => {
    db.exec('DELETE FROM scmast')
    const insert = db.prepare('INSERT INTO scmast (id, comp_code, job_code, amount) VALUES (?, ?, ?, ?)')
    rows.forEach((r, i) => insert.run(i, r.Comp, r.Job, r.Amount))
    const { where, params } = renderSql(conditional(filter), 'sqlite', mapping)
    const selected = (db.prepare(`SELECT id FROM scmast WHERE ${where} ORDER BY id`).all(...params) as Array<{ id: number }>).map((r) => r.id)
    const expected = rows.flatMap((r, i) => matches(filter, r) ? [i] : [])
    return JSON.stringify(selected) === JSON.stringify(expected)
  }), { numRuns: 500 })
  t.pass('500 random filters and row sets agree')
})
