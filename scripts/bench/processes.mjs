// The processes a benchmark run starts (the OPA server, Verdict, the HTTP floor)
// and the guarantee that none outlives the run: every child is registered here
// and killed on exit, on Ctrl-C/SIGTERM and when the run fails or hangs.
import { spawn } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { Pool } from 'undici'

const children = new Set()
const tmpDirs = new Set()

function killChildren () {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
}

process.on('exit', () => {
  killChildren()
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true })
})
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    console.error(`bench: ${signal}, stopping`)
    process.exit(130) // the 'exit' handler kills the children
  })
}

/** A directory removed when the run ends, however it ends (it holds dev secrets). */
export function removeOnExit (dir) {
  tmpDirs.add(dir)
  return dir
}

/** Ends the run after `ms` whatever it is doing: a hung server cannot keep it alive. */
export function watchdog (ms) {
  setTimeout(() => {
    console.error(`bench: still running after ${Math.round(ms / 1000)} s; giving up`)
    process.exit(2)
  }, ms).unref()
}

/** SIGTERM, then SIGKILL whatever has not exited within 2 s. */
export async function stopChild (child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise((resolve) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve() }, 2000)
    child.once('exit', () => { clearTimeout(timer); resolve() })
    child.kill('SIGTERM')
  })
}

export async function stopAll () {
  await Promise.all([...children].map(stopChild))
}

export async function freePort () {
  const server = createServer()
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

function start (command, args, options) {
  const output = []
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options })
  children.add(child)
  child.stdout.on('data', (c) => output.push(c))
  child.stderr.on('data', (c) => output.push(c))
  child.tail = () => Buffer.concat(output).toString('utf8').slice(-2000).trim()
  return child
}

/**
 * Waits until `path` answers 200 `times` times in a row (with several workers
 * behind one socket, every worker should have answered once), or fails.
 */
async function waitReady (child, origin, { path = '/ready', times = 1, timeoutMs = 180_000 } = {}) {
  const deadline = Date.now() + timeoutMs
  const probe = new Pool(origin, { connections: 1 })
  let inARow = 0
  try {
    while (inARow < times) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`pid ${child.pid} exited (${child.signalCode ?? child.exitCode}): ${child.tail()}`)
      if (Date.now() > deadline) throw new Error(`${origin} not ready in ${timeoutMs / 1000} s: ${child.tail()}`)
      try {
        const res = await probe.request({ path, method: 'GET', headersTimeout: 5000, bodyTimeout: 5000 })
        await res.body.text()
        inARow = res.statusCode === 200 ? inARow + 1 : 0
      } catch {
        inARow = 0
      }
      if (inARow === 0) await new Promise((resolve) => setTimeout(resolve, 50))
    }
  } finally {
    await probe.close()
  }
}

export async function startOpa (opaBin, policyDir) {
  const port = await freePort()
  const child = start(opaBin, ['run', '--server', '--addr', `127.0.0.1:${port}`, '--log-level', 'error', policyDir], {
    env: { ...process.env, OPA_TELEMETRY: 'false' }
  })
  const origin = `http://127.0.0.1:${port}`
  await waitReady(child, origin, { path: '/health' })
  return { child, origin }
}

/**
 * `node dist/server.js` (the real process: node:cluster workers, decision-log
 * sinks, graceful close) with `config` written to a file in `tmp`; the port is
 * chosen here. Resolves when /ready answered 200 from every worker (as far as
 * round-robin lets us tell), with the time that took.
 */
export async function startVerdict (root, tmp, name, config) {
  const port = await freePort()
  const file = join(tmp, `verdict-${name}.json`) // JSON is YAML: loadConfig reads it
  const workers = config.server?.workers ?? 1
  await writeFile(join(file), JSON.stringify({ ...config, server: { logLevel: 'silent', ...config.server, workers, host: '127.0.0.1', port } }))
  const t0 = performance.now()
  const child = start(process.execPath, [
    // e.g. BENCH_VERDICT_EXEC_ARGV="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the server
    ...(process.env.BENCH_VERDICT_EXEC_ARGV ?? '').split(' ').filter(Boolean),
    join(root, 'dist', 'server.js')
  ], { cwd: root, env: { ...process.env, VERDICT_CONFIG: file } })
  const origin = `http://127.0.0.1:${port}`
  await waitReady(child, origin, { times: 2 * workers })
  return { child, origin, name, workers, startMs: performance.now() - t0 }
}

/** The HTTP floor: a bare Fastify route answering `body` (scripts/bench/floor-server.mjs). */
export async function startFloor (root, body) {
  const port = await freePort()
  const child = start(process.execPath, [join(root, 'scripts', 'bench', 'floor-server.mjs')], {
    cwd: root,
    env: { ...process.env, BENCH_FLOOR_PORT: String(port), BENCH_FLOOR_BODY: body }
  })
  const origin = `http://127.0.0.1:${port}`
  await waitReady(child, origin, { path: '/ready' })
  return { child, origin }
}

/** Resident set of a process in bytes (Linux /proc); NaN elsewhere. */
export function rssBytes (pid) {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : NaN
  } catch {
    return NaN
  }
}
