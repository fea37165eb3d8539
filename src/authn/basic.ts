// HTTP Basic for ERP service accounts (usernames like `ACME||SVC_PAYROLL`).
// Every check of a well-formed credential runs the same hash, known user or
// not, and compares equal-length digests in constant time; failures are
// throttled per (account, client address) and per client address with a
// growing delay (rate-limit.ts), never by locking the account.
import { timingSafeEqual } from 'node:crypto'
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

export interface BasicAuthenticatorDeps {
  store: SecretStore
  counters: AuthnCounters
  /** where failures are counted: this process, or the cluster primary */
  throttle: ThrottleStore
  /** the hash function; injectable so tests can see which record is hashed */
  digest?: typeof digestSecret
}

export class BasicAuthenticator {
  private readonly digest: typeof digestSecret

  constructor (_config: BasicConfig, private readonly deps: BasicAuthenticatorDeps) {
    this.digest = deps.digest ?? digestSecret
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

    // A throttled client is refused unchecked; otherwise the attempt is
    // counted as a failure before hashing, so a burst of parallel guesses
    // cannot all slip past the limit while their hashes are computed.
    if (await this.deps.throttle.begin(username, client) > 0) return failure('basic_rate_limited')

    const { store } = this.deps
    const known = store.records.get(username)
    const record = known ?? store.dummy
    const expected = Buffer.from(record.hash, 'base64')
    const actual = await this.digest(secret, record, store.pepper)
    // Digest lengths match by construction; guard anyway, since
    // timingSafeEqual throws on unequal lengths.
    const matches = actual.length === expected.length && timingSafeEqual(actual, expected)

    if (known === undefined || !matches) return failure('basic_invalid_credentials')
    this.deps.throttle.succeeded(username, client)
    return {
      ok: true,
      principal: makePrincipal({ method: 'basic', idp: 'basic', subject: username, erp_user: username, roles: [], scopes: [] })
    }
  }
}
