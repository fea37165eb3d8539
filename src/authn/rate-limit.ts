// Failed Basic attempts, counted per (account, client address) and per client
// address, answered with a growing delay instead of a lockout. Whoever fails
// waits; nobody else does: the right secret from a client that did not fail
// is checked as usual while another client is being throttled, so knowing a
// service account's name is not enough to lock it out.
//
// After `maxFailures` failures of one account from one client (or
// `maxFailuresPerAddress` failures of any accounts from one client) the next
// attempt must wait `delaySec`, and every further failure doubles the wait up
// to `maxDelaySec`. An attempt made while waiting is refused unchecked and
// does not count. Counts are forgotten `windowSec` after the last failure.
//
// Only checks come here: a credential already verified (basic-cache.ts) is not
// a guess and is answered without asking, and requests with the identical
// header from one client share one attempt (basic.ts), so a pool sending the
// right secret in parallel holds one pending failure, not one per request.
export interface ThrottleConfig {
  maxFailures: number
  maxFailuresPerAddress: number
  windowSec: number
  delaySec: number
  maxDelaySec: number
}

interface Entry {
  failures: number
  lastFailureAt: number
}

/** The one place the throttle's state lives (in a worker's own process, or in the cluster primary). */
export interface ThrottleStore {
  /**
   * Called before a credential is checked. 0: go ahead (the attempt is counted
   * as a failure now, so parallel guesses cannot all slip through while their
   * hashes run); otherwise the milliseconds the client must still wait.
   */
  begin: (account: string, client: string) => Promise<number>
  /** The credential was right: forget the pair's failures and take back the counted one. */
  succeeded: (account: string, client: string) => void
}

export class FailureThrottle {
  // Map keeps insertion order: the first key is the least recently failed.
  private readonly entries = new Map<string, Entry>()

  constructor (private readonly config: ThrottleConfig, private readonly maxKeys = 50_000) {}

  private entry (key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key)
    if (entry !== undefined && now - entry.lastFailureAt >= this.config.windowSec * 1000) {
      this.entries.delete(key)
      return undefined
    }
    return entry
  }

  private waitFor (entry: Entry | undefined, free: number, now: number): number {
    if (entry === undefined || entry.failures < free) return 0
    const { delaySec, maxDelaySec } = this.config
    const delayMs = Math.min(maxDelaySec, delaySec * 2 ** Math.min(entry.failures - free, 30)) * 1000
    return Math.max(0, entry.lastFailureAt + delayMs - now)
  }

  private fail (key: string, now: number): void {
    const entry = this.entry(key, now)
    this.entries.delete(key)
    // Bounded memory: forget the least recently failed when full.
    if (entry === undefined && this.entries.size >= this.maxKeys) {
      const oldest = this.entries.keys().next().value
      if (oldest !== undefined) this.entries.delete(oldest)
    }
    this.entries.set(key, { failures: (entry?.failures ?? 0) + 1, lastFailureAt: now })
  }

  begin (account: string, client: string, now: number): number {
    const pairKey = pair(account, client)
    const clientKey = `c\u0000${client}`
    const wait = Math.max(
      this.waitFor(this.entry(pairKey, now), this.config.maxFailures, now),
      this.waitFor(this.entry(clientKey, now), this.config.maxFailuresPerAddress, now)
    )
    if (wait > 0) return wait
    this.fail(pairKey, now)
    this.fail(clientKey, now)
    return 0
  }

  succeeded (account: string, client: string, now: number): void {
    this.entries.delete(pair(account, client))
    const entry = this.entry(`c\u0000${client}`, now)
    if (entry !== undefined && entry.failures > 0) entry.failures--
  }

  get size (): number {
    return this.entries.size
  }
}

function pair (account: string, client: string): string {
  return `p\u0000${account}\u0000${client}`
}

/** The throttle kept in this process. */
export function localThrottleStore (config: ThrottleConfig, now: () => number = Date.now): ThrottleStore & { throttle: FailureThrottle } {
  const throttle = new FailureThrottle(config)
  return {
    throttle,
    begin: async (account, client) => throttle.begin(account, client, now()),
    succeeded: (account, client) => { throttle.succeeded(account, client, now()) }
  }
}
