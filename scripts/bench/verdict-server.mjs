// The Verdict app in its own process for the benchmark, built the way
// src/server.ts builds it but with the logger off, on a loopback port chosen by
// the OS. The parent (scripts/bench.mjs) passes the configuration in
// BENCH_VERDICT_CONFIG and is told the port over IPC. Exits when the parent
// goes away.
import Fastify from 'fastify'

const dist = new URL('../../dist/', import.meta.url)
const { default: verdictApp } = await import(new URL('app.js', dist).href)
const { parseConfig } = await import(new URL('config.js', dist).href)

const config = parseConfig(JSON.parse(process.env.BENCH_VERDICT_CONFIG ?? '{}'))
const fastify = Fastify({
  logger: false,
  bodyLimit: config.server.bodyLimitBytes,
  requestIdHeader: 'x-request-id',
  return503OnClosing: true
})
await fastify.register(verdictApp, { config })
await fastify.listen({ host: '127.0.0.1', port: 0 })

const stop = () => { fastify.close().finally(() => process.exit(0)) }
process.once('disconnect', stop)
process.once('SIGTERM', stop)
process.send({ ready: true, port: fastify.server.address().port })
