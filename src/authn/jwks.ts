// Signing keys of one trusted issuer, fetched from the CONFIGURED discovery or
// JWKS address only (never from anything a token says).
//
// The issuer's whole key set is held and refreshed as one:
// - one fetch in flight at a time; every request that needs it waits on the
//   same fetch (50 unknown kids at once cost the IdP one request, not 100);
// - refreshed in the background (start-up, then every `keyRefreshSec`, or what
//   the JWKS response's Cache-Control max-age says, within bounds), so a key
//   the IdP rotates in is known before the first token signed with it arrives;
// - a kid that is not in the set may trigger a refetch only when the last fetch
//   started at least `unknownKidMinIntervalSec` ago, whatever started it. A
//   spray of junk kids costs the IdP at most one request per interval and
//   never starts a long cooldown: a legitimate new key waits at most that long;
// - every fetch (discovery + JWKS together) is bounded by `fetchTimeoutMs`, so
//   a hanging IdP is a quick `jwks_unavailable`, never a hang;
// - a failed refresh keeps the last good set (an IdP blip is not an outage),
//   but never for longer than MAX_KEY_SET_AGE_MS.
import { createPublicKey, type JsonWebKey } from 'node:crypto'
import { Agent } from 'undici'
import type { IssuerConfig } from './config.js'
import type { AuthnCounters } from './counters.js'
import { failure, type AuthnFailure } from './failures.js'

export type KeyLookup = { ok: true, pem: string } | AuthnFailure

type Clock = () => number

const MAX_DOCUMENT_BYTES = 1024 * 1024
const MAX_KEYS = 100
/** how long the last good key set outlives failing refreshes */
export const MAX_KEY_SET_AGE_MS = 24 * 60 * 60_000
/** after a failed background refresh, try again this soon (or at the regular interval if shorter) */
const RETRY_AFTER_FAILURE_MS = 30_000
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

const CURVE_OF_ALG: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }

interface PublishedKey {
  kty: string
  crv?: string
  alg?: string
  pem: string
}

interface KeySet {
  byKid: Map<string, PublishedKey[]>
  fetchedAt: number
}

type FetchOutcome = { ok: true } | { ok: false, reason: string }

class FetchFailed extends Error {}

/** Whether a published key can verify a signature made with `alg`. */
function fits (key: PublishedKey, alg: string): boolean {
  if (key.alg !== undefined && key.alg !== alg) return false
  if (alg.startsWith('RS') || alg.startsWith('PS')) return key.kty === 'RSA'
  return key.kty === 'EC' && key.crv === CURVE_OF_ALG[alg]
}

/** Parses a JWKS document into usable signing keys; keys that cannot verify anything are skipped. */
export function parseKeySet (document: unknown): Map<string, PublishedKey[]> {
  const keys = (document as { keys?: unknown } | null)?.keys
  if (!Array.isArray(keys)) throw new FetchFailed('the JWKS has no keys array')
  const byKid = new Map<string, PublishedKey[]>()
  for (const jwk of keys.slice(0, MAX_KEYS) as Array<Record<string, unknown>>) {
    if (jwk === null || typeof jwk !== 'object') continue
    const { kid, kty, crv, alg, use } = jwk
    // Tokens must name their key, so a key without kid is never chosen.
    if (typeof kid !== 'string' || kid === '' || (kty !== 'RSA' && kty !== 'EC')) continue
    // An encryption key must never verify a signature.
    if (use !== undefined && use !== 'sig') continue
    if (alg !== undefined && typeof alg !== 'string') continue
    let pem: string
    try {
      pem = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()
    } catch {
      continue
    }
    const key: PublishedKey = { kty, pem }
    if (typeof crv === 'string') key.crv = crv
    if (typeof alg === 'string') key.alg = alg
    byKid.set(kid, [...(byKid.get(kid) ?? []), key])
  }
  return byKid
}

