// Prometheus metrics as a shared service: `fastify.metrics` holds a registry of
// its own (never prom-client's global one, so several apps in one process — the
// tests — do not share series). Decisions are counted by the decision log, the
// one path every decision takes; the rest is read when /metrics is scraped
// (authentication counters, decision-log sink counters) or counted from the
// policy store's events (activations and failures).
import type { EventEmitter } from 'node:events'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { DecisionObserver } from '../decision-log/index.js'
import type { AuthnCounters } from '../authn/counters.js'
import type { SinkName, SinkStats } from '../decision-log/sinks/sink.js'

export interface Metrics {
  readonly registry: Registry
  /** counts one decision; `handlerSeconds` is the time from request arrival to the decision */
  readonly observeDecision: DecisionObserver
  policyActivated (source: unknown): void
  policyFailed (source: unknown): void
  /** counts policy activations and failures from a policy store's events */
  watchPolicy (events: EventEmitter): void
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
    help: 'JWKS or discovery fetches made (signing-key cache misses)',
    registers: [registry],
    collect () { setTotal(jwksFetches, sources.authn?.()?.jwksFetches ?? 0) }
  })
  const jwksFailures = new Counter({
    name: 'verdict_jwks_fetch_failures_total',
    help: 'JWKS or discovery fetches that failed or timed out',
    registers: [registry],
    collect () { setTotal(jwksFailures, sources.authn?.()?.jwksFailures ?? 0) }
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

  const sinkStat = (key: keyof SinkStats): ((sink: SinkName) => number | undefined) =>
    (sink) => sources.decisionLog?.()?.[sink]?.[key]
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

/** The policy store's events, when the store has them. */
function policyEvents (fastify: FastifyInstance): EventEmitter | undefined {
  if (!fastify.hasDecorator('policy')) return undefined
  const events = (fastify.policy as { events?: unknown }).events
  return events !== null && typeof events === 'object' && typeof (events as EventEmitter).on === 'function' ? events as EventEmitter : undefined
}

export default fp(async (fastify) => {
  const metrics = createMetrics({
    authn: () => fastify.hasDecorator('authnCounters') ? fastify.authnCounters : undefined,
    decisionLog: () => fastify.hasDecorator('decisionLog') ? fastify.decisionLog.stats() : undefined
  })
  fastify.decorate('metrics', metrics)
  if (fastify.hasDecorator('policy')) {
    // The first load runs while the engine registers, before anyone can listen
    // to its events: count what it left behind, then follow the events.
    const status = fastify.policy.status() as { state: string, source?: unknown }
    if (status.state === 'ready' || status.state === 'degraded') metrics.policyActivated(status.source)
    else if (status.state === 'failed') metrics.policyFailed(status.source)
  }
  const events = policyEvents(fastify)
  if (events) metrics.watchPolicy(events)
}, { name: 'metrics' })
