// The decision request as a schema (docs/ARCHITECTURE.md, "Decision request"). Bounds are
// deliberate: a decision request is small, and everything an attacker controls
// has a limit.
import { Type, type Static } from '@sinclair/typebox'
import { SQL_DIALECTS } from '../rows/sql.js'

const Scalar = Type.Union([Type.String({ maxLength: 256 }), Type.Number(), Type.Boolean(), Type.Null()])

export const DecisionRequestSchema = Type.Object({
  request: Type.Object({
    method: Type.String({ minLength: 1, maxLength: 16 }),
    path: Type.String({ minLength: 1, maxLength: 2048 }),
    query: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 4096 }), { maxProperties: 64 }))
  }, { additionalProperties: false }),
  resource: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Scalar, { maxProperties: 32 })),
  // A string here, checked against the dialects in parseDecisionRequest, so that
  // an unknown dialect gets its own code and a message naming the accepted ones.
  sql: Type.Optional(Type.String({ maxLength: 32, description: `row filter as SQL in one of: ${SQL_DIALECTS.join(', ')}` }))
}, { additionalProperties: false })

export type DecisionRequestBody = Static<typeof DecisionRequestSchema>
