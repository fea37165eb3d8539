// Plain counters a /health or /metrics route can read. Monotonic; never reset.
// Per process: with several workers each has its own (aggregating them is the
// metrics layer's job).
import { FAILURES, type FailureCode } from './failures.js'

export interface AuthnCounters {
  /** key-set fetches started (start-up, background refresh, unknown kid) */
  jwksFetches: number
  /** key-set fetches that failed or timed out */
  jwksFailures: number
  /** of jwksFetches, the ones an unknown kid started */
  jwksUnknownKidRefetches: number
  /** requests with an unknown kid that waited on a fetch already in flight instead of starting one */
  jwksFetchesJoined: number
  /** unknown kids answered without a fetch, because the last one was too recent */
  jwksRefetchesSuppressed: number
  /** signature verifications performed */
  jwtVerifications: number
  /** bearer tokens answered from the verified-token cache */
  jwtCacheHits: number
  /** successful / failed authentications by method */
  jwtAccepted: number
  jwtRejected: number
  basicAccepted: number
  basicRejected: number
  /** Basic attempts refused unchecked because their (account, client) or client is being throttled */
  basicRateLimited: number
  /** Basic credentials answered from the verified-credential cache, and those that had to be hashed */
  basicCacheHits: number
  basicCacheMisses: number
  /** times the secrets file was read again after a change, and the reads that failed (no Basic account is valid then) */
  secretsReloads: number
  secretsReloadFailures: number
  /** every refusal, by reason code */
  rejectsByReason: Record<FailureCode, number>
}

export function createCounters (): AuthnCounters {
  return {
    jwksFetches: 0,
    jwksFailures: 0,
    jwksUnknownKidRefetches: 0,
    jwksFetchesJoined: 0,
    jwksRefetchesSuppressed: 0,
    jwtVerifications: 0,
    jwtCacheHits: 0,
    jwtAccepted: 0,
    jwtRejected: 0,
    basicAccepted: 0,
    basicRejected: 0,
    basicRateLimited: 0,
    basicCacheHits: 0,
    basicCacheMisses: 0,
    secretsReloads: 0,
    secretsReloadFailures: 0,
    rejectsByReason: Object.fromEntries(Object.keys(FAILURES).map((code) => [code, 0])) as Record<FailureCode, number>
  }
}
