// A real nginx for the gateway tests, on a free loopback port, with its own
// prefix, config and temp directories — no root, nothing system-wide touched.
//
// The binary: `nginx` on PATH (or /usr/sbin/nginx, where Debian's nginx-light
// puts it; scripts/install-system-packages.sh installs it). When there is none,
// Debian's package is fetched without root — `apt-get download` plus
// `dpkg-deb -x` into a cache directory outside the checkout
// (VERDICT_NGINX_CACHE, default ~/.cache/verdict/nginx) — and that binary runs.
// When that is impossible too, the test fails with a message saying what to
// install: a gateway test is never skipped.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants, existsSync, readdirSync } from 'node:fs'
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import { homedir, tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

function executable (path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function onPath (name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && executable(join(dir, name))) return join(dir, name)
  }
  return undefined
}

export const NGINX_CACHE = process.env.VERDICT_NGINX_CACHE ?? join(homedir(), '.cache', 'verdict', 'nginx')

/** The nginx binary to run: installed, cached, or fetched now (Debian package, no root). */
export async function nginxBinary (): Promise<string> {
  const installed = onPath('nginx') ?? (executable('/usr/sbin/nginx') ? '/usr/sbin/nginx' : undefined)
  if (installed !== undefined) return installed
  const cached = join(NGINX_CACHE, 'root', 'usr', 'sbin', 'nginx')
  if (executable(cached)) return cached
  try {
    await fetchDebianNginx()
  } catch (err) {
    throw new Error('the gateway tests need nginx and none is installed: install Debian\'s nginx-light ' +
      '(sudo scripts/install-system-packages.sh, or apt-get install nginx-light); fetching it without root ' +
      `(apt-get download + dpkg-deb -x into ${NGINX_CACHE}) failed: ${(err as Error).message}`)
  }
  if (!executable(cached)) throw new Error(`the Debian nginx packages unpacked into ${NGINX_CACHE} hold no usr/sbin/nginx`)
  return cached
}

// Debian 12's nginx-light is a metapackage: the binary is in `nginx`. Older
// releases ship it in nginx-light itself; both are unpacked. Work happens in a
// fresh directory renamed into place, so concurrent test files never see half a tree.
async function fetchDebianNginx (): Promise<void> {
  await mkdir(join(NGINX_CACHE, '..'), { recursive: true })
  const work = await mkdtemp(`${NGINX_CACHE}.fetch-`)
  try {
    const debs = join(work, 'debs')
    await mkdir(debs)
    for (const pkg of ['nginx-light', 'nginx']) {
      try {
        await run('apt-get', ['download', pkg], { cwd: debs, timeout: 120_000 })
      } catch (err) {
        if (pkg === 'nginx') throw new Error(`apt-get download ${pkg}: ${(err as { stderr?: string }).stderr?.trim() ?? (err as Error).message}`)
      }
    }
    const files = readdirSync(debs).filter((f) => f.endsWith('.deb'))
    if (files.length === 0) throw new Error('apt-get download fetched no package')
    for (const file of files) await run('dpkg-deb', ['-x', join(debs, file), join(work, 'root')], { timeout: 60_000 })
    await rm(debs, { recursive: true, force: true })
    try {
      await rename(work, NGINX_CACHE)
    } catch (err) {
      // Another test file got there first: its tree is as good as ours.
      if (!existsSync(join(NGINX_CACHE, 'root', 'usr', 'sbin', 'nginx'))) throw err
    }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

/** A port nothing listens on right now (loopback). */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => { resolve(port) })
    })
  })
}

async function accepts (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => { resolve(false) })
  })
}

export interface RunningNginx {
  /** the ports the config listens on, as given */
  ports: number[]
  /** what nginx wrote to standard error so far */
  stderr: () => string
  close: () => Promise<void>
}

/**
 * Starts nginx with `http` as the body of its `http {}` block (listening on
 * `ports`, which must be free) and waits until every port accepts connections.
 */
export async function startNginx (http: string, ports: number[]): Promise<RunningNginx> {
  const binary = await nginxBinary()
  const prefix = await mkdtemp(join(tmpdir(), 'verdict-nginx-'))
  const temp = (name: string): string => join(prefix, 'temp', name)
  const config = [
    'daemon off;',
    'master_process off;',
    'worker_processes 1;',
    `pid ${join(prefix, 'nginx.pid')};`,
    'error_log stderr warn;',
    'events { worker_connections 128; }',
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${temp('body')};`,
    `  proxy_temp_path ${temp('proxy')};`,
    `  fastcgi_temp_path ${temp('fastcgi')};`,
    `  uwsgi_temp_path ${temp('uwsgi')};`,
    `  scgi_temp_path ${temp('scgi')};`,
    http,
    '}',
    ''
  ].join('\n')
  const file = join(prefix, 'nginx.conf')
  await mkdir(join(prefix, 'temp'), { recursive: true })
  await writeFile(file, config)
  let errors = ''
  const child: ChildProcess = spawn(binary, ['-p', prefix, '-c', file, '-e', 'stderr'], { stdio: ['ignore', 'ignore', 'pipe'] })
  child.stderr?.on('data', (chunk: Buffer) => { errors += chunk.toString() })
  let running = true
  const exited = new Promise<void>((resolve) => { child.once('exit', () => { running = false; resolve() }) })

  const close = async (): Promise<void> => {
    if (running) child.kill('SIGTERM')
    await exited
    await rm(prefix, { recursive: true, force: true })
  }
  const deadline = Date.now() + 10_000
  for (;;) {
    if (!running) {
      await close()
      throw new Error(`nginx (${binary}) exited at start: ${errors.trim()}`)
    }
    if ((await Promise.all(ports.map(accepts))).every(Boolean)) break
    if (Date.now() > deadline) {
      await close()
      throw new Error(`nginx (${binary}) did not listen on ${ports.join(', ')} within 10 s: ${errors.trim()}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { ports, stderr: () => errors, close }
}
