// What every decision-log sink offers the decision log: a synchronous enqueue of
// one serialized event (never blocks, never throws), a close that writes what is
// still buffered within a deadline, and counters for /metrics.
import type { BoundedQueue } from '../queue.js'

export type SinkName = 'console' | 'file' | 'http'

export interface SinkStats {
  /** events written or uploaded */
  written: number
  /** events lost: dropped from a full buffer, failed writes, or still buffered when closing ran out of time */
  dropped: number
  /** failed write or upload attempts (an upload retried three times counts three) */
  failures: number
  /** events waiting now */
  buffered: number
}

export interface Sink {
  readonly name: SinkName
  enqueue (line: string): void
  close (timeoutMs: number): Promise<void>
  stats (): SinkStats
}

export interface SinkLogger {
  warn (obj: object, msg: string): void
  error (obj: object, msg: string): void
}

/**
 * A sink that writes batches in order, one batch at a time: enqueue wakes a
 * writer on the next turn of the event loop, so the decision that recorded the
 * event is answered before any logging I/O starts.
 */
export abstract class BatchWriterSink implements Sink {
  abstract readonly name: SinkName
  protected written = 0
  protected lost = 0
  protected failures = 0
  private running: Promise<void> | undefined
  private scheduled = false
  protected closing = false

  constructor (protected readonly queue: BoundedQueue, protected readonly log: SinkLogger) {}

  /** Writes one batch; throws when it failed (the batch is then lost and counted). */
  protected abstract writeBatch (lines: string[]): Promise<void>
  /** Releases what the sink holds (file handles); called once, last. */
  protected async release (): Promise<void> {}

  enqueue (line: string): void {
    this.queue.push(line)
    if (this.running || this.scheduled) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.start()
    })
  }

  private start (): void {
    if (this.running) return
    this.running = this.drain().finally(() => { this.running = undefined })
  }

  private async drain (): Promise<void> {
    while (this.queue.length > 0) {
      const lines = this.queue.take(1000)
      try {
        await this.writeBatch(lines)
        this.written += lines.length
      } catch (err) {
        this.failures++
        this.lost += lines.length
        this.log.error({ err, sink: this.name, events: lines.length }, 'decision log: write failed; events lost')
      }
    }
  }

  async close (timeoutMs: number): Promise<void> {
    this.closing = true
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs) })
    try {
      for (;;) {
        this.start()
        const outcome = await Promise.race([this.running, deadline])
        if (outcome === 'timeout' || this.queue.length === 0) break
      }
    } finally {
      clearTimeout(timer)
      const left = this.queue.take().length
      if (left > 0) {
        this.lost += left
        this.log.warn({ sink: this.name, events: left }, 'decision log: closing ran out of time; events lost')
      }
      await this.release()
    }
  }

  stats (): SinkStats {
    return { written: this.written, dropped: this.queue.dropped + this.lost, failures: this.failures, buffered: this.queue.length }
  }
}
