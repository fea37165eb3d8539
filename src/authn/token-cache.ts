// Verified-token cache: a token's signature is checked once, then its result
// is reused until the token expires. Keyed by SHA-256 of the token so the
// cache never holds a usable credential.
import { createHash } from 'node:crypto'
import type { Principal } from './principal.js'

interface Entry {
  principal: Principal
  expiresAtMs: number
}

export class VerifiedTokenCache {
  // Map keeps insertion order, so the first key is the oldest entry.
  private readonly entries = new Map<string, Entry>()

  constructor (private readonly maxEntries = 10_000) {}

  static keyOf (token: string): string {
    return createHash('sha256').update(token).digest('base64url')
  }

  get (key: string, nowMs: number): Principal | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    if (nowMs >= entry.expiresAtMs) {
      this.entries.delete(key)
      return undefined
    }
    return entry.principal
  }

  set (key: string, principal: Principal, expiresAtMs: number): void {
    this.entries.delete(key)
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value
      if (oldest === undefined) break
      this.entries.delete(oldest)
    }
    this.entries.set(key, { principal, expiresAtMs })
  }

  get size (): number {
    return this.entries.size
  }
}
