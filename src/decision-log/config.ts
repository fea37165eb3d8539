// The `decisionLogs` section of the service config: where decision-log events go
// (stdout, a rotating file, an HTTP receiver in OPA's upload format), how much may
// wait in memory, and which input paths are masked or erased before an event
// leaves the process. Every sink is off by default.
import { Type, type Static } from '@sinclair/typebox'

// JSON pointer into the event, below /input or /result (OPA's mask paths).
const EventPointer = Type.String({ pattern: '^/(input|result)(/[^/]+)+$', maxLength: 512 })

export const FileSinkSchema = Type.Object({
  /** the live file; rotated copies are <path>.1 (newest) … <path>.<maxFiles> */
  path: Type.String({ minLength: 1, maxLength: 1024 }),
  /** a file is rotated before it would grow past this */
  maxBytes: Type.Integer({ minimum: 1024, default: 100 * 1024 * 1024 }),
  /** rotated files kept besides the live one */
  maxFiles: Type.Integer({ minimum: 0, maximum: 1000, default: 5 })
}, { additionalProperties: false })

export const HttpSinkSchema = Type.Object({
  /** the receiver: events are POSTed there as a gzip-compressed JSON array */
  url: Type.String({ pattern: '^https?://', maxLength: 2048 }),
  /** a file holding the bearer token sent to the receiver (read once at start; kept out of config text and logs) */
  bearerTokenFile: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  /** upload as soon as this many events wait … */
  maxBatchEvents: Type.Integer({ minimum: 1, maximum: 100_000, default: 500 }),
  /** … or this many bytes of JSON (before compression) … */
  maxBatchBytes: Type.Integer({ minimum: 1024, default: 1024 * 1024 }),
  /** … or when the oldest waiting event is this old */
  flushIntervalMs: Type.Integer({ minimum: 1, default: 5000 }),
  /** one upload may take this long; then it counts as failed and is retried */
  timeoutMs: Type.Integer({ minimum: 1, default: 10_000 }),
  /** retry delays: exponential from min to max, with full jitter */
  minRetryDelayMs: Type.Integer({ minimum: 1, default: 500 }),
  maxRetryDelayMs: Type.Integer({ minimum: 1, default: 60_000 })
}, { additionalProperties: false })

export const DecisionLogsConfigSchema = Type.Object({
  /** JSON lines on standard output */
  console: Type.Boolean({ default: false }),
  file: Type.Optional(FileSinkSchema),
  http: Type.Optional(HttpSinkSchema),
  /** events waiting per sink; when full the OLDEST are dropped (and counted) */
  bufferMaxEvents: Type.Integer({ minimum: 1, default: 10_000 }),
  bufferMaxBytes: Type.Integer({ minimum: 1024, default: 64 * 1024 * 1024 }),
  /** paths replaced by "**MASKED**" (listed in the event's `masked`) */
  mask: Type.Array(EventPointer, { default: [] }),
  /** paths removed (listed in the event's `erased`) */
  erase: Type.Array(EventPointer, { default: [] }),
  /** added to every event's labels (`id` and `version` are set by Verdict) */
  labels: Type.Record(Type.String({ minLength: 1, maxLength: 64 }), Type.String({ maxLength: 256 }), { default: {} }),
  /** how long closing may spend writing and uploading what is still buffered */
  closeTimeoutMs: Type.Integer({ minimum: 0, default: 5000 })
}, { additionalProperties: false, default: {} })

export type DecisionLogsConfig = Static<typeof DecisionLogsConfigSchema>
export type FileSinkConfig = Static<typeof FileSinkSchema>
export type HttpSinkConfig = Static<typeof HttpSinkSchema>
