// The decision log as a shared service: every decision (and every batch item)
// goes through `fastify.decisionLog.record()`, called by the decision service
// (src/decision) with the request it parsed, so nothing here re-reads a body.
// record() is synchronous and cheap: it counts the decision (metrics) and notes
// the values the decision already has. The rest happens off the request path,
// in one batch per turn of the event loop (pending.ts), after the answers of
// that turn are written: the service-log line, one OPA-shaped event per
// decision (event.ts), redacted and serialized once, its line handed to each
// configured sink's bounded buffer. Sinks write many lines per write; a full
// buffer drops its oldest events and counts them. On close, what waits is
// encoded and written within `decisionLogs.closeTimeoutMs`.
//
// The event is built from the same objects the answer was serialized from, a
// moment later: whoever holds a decision after record() must copy it, never
// change it (redaction copies on write for the same reason).
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import cluster from 'node:cluster'
import type { Writable } from 'node:stream'
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { PolicyInput } from '../contract/policy.js'
import type { Decision, DecisionRequest } from '../contract/wire.js'
import { ConfigInvalidError } from '../errors.js'
import type { DecisionLogsConfig } from './config.js'
import { buildEvent, type DecisionLogEvent, type EventFacts } from './event.js'
import { PendingBatch } from './pending.js'
import { BoundedQueue } from './queue.js'
import { ConsoleSink } from './sinks/console.js'
import { FileSink, workerFilePath } from './sinks/file.js'
import { HttpSink } from './sinks/http.js'
import type { Sink, SinkName, SinkStats } from './sinks/sink.js'

export type { DecisionLogEvent } from './event.js'
export type { SinkName, SinkStats } from './sinks/sink.js'

/** One decision as the decision service hands it over. */
export interface DecisionRecord {
  decision: Decision
  /** the decision request as parsed (a batch item's own request for a batch) */
  request: DecisionRequest
  /** the policy input, when the policy was evaluated (absent when authentication failed) */
  input?: PolicyInput
  /** nanoseconds spent in the policy evaluation (OPA's timer_rego_query_eval_ns) */
  evalNs?: number
}

export interface DecisionLog {
  /**
   * Records one decision. `request` is the HTTP request it was made for (its
   * log, id, address and arrival time); what was decided on is in `record`.
   */
  record (request: FastifyRequest, record: DecisionRecord): void
}

export interface DecisionLogService extends DecisionLog {
  /** the `labels.id` of every event: this process's instance id */
  readonly instanceId: string
  /** the labels of every event (configured labels, id and version): status reports carry the same */
  readonly labels: DecisionLogEvent['labels']
  stats (): Partial<Record<SinkName, SinkStats>>
  /** events that could not even be built (a bug, counted rather than thrown at a decision) */
  readonly eventFailures: number
  close (timeoutMs?: number): Promise<void>
}

/** A recorded decision waiting to be encoded. */
interface Pending {
  request: FastifyRequest
  decision: Decision
  facts: EventFacts
}

/** Called once per recorded decision, before the event is built (metrics hang here). */
export type DecisionObserver = (decision: Decision, handlerSeconds: number | undefined) => void

export interface DecisionLogOptions {
  config: DecisionLogsConfig
  /** the policy entrypoint, the event's `path` */
  path: string
  log: FastifyBaseLogger
  observe?: DecisionObserver
  /** where the console sink writes (standard output by default) */
  stdout?: Writable
  /** the cluster worker id; each worker writes its own decision-log file */
  workerId?: number
}

declare module 'fastify' {
  interface FastifyInstance {
    decisionLog: DecisionLogService
  }
}

export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version

// When each request arrived, for the handler timer (fastify keeps none on the request).
const receivedAt = new WeakMap<object, bigint>()

export function markReceived (request: FastifyRequest): void {
  receivedAt.set(request.raw, process.hrtime.bigint())
}

function handlerNanos (request: FastifyRequest): number | undefined {
  const start = receivedAt.get(request.raw)
  return start === undefined ? undefined : Number(process.hrtime.bigint() - start)
}

