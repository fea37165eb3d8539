// A worker's policy store in a cluster: "fed" by the primary (primary.ts),
// which reads the source. The worker never compiles, watches or polls; it
// loads each bundle it is sent as a standby policy (PREPARE), and serves it
// only when told to (ACTIVATE), or at once when it joins a running fleet
// (INSTALL). A switch never goes backwards: a bundle older than the one
// served (an INSTALL that finishes loading after a later ACTIVATE) is dropped.
// Its status is the primary's view of the source (errors, stale files) with
// the identity of the policy this worker serves.
import { EventEmitter } from 'node:events'
import { loadDecisionPolicy, type DecisionPolicy } from '../engine/policy.js'
import type { PersistedState } from '../lifecycle/persist.js'
import { retire } from '../lifecycle/retire.js'
import { deadline, type PolicyStatus, type PolicyStore, type PolicyStoreEvents, type SourceKind } from '../lifecycle/store.js'
import { fromWire, isFleetMessage, MSG, preciseNow, type FleetView, type SourceReport, type ToPrimary, type ToWorker, type WireBundle } from './protocol.js'

export interface FedStore extends PolicyStore {
  persistence (): PersistedState
  /** Says HELLO; resolves once a policy serves, or the primary reports it has none. */
  start (): Promise<void>
  /** The fleet as the primary sees it. */
  fleetView (timeoutMs?: number): Promise<FleetView>
  close (): Promise<void>
}

type Send = (message: ToPrimary) => void

export function createFedStore (kind: SourceKind, entrypoint: string, evaluationDeadlineMs?: number, send: Send = (m) => { process.send?.(m) }): FedStore {
  const events = new EventEmitter<PolicyStoreEvents>()
  let active: DecisionPolicy | undefined
  let activeSwitch = 0
  let verified = false
  let loadedAt: string | undefined
  let ownError: string | undefined
  let report: SourceReport | undefined
  let seenFailures: number | undefined
  const standby = new Map<number, DecisionPolicy>()
  const aborted = new Set<number>()
  const loading = new Set<Promise<unknown>>()
  let started: (() => void) | undefined
  let queries = 0
  const views = new Map<number, (view: FleetView) => void>()

  const load = async (wire: WireBundle): Promise<DecisionPolicy> => {
    const p = loadDecisionPolicy(fromWire(wire), entrypoint, { isolate: deadline(evaluationDeadlineMs) })
    loading.add(p)
    try {
      return await p
    } finally {
      loading.delete(p)
    }
  }

  function serve (id: number, policy: DecisionPolicy, bundleVerified: boolean): void {
    if (id < activeSwitch) { policy.close().catch(() => {}); return }
    const old = active
    active = policy
    activeSwitch = id
    verified = bundleVerified
    loadedAt = new Date().toISOString()
    ownError = undefined
    send({ type: MSG.activated, switch: id, revision: policy.revision, digest: policy.digest, at: preciseNow() })
    // Requests that took the replaced policy before the swap still decide on it.
    if (old !== undefined && old !== policy) retire(old)
    events.emit('activated', { revision: policy.revision, digest: policy.digest, source: kind })
    started?.()
  }

  function failed (id: number, err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err))
    send({ type: MSG.failed, switch: id, error: error.message })
  }

  const verifiedOf = new Map<number, boolean>()
  async function onMessage (message: ToWorker): Promise<void> {
    switch (message.type) {
      case MSG.prepare: {
        const id = message.switch
        try {
          const policy = await load(message.bundle)
          if (aborted.delete(id)) { policy.close().catch(() => {}); return }
          standby.set(id, policy)
          verifiedOf.set(id, message.bundle.verified)
          send({ type: MSG.prepared, switch: id })
        } catch (err) {
          failed(id, err)
        }
        break
      }
      case MSG.activate: {
        const policy = standby.get(message.switch)
        standby.delete(message.switch)
        if (policy !== undefined) serve(message.switch, policy, verifiedOf.get(message.switch) ?? false)
        verifiedOf.delete(message.switch)
        break
      }
      case MSG.abort: {
        const policy = standby.get(message.switch)
        standby.delete(message.switch)
        verifiedOf.delete(message.switch)
        if (policy !== undefined) policy.close().catch(() => {})
        else aborted.add(message.switch)
        break
      }
      case MSG.install:
        try {
          serve(message.switch, await load(message.bundle), message.bundle.verified)
        } catch (err) {
          ownError = `this worker could not load revision ${message.bundle.revision}: ${(err as Error).message}`
          failed(message.switch, err)
          events.emit('failed', { error: new Error(ownError), source: kind })
          started?.()
        }
        break
      case MSG.source: {
        const previous = seenFailures
        report = message.source
        seenFailures = report.failures
        // Each failure of the primary's source, once (the first report states how many came before).
        if (previous !== undefined && report.failures > previous) {
          events.emit('failed', { error: new Error(report.lastFailure ?? 'the policy load failed'), source: kind })
        }
        if (active === undefined && report.status.state === 'failed') started?.()
        break
      }
      case MSG.view:
        views.get(message.id)?.(message.view)
        break
    }
  }
  const listener = (message: unknown): void => {
    if (isFleetMessage<ToWorker>(message)) onMessage(message).catch(() => {})
  }
  process.on('message', listener)

  function status (): PolicyStatus {
    const source = report?.status
    const error = ownError ?? source?.error
    let s: PolicyStatus
    if (active === undefined) {
      s = error !== undefined && source?.state !== 'starting' ? { state: 'failed', source: kind, error } : { state: 'starting', source: kind }
    } else {
      s = { state: error !== undefined ? 'degraded' : 'ready', source: kind, revision: active.revision, digest: active.digest, verified }
      if (loadedAt !== undefined) s.loadedAt = loadedAt
      if (error !== undefined) s.error = error
    }
    if (source?.sources !== undefined) s.sources = source.sources
    return s
  }

  return {
    source: kind,
    events,
    current: () => active,
    status,
    async load () {
      if (active === undefined) throw new Error('no policy from the primary yet')
      return active
    },
    async reconcile () {},
    async idle () {
      while (loading.size > 0) await Promise.allSettled([...loading])
    },
    persistence: () => (report?.persistedSince !== undefined ? { servingSince: report.persistedSince } : {}),
    start () {
      const first = new Promise<void>((resolve) => { started = resolve })
      send({ type: MSG.hello })
      return first
    },
    fleetView (timeoutMs = 2000) {
      const id = ++queries
      return new Promise<FleetView>((resolve, reject) => {
        const timer = setTimeout(() => { views.delete(id); reject(new Error(`the primary did not answer within ${timeoutMs} ms`)) }, timeoutMs)
        views.set(id, (view) => { clearTimeout(timer); views.delete(id); resolve(view) })
        send({ type: MSG.query, id })
      })
    },
    async close () {
      process.off('message', listener)
      for (const policy of standby.values()) await policy.close()
      standby.clear()
      await active?.close()
    }
  }
}
