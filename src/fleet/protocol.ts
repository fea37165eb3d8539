// The messages between a cluster's primary and its workers about the policy,
// in one place. The primary reads the policy source (compiles the directory,
// or downloads and verifies the bundle) once and switches every worker to each
// new bundle in two phases:
//
//   primary → each worker   PREPARE(switch, bundle)   the worker loads a standby policy
//   worker  → primary       PREPARED(switch) | FAILED(switch, error)
//   primary → each worker   ACTIVATE(switch)          once every live worker is prepared
//                           ABORT(switch)             otherwise: nobody switches
//   worker  → primary       ACTIVATED(switch, revision, digest, at)
//
// A worker that starts later says HELLO and gets INSTALL(current bundle), which
// it loads and serves at once. SOURCE carries the primary's view of the source
// (its status: errors, staleness, a persisted bundle) to the workers; QUERY and
// VIEW give a worker the fleet as the primary sees it, for /health.
//
// Messages travel as JSON over cluster IPC, so the bundle's bytes are base64.
import type { PolicyBundle } from '../bundle/bundle.js'
import type { PolicyStatus } from '../lifecycle/store.js'

const PREFIX = 'verdict:fleet:'

export interface WireBundle {
  wasm: string
  dataJson: string
  manifest: PolicyBundle['manifest']
  revision: string
  digest: string
  signed: boolean
  verified: boolean
}

/** The primary's source: its store's status, the persisted bundle it serves, its failures so far. */
export interface SourceReport {
  status: PolicyStatus
  /** When the persisted bundle now serving was saved (the bundle service has not answered since the start). */
  persistedSince?: string
  /** Failed loads so far (a worker announces each new one as its own store's 'failed'). */
  failures: number
  lastFailure?: string
}

export interface WorkerServing {
  /** cluster worker id (the `x-verdict-worker` header) */
  worker: number
  pid?: number | undefined
  revision?: string
  digest?: string
  /** when it switched to it (ms since the epoch, from the worker's clock) */
  since?: number
}

export interface SwitchRecord {
  switch: number
  revision: string
  digest: string
  outcome: 'activated' | 'failed'
  startedAt: string
  /** workers asked to prepare */
  workers: number
  /** from PREPARE sent to the last PREPARED */
  prepareMs?: number
  /** first to last worker's activation (their own clocks, one machine) */
  skewMs?: number
  error?: string
}

export interface FleetView {
  /** workers configured */
  configured: number
  /** workers that said HELLO and are alive */
  workers: number
  serving: WorkerServing[]
  /** the revision the primary last switched the fleet to */
  revision?: string
  digest?: string
  /** every live worker serves the primary's revision */
  agree: boolean
  switching: boolean
  lastSwitch?: SwitchRecord
  source: SourceReport
}

export type ToWorker =
  | { type: `${typeof PREFIX}prepare`, switch: number, bundle: WireBundle }
  | { type: `${typeof PREFIX}activate`, switch: number }
  | { type: `${typeof PREFIX}abort`, switch: number }
  | { type: `${typeof PREFIX}install`, switch: number, bundle: WireBundle }
  | { type: `${typeof PREFIX}source`, source: SourceReport }
  | { type: `${typeof PREFIX}view`, id: number, view: FleetView }

export type ToPrimary =
  | { type: `${typeof PREFIX}hello` }
  | { type: `${typeof PREFIX}prepared`, switch: number }
  | { type: `${typeof PREFIX}failed`, switch: number, error: string }
  | { type: `${typeof PREFIX}activated`, switch: number, revision: string, digest: string, at: number }
  | { type: `${typeof PREFIX}query`, id: number }

export const MSG = {
  prepare: `${PREFIX}prepare`,
  activate: `${PREFIX}activate`,
  abort: `${PREFIX}abort`,
  install: `${PREFIX}install`,
  source: `${PREFIX}source`,
  view: `${PREFIX}view`,
  hello: `${PREFIX}hello`,
  prepared: `${PREFIX}prepared`,
  failed: `${PREFIX}failed`,
  activated: `${PREFIX}activated`,
  query: `${PREFIX}query`
} as const

/** The environment variable the primary sets for its workers: their policy comes from it. */
export const FLEET_ENV = 'VERDICT_FLEET'

export function isFleetMessage<M extends { type: string }> (message: unknown): message is M {
  const type = (message as { type?: unknown } | null)?.type
  return typeof type === 'string' && type.startsWith(PREFIX)
}

export function toWire (bundle: PolicyBundle): WireBundle {
  return {
    wasm: bundle.wasm.toString('base64'),
    dataJson: bundle.dataJson.toString('base64'),
    manifest: bundle.manifest,
    revision: bundle.revision,
    digest: bundle.digest,
    signed: bundle.signed,
    verified: bundle.verified
  }
}

export function fromWire (wire: WireBundle): PolicyBundle {
  return {
    wasm: Buffer.from(wire.wasm, 'base64'),
    dataJson: Buffer.from(wire.dataJson, 'base64'),
    manifest: wire.manifest,
    revision: wire.revision,
    digest: wire.digest,
    signed: wire.signed,
    verified: wire.verified
  }
}

/** Wall-clock milliseconds with sub-millisecond resolution: activation moments of processes on one machine compare. */
export function preciseNow (): number {
  return performance.timeOrigin + performance.now()
}
