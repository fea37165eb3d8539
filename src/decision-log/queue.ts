// A bounded FIFO of serialized events. Pushing never blocks and never fails:
// when the queue is over its event or byte bound, the OLDEST events are dropped
// and counted, because the newest decisions are the ones an operator is most
// likely to look for after an incident. A head index instead of shift() keeps
// take() cheap on long queues.

export interface QueueBounds {
  maxEvents: number
  maxBytes: number
}

export class BoundedQueue {
  private items: string[] = []
  private sizes: number[] = []
  private head = 0
  private byteCount = 0
  /** events dropped because the queue was full (monotonic) */
  dropped = 0

  constructor (private readonly bounds: QueueBounds) {}

  get length (): number { return this.items.length - this.head }
  get bytes (): number { return this.byteCount }

  push (line: string): void {
    const size = Buffer.byteLength(line)
    this.items.push(line)
    this.sizes.push(size)
    this.byteCount += size
    while (this.length > this.bounds.maxEvents || (this.byteCount > this.bounds.maxBytes && this.length > 0)) {
      this.dropOldest()
    }
  }

  /** Removes and returns up to `maxEvents` events whose sizes add up to at most `maxBytes` (at least one). */
  take (maxEvents = Infinity, maxBytes = Infinity): string[] {
    const out: string[] = []
    let size = 0
    while (this.length > 0 && out.length < maxEvents) {
      const next = this.items[this.head] as string
      const nextSize = this.sizes[this.head] as number
      if (out.length > 0 && size + nextSize > maxBytes) break
      out.push(next)
      size += nextSize
      this.removeHead(nextSize)
    }
    this.compact()
    return out
  }

  private dropOldest (): void {
    this.removeHead(this.sizes[this.head] as number)
    this.dropped++
    this.compact()
  }

  private removeHead (size: number): void {
    this.items[this.head] = ''
    this.head++
    this.byteCount -= size
  }

  private compact (): void {
    if (this.head === this.items.length) {
      this.items = []
      this.sizes = []
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.sizes = this.sizes.slice(this.head)
      this.head = 0
    }
  }
}
