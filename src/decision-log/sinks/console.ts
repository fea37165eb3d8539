// The `console` sink: one JSON event per line on standard output (or any
// writable stream), honouring back-pressure so a slow reader of stdout makes
// events wait in the bounded buffer rather than in the stream's own unbounded one.
import { once } from 'node:events'
import type { Writable } from 'node:stream'
import type { BoundedQueue } from '../queue.js'
import { BatchWriterSink, type SinkLogger } from './sink.js'

export class ConsoleSink extends BatchWriterSink {
  readonly name = 'console' as const

  constructor (queue: BoundedQueue, log: SinkLogger, private readonly stream: Writable = process.stdout) {
    super(queue, log)
  }

  protected async writeBatch (lines: string[]): Promise<void> {
    if (this.stream.write(lines.join('\n') + '\n')) return
    await once(this.stream, 'drain')
  }
}
