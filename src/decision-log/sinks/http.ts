// The `http` sink: uploads in OPA's decision-log service format — a POST whose
// body is a gzip-compressed JSON array of events (Content-Encoding: gzip,
// Content-Type: application/json). A batch is sent when it is full (events or
// bytes) or when the oldest waiting event has waited flushIntervalMs.
//
// One upload is in flight at a time. A failed upload (network error, timeout,
// any non-2xx answer) is retried with the SAME events, so the receiver gets every
// event at least once and a duplicate carries the same decision_id; the delays
// grow exponentially with full jitter. Every upload has a timeout, so a receiver
// that hangs costs retries, never a stuck sink. While an upload is retried, new
// events wait in the bounded buffer, which drops its oldest when full.
import { promisify } from 'node:util'
import { gzip as gzipCallback } from 'node:zlib'
import type { HttpSinkConfig } from '../config.js'
import type { BoundedQueue } from '../queue.js'
import type { Sink, SinkLogger, SinkStats } from './sink.js'

const gzip = promisify(gzipCallback)

/** Full jitter: a random delay in [0, min(max, base·2^(attempt-1))]. */
export function retryDelay (attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.max(0, attempt - 1))
  return Math.max(minMs, Math.round(random() * ceiling))
}

export class HttpSink implements Sink {
  readonly name = 'http' as const
  private pending: string[] | undefined
  private attempt = 0
  private written = 0
  private lost = 0
  private failures = 0
  private wantAll = false
  private closing = false
  private running: Promise<void> | undefined
  private timer: NodeJS.Timeout | undefined
  private readonly stop = new AbortController()

  private readonly headers: Record<string, string>

  /** `bearerToken`: the receiver's credential (from `bearerTokenFile`), sent as `Authorization: Bearer`. */
  constructor (private readonly queue: BoundedQueue, private readonly log: SinkLogger, private readonly config: HttpSinkConfig, bearerToken?: string) {
    this.headers = { 'content-type': 'application/json', 'content-encoding': 'gzip' }
    if (bearerToken !== undefined) this.headers.authorization = `Bearer ${bearerToken}`
  }

  enqueue (line: string): void {
    this.queue.push(line)
    if (this.running || this.closing) return
    if (this.batchReady()) this.trigger(false)
    else this.arm()
  }

  private batchReady (): boolean {
    return this.queue.length >= this.config.maxBatchEvents || this.queue.bytes >= this.config.maxBatchBytes
  }

  /** The interval flush: armed when an event waits and no timer runs. */
  private arm (): void {
    if (this.timer || this.closing) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.trigger(true)
    }, this.config.flushIntervalMs)
    this.timer.unref()
  }

  private trigger (all: boolean): void {
    if (all) this.wantAll = true
    if (this.running) return
    clearTimeout(this.timer)
    this.timer = undefined
    this.running = this.pump().finally(() => {
      this.running = undefined
      if (this.queue.length > 0 && !this.closing) {
        if (this.batchReady()) this.trigger(false)
        else this.arm()
      }
    })
  }

  private async pump (): Promise<void> {
    while (!this.stop.signal.aborted) {
      if (!this.pending) {
        const go = this.wantAll || this.closing || this.batchReady()
        if (!go || this.queue.length === 0) break
        this.pending = this.queue.take(this.config.maxBatchEvents, this.config.maxBatchBytes)
      }
      if (await this.upload(this.pending)) {
        this.written += this.pending.length
        this.pending = undefined
        this.attempt = 0
        continue
      }
      this.failures++
      this.attempt++
      await this.sleep(retryDelay(this.attempt, this.config.minRetryDelayMs, this.config.maxRetryDelayMs))
    }
    this.wantAll = false
  }

  private async upload (lines: string[]): Promise<boolean> {
    try {
      const body = await gzip('[' + lines.join(',') + ']')
      const res = await fetch(this.config.url, {
        method: 'POST',
        headers: this.headers,
        body,
        signal: AbortSignal.any([AbortSignal.timeout(this.config.timeoutMs), this.stop.signal])
      })
      await res.arrayBuffer().catch(() => undefined)
      if (res.ok) return true
      this.log.warn({ sink: 'http', status: res.status, events: lines.length, attempt: this.attempt + 1 }, 'decision log: upload refused; will retry')
    } catch (err) {
      if (!this.stop.signal.aborted) {
        this.log.warn({ sink: 'http', err: { name: (err as Error).name, message: (err as Error).message }, events: lines.length, attempt: this.attempt + 1 }, 'decision log: upload failed; will retry')
      }
    }
    return false
  }

  private async sleep (ms: number): Promise<void> {
    if (this.stop.signal.aborted) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms)
      function done (): void { clearTimeout(timer); resolve() }
      this.stop.signal.addEventListener('abort', done, { once: true })
    })
  }

  async close (timeoutMs: number): Promise<void> {
    this.closing = true
    clearTimeout(this.timer)
    this.timer = undefined
    const deadline = setTimeout(() => this.stop.abort(), timeoutMs)
    try {
      while (!this.stop.signal.aborted && (this.pending || this.queue.length > 0)) {
        this.trigger(true)
        await this.running
      }
    } finally {
      clearTimeout(deadline)
      this.stop.abort()
      await this.running
      const left = (this.pending?.length ?? 0) + this.queue.take().length
      this.pending = undefined
      if (left > 0) {
        this.lost += left
        this.log.warn({ sink: 'http', events: left }, 'decision log: closing ran out of time; events not uploaded')
      }
    }
  }

  stats (): SinkStats {
    return {
      written: this.written,
      dropped: this.queue.dropped + this.lost,
      failures: this.failures,
      buffered: this.queue.length + (this.pending?.length ?? 0)
    }
  }
}
