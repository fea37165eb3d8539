// scripts/test-postgres.sh (which .ci/run calls) and test/helpers/postgres.ts
// (which every database test uses): a private cluster starts on loopback and is
// gone after stop; a given server (VERDICT_TEST_PG_URL) is used with one schema
// per test file; and no server or no binaries is a failure that names the fix,
// never a skip.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import t from 'tap'
import { PG_SCRIPT, startTestPostgres } from '../helpers/postgres.js'

const run = promisify(execFile)

async function script (args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await run('bash', [PG_SCRIPT, ...args], { env, timeout: 120_000 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code?: number, stdout?: string, stderr?: string }
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

/** The environment without a configured server, so the helper must start its own. */
function withoutServer (extra: Record<string, string> = {}): () => void {
  const saved = { url: process.env.VERDICT_TEST_PG_URL, bindir: process.env.PG_BINDIR }
  delete process.env.VERDICT_TEST_PG_URL
  Object.assign(process.env, extra)
  return () => {
    if (saved.url !== undefined) process.env.VERDICT_TEST_PG_URL = saved.url
    if (saved.bindir !== undefined) process.env.PG_BINDIR = saved.bindir
    else delete process.env.PG_BINDIR
  }
}

t.test('the script starts a loopback server, the helper shares it by schema, stop removes it', async (t) => {
  // A fresh private directory, as .ci/run makes with mktemp -d.
  const dir = await mkdtemp(join(tmpdir(), 'verdict-pg-script-'))
  const started = await script(['start', dir])
  t.equal(started.code, 0, started.stderr)
  const url = started.stdout.trim()
  t.match(url, /^postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/, 'one line: the URL, on 127.0.0.1')
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  const r = await admin.query<{ one: number, addr: string }>('SELECT 1 AS one, inet_server_addr()::text AS addr')
  t.same(r.rows[0], { one: 1, addr: '127.0.0.1/32' }, 'answers on loopback')

  // The server as VERDICT_TEST_PG_URL: one schema per test file.
  const saved = process.env.VERDICT_TEST_PG_URL
  process.env.VERDICT_TEST_PG_URL = url
  try {
    const a = await startTestPostgres()
    const b = await startTestPostgres()
    t.equal(a.url, url)
    t.not(a.schema, b.schema, 'two files, two schemas')
    await a.pool.query('CREATE TABLE jcjob (id INTEGER PRIMARY KEY)')
    await a.pool.query('INSERT INTO jcjob VALUES (1)')
    await b.pool.query('CREATE TABLE jcjob (id INTEGER PRIMARY KEY)')
    t.equal((await b.pool.query('SELECT * FROM jcjob')).rowCount, 0, 'the same table name, apart')
    await a.close()
    await a.close() // a second close is harmless
    await b.close()
    const left = await admin.query('SELECT schema_name FROM information_schema.schemata WHERE schema_name = ANY($1)', [[a.schema, b.schema]])
    t.equal(left.rowCount, 0, 'the schemas are dropped')
    t.equal((await admin.query('SELECT 1')).rowCount, 1, 'the server stays up for others')
  } finally {
    if (saved === undefined) delete process.env.VERDICT_TEST_PG_URL
    else process.env.VERDICT_TEST_PG_URL = saved
    await admin.end()
  }

  const stopped = await script(['stop', dir])
  t.equal(stopped.code, 0)
  t.notOk(existsSync(dir), 'the directory is removed')
  const refused = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
  await t.rejects(refused.connect(), 'the server is gone')
})

t.test('bad usage and missing binaries fail with the fix in the message', async (t) => {
  const usage = await script([])
  t.equal(usage.code, 2)
  t.match(usage.stderr, /usage: .* start <dir> \| stop <dir>/)
  t.equal((await script(['restart', '/tmp/x'])).code, 2)
  const dir = join(tmpdir(), 'verdict-pg-never-created')
  const missing = await script(['start', dir], { ...process.env, PG_BINDIR: '/nonexistent/bin' })
  t.equal(missing.code, 3)
  t.match(missing.stderr, /install Debian's `postgresql` package/)
  t.notOk(existsSync(dir), 'nothing left behind')

  const restore = withoutServer({ PG_BINDIR: '/nonexistent/bin' })
  t.teardown(restore)
  await t.rejects(startTestPostgres(), { message: /could not start a PostgreSQL server.*Debian's `postgresql` package/s }, 'the helper fails, naming the package')
})

t.test('a given server that does not answer is a failure, not a skip', async (t) => {
  const saved = process.env.VERDICT_TEST_PG_URL
  process.env.VERDICT_TEST_PG_URL = 'postgresql://postgres:secret@127.0.0.1:9/postgres'
  t.teardown(() => {
    if (saved === undefined) delete process.env.VERDICT_TEST_PG_URL
    else process.env.VERDICT_TEST_PG_URL = saved
  })
  const err = await startTestPostgres().then(() => undefined, (e: Error) => e)
  t.match(err?.message, /cannot use the PostgreSQL server at postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:9\/postgres/, 'names the server, hides the password')
  t.notMatch(err?.message, /secret/)
})

t.test('without a given server the helper starts and removes its own', async (t) => {
  const restore = withoutServer()
  t.teardown(restore)
  const own = await startTestPostgres()
  t.match(own.url, /^postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/)
  t.equal((await own.pool.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]?.s, own.schema, 'search_path is the file\'s schema')
  await own.close()
  const gone = new pg.Client({ connectionString: own.url, connectionTimeoutMillis: 2000 })
  await t.rejects(gone.connect(), 'stopped at close')
})
