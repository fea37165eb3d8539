// The wire contract of the decision API: what a calling service sends to
// POST /v1/decide and /v1/decide/batch and what it gets back. Route validation,
// the OpenAPI document and the client's types all come from these schemas.
// Bounds are deliberate: a decision request is small, and everything an
// attacker controls has a limit.
import { Type, type Static } from '@sinclair/typebox'
import { ActionSchema, ApiRequestSchema, ReasonSchema, ResourceSchema } from './policy.js'
import { DecisionRowsSchema, SQL_DIALECTS } from './rows.js'

export const DecisionRequestSchema = Type.Object({
  request: ApiRequestSchema,
  resource: Type.Optional(ResourceSchema),
  // A string here, checked against the dialects when the request is parsed, so
  // that an unknown dialect gets its own code and a message naming the accepted ones.
  sql: Type.Optional(Type.String({ maxLength: 32, description: `ask for the row filter as SQL in one of: ${SQL_DIALECTS.join(', ')}` }))
}, { additionalProperties: false, title: 'DecisionRequest' })
export type DecisionRequest = Static<typeof DecisionRequestSchema>

export const DecisionSchema = Type.Object({
  decision_id: Type.String({ format: 'uuid' }),
  allow: Type.Boolean(),
  status: Type.Union([Type.Literal(200), Type.Literal(401), Type.Literal(403)], { description: 'what the calling service should answer with: 200 allowed, 401 not authenticated, 403 denied' }),
  principal: Type.Union([Type.Object({ id: Type.String(), kind: Type.String(), idp: Type.String() }), Type.Null()]),
  action: ActionSchema,
  endpoint: Type.Object({ module: Type.String(), resource: Type.String() }),
  reasons: Type.Array(ReasonSchema),
  rows: DecisionRowsSchema,
  policy: Type.Object({ revision: Type.String(), digest: Type.String() })
}, { title: 'Decision', description: 'a decision (HTTP 200 whenever a decision was made, allowed or not)' })
export type Decision = Static<typeof DecisionSchema>

export const ErrorBodySchema = Type.Object({
  code: Type.String({ description: 'stable error code, e.g. request_invalid (docs/API.md)' }),
  message: Type.String()
}, { title: 'Error', description: 'an error: `{ code, message }`' })
export type ErrorBody = Static<typeof ErrorBodySchema>

export const MAX_BATCH_ITEMS = 100

/** A caller's label for a batch item, echoed in its result. */
export const BatchItemIdSchema = Type.Union([Type.String({ minLength: 1, maxLength: 128 }), Type.Integer()])
export type BatchItemId = Static<typeof BatchItemIdSchema>

export const BatchItemSchema = Type.Object({
  ...DecisionRequestSchema.properties,
  id: Type.Optional(BatchItemIdSchema)
}, { additionalProperties: false, title: 'BatchItem' })
export type BatchItem = Static<typeof BatchItemSchema>

// The route checks the body in two steps: this schema only says "an object with
// an array of items", so that one malformed item cannot turn the whole batch
// into a 400; each item is then checked on its own against BatchItemSchema.
export const BatchRequestSchema = Type.Object({
  items: Type.Array(Type.Unknown(), { description: `1 to ${MAX_BATCH_ITEMS} decision requests, each {request, resource?, sql?, id?}` })
}, { additionalProperties: false })
export type BatchRequest = Static<typeof BatchRequestSchema>

/** The batch request as documented: what a well-formed batch looks like. */
export const BatchRequestDocSchema = Type.Object({
  items: Type.Array(BatchItemSchema, { minItems: 1, maxItems: MAX_BATCH_ITEMS })
}, { additionalProperties: false, title: 'BatchRequest' })

/** A batch item that could not be decided (malformed): the others still are. */
export const BatchItemErrorSchema = Type.Object({
  id: Type.Optional(BatchItemIdSchema),
  error: ErrorBodySchema
}, { title: 'BatchItemError' })
export type BatchItemError = Static<typeof BatchItemErrorSchema>

export const BatchDecisionSchema = Type.Composite([DecisionSchema, Type.Object({ id: Type.Optional(BatchItemIdSchema) })], { title: 'BatchDecision' })
export type BatchDecision = Decision & { id?: BatchItemId }

export const BatchResultSchema = Type.Union([BatchDecisionSchema, BatchItemErrorSchema])
export type BatchResult = BatchDecision | BatchItemError

export const BatchResponseSchema = Type.Object({ results: Type.Array(BatchResultSchema) }, { title: 'BatchResponse' })
export interface BatchResponse { results: BatchResult[] }

/** The body of a forward-auth refusal (the status is the answer; this says which decision). */
export const ForwardAuthRefusalSchema = Type.Object({
  decision_id: Type.String({ format: 'uuid' }),
  allow: Type.Literal(false),
  status: Type.Union([Type.Literal(401), Type.Literal(403)])
}, { title: 'ForwardAuthRefusal' })
export type ForwardAuthRefusal = Static<typeof ForwardAuthRefusalSchema>

/** What forward-auth tells the upstream about an allowed request (response headers). */
export const FORWARD_AUTH_HEADERS = {
  decisionId: 'x-verdict-decision-id',
  principal: 'x-verdict-principal',
  rows: 'x-verdict-rows',
  filter: 'x-verdict-filter'
} as const
