// Verified Basic credentials, so the HMAC or scrypt of a service account's
// secret runs once per credential per TTL rather than on every request.
//
// Keyed by an HMAC of the credential with a key drawn at random for this
// process: the cache holds neither a secret nor a digest anyone could compute
// (a plain SHA-256 of a low-entropy secret could be guessed offline from a heap
// dump). Only successes are stored, and only the username they proved: a
// failure is never remembered, so it is checked, and throttled, every time.
// The secret store's owner clears the cache whenever the secrets change.
import { createHmac, randomBytes } from 'node:crypto'
import { ExpiringCache } from './expiring-cache.js'

export interface BasicCacheConfig {
  /** 0 turns the cache off */
  maxEntries: number
  ttlMs: number
}

export class VerifiedBasicCache {
  private readonly key = randomBytes(32)
  private readonly entries: ExpiringCache<string>

  constructor (private readonly config: BasicCacheConfig) {
    this.entries = new ExpiringCache(config.maxEntries)
  }

  /** The cache key of the part after "Basic ". */
  keyOf (encoded: string): string {
    return createHmac('sha256', this.key).update(encoded).digest('base64url')
  }

  /** The username this credential was verified as, while that is fresh. */
  get (key: string, nowMs: number): string | undefined {
    return this.entries.get(key, nowMs)
  }

  /** Remembers a successful verification. */
  remember (key: string, username: string, nowMs: number): void {
    this.entries.set(key, username, nowMs + this.config.ttlMs)
  }

  clear (): void {
    this.entries.clear()
  }

  get size (): number {
    return this.entries.size
  }
}
