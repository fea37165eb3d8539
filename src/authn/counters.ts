// Plain counters a /health or /metrics route can read. Monotonic; never reset.
export interface AuthnCounters {
  /** key lookups that had to go to the network (get-jwks cache miss) */
  jwksFetches: number
  /** lookups whose JWKS/discovery fetch failed or timed out */
  jwksFailures: number
  /** unknown kids refused by the refetch cooldown without a fetch */
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
  basicRateLimited: number
}

export function createCounters (): AuthnCounters {
  return {
    jwksFetches: 0,
    jwksFailures: 0,
    jwksRefetchesSuppressed: 0,
    jwtVerifications: 0,
    jwtCacheHits: 0,
    jwtAccepted: 0,
    jwtRejected: 0,
    basicAccepted: 0,
    basicRejected: 0,
    basicRateLimited: 0
  }
}