/** max-age of a Cache-Control header, when it has a usable one. */
export function maxAgeSec (cacheControl: string | null): number | undefined {
  if (cacheControl === null || /\bno-(store|cache)\b/i.test(cacheControl)) return undefined
  const match = /(?:^|[,\s])max-age\s*=\s*"?(\d{1,10})"?/i.exec(cacheControl)
  return match !== null ? Number(match[1]) : undefined
}

/** How long until the next background refresh, honouring max-age within the issuer's bounds. */
export function refreshDelayMs (issuer: IssuerConfig, cacheControl: string | null): number {
  const maxAge = maxAgeSec(cacheControl)
  const seconds = maxAge === undefined
    ? issuer.keyRefreshSec
    : Math.min(Math.max(maxAge, issuer.keyRefreshMinSec), issuer.keyRefreshMaxSec)
  return seconds * 1000
}

function checkedUrl (raw: unknown): string {
  if (typeof raw !== 'string') throw new FetchFailed('discovery has no jwks_uri')
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new FetchFailed('jwks_uri is not a URL')
  }
  // Same rule as for configured addresses: keys over plain HTTP only on loopback.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    throw new FetchFailed('jwks_uri must use https')
  }
  return url.href
}

async function readJson (response: Response): Promise<unknown> {
  if (!response.ok) throw new FetchFailed(`HTTP ${response.status}`)
  const declared = Number(response.headers.get('content-length') ?? '0')
  if (declared > MAX_DOCUMENT_BYTES) throw new FetchFailed('document too large')
  const chunks: Uint8Array[] = []
  let size = 0
  if (response.body !== null) {
    for await (const chunk of response.body) {
      size += chunk.byteLength
      if (size > MAX_DOCUMENT_BYTES) throw new FetchFailed('document too large')
      chunks.push(chunk)
    }
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new FetchFailed('document is not JSON')
  }
}

export class IssuerKeys {
  private readonly dispatcher: Agent
  private keySet: KeySet | undefined
  private jwksUri: string | undefined
  private lastFetchStartedAt = Number.NEGATIVE_INFINITY
  private lastFetchFailed = false
  private inFlight: Promise<FetchOutcome> | undefined
  private timer: NodeJS.Timeout | undefined
  private closed = false

  constructor (
    private readonly issuer: IssuerConfig,
    private readonly counters: AuthnCounters,
    private readonly now: Clock = Date.now
  ) {
    const timeout = issuer.fetchTimeoutMs
    // Bounds each connection; the deadline in fetchOnce() bounds the whole refresh.
    this.dispatcher = new Agent({ connectTimeout: timeout, headersTimeout: timeout, bodyTimeout: timeout })
    this.jwksUri = issuer.jwksUri
  }

  /** Fetches the keys now (without waiting) and keeps them fresh in the background. */
  start (): void {
    // refresh() never rejects: a failure is an outcome, counted and retried.
    if (this.inFlight === undefined && !this.closed) this.refresh('background').catch(() => {})
  }

  /** The PEM public key for a kid and algorithm, or the reason there is none. */
  async lookup (kid: string, alg: string): Promise<KeyLookup> {
    const found = this.find(kid, alg)
    if (found !== undefined) return { ok: true, pem: found.pem }

    let fetch = this.inFlight
    if (fetch !== undefined) {
      this.counters.jwksFetchesJoined++
    } else {
      const sinceLast = this.now() - this.lastFetchStartedAt
      if (sinceLast < this.issuer.unknownKidMinIntervalSec * 1000) {
        // The set was fetched moments ago: this kid is not published (or the
        // IdP is down). Answer from what is known; the IdP is not asked again.
        this.counters.jwksRefetchesSuppressed++
        return this.notFound(kid)
      }
      this.counters.jwksUnknownKidRefetches++
      fetch = this.refresh('unknown-kid')
    }
    const outcome = await fetch
    const after = this.find(kid, alg)
    if (after !== undefined) return { ok: true, pem: after.pem }
    if (!outcome.ok) return failure('jwks_unavailable')
    return this.notFound(kid)
  }

