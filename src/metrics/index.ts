// Prometheus metrics as a shared service: `fastify.metrics` holds a registry of
// its own (never prom-client's global one, so several apps in one process — the
// tests — do not share series). Decisions are counted by the decision log, the
// one path every decision takes; answers by route and status class by an
// onResponse hook; the rest is read when /metrics is scraped (authentication
// counters, decision-log sink counters) or follows the policy store's events
// (activations, failures, the active revision). With several workers, one
// /metrics answer aggregates them all (cluster.ts).
import type { EventEmitter } from 'node:events'
import fp from 'fastify-plugin'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { DecisionObserver } from '../decision-log/index.js'
import type { AuthnCounters } from '../authn/counters.js'
import type { SinkName, SinkStats } from '../decision-log/sinks/sink.js'
import { shareWithPrimary } from './cluster.js'

export interface Metrics {
  readonly registry: Registry
  /** the decision log's sink counters, read at each scrape (the decision log registers after metrics) */
  setDecisionLogStats (read: () => Partial<Record<SinkName, SinkStats>>): void
  /** counts one HTTP answer by route and status class */
  observeResponse (route: string, method: string, statusCode: number): void
  /** counts one decision; `handlerSeconds` is the time from request arrival to the decision */
  readonly observeDecision: DecisionObserver
  policyActivated (source: unknown): void
  policyFailed (source: unknown): void
  /** counts policy activations and failures from a policy store's events */
  watchPolicy (events: EventEmitter): void
  /** the active policy, for verdict_policy_info */
  policyActive (policy: { revision: string, digest: string, source: string }): void
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

export interface MetricsSources {
  authn?: () => Readonly<AuthnCounters> | undefined
  decisionLog?: () => Partial<Record<SinkName, SinkStats>> | undefined
}

// The authentication counters exported, by name: [metric, help, counter field].
const AUTHN_TOTALS: Array<[string, string, keyof AuthnCounters]> = [
  ['verdict_jwt_verifications_total', 'JWT signature verifications performed', 'jwtVerifications'],
  ['verdict_jwt_cache_hits_total', 'Bearer tokens answered from the verified-token cache', 'jwtCacheHits'],
  ['verdict_jwks_refetches_suppressed_total', 'Unknown key ids answered without a fetch because the last fetch was too recent', 'jwksRefetchesSuppressed'],
  ['verdict_jwks_unknown_kid_refetches_total', 'Key-set fetches started by an unknown key id', 'jwksUnknownKidRefetches'],
  ['verdict_basic_throttled_total', 'Basic attempts refused unchecked because their (account, client) or client is being throttled', 'basicRateLimited'],
  ['verdict_basic_cache_hits_total', 'Basic credentials answered from the verified-credential cache', 'basicCacheHits'],
  ['verdict_basic_cache_misses_total', 'Basic credentials that had to be hashed (not in the verified-credential cache)', 'basicCacheMisses'],
  ['verdict_basic_secrets_reloads_total', 'Reloads of the Basic secrets file after a change', 'secretsReloads'],
  ['verdict_basic_secrets_reload_failures_total', 'Reloads of the Basic secrets file that failed (every Basic credential refused until fixed)', 'secretsReloadFailures']
]

// Decisions are sub-millisecond to a few milliseconds (a JWKS fetch is the slow
// path), so the buckets are fine-grained at the low end.
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

/** Sets a counter to a monotonic total kept elsewhere (prom-client counters have no set()). */
function setTotal (counter: Counter<string>, value: number, labels: Record<string, string> = {}): void {
  counter.remove(labels)
  counter.inc(labels, value)
}

export function createMetrics (sources: MetricsSources = {}): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })

  const decisions = new Counter({
    name: 'verdict_decisions_total',
    help: 'Decisions made, by result (allow/deny), the status the caller should answer with, and the layer of the deciding (last) reason',
    labelNames: ['result', 'status', 'layer'] as const,
    registers: [registry]
  })
  const latency = new Histogram({
    name: 'verdict_decision_duration_seconds',
    help: 'Time from the arrival of a decision request to its decision (each batch item counts once)',
    buckets: LATENCY_BUCKETS,
    registers: [registry]
  })

  const jwksFetches = new Counter({
    name: 'verdict_jwks_fetches_total',
    help: 'JWKS or discovery fetches made (start, background refresh, unknown key ids)',
    registers: [registry],
    collect () { setTotal(jwksFetches, sources.authn?.()?.jwksFetches ?? 0) }
  })
  const jwksFailures = new Counter({
    name: 'verdict_jwks_fetch_failures_total',
    help: 'JWKS or discovery fetches that failed or timed out',
    registers: [registry],
    collect () { setTotal(jwksFailures, sources.authn?.()?.jwksFailures ?? 0) }
  })

  for (const [name, help, field] of AUTHN_TOTALS) {
    const counter: Counter<string> = new Counter({
      name,
      help,
      registers: [registry],
      collect () { setTotal(counter, Number(sources.authn?.()?.[field] ?? 0)) }
    })
  }
  const authnResults: Counter<'method' | 'result'> = new Counter({
    name: 'verdict_authn_total',
    help: 'Authentications by method (jwt, basic) and result (accepted, rejected)',
    labelNames: ['method', 'result'] as const,
    registers: [registry],
    collect () {
      const c = sources.authn?.()
      if (c === undefined) return
      const set = (method: string, result: string, value: number): void => setTotal(authnResults as Counter<string>, value, { method, result })
      set('jwt', 'accepted', c.jwtAccepted)
      set('jwt', 'rejected', c.jwtRejected)
      set('basic', 'accepted', c.basicAccepted)
      set('basic', 'rejected', c.basicRejected)
    }
  })
  const authnRejects: Counter<'reason'> = new Counter({
    name: 'verdict_authn_rejects_total',
    help: 'Authentication refusals by reason code (the 401 reason the caller got)',
    labelNames: ['reason'] as const,
    registers: [registry],
    collect () {
      for (const [reason, value] of Object.entries(sources.authn?.()?.rejectsByReason ?? {})) {
        if (value > 0) setTotal(authnRejects as Counter<string>, value, { reason })
      }
    }
  })
  const responses = new Counter({
    name: 'verdict_http_responses_total',
    help: 'HTTP answers by route, method and status class (2xx, 4xx, 5xx): an engine failure shows here as a 5xx',
    labelNames: ['route', 'method', 'status_class'] as const,
    registers: [registry]
  })
  // Summed across workers: each series' value is the number of workers serving that revision.
  const policyInfo = new Gauge({
    name: 'verdict_policy_info',
    help: 'The active policy (value: number of worker processes serving it)',
    labelNames: ['revision', 'digest', 'source'] as const,
    registers: [registry]
  })
  const lastActivation = new Gauge({
    name: 'verdict_policy_last_activation_timestamp_seconds',
    help: 'When a policy was last activated (Unix time; the latest of all workers)',
    aggregator: 'max',
    registers: [registry]
  })

  const activations = new Counter({
    name: 'verdict_policy_activations_total',
    help: 'Policies (directory builds or bundles) activated, by source',
    labelNames: ['source'] as const,
    registers: [registry]
  })
  const activationFailures = new Counter({
    name: 'verdict_policy_activation_failures_total',
    help: 'Policy loads refused (compile errors, bad or unverified bundles), by source; the last good policy keeps serving',
    labelNames: ['source'] as const,
    registers: [registry]
  })

  let decisionLogStats = sources.decisionLog
  const sinkStat = (key: keyof SinkStats): ((sink: SinkName) => number | undefined) =>
    (sink) => decisionLogStats?.()?.[sink]?.[key]
  const perSink = (counter: Counter<'sink'>, read: (sink: SinkName) => number | undefined): void => {
    for (const sink of ['console', 'file', 'http'] as const) {
      const value = read(sink)
      if (value !== undefined) setTotal(counter as Counter<string>, value, { sink })
    }
  }
  const dropped: Counter<'sink'> = new Counter({
    name: 'verdict_decision_log_dropped_total',
    help: 'Decision-log events lost, by sink: dropped oldest from a full buffer, failed writes, or unsent when closing ran out of time',
    labelNames: ['sink'] as const,
    registers: [registry],
    collect () { perSink(dropped, sinkStat('dropped')) }
  })
  const written: Counter<'sink'> = new Counter({
    name: 'verdict_decision_log_written_total',
    help: 'Decision-log events written or uploaded, by sink',
    labelNames: ['sink'] as const,
    registers: [registry],
    collect () { perSink(written, sinkStat('written')) }
  })
  const failures: Counter<'sink'> = new Counter({
    name: 'verdict_decision_log_failures_total',
    help: 'Failed decision-log write or upload attempts, by sink (for http: each failed upload, retries included)',
    labelNames: ['sink'] as const,
    registers: [registry],
    collect () { perSink(failures, sinkStat('failures')) }
  })
  const buffered: Gauge<'sink'> = new Gauge({
    name: 'verdict_decision_log_buffered',
    help: 'Decision-log events waiting to be written or uploaded, by sink',
    labelNames: ['sink'] as const,
    registers: [registry],
    collect () {
      for (const sink of ['console', 'file', 'http'] as const) {
        const value = sinkStat('buffered')(sink)
        if (value !== undefined) buffered.set({ sink }, value)
      }
    }
  })

  const metrics: Metrics = {
    registry,
    setDecisionLogStats (read) { decisionLogStats = read },
    observeResponse (route, method, statusCode) {
      responses.inc({ route, method, status_class: `${Math.floor(statusCode / 100)}xx` })
    },
    policyActive (policy) {
      policyInfo.reset()
      policyInfo.set({ revision: policy.revision, digest: policy.digest, source: policy.source }, 1)
      lastActivation.set(Date.now() / 1000)
    },
    observeDecision (decision, handlerSeconds) {
      const layer = decision.reasons.at(-1)?.layer ?? 'none'
      decisions.inc({ result: decision.allow ? 'allow' : 'deny', status: String(decision.status), layer })
      if (handlerSeconds !== undefined) latency.observe(handlerSeconds)
    },
    policyActivated (source) { activations.inc({ source: sourceLabel(source) }) },
    policyFailed (source) { activationFailures.inc({ source: sourceLabel(source) }) },
    watchPolicy (events) {
      events.on('activated', (e: { source?: unknown } | undefined) => { metrics.policyActivated(e?.source) })
      events.on('failed', (e: { source?: unknown } | undefined) => { metrics.policyFailed(e?.source) })
    }
  }
  return metrics
}

function sourceLabel (source: unknown): string {
  return typeof source === 'string' && source !== '' ? source.slice(0, 200) : 'unknown'
}

export default fp(async (fastify) => {
  const metrics = createMetrics({ authn: () => fastify.authnCounters })
  fastify.decorate('metrics', metrics)
  shareWithPrimary(metrics.registry)
  const store = fastify.policy
  // The first load runs when the app is ready, after this plugin registers, so
  // the store's events carry every activation and failure.
  metrics.watchPolicy(store.events)
  store.events.on('activated', (e) => { metrics.policyActive(e) })
  fastify.addHook('onResponse', (request, reply, done) => {
    metrics.observeResponse(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode)
    done()
  })
}, { name: 'metrics', dependencies: ['authn', 'engine'] })
