// A real PostgreSQL server for the database tests. With VERDICT_TEST_PG_URL set
// (.ci/run starts one cluster and exports it) that server is used; otherwise a
// private cluster is started for this test file with scripts/test-postgres.sh,
// the same script .ci/run calls, and stopped and removed at the end. Each test
// file works in its own schema, so files running in parallel on one server never
// see each other's tables. No server and no binaries is a failure with the fix in
// the message, never a skipped test.
import { execFile, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import pg from 'pg'

const execFileAsync = promisify(execFile)
export const PG_SCRIPT = fileURLToPath(new URL('../../scripts/test-postgres.sh', import.meta.url))

export interface TestPostgres {
  /** the server's URL (without the schema) */
  url: string
  /** this test file's schema; every pool connection has it as search_path */
  schema: string
  /** where the tables of this test file live */
  pool: pg.Pool
  /** pg connection settings with the schema as search_path (for other pools, e.g. Kysely's) */
  poolConfig: pg.PoolConfig
  close: () => Promise<void>
}

export async function startTestPostgres (): Promise<TestPostgres> {
  const fromEnv = process.env.VERDICT_TEST_PG_URL
  let url: string
  let stopCluster = async (): Promise<void> => {}
  if (fromEnv !== undefined && fromEnv !== '') {
    url = fromEnv
  } else {
    const cluster = await startPrivateCluster()
    url = cluster.url
    stopCluster = cluster.stop
  }

  const schema = 'verdict_test_' + randomBytes(6).toString('hex')
  const admin = new pg.Client({ connectionString: url })
  try {
    await admin.connect()
    await admin.query(`CREATE SCHEMA ${schema}`)
  } catch (err) {
    await admin.end().catch(() => {})
    await stopCluster()
    throw new Error(`cannot use the PostgreSQL server at ${redact(url)} (${(err as Error).message}); ` +
      'set VERDICT_TEST_PG_URL to a server the tests may create schemas in, or unset it to start a private one')
  }
  await admin.end()

  const poolConfig: pg.PoolConfig = { connectionString: url, options: `-c search_path=${schema}`, max: 4 }
  const pool = new pg.Pool(poolConfig)
  let closed = false
  return {
    url,
    schema,
    pool,
    poolConfig,
    async close () {
      if (closed) return
      closed = true
      try {
        await pool.query(`DROP SCHEMA ${schema} CASCADE`)
      } finally {
        await pool.end()
        await stopCluster()
      }
    }
  }
}

async function startPrivateCluster (): Promise<{ url: string, stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-pg-'))
  let url: string
  try {
    const { stdout } = await execFileAsync('bash', [PG_SCRIPT, 'start', dir], { timeout: 120_000 })
    url = stdout.trim()
  } catch (err) {
    stopSync(dir)
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim()
    throw new Error('could not start a PostgreSQL server for the database tests: ' +
      (stderr !== '' ? stderr : (err as Error).message) +
      " (the tests need Debian's `postgresql` package, or VERDICT_TEST_PG_URL naming a server)")
  }
  // If the test process dies before close(), the cluster must not outlive it.
  const onExit = (): void => stopSync(dir)
  process.once('exit', onExit)
  return {
    url,
    async stop () {
      process.removeListener('exit', onExit)
      await execFileAsync('bash', [PG_SCRIPT, 'stop', dir], { timeout: 60_000 })
    }
  }
}

function stopSync (dir: string): void {
  try {
    execFileSync('bash', [PG_SCRIPT, 'stop', dir], { stdio: 'ignore', timeout: 60_000 })
  } catch {
    // best effort on the way out
  }
}

function redact (url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')
}