  private currentSet (): KeySet | undefined {
    const set = this.keySet
    if (set !== undefined && this.now() - set.fetchedAt > MAX_KEY_SET_AGE_MS) return undefined
    return set
  }

  private find (kid: string, alg: string): PublishedKey | undefined {
    return this.currentSet()?.byKid.get(kid)?.find((key) => fits(key, alg))
  }

  private notFound (kid: string): AuthnFailure {
    const set = this.currentSet()
    if (set === undefined || (this.lastFetchFailed && !set.byKid.has(kid))) return failure('jwks_unavailable')
    // A published kid under an algorithm its key cannot do: key confusion.
    return failure(set.byKid.has(kid) ? 'key_algorithm_mismatch' : 'key_not_found')
  }

  private refresh (reason: 'background' | 'unknown-kid'): Promise<FetchOutcome> {
    this.lastFetchStartedAt = this.now()
    this.counters.jwksFetches++
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    const fetch = this.fetchOnce(reason).then(
      (cacheControl): FetchOutcome => {
        this.lastFetchFailed = false
        this.schedule(refreshDelayMs(this.issuer, cacheControl))
        return { ok: true }
      },
      (err: unknown): FetchOutcome => {
        this.lastFetchFailed = true
        this.counters.jwksFailures++
        this.schedule(Math.min(RETRY_AFTER_FAILURE_MS, this.issuer.keyRefreshSec * 1000))
        return { ok: false, reason: err instanceof FetchFailed ? err.message : (err as Error)?.name ?? 'error' }
      }
    ).finally(() => { this.inFlight = undefined })
    this.inFlight = fetch
    return fetch
  }

  private schedule (delayMs: number): void {
    if (this.closed) return
    this.timer = setTimeout(() => { this.start() }, delayMs)
    this.timer.unref()
  }

  /** Discovery (when configured and due) then the JWKS, all within fetchTimeoutMs. Returns Cache-Control. */
  private async fetchOnce (reason: 'background' | 'unknown-kid'): Promise<string | null> {
    const controller = new AbortController()
    let deadline: NodeJS.Timeout | undefined
    const timedOut = new Promise<never>((_resolve, reject) => {
      deadline = setTimeout(() => {
        controller.abort()
        reject(new FetchFailed('timed out'))
      }, this.issuer.fetchTimeoutMs)
      deadline.unref()
    })
    const get = (url: string): Promise<Response> => fetch(url, {
      signal: controller.signal,
      headers: { accept: 'application/json' },
      redirect: 'error',
      // undici-types and the undici package describe the same Dispatcher.
      dispatcher: this.dispatcher as unknown as NonNullable<RequestInit['dispatcher']>
    } as RequestInit)
    const work = (async () => {
      // Discovery is re-read on background refreshes and after a failure (the
      // jwks_uri may have moved), never for an unknown kid: a spray of kids
      // costs one request each interval, not two.
      if (this.issuer.discovery !== undefined && (this.jwksUri === undefined || reason === 'background' || this.lastFetchFailed)) {
        const discovery = await readJson(await get(this.issuer.discovery)) as { jwks_uri?: unknown } | null
        this.jwksUri = checkedUrl(discovery?.jwks_uri)
      }
      const response = await get(this.jwksUri as string)
      const byKid = parseKeySet(await readJson(response))
      if (this.closed) throw new FetchFailed('closed')
      this.keySet = { byKid, fetchedAt: this.now() }
      return response.headers.get('cache-control')
    })()
    work.catch(() => {})
    try {
      return await Promise.race([work, timedOut])
    } finally {
      clearTimeout(deadline)
    }
  }

  async close (): Promise<void> {
    this.closed = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    // destroy, not close: do not wait for a hanging IdP on shutdown.
    await this.dispatcher.destroy()
  }
}
