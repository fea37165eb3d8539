// The primary of a cluster (server.workers > 1) owns the policy source: it
// compiles the directory or downloads and verifies the bundle once (the same
// store, watcher, reconciler and poller as a single process), and switches its
// workers to each new bundle together (protocol.ts):
//
// - PREPARE goes to every live worker; each loads a standby policy.
// - Only when every one of them answered PREPARED does ACTIVATE go out; each
//   worker swaps its reference the moment it reads it.
// - A worker that fails to prepare, or does not answer within the prepare
//   timeout, stops the switch: ABORT, everybody keeps the last good policy, the
//   store counts a failed load (/health degraded with the reason). Never a
//   mixed fleet by design.
// - A worker that dies while preparing is left out: it can no longer serve the
//   old revision, and its replacement says HELLO. A HELLO that arrives while a
//   switch runs is answered when it ends, with the revision the fleet then
//   serves, so a new worker never serves a revision the others left or have
//   not reached.
import cluster, { type Worker } from 'node:cluster'
import type { PolicyBundle } from '../bundle/bundle.js'
import { POLICY_DEFAULTS, type PolicyConfig } from '../lifecycle/config.js'
import { followSource, reportOutcomes, sourceSetup, type Following, type SourceLog } from '../lifecycle/follow.js'
import { createSourceStore, type Installed, type SourceStore } from '../lifecycle/store.js'
import { isFleetMessage, MSG, toWire, type FleetView, type SourceReport, type SwitchRecord, type ToPrimary, type ToWorker, type WireBundle, type WorkerServing } from './protocol.js'

/** How long the primary waits for every worker to confirm ACTIVATE (they swap at once; this only bounds the record). */
const ACTIVATE_CONFIRM_MS = 5_000

export interface FleetPrimaryOptions {
  policy: PolicyConfig
  configured: number
  log: SourceLog
}

export interface FleetPrimary {
  store: SourceStore<Installed>
  view (): FleetView
  close (): void
}

interface Member { worker: Worker, serving: WorkerServing }

interface Phase {
  waiting: Set<number>
  done: () => void
  fail: (reason: string) => void
}

