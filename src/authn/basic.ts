// HTTP Basic for ERP service accounts (usernames like `ACME||SVC_PAYROLL`).
// Every check of a well-formed credential runs the same hash, known user or
// not, and compares equal-length digests in constant time; failures are
// throttled per (account, client address) and per client address with a
// growing delay (rate-limit.ts), never by locking the account. A verified
// credential is remembered for a short while (basic-cache.ts) and a cache hit
// is answered without asking the throttle (see check()). Concurrent checks of
// the same header from the same client share one attempt, so one right
// credential never holds more than one pending "failure" in the throttle.
import { timingSafeEqual } from 'node:crypto'
import { VerifiedBasicCache } from './basic-cache.js'
import type { BasicConfig } from './config.js'
import type { AuthnCounters } from './counters.js'
import { failure, type AuthnFailure } from './failures.js'
import type { ThrottleStore } from './rate-limit.js'
import { makePrincipal, type AuthnResult } from './principal.js'
import { digestSecret, type SecretStore } from './secrets.js'

const MAX_ENCODED_LENGTH = 2048
const MAX_USERNAME_LENGTH = 256
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

export type BasicCredential = { ok: true, username: string, secret: string } | AuthnFailure

/** Parses the part after "Basic ". The username ends at the FIRST colon (RFC 7617). */
export function parseBasicCredential (encoded: string): BasicCredential {
  if (encoded.length === 0 || encoded.length > MAX_ENCODED_LENGTH || encoded.length % 4 !== 0 || !BASE64.test(encoded)) {
    return failure('basic_malformed')
  }
  const decoded = Buffer.from(encoded, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon <= 0) return failure('basic_malformed')
  const username = decoded.slice(0, colon)
  // Control characters have no place in a username and would only make logs lie.
  if (username.length > MAX_USERNAME_LENGTH || /\p{Cc}/u.test(username)) return failure('basic_malformed')
  return { ok: true, username, secret: decoded.slice(colon + 1) }
}

type Outcome = { ok: true, generation: number } | { ok: false, code: 'basic_invalid_credentials' | 'basic_rate_limited', generation: number }

export interface BasicAuthenticatorDeps {
  store: SecretStore
  counters: AuthnCounters
  /** where failures are counted: this process, or the cluster primary */
  throttle: ThrottleStore
  /** the hash function; injectable so tests can see which record is hashed */
  digest?: typeof digestSecret
  now?: () => number
}

export class BasicAuthenticator {
  private readonly digest: typeof digestSecret
  private readonly now: () => number
  private readonly cache: VerifiedBasicCache
  private store: SecretStore
  /** bumped by every store replacement; a check that spans one starts over */
  private generation = 0
  /** checks in progress, by cache key and client address (see check()) */
  private readonly inFlight = new Map<string, Promise<Outcome>>()

  constructor (config: BasicConfig, private readonly deps: BasicAuthenticatorDeps) {
    this.digest = deps.digest ?? digestSecret
    this.now = deps.now ?? Date.now
    this.cache = new VerifiedBasicCache(config.cache)
    this.store = deps.store
  }

  /**
   * New secrets (the file changed): from now on only they count. Remembered
   * verifications are forgotten, so a removed account or a changed secret is
   * refused from the next request on.
   */
  replaceStore (store: SecretStore): void {
    this.store = store
    this.generation++
    this.cache.clear()
  }

  /** entries in the verified-credential cache (for tests and status) */
  get cacheSize (): number {
    return this.cache.size
  }

  /** `client` is the client address (client-address.ts), '' when unknown. */
  async authenticate (encoded: string, client: string): Promise<AuthnResult> {
    const result = await this.check(encoded, client)
    if (result.ok) this.deps.counters.basicAccepted++
    else if (result.code === 'basic_rate_limited') this.deps.counters.basicRateLimited++
    else this.deps.counters.basicRejected++
    return result
  }

