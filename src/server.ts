// The process: configuration, logger, workers, listen, graceful close. Everything
// else is the app plugin (app.ts), which tests build without listening.
// `node dist/server.js` (npm start) runs it directly; `verdict serve` calls
// startServer().
//
// WASM evaluation is synchronous and Node runs JavaScript on one thread, so one
// process uses one core. With `server.workers` above 1 the primary forks that many
// workers (node:cluster); they share the listening socket. The primary serves no
// HTTP: it reads the policy source once (compiles, or downloads and verifies)
// and switches every worker to each new bundle together (src/fleet/primary.ts);
// it also aggregates /metrics and counts Basic failures for all. A worker re-runs
// the same entry (this file, or `verdict serve`), sees it is a worker and serves;
// its answers carry `x-verdict-worker` (its cluster id) so a client can tell
// the workers apart.
//
// Shutdown (SIGTERM, SIGINT): stop accepting connections, answer the requests in
// flight (keep-alive connections are closed after their answer; a request that
// arrives on one meanwhile gets 503), flush the decision logs, exit 0. Requests
// still running after `server.shutdownTimeoutMs` have their connections cut so a
// hung request cannot hold the process.
import cluster from 'node:cluster'
import { realpathSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import Fastify, { type FastifyInstance } from 'fastify'
import verdictApp from './app.js'
import { resolveAuthnConfig } from './authn/config.js'
import { serveSharedThrottle } from './authn/throttle-ipc.js'
import { loadConfig, type Config } from './config.js'
import { serverLimitOptions } from './http/client-errors.js'
import { httpsOptions, watchTlsFiles, type SecureServer } from './tls/index.js'
import { serveClusterMetrics } from './metrics/cluster.js'
import { startFleetPrimary } from './fleet/primary.js'
import { FLEET_ENV } from './fleet/protocol.js'
import { primaryLog } from './fleet/log.js'

export async function startServer (config: Config): Promise<void> {
  const workers = config.server.workers === 'auto' ? availableParallelism() : config.server.workers
  if (workers > 1 && cluster.isPrimary) await supervise(workers, config)
  else await serve(config)
}

export function createServer (config: Config): FastifyInstance {
  const tls = config.server.tls
  // Request timeouts (slow bodies), the header limit and their {code, message}
  // answers. With TLS fastify hands Node only the https options: the limits go there.
  const limits = serverLimitOptions(config.server)
  return Fastify({
    ...(tls !== undefined ? { https: { ...httpsOptions(tls), ...limits.http } } : { http: limits.http }),
    requestTimeout: limits.requestTimeout,
    clientErrorHandler: limits.clientErrorHandler,
    logger: {
      level: config.server.logLevel,
      // Credentials never reach the log, wherever a serializer might put them.
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'], censor: '[redacted]' }
    },
    bodyLimit: config.server.bodyLimitBytes,
    // The calling service's request id is kept so its logs and ours line up.
    requestIdHeader: 'x-request-id',
    return503OnClosing: true
  })
}

async function serve (config: Config): Promise<void> {
  const fastify = createServer(config)
  await fastify.register(verdictApp, { config })
  const tls = config.server.tls
  if (tls !== undefined) {
    const stopWatching = watchTlsFiles(fastify.server as unknown as SecureServer, tls, fastify.log)
    fastify.addHook('onClose', async () => { stopWatching() })
  }

  let closing = false
  const workerId = cluster.isWorker ? String(cluster.worker?.id ?? '') : undefined
  // Once shutdown starts, every answer closes its connection, so idle keep-alive
  // connections do not hold the server open until their timeout.
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    if (workerId !== undefined) reply.header('x-verdict-worker', workerId)
    done(null, payload)
  })

  const shutdown = async (signal: string): Promise<void> => {
    if (closing) return
    closing = true
    const limit = config.server.shutdownTimeoutMs
    fastify.log.info({ signal, shutdownTimeoutMs: limit }, 'shutting down: no new connections, finishing requests in flight')
    const cutOff = setTimeout(() => {
      fastify.log.warn({ shutdownTimeoutMs: limit }, 'requests still running at the shutdown deadline: closing their connections')
      fastify.server.closeAllConnections()
    }, limit)
    // The last resort, should closing itself hang (a plugin's onClose that never ends).
    const hardStop = setTimeout(() => {
      fastify.log.error('shutdown did not finish in time; exiting')
      process.exit(1)
    }, limit + config.decisionLogs.closeTimeoutMs + 5000)
    hardStop.unref()
    try {
      // fastify.close(): stop listening, wait for the requests in flight, then the
      // plugins' onClose hooks (the decision log flushes there).
      await fastify.close()
      clearTimeout(cutOff)
      fastify.log.info('shut down cleanly')
      process.exit(0)
    } catch (err) {
      fastify.log.error({ err }, 'shutdown failed')
      process.exit(1)
    }
  }
  process.once('SIGTERM', () => { shutdown('SIGTERM').catch(() => process.exit(1)) })
  process.once('SIGINT', () => { shutdown('SIGINT').catch(() => process.exit(1)) })

  try {
    await fastify.listen({ host: config.server.host, port: config.server.port })
  } catch (err) {
    fastify.log.error({ err }, 'cannot listen')
    process.exit(1)
  }
}

async function supervise (count: number, config: Config): Promise<void> {
  let stopping = false
  const log = (msg: string): void => { process.stdout.write(JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, msg }) + '\n') }
  const logger = primaryLog(config.server.logLevel)
  // Basic failures are counted here for all workers, so more workers do not mean more guesses.
  serveSharedThrottle(cluster, resolveAuthnConfig(config.authn).basic.rateLimit)
  serveClusterMetrics()
  // The policy source is read here, once, for every worker.
  let fleet: Awaited<ReturnType<typeof startFleetPrimary>>
  try {
    fleet = await startFleetPrimary({ policy: config.policy, configured: count, log: logger })
  } catch (err) {
    logger.error({ err: { message: (err as Error).message } }, 'cannot read the policy source')
    process.exit(1)
  }
  log(`starting ${count} workers`)
  const fork = (): void => { cluster.fork({ [FLEET_ENV]: '1' }) }
  for (let i = 0; i < count; i++) fork()

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0)
      return
    }
    // A worker that dies unasked is replaced; its in-flight requests are lost,
    // and the calling service sees a connection error (never an allow). The
    // replacement gets the fleet's bundle from the primary when it says HELLO.
    log(`worker ${worker.process.pid ?? '?'} exited (${signal ?? code}); starting another`)
    fork()
  })

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return
    stopping = true
    fleet.close()
    log(`${signal}: stopping workers (each finishes its requests in flight and flushes its decision log)`)
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal)
  }
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGINT', () => stop('SIGINT'))
}

function isEntry (): boolean {
  const entry = process.argv[1]
  if (entry === undefined) return false
  try {
    return realpathSync(entry) === fileURLToPath(import.meta.url)
  } catch {
    return false
  }
}

if (isEntry()) {
  let config: Config
  try {
    config = loadConfig()
  } catch (err) {
    process.stderr.write(`verdict: ${(err as Error).message}\n`)
    process.exit(1)
  }
  await startServer(config)
}