export async function startFleetPrimary (opts: FleetPrimaryOptions): Promise<FleetPrimary> {
  const log = opts.log
  // How long the workers get to load a standby policy (a large data document takes seconds to set).
  const prepareTimeoutMs = opts.policy.switchTimeoutMs ?? POLICY_DEFAULTS.switchTimeoutMs
  const members = new Map<number, Member>()
  let current: { switch: number, bundle: WireBundle } | undefined
  let switching = false
  let phase: Phase | undefined
  let lastSwitch: SwitchRecord | undefined
  let activations: Map<number, number> | undefined
  let failures = 0
  let lastFailure: string | undefined
  let seq = 0
  const joining: Worker[] = []

  const setup = await sourceSetup(opts.policy)
  const store = createSourceStore(opts.policy, setup.storeOptions, switchFleet)
  reportOutcomes(store, opts.policy, setup, log)

  const send = (worker: Worker, message: ToWorker): void => {
    if (worker.isConnected()) worker.send(message)
  }

  function sourceReport (): SourceReport {
    const r: SourceReport = { status: store.status(), failures }
    const since = setup.persisting?.state().servingSince
    if (since !== undefined) r.persistedSince = since
    if (lastFailure !== undefined) r.lastFailure = lastFailure
    return r
  }
  const broadcastSource = (): void => {
    const source = sourceReport()
    for (const m of members.values()) send(m.worker, { type: MSG.source, source })
  }
  store.events.on('failed', (e) => {
    failures++
    lastFailure = e.error.message
    broadcastSource()
  })
  store.events.on('activated', broadcastSource)

  /** Runs one phase: resolves once every worker in `waiting` answered (or died); rejects on a failure or the deadline. */
  function runPhase (ids: number[], timeoutMs: number, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiting = new Set(ids)
      const timer = setTimeout(() => {
        const late = [...waiting].map((id) => `worker ${id} (pid ${members.get(id)?.worker.process.pid ?? '?'})`).join(', ')
        self.fail(`${late} did not ${what} within ${timeoutMs} ms`)
      }, timeoutMs)
      const settle = (): void => { clearTimeout(timer); phase = undefined }
      const self: Phase = {
        waiting,
        done () { if (waiting.size === 0) { settle(); resolve() } },
        fail (reason) { settle(); reject(new Error(reason)) }
      }
      phase = self
      self.done()
    })
  }

  /** The store's install step: resolves once the fleet serves the bundle, rejects (nobody switched) otherwise. */
  async function switchFleet (bundle: PolicyBundle): Promise<Installed> {
    const id = ++seq
    const wire = toWire(bundle)
    const targets = [...members.values()]
    const ids = targets.map((m) => m.worker.id)
    const started = Date.now()
    const record: SwitchRecord = { switch: id, revision: bundle.revision, digest: bundle.digest, outcome: 'failed', startedAt: new Date(started).toISOString(), workers: ids.length }
    switching = true
    try {
      for (const m of targets) send(m.worker, { type: MSG.prepare, switch: id, bundle: wire })
      try {
        await runPhase(ids, prepareTimeoutMs, 'prepare')
      } catch (err) {
        for (const m of targets) send(m.worker, { type: MSG.abort, switch: id })
        const kept = current !== undefined ? `every worker keeps revision ${current.bundle.revision}` : 'no worker serves a policy yet'
        record.error = `the workers did not switch to revision ${bundle.revision}: ${(err as Error).message}; ${kept}`
        throw new Error(record.error)
      }
      record.prepareMs = Date.now() - started
      // The commit point: from here the fleet's revision is the new one.
      current = { switch: id, bundle: wire }
      activations = new Map()
      const live = [...members.values()].filter((m) => ids.includes(m.worker.id))
      for (const m of live) send(m.worker, { type: MSG.activate, switch: id })
      try {
        await runPhase(live.map((m) => m.worker.id), ACTIVATE_CONFIRM_MS, 'confirm its activation')
      } catch (err) {
        record.error = (err as Error).message
      }
      const moments = [...activations.values()]
      if (moments.length > 0) record.skewMs = Math.round((Math.max(...moments) - Math.min(...moments)) * 100) / 100
      record.outcome = 'activated'
      log.info({ revision: bundle.revision, workers: live.length, prepareMs: record.prepareMs, skewMs: record.skewMs }, 'workers switched to the new policy together')
      return { revision: bundle.revision, digest: bundle.digest }
    } finally {
      lastSwitch = record
      switching = false
      activations = undefined
      for (const worker of joining.splice(0)) welcome(worker)
    }
  }

  /** A worker that said HELLO: it gets the source's state and the fleet's bundle, to load and serve at once. */
  function welcome (worker: Worker): void {
    if (!worker.isConnected()) return
    members.set(worker.id, { worker, serving: { worker: worker.id, pid: worker.process.pid } })
    send(worker, { type: MSG.source, source: sourceReport() })
    if (current !== undefined) send(worker, { type: MSG.install, switch: current.switch, bundle: current.bundle })
  }

  function view (): FleetView {
    const serving = [...members.values()].map((m) => m.serving)
    const v: FleetView = {
      configured: opts.configured,
      workers: serving.length,
      serving,
      agree: current !== undefined && serving.every((s) => s.digest === current?.bundle.digest && s.revision === current?.bundle.revision),
      switching,
      source: sourceReport()
    }
    if (current !== undefined) { v.revision = current.bundle.revision; v.digest = current.bundle.digest }
    if (lastSwitch !== undefined) v.lastSwitch = lastSwitch
    return v
  }

  const onMessage = (worker: Worker, message: unknown): void => {
    if (!isFleetMessage<ToPrimary>(message)) return
    switch (message.type) {
      case MSG.hello:
        if (switching) joining.push(worker)
        else welcome(worker)
        break
      case MSG.prepared:
        if (message.switch === seq && phase !== undefined) { phase.waiting.delete(worker.id); phase.done() }
        break
      case MSG.failed:
        if (message.switch === seq && switching && phase !== undefined && current?.switch !== seq) {
          phase.fail(`worker ${worker.id} (pid ${worker.process.pid ?? '?'}) could not load it: ${message.error}`)
        } else {
          log.error({ worker: worker.id, pid: worker.process.pid, err: { message: message.error } }, 'a worker could not load the policy the fleet serves')
        }
        break
      case MSG.activated: {
        const member = members.get(worker.id)
        if (member !== undefined) member.serving = { worker: worker.id, pid: worker.process.pid, revision: message.revision, digest: message.digest, since: message.at }
        if (message.switch === seq && activations !== undefined) {
          activations.set(worker.id, message.at)
          if (phase !== undefined) { phase.waiting.delete(worker.id); phase.done() }
        }
        break
      }
      case MSG.query:
        send(worker, { type: MSG.view, id: message.id, view: view() })
        break
    }
  }
  // A worker that dies is no longer waited for: it serves nothing, and its
  // replacement says HELLO.
  const onExit = (worker: Worker): void => {
    members.delete(worker.id)
    const i = joining.indexOf(worker)
    if (i >= 0) joining.splice(i, 1)
    if (phase !== undefined && phase.waiting.delete(worker.id)) {
      log.warn({ worker: worker.id, pid: worker.process.pid }, 'a worker exited during a policy switch; the switch goes on with the others')
      phase.done()
    }
  }
  cluster.on('message', onMessage)
  cluster.on('exit', onExit)

  const following: Following = followSource(store, opts.policy, setup, log)
  return {
    store,
    view,
    close () {
      following.close()
      cluster.off('message', onMessage)
      cluster.off('exit', onExit)
    }
  }
}