  private async check (encoded: string, client: string): Promise<AuthnResult> {
    const credential = parseBasicCredential(encoded)
    if (!credential.ok) return credential
    const { username, secret } = credential
    // The key covers the whole credential, so a cached entry proves this
    // username with this secret; a wrong secret is a different key (a miss).
    const key = this.cache.keyOf(encoded)
    for (;;) {
      // A cache hit is answered without asking the throttle, even for a client
      // the throttle is holding back for this account. The throttle exists to
      // stop guessing, and a hit is not a guess: only a verified success is
      // stored (under a keyed HMAC of the exact header, emptied on every
      // secrets reload), so a hit proves the caller holds the right secret and
      // tells it nothing it did not know. Refusing it would only refuse the
      // legitimate callers that share an address (NAT, gateway, connection
      // pool) with someone guessing. A hit does NOT report a success either:
      // that would erase the (account, client) failures and hand a guesser
      // behind the same address a fresh allowance with every legitimate
      // request. Misses, i.e. every wrong secret, go through the throttle.
      if (this.cache.get(key, this.now()) === username) {
        this.deps.counters.basicCacheHits++
        return accepted(username)
      }
      // Requests with the identical header from the same client while one is
      // being checked wait for that check instead of starting their own: each
      // attempt counts as a failure until it succeeds (rate-limit.ts), so a
      // pool of N parallel requests with the right secret would otherwise hold
      // N pending failures and be refused. Identical headers are one guess, so
      // joining loses no count. The client is part of the key because the
      // outcome includes that client's throttle: another address must neither
      // inherit a throttled client's refusal nor have its guess answered
      // without being counted against it.
      const flightKey = `${key}\u0000${client}`
      let flight = this.inFlight.get(flightKey)
      if (flight === undefined) {
        const started = this.attempt(username, secret, key, client)
        flight = started
        this.inFlight.set(flightKey, started)
        const settled = (): void => { if (this.inFlight.get(flightKey) === started) this.inFlight.delete(flightKey) }
        started.then(settled, settled)
      }
      const outcome = await flight
      // Decided under secrets that have since been replaced: start over, so a
      // request that joined a check begun before a reload is answered by the
      // new secrets (the check itself already re-verifies on a reload; this
      // covers a reload between its answer and this request resuming).
      if (outcome.generation !== this.generation) continue
      return outcome.ok ? accepted(username) : failure(outcome.code)
    }
  }

  /**
   * One throttled check. A throttled client is refused unchecked; otherwise
   * the attempt is counted as a failure before hashing, so a burst of
   * parallel guesses cannot all slip past the limit while their hashes are
   * computed, and taken back when it succeeds.
   */
  private async attempt (username: string, secret: string, key: string, client: string): Promise<Outcome> {
    if (await this.deps.throttle.begin(username, client) > 0) {
      return { ok: false, code: 'basic_rate_limited', generation: this.generation }
    }
    this.deps.counters.basicCacheMisses++
    const generation = await this.verify(username, secret, key)
    if (generation === undefined) return { ok: false, code: 'basic_invalid_credentials', generation: this.generation }
    this.deps.throttle.succeeded(username, client)
    return { ok: true, generation }
  }

  /**
   * True when the secret is the account's, by the secrets current when the
   * check ends: if they were replaced while the hash ran, it runs again
   * against the new ones, so a verification begun under the old secrets can
   * neither answer nor be cached after a reload. A success is cached under
   * `key` in the same step as that last look at the secrets. Returns the
   * generation of the secrets that verified it, undefined when refused.
   */
  private async verify (username: string, secret: string, key: string): Promise<number | undefined> {
    for (;;) {
      const { store, generation } = this
      const known = store.records.get(username)
      const record = known ?? store.dummy
      const expected = Buffer.from(record.hash, 'base64')
      const actual = await this.digest(secret, record, store.pepper)
      if (generation !== this.generation) continue
      // Digest lengths match by construction; guard anyway, since
      // timingSafeEqual throws on unequal lengths.
      const matches = actual.length === expected.length && timingSafeEqual(actual, expected)
      if (known === undefined || !matches) return undefined
      this.cache.remember(key, username, this.now())
      return generation
    }
  }
}

function accepted (username: string): AuthnResult {
  return {
    ok: true,
    principal: makePrincipal({ method: 'basic', idp: 'basic', subject: username, erp_user: username, roles: [], scopes: [] })
  }
}
