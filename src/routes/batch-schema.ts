// POST /v1/decide/batch as schemas. The body is checked in two steps: the route
// schema only says "an object with an array of items", so that one malformed
// item cannot turn the whole batch into a 400; each item is then checked on its
// own against BatchItemSchema (a decision request plus an optional `id`).
import { Type, type Static } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { DecisionRequestSchema } from './decide-schema.js'

export const MAX_BATCH_ITEMS = 100

export const BatchRequestSchema = Type.Object({
  items: Type.Array(Type.Unknown(), { description: `1 to ${MAX_BATCH_ITEMS} decision requests, each {request, resource?, sql?, id?}` })
}, { additionalProperties: false })

export type BatchRequestBody = Static<typeof BatchRequestSchema>

/** A caller's label for an item, echoed in its result. */
export const BatchItemId = Type.Union([Type.String({ minLength: 1, maxLength: 128 }), Type.Integer()])

export const BatchItemSchema = Type.Object({
  ...DecisionRequestSchema.properties,
  id: Type.Optional(BatchItemId)
}, { additionalProperties: false })

export type BatchItem = Static<typeof BatchItemSchema>

export const batchItemCheck = TypeCompiler.Compile(BatchItemSchema)
export const batchItemIdCheck = TypeCompiler.Compile(BatchItemId)
