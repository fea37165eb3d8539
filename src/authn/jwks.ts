// Signing keys of one trusted issuer, fetched with get-jwks from the
// CONFIGURED discovery or JWKS address only (never from anything a token says).
//
// Two things get-jwks does not do, added here:
// - an unknown kid makes get-jwks refetch on every request (no negative
//   cache), so an attacker spraying random kids would make us hammer the IdP.
//   After a lookup for a kid we had never seen fails, further never-seen kids
//   are refused without a fetch until the cooldown passes.
// - its `timeout` option is ignored; the undici Agent below bounds connect,
//   headers and body, and a deadline bounds the whole lookup (undici's timers
//   are coarse, about one second), so a hanging IdP is a quick 401, not a hang.
import { createPublicKey } from 'node:crypto'
import buildGetJwks from 'get-jwks'
import { Agent } from 'undici'
import type { IssuerConfig } from './config.js'
import type { AuthnCounters } from './counters.js'
import { failure, type AuthnFailure } from './failures.js'

export type KeyLookup = { ok: true, pem: string } | AuthnFailure

type Clock = () => number

const WELL_KNOWN = '.well-known/openid-configuration'
const KEY_CACHE_TTL_MS = 10 * 60_000
const MAX_KNOWN_KEYS = 64
const OUTAGE_BACKOFF_MS = 5000

/** Where get-jwks should look, derived from config: a base URL plus, for a direct JWKS URL, its path. */
export function keySourceOf (issuer: IssuerConfig): { domain: string, jwksPath?: string } {
  if (issuer.discovery !== undefined) {
    // get-jwks appends ".well-known/openid-configuration" to the domain itself.
    return { domain: issuer.discovery.slice(0, -WELL_KNOWN.length) }
  }
  const url = new URL(issuer.jwksUri as string)
  return { domain: `${url.origin}/`, jwksPath: `${url.pathname.slice(1)}${url.search}` }
}

class DeadlineExceeded extends Error {}

function withDeadline<T> (work: Promise<T>, ms: number): Promise<T> {
  // The losing promise still settles later (undici times it out); keep its
  // rejection from surfacing as unhandled.
  work.catch(() => {})
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded('key lookup deadline')), ms)
    timer.unref()
  })
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer))
}

function toPem (jwk: Record<string, unknown>): string {
  return createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' })
    .export({ type: 'spki', format: 'pem' })
    .toString()
}

export class IssuerKeys {
  private readonly dispatcher: Agent
  private readonly getJwks: ReturnType<typeof buildGetJwks>
  private readonly domain: string
  private readonly knownKeys = new Set<string>()
  private unknownKidsRefusedUntil = Number.NEGATIVE_INFINITY
  private lastUnknownKidFailure: AuthnFailure = failure('key_not_found')

  constructor (
    private readonly issuer: IssuerConfig,
    private readonly counters: AuthnCounters,
    private readonly now: Clock = Date.now
  ) {
    const timeout = issuer.fetchTimeoutMs
    this.dispatcher = new Agent({ connectTimeout: timeout, headersTimeout: timeout, bodyTimeout: timeout })
    const source = keySourceOf(issuer)
    this.domain = source.domain
    this.getJwks = buildGetJwks({
      // One instance per issuer: jwksPath and discovery are per instance.
      ...(source.jwksPath !== undefined ? { jwksPath: source.jwksPath } : { providerDiscovery: true }),
      issuersWhitelist: [source.domain],
      ttl: KEY_CACHE_TTL_MS,
      max: MAX_KNOWN_KEYS,
      // undici-types and the undici package describe the same Dispatcher.
      fetchOptions: { dispatcher: this.dispatcher as unknown as NonNullable<RequestInit['dispatcher']> }
    })
  }

  /** The PEM public key for a kid, or key_not_found / jwks_unavailable. */
  async lookup (kid: string, alg: string): Promise<KeyLookup> {
    // The cache holds resolved keys and in-flight lookups alike.
    const cacheKey = this.getJwks.generateCacheKey(alg, kid, this.domain)
    const cached = this.getJwks.cache.get(cacheKey) !== undefined
    // Known by alg AND kid: a known kid under another alg is as unknown as a
    // random kid, or it would bypass the cooldown on every request.
    const seenBefore = cached || this.knownKeys.has(cacheKey)
    if (!seenBefore && this.now() < this.unknownKidsRefusedUntil) {
      this.counters.jwksRefetchesSuppressed++
      return this.lastUnknownKidFailure
    }
    if (!cached) this.counters.jwksFetches++

    let jwk: Record<string, unknown>
    try {
      jwk = await withDeadline(this.getJwks.getJwk({ domain: this.domain, alg, kid }), this.issuer.fetchTimeoutMs)
    } catch (err) {
      const outcome = (err as { code?: unknown }).code === 'JWK_NOT_FOUND'
        ? failure('key_not_found')
        : failure('jwks_unavailable')
      if (outcome.code === 'jwks_unavailable') this.counters.jwksFailures++
      if (!seenBefore) {
        // An outage backs off for a few seconds only, so a blip at start-up
        // does not lock every caller out for the whole cooldown.
        const cooldownMs = this.issuer.unknownKidCooldownSec * 1000
        const backoffMs = outcome.code === 'jwks_unavailable' ? Math.min(cooldownMs, OUTAGE_BACKOFF_MS) : cooldownMs
        this.unknownKidsRefusedUntil = this.now() + backoffMs
        this.lastUnknownKidFailure = outcome
      }
      return outcome
    }

    // An encryption key must never verify a signature.
    if (jwk.use !== undefined && jwk.use !== 'sig') return failure('key_not_found')
    let pem: string
    try {
      pem = toPem(jwk)
    } catch {
      return failure('key_not_found')
    }
    if (this.knownKeys.size >= MAX_KNOWN_KEYS) this.knownKeys.clear()
    this.knownKeys.add(cacheKey)
    return { ok: true, pem }
  }

  async close (): Promise<void> {
    // destroy, not close: do not wait for a hanging IdP on shutdown.
    await this.dispatcher.destroy()
  }
}
