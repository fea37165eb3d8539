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
//
// A policy directory's files are digested (sources.ts) before each compile and
// again after it, and by reconcile() whenever the watcher or the reconciler
// asks: files on disk that differ from the ones the active policy was compiled
// from are reloaded, and until they are active the store is not `ready` —
// `degraded`, with the reason (the compile error, or the reload still pending).
// A load of files already active compiles nothing.
import { EventEmitter } from 'node:events'
import { open } from 'node:fs/promises'
import { PolicyBundleError } from '../errors.js'
import { readBundle, type PolicyBundle } from '../bundle/bundle.js'
import type { BundleVerification } from '../bundle/signatures.js'
import { compilePolicies } from '../toolchain/compiler.js'
import { POLICY_DEFAULTS } from './config.js'
import { loadDecisionPolicy, type DecisionPolicy, type PolicyIdentity } from '../engine/policy.js'
import type { BundleFetcher } from './remote.js'
import { retire } from './retire.js'
import { digestPolicySources } from './sources.js'

export interface PolicySource {
  /** A policy directory (Rego + data.yaml) compiled with the pinned OPA on load. */
  dir?: string
  /** A bundle built by `verdict build` or `opa build -t wasm`. */
  bundleFile?: string
  /** A bundle served over http(s); loads go through the fetcher. */
  bundleUrl?: string
  entrypoint: string
  maxBundleBytes?: number
  /** Per-decision evaluation deadline in ms (src/engine/isolate.ts); its default when unset. */
  evaluationDeadlineMs?: number
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
  /** The last load's error, while no later load has succeeded; or why the active policy is not the one on disk. */
  error?: string
  /** A policy directory: the active policy's files against the ones on disk. */
  sources?: SourcesStatus
}

export interface SourcesStatus {
  /** Digest of the policy files the active policy was compiled from. */
  active?: string
  /** Digest of the policy files on disk when last read. */
  onDisk?: string
  /** When the files on disk were last read (or found unreadable). */
  checkedAt?: string
  /** When the files on disk were last found to be the active policy's. */
  agreedAt?: string
}

export interface PolicyActivatedEvent { revision: string, digest: string, source: SourceKind }
export interface PolicyFailedEvent { error: Error, source: SourceKind }

export interface PolicyStoreEvents {
  activated: [PolicyActivatedEvent]
  failed: [PolicyFailedEvent]
}

/** What a store activates: a DecisionPolicy in a serving process; in a cluster's primary, the revision its workers switched to. */
export interface Installed extends PolicyIdentity {
  close?: () => Promise<void>
}

export interface SourceStore<P extends Installed> {
  readonly source: SourceKind
  readonly events: EventEmitter<PolicyStoreEvents>
  current (): P | undefined
  status (): PolicyStatus
  /**
   * Reads the source and activates what it holds. Resolves with the active policy
   * (for a bundle URL answering 304: the one already active); rejects with the
   * reason when the load failed, the last good policy still active.
   */
  load (): Promise<P>
  /**
   * A policy directory: reads and digests its files and, when they are not the
   * active policy's, loads them. Never rejects; the outcome is in status().
   * Other sources: nothing to do.
   */
  reconcile (): Promise<void>
  /** Resolves once no load is running or queued. */
  idle (): Promise<void>
}

export type PolicyStore = SourceStore<DecisionPolicy>

/** Files whose compile failed are compiled again, unchanged, at most this often (a failure may be the machine's, not the files'). */
export const FAILED_SOURCES_RETRY_MS = 60_000

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
  return createSourceStore(source, options, async (bundle) => await loadDecisionPolicy(bundle, source.entrypoint, { isolate: deadline(source.evaluationDeadlineMs) }))
}

/**
 * A store that reads its source and hands each new bundle to `install`, which
 * resolves with what is then active or rejects (the last good one stays).
 */
