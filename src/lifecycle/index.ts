// The decision engine as a shared service: `fastify.policy` is the policy store.
// The first load runs while the app starts; if it fails the service still comes
// up, /health says why, and decisions answer 503 (never an allow) until a load
// succeeds. Afterwards the source is followed: a policy directory is watched and
// recompiled on change, and reconciled on an interval (its files digested and
// compared with the active policy's) so that a missed event cannot leave a stale
// policy looking healthy; a bundle URL is polled. A failed reload keeps the last
// good policy; /health reports `degraded` with the reason.
import { readFile } from 'node:fs/promises'
import fp from 'fastify-plugin'
import { ConfigInvalidError } from '../errors.js'
import type { BundleVerification } from '../bundle/signatures.js'
import { POLICY_DEFAULTS, pollingDelays, type PolicyConfig } from './config.js'
import { checkKeyFits, defaultAlgorithm, publicKeyFromPem } from '../bundle/jws.js'
import { persistingFetcher, type PersistedState } from './persist.js'
import { startReconciling } from './reconciler.js'
import { createBundleFetcher, startPolling, type BundleFetcher } from './remote.js'
import { createPolicyStore, type PolicyStore, type StoreOptions } from './store.js'
import { watchPolicyDir } from './watcher.js'

declare module 'fastify' {
  interface FastifyInstance {
    policy: PolicyStore
    /** Whether the active policy is a persisted bundle served while the bundle service is unreachable. */
    policyPersistence: () => PersistedState
  }
}

/** How long the start waits for the first load (fastify's plugin timeout is 10 s). */
const FIRST_LOAD_WAIT_MS = 8000

export interface EngineOptions {
  policy: PolicyConfig
  /** Debounce of the directory watcher (tests shorten it). */
  watchDebounceMs?: number
  /** Starts the directory watcher (tests replace it, to show the reconciler alone keeps up). */
  watchDir?: typeof watchPolicyDir
}

/** The configured verification key, read and checked against its algorithm; a bad key stops the start. */
export async function loadVerification (policy: PolicyConfig): Promise<BundleVerification | undefined> {
  if (policy.verificationKey === undefined) return undefined
  let pem: Buffer
  try {
    pem = await readFile(policy.verificationKey)
  } catch (err) {
    throw new ConfigInvalidError(`/policy/verificationKey: cannot read ${policy.verificationKey} (${(err as Error).message})`)
  }
  try {
    const key = publicKeyFromPem(pem)
    const alg = policy.verificationAlg ?? defaultAlgorithm(key)
    checkKeyFits(key, alg)
    const v: BundleVerification = { key, alg }
    if (policy.verificationKeyId !== undefined) v.keyId = policy.verificationKeyId
    if (policy.verificationScope !== undefined) v.scope = policy.verificationScope
    return v
  } catch (err) {
    throw new ConfigInvalidError(`/policy/verificationKey: ${policy.verificationKey}: ${(err as Error).message}`)
  }
}

export default fp<EngineOptions>(async (fastify, opts) => {
  const config = opts.policy
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

  const store = createPolicyStore(config, storeOptions)
  fastify.decorate('policy', store)
  fastify.decorate('policyPersistence', () => persisting?.state() ?? {})
  if (persisting !== undefined) {
    store.events.on('activated', () => {
      persisting.commit().catch((err: Error) => fastify.log.error({ err: { message: err.message }, dir: config.persistDir }, 'could not persist the activated bundle'))
    })
  }
  store.events.on('activated', (e) => fastify.log.info({ revision: e.revision, digest: e.digest, source: e.source, verified: store.status().verified }, 'policy activated'))
  store.events.on('failed', (e) => {
    const kept = store.current()
    fastify.log.error({ err: e.error, source: e.source, kept: kept ? { revision: kept.revision, digest: kept.digest } : null },
      kept ? 'policy load failed; the last good policy stays active' : 'policy load failed; decisions answer 503 until a good policy loads')
  })
  if (config.bundleUrl?.startsWith('http:') && !verification) {
    fastify.log.warn({ url: config.bundleUrl }, 'policy bundles are fetched over plain http without a verification key: anyone on the path can change the policy')
  }

  // The first load runs when the app is ready, so plugins registered after this
  // one (metrics) hear its 'activated' or 'failed' too. The start waits for it,
  // but not past FIRST_LOAD_WAIT_MS (within fastify's plugin timeout): a bundle
  // server that hangs must not stop the start; until it answers, decisions get 503.
  const closers: Array<() => void> = []
  let closed = false
  fastify.addHook('onReady', async () => {
    const firstLoad = store.load().then(() => true, () => false)
    let watching: Promise<void> | undefined
    if (config.dir !== undefined && config.watch !== false) {
      const intervalMs = config.reconcileIntervalMs ?? POLICY_DEFAULTS.reconcileIntervalMs
      const onWatchError = (err: Error): void => {
        fastify.log.error({ err, dir: config.dir, reconcileIntervalMs: intervalMs }, 'policy directory watch failed; changes are picked up by the reconciler only')
      }
      try {
        const watcher = (opts.watchDir ?? watchPolicyDir)(config.dir, () => { store.reconcile().catch(() => {}) }, { debounceMs: opts.watchDebounceMs, onError: onWatchError })
        closers.push(() => watcher.close())
        watching = watcher.ready
        fastify.log.info({ dir: config.dir, reconcileIntervalMs: intervalMs }, 'watching the policy directory: changes are checked, compiled and activated')
      } catch (err) {
        // A directory that cannot be watched (missing, unreadable) fails its load
        // too: the service still starts, /health says why, decisions answer 503.
        onWatchError(err as Error)
      }
      const reconciler = startReconciling(store, intervalMs)
      closers.push(() => reconciler.stop())
    }
    if (fetcher) {
      closers.push(() => fetcher.close())
      firstLoad.then((ok) => {
        if (closed) return
        const poller = startPolling(() => store.load(), { ...pollingDelays(config), failing: !ok })
        closers.push(() => poller.stop())
      }, () => {})
    }
    let timer: NodeJS.Timeout | undefined
    await Promise.race([Promise.all([firstLoad, watching]), new Promise((resolve) => { timer = setTimeout(resolve, FIRST_LOAD_WAIT_MS) })])
    clearTimeout(timer)
  })

  fastify.addHook('onClose', async () => {
    closed = true
    for (const close of closers) close()
    // A compile in flight finishes (it owns an OPA process and a temp dir).
    await store.idle()
    // The evaluation thread of the served policy (src/engine/isolate.ts).
    await store.current()?.close()
  })
}, { name: 'engine' })