/** The log receiver's token, read once; a file that cannot be read stops the start. */
function readBearerToken (file: string | undefined): string | undefined {
  if (file === undefined) return undefined
  let token: string
  try {
    token = readFileSync(file, 'utf8').trim()
  } catch (err) {
    throw new ConfigInvalidError(`/decisionLogs/http/bearerTokenFile: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  // A header value cannot carry line breaks or be empty; say so instead of sending a broken request.
  if (token === '' || /[\r\n]/.test(token)) throw new ConfigInvalidError(`/decisionLogs/http/bearerTokenFile: ${file} must hold one non-empty line`)
  return token
}

function createSinks (opts: DecisionLogOptions): Sink[] {
  const { config, log } = opts
  const queue = (): BoundedQueue => new BoundedQueue({ maxEvents: config.bufferMaxEvents, maxBytes: config.bufferMaxBytes })
  const sinks: Sink[] = []
  if (config.console) sinks.push(new ConsoleSink(queue(), log, opts.stdout))
  if (config.file) sinks.push(new FileSink(queue(), log, { ...config.file, path: workerFilePath(config.file.path, opts.workerId) }))
  if (config.http) sinks.push(new HttpSink(queue(), log, config.http, readBearerToken(config.http.bearerTokenFile)))
  return sinks
}

export function createDecisionLog (opts: DecisionLogOptions): DecisionLogService {
  const instanceId = randomUUID()
  const sinks = createSinks(opts)
  const labels: DecisionLogEvent['labels'] = { ...opts.config.labels, id: instanceId, version: VERSION }
  const ctx = { labels, path: opts.path, rules: { mask: opts.config.mask, erase: opts.config.erase } }
  let eventFailures = 0
  let closed: Promise<void> | undefined

  const encode = (pending: Pending): void => {
    const { request, decision } = pending
    request.log.info({
      decision_id: decision.decision_id,
      allow: decision.allow,
      status: decision.status,
      principal: decision.principal?.id,
      action: decision.action,
      endpoint: `${decision.endpoint.module}/${decision.endpoint.resource}`,
      reasons: decision.reasons.map((r) => r.code)
    }, 'decision')
    if (sinks.length === 0) return
    let line: string
    try {
      line = JSON.stringify(buildEvent(ctx, pending.facts))
    } catch (err) {
      // Logging never fails a decision: the decision is answered, the loss counted.
      eventFailures++
      request.log.error({ err, decision_id: decision.decision_id }, 'decision log: event could not be built')
      return
    }
    for (const sink of sinks) sink.enqueue(line)
  }
  const pending = new PendingBatch<Pending>(opts.config.bufferMaxEvents, (batch) => { for (const item of batch) encode(item) })

  return {
    instanceId,
    labels,
    get eventFailures () { return eventFailures },
    record (request, { decision, request: decided, input, evalNs }) {
      const ns = handlerNanos(request)
      opts.observe?.(decision, ns === undefined ? undefined : ns / 1e9)
      // What the event needs from the request, taken now: the request may be
      // recycled once answered, and the clock has moved by the time it is encoded.
      pending.add({
        request,
        decision,
        facts: {
          decision,
          ...(input !== undefined ? { input } : { request: decided }),
          requestedBy: request.ip,
          requestId: String(request.id),
          now: new Date(),
          ...(ns !== undefined ? { handlerNs: ns } : {}),
          ...(evalNs !== undefined ? { evalNs } : {})
        }
      })
      // After close began, nothing would come back for a later turn's batch.
      if (closed !== undefined) pending.flush()
    },
    stats () {
      const out: Partial<Record<SinkName, SinkStats>> = {}
      for (const sink of sinks) {
        // A decision dropped before it was encoded is lost to every sink.
        const stats = sink.stats()
        out[sink.name] = { ...stats, dropped: stats.dropped + pending.dropped, buffered: stats.buffered + pending.length }
      }
      return out
    },
    async close (timeoutMs = opts.config.closeTimeoutMs) {
      pending.flush()
      closed ??= Promise.all(sinks.map(async (sink) => { await sink.close(timeoutMs) })).then(() => undefined)
      await closed
    }
  }
}

export interface DecisionLogPluginOptions {
  config: DecisionLogsConfig
  path: string
  stdout?: Writable
}

export default fp<DecisionLogPluginOptions>(async (fastify, opts) => {
  const service = createDecisionLog({
    config: opts.config,
    path: opts.path,
    log: fastify.log,
    // Decisions are counted here, in the one path every decision takes.
    observe: fastify.metrics.observeDecision,
    ...(opts.stdout !== undefined ? { stdout: opts.stdout } : {}),
    ...(cluster.isWorker && cluster.worker ? { workerId: cluster.worker.id } : {})
  })
  fastify.decorate('decisionLog', service)
  fastify.metrics.setDecisionLogStats(() => service.stats())
  const stopDropWarnings = warnOnDrops(service, fastify.log)
  fastify.addHook('onRequest', (request, _reply, done) => { markReceived(request); done() })
  // fastify runs onClose after the requests in flight are answered, so their
  // events are already buffered when this flush starts.
  fastify.addHook('onClose', async () => { stopDropWarnings(); await service.close() })
}, { name: 'decision-log', dependencies: ['metrics'] })

/** How often lost events are looked for and, when there are new ones, logged (one warning per sink at most). */
export const DROP_WARNING_INTERVAL_MS = 10_000

/**
 * Lost events are counted in the metrics, and also logged: a warning per sink
 * when its count of dropped events grew since the last look, at most once per
 * interval, so a flood of drops cannot flood the log too.
 */
export function warnOnDrops (service: Pick<DecisionLogService, 'stats'>, log: Pick<FastifyBaseLogger, 'warn'>, intervalMs = DROP_WARNING_INTERVAL_MS): () => void {
  const seen: Partial<Record<SinkName, number>> = {}
  const timer = setInterval(() => {
    for (const [sink, stats] of Object.entries(service.stats()) as Array<[SinkName, SinkStats]>) {
      const before = seen[sink] ?? 0
      if (stats.dropped > before) {
        log.warn({ sink, dropped: stats.dropped - before, droppedTotal: stats.dropped }, 'decision-log events were lost (buffer full, failed writes or closing): see verdict_decision_log_dropped_total')
      }
      seen[sink] = stats.dropped
    }
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}
