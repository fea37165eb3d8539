// Reading and following a policy source, apart from what is done with each
// bundle: the bundle service's fetcher (with persistence), the log lines of
// each outcome, the directory watcher and reconciler, and the bundle poller.
// A single process (index.ts) follows its source itself; in a cluster the
// primary does (src/fleet/primary.ts) and hands every bundle to its workers.
import type { FastifyBaseLogger } from 'fastify'
import { POLICY_DEFAULTS, pollingDelays, type PolicyConfig } from './config.js'
import { loadVerification } from './verification.js'
import { persistingFetcher, type PersistingFetcher } from './persist.js'
import { startReconciling } from './reconciler.js'
import { createBundleFetcher, startPolling, type BundleFetcher } from './remote.js'
import type { Installed, SourceStore, StoreOptions } from './store.js'
import { watchPolicyDir } from './watcher.js'

export type SourceLog = Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>

export interface SourceSetup {
  storeOptions: StoreOptions
  /** The bundle service's downloads, kept on disk (policy.persistDir). */
  persisting?: PersistingFetcher
}

/** The verification key and the bundle service's fetcher of a policy config; a bad key or credential file stops the start. */
export async function sourceSetup (config: PolicyConfig): Promise<SourceSetup> {
  const storeOptions: StoreOptions = {}
  const verification = await loadVerification(config)
  if (verification) storeOptions.verification = verification
  const downloader = config.bundleUrl !== undefined
    ? createBundleFetcher(config.bundleUrl, {
      timeoutMs: (config.fetchTimeoutSeconds ?? POLICY_DEFAULTS.fetchTimeoutSeconds) * 1000,
      maxBytes: config.maxBundleBytes ?? POLICY_DEFAULTS.maxBundleBytes,
      ...(config.bundleService !== undefined ? { service: config.bundleService } : {})
    })
    : undefined
  const persisting = downloader !== undefined && config.persistDir !== undefined ? persistingFetcher(downloader, config.persistDir) : undefined
  const fetcher: BundleFetcher | undefined = persisting ?? downloader
  if (fetcher) storeOptions.fetcher = fetcher
  return persisting !== undefined ? { storeOptions, persisting } : { storeOptions }
}

/** Logs each outcome of the store, persists each activated download, warns about unverified plain-http bundles. */
export function reportOutcomes (store: SourceStore<Installed>, config: PolicyConfig, setup: SourceSetup, log: SourceLog): void {
  const persisting = setup.persisting
  if (persisting !== undefined) {
    store.events.on('activated', () => {
      persisting.commit().catch((err: Error) => log.error({ err: { message: err.message }, dir: config.persistDir }, 'could not persist the activated bundle'))
    })
  }
  store.events.on('activated', (e) => log.info({ revision: e.revision, digest: e.digest, source: e.source, verified: store.status().verified }, 'policy activated'))
  store.events.on('failed', (e) => {
    const kept = store.current()
    log.error({ err: e.error, source: e.source, kept: kept ? { revision: kept.revision, digest: kept.digest } : null },
      kept ? 'policy load failed; the last good policy stays active' : 'policy load failed; decisions answer 503 until a good policy loads')
  })
  if (config.bundleUrl?.startsWith('http:') && setup.storeOptions.verification === undefined) {
    log.warn({ url: config.bundleUrl }, 'policy bundles are fetched over plain http without a verification key: anyone on the path can change the policy')
  }
}

export interface FollowOptions {
  /** Debounce of the directory watcher (tests shorten it). */
  watchDebounceMs?: number | undefined
  /** Starts the directory watcher (tests replace it, to show the reconciler alone keeps up). */
  watchDir?: typeof watchPolicyDir | undefined
}

export interface Following {
  /** The first load's outcome. */
  firstLoad: Promise<boolean>
  /** The first load is done and the watcher (if any) follows the directory. */
  ready: Promise<unknown>
  close (): void
}

/**
 * Loads the source once and then follows it: a directory is watched and
 * reconciled on an interval, a bundle URL polled (soon again when the first
 * load failed).
 */
export function followSource (store: SourceStore<Installed>, config: PolicyConfig, setup: SourceSetup, log: SourceLog, opts: FollowOptions = {}): Following {
  const closers: Array<() => void> = []
  let closed = false
  const firstLoad = store.load().then(() => true, () => false)
  let watching: Promise<void> | undefined
  if (config.dir !== undefined && config.watch !== false) {
    const intervalMs = config.reconcileIntervalMs ?? POLICY_DEFAULTS.reconcileIntervalMs
    const onWatchError = (err: Error): void => {
      log.error({ err, dir: config.dir, reconcileIntervalMs: intervalMs }, 'policy directory watch failed; changes are picked up by the reconciler only')
    }
    try {
      const watcher = (opts.watchDir ?? watchPolicyDir)(config.dir, () => { store.reconcile().catch(() => {}) }, { debounceMs: opts.watchDebounceMs, onError: onWatchError })
      closers.push(() => watcher.close())
      watching = watcher.ready
      log.info({ dir: config.dir, reconcileIntervalMs: intervalMs }, 'watching the policy directory: changes are checked, compiled and activated')
    } catch (err) {
      // A directory that cannot be watched (missing, unreadable) fails its load
      // too: the service still starts, /health says why, decisions answer 503.
      onWatchError(err as Error)
    }
    const reconciler = startReconciling(store, intervalMs)
    closers.push(() => reconciler.stop())
  }
  const fetcher = setup.storeOptions.fetcher
  if (fetcher) {
    closers.push(() => fetcher.close())
    firstLoad.then((ok) => {
      if (closed) return
      const poller = startPolling(() => store.load(), { ...pollingDelays(config), failing: !ok })
      closers.push(() => poller.stop())
    }, () => {})
  }
  return {
    firstLoad,
    ready: Promise.all([firstLoad, watching]),
    close () {
      closed = true
      for (const close of closers) close()
    }
  }
}
