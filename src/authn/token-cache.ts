// Verified-token cache: a token's signature is checked once, then its result
// is reused until the token expires. Keyed by SHA-256 of the token so the
// cache never holds a usable credential.
import { createHash } from 'node:crypto'
import { ExpiringCache } from './expiring-cache.js'
import type { Principal } from './principal.js'

export class VerifiedTokenCache extends ExpiringCache<Principal> {
  constructor (maxEntries = 10_000) {
    super(maxEntries)
  }

  static keyOf (token: string): string {
    return createHash('sha256').update(token).digest('base64url')
  }
}