export function createSourceStore<P extends Installed> (source: PolicySource, options: StoreOptions, install: (bundle: PolicyBundle) => Promise<P>): SourceStore<P> {
  const kind = sourceKind(source)
  const events = new EventEmitter<PolicyStoreEvents>()
  const maxBytes = source.maxBundleBytes ?? POLICY_DEFAULTS.maxBundleBytes
  const readOptions = options.verification ? { verification: options.verification } : {}
  let active: P | undefined
  let activeVerified = false
  let loadedAt: string | undefined
  let lastError: string | undefined
  // The ETag of the active remote bundle: a refused download is never remembered,
  // so a 304 always means "the active bundle is still the current one".
  let activeEtag: string | undefined

  // A policy directory's files: the digest of those the active policy was
  // compiled from, the last reading of the disk (readings are numbered as they
  // start, so a slow one never overwrites a later one), when the two last
  // agreed, and the digest whose compile failed last.
  let activeSources: string | undefined
  let disk: { digest?: string, error?: string, checkedAt?: string } = {}
  let readings = 0
  let lastReading = 0
  let agreedAt: string | undefined
  let failedSources: { digest: string, at: number, error: Error } | undefined
  /** The files failed to compile a moment ago: the same error, without compiling them again. */
  const failedRecently = (digest: string): Error | undefined =>
    failedSources?.digest === digest && Date.now() - failedSources.at < FAILED_SOURCES_RETRY_MS ? failedSources.error : undefined

  /** Reads the directory's digest, remembered unless a later reading was remembered first. */
  async function readDisk (): Promise<string> {
    const reading = ++readings
    const remember = (next: typeof disk): void => {
      if (reading < lastReading) return
      lastReading = reading
      disk = next
      if (next.digest !== undefined && next.digest === activeSources) {
        agreedAt = next.checkedAt
        // The files are the active policy's again: an error about other files is over.
        lastError = undefined
        failedSources = undefined
      }
    }
    try {
      const { digest } = await digestWithRetry(source.dir as string)
      remember({ digest, checkedAt: new Date().toISOString() })
      return digest
    } catch (err) {
      remember({ error: (err as Error).message, checkedAt: new Date().toISOString() })
      throw new Error(`cannot read the policy directory: ${(err as Error).message}`)
    }
  }

  /** The next bundle, or undefined when the remote one (or the directory's files) has not changed. */
  async function readSource (fresh?: string): Promise<{ bundle: PolicyBundle, etag?: string, sources?: string } | undefined> {
    if (kind === 'dir') {
      // A reading just taken by reconcile() names the files as well as a new
      // one would: a change after it is caught by the reading after the compile.
      const before = fresh ?? await readDisk()
      if (active && before === activeSources) return undefined
      const failed = failedRecently(before)
      if (failed) throw new AlreadyFailed(failed)
      let bundle: PolicyBundle
      try {
        bundle = await compilePolicies({ dir: source.dir as string, entrypoint: source.entrypoint })
      } catch (err) {
        failedSources = { digest: before, at: Date.now(), error: err instanceof Error ? err : new Error(String(err)) }
        throw err
      }
      return { bundle, sources: before }
    }
    if (kind === 'file') return { bundle: await readBundle(await readBoundedFile(source.bundleFile as string, maxBytes), readOptions) }
    if (!options.fetcher) throw new Error('a bundle URL needs a fetcher')
    const fetched = await options.fetcher.fetch(active ? activeEtag : undefined)
    if (fetched.notModified) return undefined
    const next: { bundle: PolicyBundle, etag?: string } = { bundle: await readBundle(fetched.body, readOptions) }
    if (fetched.etag) next.etag = fetched.etag
    return next
  }

  async function attempt (fresh?: string): Promise<P> {
    try {
      const next = await readSource(fresh)
      if (!next) {
        lastError = undefined
        return active as P
      }
      // The files are read again while the policy loads: if they changed while
      // OPA read them, this policy is still named by the files it started with,
      // the reading differs, and one more load follows.
      const after = next.sources !== undefined ? readDisk().catch(() => undefined) : undefined
      const policy = await install(next.bundle)
      // Requests that took the replaced policy before the swap still decide on it (retire.ts).
      if (active !== undefined && active !== policy) retire(active)
      active = policy
      activeVerified = next.bundle.verified
      activeEtag = next.etag
      loadedAt = new Date().toISOString()
      lastError = undefined
      if (next.sources !== undefined) {
        activeSources = next.sources
        failedSources = undefined
        if (disk.digest === activeSources) agreedAt = loadedAt
      }
      events.emit('activated', { revision: policy.revision, digest: policy.digest, source: kind })
      if (after !== undefined && await after !== next.sources) queueMicrotask(() => { load().catch(() => {}) })
      return policy
    } catch (err) {
      if (err instanceof AlreadyFailed) throw err.error // announced when it happened
      const error = err instanceof Error ? err : new Error(String(err))
      lastError = error.message
      events.emit('failed', { error, source: kind })
      throw error
    }
  }

  let running: Promise<P> | undefined
  let queued: Promise<P> | undefined

  /** `fresh`: the directory's digest, just read (used only when the load starts at once). */
  function load (fresh?: string): Promise<P> {
    if (!running) {
      running = attempt(fresh).finally(() => { running = undefined })
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

  async function reconcile (): Promise<void> {
    if (kind !== 'dir') return
    let onDisk: string
    try {
      onDisk = await readDisk()
    } catch {
      return // status() says the files cannot be read
    }
    if (active && onDisk === activeSources) return
    if (failedRecently(onDisk)) return
    await load(onDisk).catch(() => {})
  }

  function sourcesStatus (): SourcesStatus {
    const s: SourcesStatus = {}
    if (activeSources !== undefined) s.active = activeSources
    if (disk.digest !== undefined) s.onDisk = disk.digest
    if (disk.checkedAt !== undefined) s.checkedAt = disk.checkedAt
    if (agreedAt !== undefined) s.agreedAt = agreedAt
    return s
  }

  /** Why the active policy is not the one the directory holds, once that has been seen. */
  function staleReason (): string | undefined {
    if (kind !== 'dir') return undefined
    if (disk.error !== undefined) return `cannot read the policy directory: ${disk.error}`
    if (disk.digest !== undefined && disk.digest !== activeSources) {
      return `the policy files on disk (${disk.digest}) are not the ones the active policy was compiled from (${activeSources ?? 'none'}); reloading`
    }
    return undefined
  }

  return {
    source: kind,
    events,
    current: () => active,
    status (): PolicyStatus {
      const error = lastError ?? staleReason()
      let s: PolicyStatus
      if (!active) {
        s = lastError ? { state: 'failed', source: kind, error: lastError } : { state: 'starting', source: kind }
      } else {
        s = {
          state: error !== undefined ? 'degraded' : 'ready',
          source: kind,
          revision: active.revision,
          digest: active.digest,
          verified: activeVerified
        }
        if (loadedAt) s.loadedAt = loadedAt
        if (error !== undefined) s.error = error
      }
      if (kind === 'dir' && (s.state !== 'starting' || disk.checkedAt !== undefined)) s.sources = sourcesStatus()
      return s
    },
    load: () => load(),
    reconcile,
    async idle () {
      for (let pending = queued ?? running; pending; pending = queued ?? running) await pending.catch(() => undefined)
    }
  }
}

class AlreadyFailed extends Error {
  constructor (readonly error: Error) { super(error.message) }
}

/**
 * The directory's digest; read once more after a moment when the first reading
 * fails, as a file may vanish between listing and reading while a checkout or
 * a volume update is under way.
 */
async function digestWithRetry (dir: string): Promise<{ digest: string }> {
  try {
    return await digestPolicySources(dir)
  } catch {
    await new Promise((resolve) => setTimeout(resolve, 50))
    return await digestPolicySources(dir)
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

/** The isolate option for a configured deadline (the engine's default when unset). */
export function deadline (ms: number | undefined): { deadlineMs?: number } {
  return ms === undefined ? {} : { deadlineMs: ms }
}
