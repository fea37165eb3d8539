// createMetrics on its own: what it reports without sources, and the edge cases
// of the decision counter and the policy-event subscription.
import { EventEmitter } from 'node:events'
import t from 'tap'
import { createMetrics } from '../../src/metrics/index.js'
import type { Decision } from '../../src/engine/decide.js'

const decision = (over: Partial<Decision>): Decision => ({
  decision_id: 'd',
  allow: false,
  status: 403,
  principal: null,
  action: 'retrieve',
  endpoint: { module: 'jc', resource: 'jcjob' },
  reasons: [],
  rows: { kind: 'none' },
  policy: { revision: 'r', digest: 'sha256:x' },
  ...over
})

t.test('without sources the read-through series are zero or absent', async (t) => {
  const m = createMetrics()
  const text = await m.registry.metrics()
  t.match(text, /^verdict_jwks_fetches_total 0$/m)
  t.match(text, /^verdict_jwks_fetch_failures_total 0$/m)
  t.notMatch(text, /verdict_decision_log_dropped_total\{/, 'no sink, no per-sink series')
})

t.test('a decision without reasons counts under layer "none"; no timing, no observation', async (t) => {
  const m = createMetrics()
  m.observeDecision(decision({}), undefined)
  m.observeDecision(decision({ allow: true, status: 200, reasons: [{ layer: 'api', code: 'bypass', message: '' }] }), 0.002)
  const text = await m.registry.metrics()
  t.match(text, /^verdict_decisions_total\{result="deny",status="403",layer="none"\} 1$/m)
  t.match(text, /^verdict_decisions_total\{result="allow",status="200",layer="api"\} 1$/m)
  t.match(text, /^verdict_decision_duration_seconds_count 1$/m)
  t.match(text, /^verdict_decision_duration_seconds_bucket\{le="0.0025"\} 1$/m)
  t.match(text, /^verdict_decision_duration_seconds_bucket\{le="0.001"\} 0$/m)
})

t.test('policy events: activations and failures by source', async (t) => {
  const m = createMetrics()
  const events = new EventEmitter()
  m.watchPolicy(events)
  events.emit('activated', { revision: 'a', digest: 'd', source: 'url' })
  events.emit('activated', { revision: 'b', digest: 'd', source: 'url' })
  events.emit('failed', { error: new Error('bad signature'), source: 'url' })
  events.emit('failed', {})
  const text = await m.registry.metrics()
  t.match(text, /^verdict_policy_activations_total\{source="url"\} 2$/m)
  t.match(text, /^verdict_policy_activation_failures_total\{source="url"\} 1$/m)
  t.match(text, /^verdict_policy_activation_failures_total\{source="unknown"\} 1$/m)
})

t.test('each app has its own registry', async (t) => {
  const a = createMetrics()
  const b = createMetrics()
  a.observeDecision(decision({}), 0.001)
  t.match(await a.registry.metrics(), /^verdict_decision_duration_seconds_count 1$/m)
  t.match(await b.registry.metrics(), /^verdict_decision_duration_seconds_count 0$/m)
})
