// The process: configuration, logger, workers, listen, graceful close. Everything
// else is the app plugin (app.ts), which tests build without listening.
//
// WASM evaluation is synchronous and Node runs JavaScript on one thread, so one
// process uses one core. With `server.workers` above 1 the primary forks that many
// workers (node:cluster); each loads its own policy instance and they share the
// listening socket. The primary only supervises.
import cluster from 'node:cluster'
import { availableParallelism } from 'node:os'
import Fastify from 'fastify'
import verdictApp from './app.js'
import { loadConfig, type Config } from './config.js'

const config = loadConfig()
const workers = config.server.workers === 'auto' ? availableParallelism() : config.server.workers

if (workers > 1 && cluster.isPrimary) {
  await supervise(workers)
} else {
  await serve(config)
}

async function serve (config: Config): Promise<void> {
  const fastify = Fastify({
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
  await fastify.register(verdictApp, { config })

  let closing = false
  const shutdown = async (signal: string): Promise<void> => {
    if (closing) return
    closing = true
    fastify.log.info({ signal }, 'shutting down: no new connections, finishing requests in flight')
    try {
      await fastify.close()
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

async function supervise (count: number): Promise<void> {
  let stopping = false
  const log = (msg: string): void => { process.stdout.write(JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, msg }) + '\n') }
  log(`starting ${count} workers`)
  for (let i = 0; i < count; i++) cluster.fork()

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0)
      return
    }
    // A worker that dies unasked is replaced; its in-flight requests are lost,
    // and the calling service sees a connection error (never an allow).
    log(`worker ${worker.process.pid ?? '?'} exited (${signal ?? code}); starting another`)
    cluster.fork()
  })

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return
    stopping = true
    log(`${signal}: stopping workers (each finishes its requests in flight)`)
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal)
  }
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGINT', () => stop('SIGINT'))
}
