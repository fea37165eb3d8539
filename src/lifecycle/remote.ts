// Remote bundles: one conditional GET per poll (If-None-Match with the ETag of the
// active bundle, so an unchanged bundle costs a 304 and no download), bounded in
// time and size, and a polling loop that waits a random delay between polls and
// backs off exponentially, with jitter, while polls fail.
import { readFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { Agent, type Dispatcher } from 'undici'
import { PolicyFetchError } from '../errors.js'
import type { BundleServiceConfig } from './config.js'

export type FetchResult =
  | { notModified: true }
  | { notModified: false, body: Buffer, etag?: string }

export interface BundleFetcher {
  fetch (etag?: string): Promise<FetchResult>
  /** Aborts downloads in flight; later fetches fail at once. */
  close (): void
}

export interface FetcherOptions {
  timeoutMs: number
  maxBytes: number
  /** credentials and TLS settings for the bundle service */
  service?: BundleServiceConfig
}

/**
 * The connection settings of the bundle service: a dispatcher with the client
 * certificate and CA (read now; a file that cannot be read stops the start).
 */
function serviceDispatcher (service: BundleServiceConfig | undefined): Dispatcher | undefined {
  if (service?.clientCertFile === undefined && service?.caFile === undefined) return undefined
  const read = (label: string, file: string): Buffer => {
    try {
      return readFileSync(file)
    } catch (err) {
      throw new PolicyFetchError(`policy.bundleService.${label} (${file}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
  }
  return new Agent({
    connect: {
      ...(service.clientCertFile !== undefined ? { cert: read('clientCertFile', service.clientCertFile) } : {}),
      ...(service.clientKeyFile !== undefined ? { key: read('clientKeyFile', service.clientKeyFile) } : {}),
      ...(service.caFile !== undefined ? { ca: read('caFile', service.caFile) } : {})
    }
  })
}

/** The bearer token, read at every download so a rotated token is picked up; never logged. */
async function bearerToken (file: string): Promise<string> {
  let token: string
  try {
    token = (await readFile(file, 'utf8')).trim()
  } catch (err) {
    throw new PolicyFetchError(`policy.bundleService.bearerTokenFile (${file}): ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`)
  }
  if (token === '' || /[\s]/.test(token)) throw new PolicyFetchError(`policy.bundleService.bearerTokenFile (${file}): not a single token`)
  return token
}

export function createBundleFetcher (url: string, options: FetcherOptions): BundleFetcher {
  const inFlight = new Set<AbortController>()
  let closed = false
  const service = options.service
  const dispatcher = serviceDispatcher(service)

  async function fetchOnce (etag: string | undefined, controller: AbortController): Promise<FetchResult> {
    const headers: Record<string, string> = { ...service?.headers, accept: 'application/gzip, application/octet-stream' }
    if (service?.bearerTokenFile !== undefined) headers.authorization = `Bearer ${await bearerToken(service.bearerTokenFile)}`
    if (etag) headers['if-none-match'] = etag
    // undici's dispatcher option is accepted by Node's fetch; its types differ from lib.dom's RequestInit.
    const init = { headers, signal: controller.signal, ...(dispatcher !== undefined ? { dispatcher } : {}) } as RequestInit
    const res = await fetch(url, init)
    if (res.status === 304 && etag) return { notModified: true }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {})
      throw new PolicyFetchError(`${url} answered HTTP ${res.status}`)
    }
    const declared = Number(res.headers.get('content-length') ?? NaN)
    if (declared > options.maxBytes) {
      await res.body?.cancel().catch(() => {})
      throw new PolicyFetchError(`${url} sent ${declared} bytes, more than the ${options.maxBytes} allowed`)
    }
    const body = await readBounded(res, options.maxBytes, url)
    const result: FetchResult = { notModified: false, body }
    const tag = res.headers.get('etag')
    if (tag) result.etag = tag
    return result
  }

  return {
    async fetch (etag) {
      if (closed) throw new PolicyFetchError('the bundle fetcher is closed')
      const controller = new AbortController()
      inFlight.add(controller)
      // One deadline for connect, headers and body: a server that accepts and
      // never answers, or trickles the body, is cut off all the same.
      const timer = setTimeout(() => controller.abort(new PolicyFetchError(`${url} did not answer within ${options.timeoutMs} ms`)), options.timeoutMs)
      try {
        return await fetchOnce(etag, controller)
      } catch (err) {
        if (controller.signal.aborted) throw controller.signal.reason
        if (err instanceof PolicyFetchError) throw err
        const cause = (err as { cause?: { message?: string, code?: string } }).cause
        throw new PolicyFetchError(`${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`)
      } finally {
        clearTimeout(timer)
        inFlight.delete(controller)
      }
    },
    close () {
      closed = true
      for (const c of inFlight) c.abort(new PolicyFetchError('the bundle fetcher is closed'))
      dispatcher?.close().catch(() => {})
    }
  }
}

async function readBounded (res: Response, maxBytes: number, url: string): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  if (!res.body) return Buffer.alloc(0)
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength
    if (size > maxBytes) throw new PolicyFetchError(`${url} sent more than the ${maxBytes} bytes allowed`)
    chunks.push(Buffer.from(chunk))
  }
  return Buffer.concat(chunks)
}

/** The first retry comes this soon after a failed poll (OPA's minimum retry delay). */
export const BACKOFF_BASE_MS = 100

/**
 * The delay before retry number `failures` (1, 2, …): exponential from
 * BACKOFF_BASE_MS, capped at maxMs, with "equal jitter" (between half and all of
 * it) so a fleet that failed together does not retry together.
 */
export function backoffDelay (failures: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, BACKOFF_BASE_MS * 2 ** Math.min(Math.max(failures - 1, 0), 30))
  return exp / 2 + random() * (exp / 2)
}

/** The delay before the next poll after a successful one: uniform in [minMs, maxMs]. */
export function pollDelay (minMs: number, maxMs: number, random: () => number = Math.random): number {
  return minMs + random() * (maxMs - minMs)
}

export interface PollerOptions {
  minMs: number
  maxMs: number
  random?: () => number
  /** The load before polling started failed: retry soon (backoff) instead of after a full poll delay. */
  failing?: boolean
}

export interface Poller { stop (): void }

/** Calls `poll` after a delay, again and again, until stopped; polls never overlap. */
export function startPolling (poll: () => Promise<unknown>, options: PollerOptions): Poller {
  const random = options.random ?? Math.random
  let failures = options.failing ? 1 : 0
  let timer: NodeJS.Timeout | undefined
  let stopped = false

  const schedule = (delay: number): void => {
    if (stopped) return
    timer = setTimeout(() => {
      poll().then(() => {
        failures = 0
        schedule(pollDelay(options.minMs, options.maxMs, random))
      }, () => {
        failures++
        schedule(backoffDelay(failures, options.maxMs, random))
      })
    }, delay)
    timer.unref()
  }
  schedule(failures > 0 ? backoffDelay(failures, options.maxMs, random) : pollDelay(options.minMs, options.maxMs, random))
  return {
    stop () {
      stopped = true
      clearTimeout(timer)
    }
  }
}
