// The `decisionLogs` section of the service config: where decision-log events go
// (stdout, a rotating file, an HTTP receiver in OPA's upload format), how much may
// wait in memory, and which input paths are masked or erased before an event
// leaves the process. Every sink is off by default.
import { Type, type Static } from '@sinclair/typebox'

// JSON pointer into the event, below /input or /result (OPA's mask paths).
const EventPointer = Type.String({ pattern: '^/(input|result)(/[^/]+)+$', maxLength: 512 })

export const FileSinkSchema = Type.Object({
  path: Type.String({ minLength: 1, maxLength: 1024, description: 'the live file; rotated copies are `<path>.1` (newest) … `<path>.<maxFiles>`' }),
  maxBytes: Type.Integer({ minimum: 1024, default: 100 * 1024 * 1024, description: 'a file is rotated before it would grow past this' }),
  maxFiles: Type.Integer({ minimum: 0, maximum: 1000, default: 5, description: 'rotated files kept besides the live one' })
}, { additionalProperties: false, description: 'one JSON event per line, rotated by size; with several workers each writes its own file, e.g. `decisions-worker<N>.log`' })

export const HttpSinkSchema = Type.Object({
  url: Type.String({ pattern: '^https?://', maxLength: 2048, description: 'the receiver: events are POSTed there as a gzip-compressed JSON array' }),
  bearerTokenFile: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'a file holding the bearer token sent to the receiver (read once at start; kept out of config text and logs)' })),
  maxBatchEvents: Type.Integer({ minimum: 1, maximum: 100_000, default: 500, description: 'upload as soon as this many events wait …' }),
  maxBatchBytes: Type.Integer({ minimum: 1024, default: 1024 * 1024, description: '… or this many bytes of JSON (before compression) …' }),
  flushIntervalMs: Type.Integer({ minimum: 1, default: 5000, description: '… or when the oldest waiting event is this old' }),
  timeoutMs: Type.Integer({ minimum: 1, default: 10_000, description: 'one upload may take this long; then it counts as failed and is retried' }),
  minRetryDelayMs: Type.Integer({ minimum: 1, default: 500, description: 'retry delays: exponential from min to max, with full jitter' }),
  maxRetryDelayMs: Type.Integer({ minimum: 1, default: 60_000, description: 'the longest retry delay' })
}, { additionalProperties: false, description: "OPA's decision-log service API: gzip JSON arrays POSTed in batches, retried until accepted" })

export const DecisionLogsConfigSchema = Type.Object({
  console: Type.Boolean({ default: false, description: 'JSON lines on standard output' }),
  file: Type.Optional(FileSinkSchema),
  http: Type.Optional(HttpSinkSchema),
  bufferMaxEvents: Type.Integer({ minimum: 1, default: 10_000, description: 'events waiting per sink; when full the OLDEST are dropped (and counted)' }),
  bufferMaxBytes: Type.Integer({ minimum: 1024, default: 64 * 1024 * 1024, description: 'bytes of events waiting per sink; when full the OLDEST are dropped (and counted)' }),
  mask: Type.Array(EventPointer, { default: [], description: 'paths replaced by "**MASKED**" (listed in the event\'s `masked`)' }),
  erase: Type.Array(EventPointer, { default: [], description: 'paths removed (listed in the event\'s `erased`)' }),
  labels: Type.Record(Type.String({ minLength: 1, maxLength: 64 }), Type.String({ maxLength: 256 }), { default: {}, description: 'added to every event\'s labels (`id` and `version` are set by Verdict)' }),
  closeTimeoutMs: Type.Integer({ minimum: 0, default: 5000, description: 'how long closing may spend writing and uploading what is still buffered' })
}, { additionalProperties: false, default: {}, description: 'decision-log sinks (all off by default), their buffers, and what is masked or erased' })

export type DecisionLogsConfig = Static<typeof DecisionLogsConfigSchema>
export type FileSinkConfig = Static<typeof FileSinkSchema>
export type HttpSinkConfig = Static<typeof HttpSinkSchema>
