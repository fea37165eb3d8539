// Holds the policy decisions are evaluated with. Loading builds a complete new
// DecisionPolicy first and only then swaps the reference, so a decision always
// runs against one whole policy (evaluation is synchronous: a decision that has
// started finishes on the policy it started with), and a failed load keeps the
// last good one.
//
// Loads are serialized: a load asked for while one runs is done once, after it
// (however many were asked for), so compiles never overlap and the last change
// always gets a load. Each outcome is announced on `events` ('activated',
// 'failed') for the log and the metrics.
import { EventEmitter } from 'node:events'
import { open } from 'node:fs/promises'
import { PolicyBundleError } from '../errors.js'
import { readBundle, type PolicyBundle } from '../bundle/bundle.js'
import type { BundleVerification } from '../bundle/signatures.js'
import { compilePolicies } from '../toolchain/compiler.js'
import { POLICY_DEFAULTS } from './config.js'
import { loadDecisionPolicy, type DecisionPolicy } from '../engine/policy.js'
import type { BundleFetcher } from './remote.js'

export interface PolicySource {
  /** A policy directory (Rego + data.yaml) compiled with the pinned OPA on load. */
  dir?: string
  /** A bundle built by `verdict build` or `opa build -t wasm`. */
  bundleFile?: string
  /** A bundle served over http(s); loads go through the fetcher. */
  bundleUrl?: string
  entrypoint: string
  maxBundleBytes?: number
}

export type SourceKind = 'dir' | 'file' | 'url'

export type PolicyState = 'starting' | 'ready' | 'degraded' | 'failed'

export interface PolicyStatus {
  state: PolicyState
  source: SourceKind
  revision?: string
  digest?: string
  loadedAt?: string
  /** Whether the active bundle's signature was verified with the configured key. */
  verified?: boolean
  /** The last load's error, while no later load has succeeded. */
  error?: string
}

export interface PolicyActivatedEvent { revision: string, digest: string, source: SourceKind }
export interface PolicyFailedEvent { error: Error, source: SourceKind }

export interface PolicyStoreEvents {
  activated: [PolicyActivatedEvent]
  failed: [PolicyFailedEvent]
}

export interface PolicyStore {
  readonly source: SourceKind
  readonly events: EventEmitter<PolicyStoreEvents>
  current (): DecisionPolicy | undefined
  status (): PolicyStatus
  /**
   * Reads the source and activates what it holds. Resolves with the active policy
   * (for a bundle URL answering 304: the one already active); rejects with the
   * reason when the load failed, the last good policy still active.
   */
  load (): Promise<DecisionPolicy>
  /** Resolves once no load is running or queued. */
  idle (): Promise<void>
}

export interface StoreOptions {
  /** Bundles must be signed with this key (file and URL sources). */
  verification?: BundleVerification
  /** Downloads the bundle of a URL source. */
  fetcher?: BundleFetcher
}

export function sourceKind (source: PolicySource): SourceKind {
  if (source.dir !== undefined) return 'dir'
  if (source.bundleFile !== undefined) return 'file'
  if (source.bundleUrl !== undefined) return 'url'
  throw new Error('no policy source configured (policy.dir, policy.bundleFile or policy.bundleUrl)')
}

export function createPolicyStore (source: PolicySource, options: StoreOptions = {}): PolicyStore {
  const kind = sourceKind(source)
  const events = new EventEmitter<PolicyStoreEvents>()
  const maxBytes = source.maxBundleBytes ?? POLICY_DEFAULTS.maxBundleBytes
  const readOptions = options.verification ? { verification: options.verification } : {}
  let active: DecisionPolicy | undefined
  let activeVerified = false
  let loadedAt: string | undefined
  let lastError: string | undefined
  // The ETag of the active remote bundle: a refused download is never remembered,
  // so a 304 always means "the active bundle is still the current one".
  let activeEtag: string | undefined

  /** The next bundle, or undefined when the remote one has not changed. */
  async function readSource (): Promise<{ bundle: PolicyBundle, etag?: string } | undefined> {
    if (kind === 'dir') return { bundle: await compilePolicies({ dir: source.dir as string, entrypoint: source.entrypoint }) }
    if (kind === 'file') return { bundle: await readBundle(await readBoundedFile(source.bundleFile as string, maxBytes), readOptions) }
    if (!options.fetcher) throw new Error('a bundle URL needs a fetcher')
    const fetched = await options.fetcher.fetch(active ? activeEtag : undefined)
    if (fetched.notModified) return undefined
    const next: { bundle: PolicyBundle, etag?: string } = { bundle: await readBundle(fetched.body, readOptions) }
    if (fetched.etag) next.etag = fetched.etag
    return next
  }

  async function attempt (): Promise<DecisionPolicy> {
    try {
      const next = await readSource()
      if (!next) {
        lastError = undefined
        return active as DecisionPolicy
      }
      const policy = await loadDecisionPolicy(next.bundle, source.entrypoint)
      active = policy
      activeVerified = next.bundle.verified
      activeEtag = next.etag
      loadedAt = new Date().toISOString()
      lastError = undefined
      events.emit('activated', { revision: policy.revision, digest: policy.digest, source: kind })
      return policy
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err))
      lastError = error.message
      events.emit('failed', { error, source: kind })
      throw error
    }
  }

  let running: Promise<DecisionPolicy> | undefined
  let queued: Promise<DecisionPolicy> | undefined

  function load (): Promise<DecisionPolicy> {
    if (!running) {
      running = attempt().finally(() => { running = undefined })
      return running
    }
    // Chained on the running load's settled promise (whose finally has cleared
    // `running` by then): one more load afterwards, however many were asked for.
    queued ??= running.catch(() => undefined).then(() => {
      queued = undefined
      return load()
    })
    return queued
  }

  return {
    source: kind,
    events,
    current: () => active,
    status (): PolicyStatus {
      if (!active) return lastError ? { state: 'failed', source: kind, error: lastError } : { state: 'starting', source: kind }
      const s: PolicyStatus = {
        state: lastError ? 'degraded' : 'ready',
        source: kind,
        revision: active.revision,
        digest: active.digest,
        verified: activeVerified
      }
      if (loadedAt) s.loadedAt = loadedAt
      if (lastError) s.error = lastError
      return s
    },
    load,
    async idle () {
      for (let pending = queued ?? running; pending; pending = queued ?? running) await pending.catch(() => undefined)
    }
  }
}

/** A bundle file, refused unread when it is larger than the bound. */
async function readBoundedFile (path: string, maxBytes: number): Promise<Buffer> {
  const handle = await open(path, 'r')
  try {
    const { size } = await handle.stat()
    if (size > maxBytes) throw new PolicyBundleError(`${path} is ${size} bytes, more than the ${maxBytes} allowed`)
    return await handle.readFile()
  } finally {
    await handle.close()
  }
}
