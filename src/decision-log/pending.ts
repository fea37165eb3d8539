// Decisions recorded but not yet turned into events. record() only notes what
// the decision already has; the events are built, redacted and encoded in one
// batch on a later turn of the event loop (setImmediate), after the answers of
// this turn have been written to their sockets. Bounded like the sinks'
// buffers: when more than `maxItems` wait, the oldest are dropped and counted.
export class PendingBatch<T> {
  private items: T[] = []
  private scheduled: NodeJS.Immediate | undefined
  /** items dropped because too many waited (monotonic) */
  dropped = 0

  constructor (private readonly maxItems: number, private readonly process: (items: T[]) => void) {}

  add (item: T): void {
    this.items.push(item)
    if (this.items.length > this.maxItems) {
      const excess = this.items.length - this.maxItems
      this.items.splice(0, excess)
      this.dropped += excess
    }
    this.scheduled ??= setImmediate(() => { this.flush() })
  }

  /** Processes what waits now (also called on close, so nothing waits past it). */
  flush (): void {
    if (this.scheduled !== undefined) clearImmediate(this.scheduled)
    this.scheduled = undefined
    const items = this.items
    if (items.length === 0) return
    this.items = []
    this.process(items)
  }

  get length (): number {
    return this.items.length
  }
}
