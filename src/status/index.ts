// OPA-compatible status reporting. On every activation or failed load, and on an
// interval, one JSON report in the shape of OPA's status API
// (labels, bundles.<name>.active_revision, last successful download and
// activation, errors, metrics, plugins) is POSTed to the status service.
//
// Reports are informational and never hold up a decision: they are sent one at a
// time off the request path; a report that fails is logged (once per kind of
// failure) and the next one carries the current state.
import { readFile } from 'node:fs/promises'
import fp from 'fastify-plugin'
import { BUNDLE_NAME } from '../decision-log/event.js'
import type { StatusConfig } from './config.js'

export interface BundleStatus {
  name: string
  active_revision?: string
  active_digest?: string
  last_successful_activation?: string
  last_successful_download?: string
  last_request?: string
  code?: string
  message?: string
  errors?: string[]
  metrics: { activations: number, failures: number }
}

export interface StatusReport {
  labels: Record<string, string> & { id: string, version: string }
  bundles: Record<string, BundleStatus>
  plugins: Record<string, { state: 'OK' | 'NOT_READY' | 'ERROR', message?: string }>
}

export interface StatusReporter {
  /** The report as it would be sent now. */
  report: () => StatusReport
  /** Sends a report now (after the one in flight, if any). */
  flush: () => Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    statusReporter: StatusReporter
  }
}

export interface StatusPluginOptions { config: StatusConfig }

async function authorization (file: string | undefined): Promise<Record<string, string>> {
  if (file === undefined) return {}
  return { authorization: `Bearer ${(await readFile(file, 'utf8')).trim()}` }
}

export default fp<StatusPluginOptions>(async function status (fastify, opts) {
  const config = opts.config
  const store = fastify.policy
  const bundle: BundleStatus = { name: BUNDLE_NAME, metrics: { activations: 0, failures: 0 } }
  const labels = fastify.decisionLog.labels

  store.events.on('activated', (e) => {
    const now = new Date().toISOString()
    bundle.active_revision = e.revision
    bundle.active_digest = e.digest
    bundle.last_successful_activation = now
    if (e.source === 'url') bundle.last_successful_download = now
    bundle.last_request = now
    delete bundle.code
    delete bundle.message
    delete bundle.errors
    bundle.metrics.activations++
    send()
  })
  store.events.on('failed', (e) => {
    bundle.last_request = new Date().toISOString()
    bundle.code = 'bundle_error'
    bundle.message = e.error.message
    bundle.errors = [e.error.message]
    bundle.metrics.failures++
    send()
  })

  function report (): StatusReport {
    const state = store.status().state
    const bundleState = state === 'ready' ? 'OK' : state === 'starting' ? 'NOT_READY' : 'ERROR'
    return {
      labels,
      bundles: { [BUNDLE_NAME]: structuredClone(bundle) },
      plugins: {
        bundle: bundleState === 'ERROR' && bundle.message !== undefined ? { state: bundleState, message: bundle.message } : { state: bundleState },
        decision_logs: { state: 'OK' },
        status: { state: 'OK' }
      }
    }
  }

  let chain: Promise<void> = Promise.resolve()
  let lastFailure: string | undefined
  async function post (): Promise<void> {
    try {
      const res = await fetch(config.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...await authorization(config.bearerTokenFile) },
        body: JSON.stringify(report()),
        signal: AbortSignal.timeout(config.timeoutSeconds * 1000)
      })
      await res.body?.cancel().catch(() => {})
      if (!res.ok) throw new Error(`the status service answered HTTP ${res.status}`)
      lastFailure = undefined
    } catch (err) {
      const message = (err as Error).message
      if (message !== lastFailure) fastify.log.warn({ err: { message }, url: config.url }, 'status report failed; the next one carries the current state')
      lastFailure = message
    }
  }
  function send (): Promise<void> {
    chain = chain.then(post)
    return chain
  }

  const timer = setInterval(() => { send().catch(() => {}) }, config.intervalSeconds * 1000)
  timer.unref()
  fastify.decorate('statusReporter', { report, flush: send })
  fastify.addHook('onClose', async () => {
    clearInterval(timer)
    await chain
  })
}, { name: 'status', dependencies: ['engine', 'decision-log'] })
