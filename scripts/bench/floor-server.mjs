// The HTTP floor of the benchmark: a bare Fastify route that parses the JSON
// body like Verdict does and answers a constant of a decision's size. Whatever
// Verdict adds above this (authentication, evaluation, logging) is its cost.
// BENCH_FLOOR_PORT and BENCH_FLOOR_BODY come from scripts/bench/processes.mjs.
import Fastify from 'fastify'

const body = process.env.BENCH_FLOOR_BODY ?? '{}'
const fastify = Fastify({ logger: false })
fastify.post('/v1/decide', async (_request, reply) => {
  reply.type('application/json; charset=utf-8')
  return body
})
fastify.get('/ready', async () => ({ ready: true }))
await fastify.listen({ host: '127.0.0.1', port: Number(process.env.BENCH_FLOOR_PORT) })
process.once('SIGTERM', () => { fastify.close().finally(() => process.exit(0)) })
