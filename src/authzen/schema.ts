// The wire shapes of the AuthZEN Authorization API 1.0 (openid/authzen,
// api/authorization-api-1_0.md) as TypeBox schemas: route validation and the
// OpenAPI document both come from here. Unknown fields are ignored, as the
// specification asks (no additionalProperties: false); a missing or ill-typed
// field is a 400. Bounds are Verdict's own: everything a caller controls has one.
import { Type, type Static, type TSchema } from '@sinclair/typebox'

const Id = Type.String({ maxLength: 1024 })
const TypeName = Type.String({ minLength: 1, maxLength: 256 })
const Properties = Type.Object({}, { additionalProperties: true, maxProperties: 64, description: 'any number of key-value pairs' })

export const SubjectSchema = Type.Object({ type: TypeName, id: Id, properties: Type.Optional(Properties) }, { title: 'AuthzenSubject' })
export const ResourceSchema = Type.Object({ type: TypeName, id: Id, properties: Type.Optional(Properties) }, { title: 'AuthzenResource' })
export const ActionSchema = Type.Object({ name: Type.String({ minLength: 1, maxLength: 256 }), properties: Type.Optional(Properties) }, { title: 'AuthzenAction' })
export const ContextSchema = Type.Object({}, { additionalProperties: true, maxProperties: 64, title: 'AuthzenContext' })

export type Subject = Static<typeof SubjectSchema>
export type Resource = Static<typeof ResourceSchema>
export type Action = Static<typeof ActionSchema>
export type Context = Static<typeof ContextSchema>

/** Verdict's option: `options.include_reasons: true` asks for the policy's reasons in `context`. */
const IncludeReasons = Type.Optional(Type.Boolean({ description: 'Verdict extension: answer the policy reasons in context.reasons' }))

export const EvaluationRequestSchema = Type.Object({
  subject: SubjectSchema,
  action: ActionSchema,
  resource: ResourceSchema,
  context: Type.Optional(ContextSchema),
  options: Type.Optional(Type.Object({ include_reasons: IncludeReasons }))
}, { title: 'AccessEvaluationRequest' })
export type EvaluationRequest = Static<typeof EvaluationRequestSchema>

export const SEMANTICS = ['execute_all', 'deny_on_first_deny', 'permit_on_first_permit'] as const
export type Semantic = typeof SEMANTICS[number]

export const MAX_EVALUATIONS = 100

// The defaults are checked here; each item is checked after the defaults are
// merged into it, on its own, so one bad item answers `decision: false` with its
// error and the others are still evaluated.
export const EvaluationsRequestSchema = Type.Object({
  subject: Type.Optional(SubjectSchema),
  action: Type.Optional(ActionSchema),
  resource: Type.Optional(Type.Object({ type: Type.Optional(TypeName), id: Type.Optional(Id), properties: Type.Optional(Properties) })),
  context: Type.Optional(ContextSchema),
  evaluations: Type.Optional(Type.Array(Type.Unknown(), { description: `up to ${MAX_EVALUATIONS} evaluation requests; top-level subject, action, resource and context are their defaults` })),
  options: Type.Optional(Type.Object({
    evaluations_semantic: Type.Optional(Type.Union(SEMANTICS.map((s) => Type.Literal(s)))),
    include_reasons: IncludeReasons
  }))
}, { title: 'AccessEvaluationsRequest' })
export type EvaluationsRequest = Static<typeof EvaluationsRequestSchema>

export const PageRequestSchema = Type.Object({
  token: Type.Optional(Type.String({ maxLength: 512, description: 'next_token of the previous page' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'the most results to return' }))
}, { title: 'PageRequest' })

const searchOptions = Type.Optional(Type.Object({ include_reasons: IncludeReasons }))
const SearchedSubject = Type.Object({ type: TypeName, id: Type.Optional(Id), properties: Type.Optional(Properties) }, { description: 'the subject type; an id is ignored' })
const SearchedResource = Type.Object({ type: TypeName, id: Type.Optional(Id), properties: Type.Optional(Properties) }, { description: 'the resource type (and, for ERP records, properties narrowing the search); an id is ignored' })

export const SubjectSearchRequestSchema = Type.Object({
  subject: SearchedSubject,
  action: ActionSchema,
  resource: ResourceSchema,
  context: Type.Optional(ContextSchema),
  page: Type.Optional(PageRequestSchema),
  options: searchOptions
}, { title: 'SubjectSearchRequest' })

export const ResourceSearchRequestSchema = Type.Object({
  subject: SubjectSchema,
  action: ActionSchema,
  resource: SearchedResource,
  context: Type.Optional(ContextSchema),
  page: Type.Optional(PageRequestSchema),
  options: searchOptions
}, { title: 'ResourceSearchRequest' })

export const ActionSearchRequestSchema = Type.Object({
  subject: SubjectSchema,
  resource: ResourceSchema,
  context: Type.Optional(ContextSchema),
  page: Type.Optional(PageRequestSchema),
  options: searchOptions
}, { title: 'ActionSearchRequest' })

export type SubjectSearchRequest = Static<typeof SubjectSearchRequestSchema>
export type ResourceSearchRequest = Static<typeof ResourceSearchRequestSchema>
export type ActionSearchRequest = Static<typeof ActionSearchRequestSchema>
export type SearchRequest = SubjectSearchRequest | ResourceSearchRequest | ActionSearchRequest

// Responses (documentation only: routes never serialize with them, so nothing a
// policy adds is dropped silently).
const ReasonObject = Type.Object({
  id: Type.String({ description: 'the policy reason code' }),
  reason_admin: Type.Record(Type.String(), Type.String(), { description: 'the policy message, by language ("en")' })
}, { title: 'AuthzenReason' })

export const DecisionContextSchema = Type.Object({
  reasons: Type.Optional(Type.Array(ReasonObject)),
  error: Type.Optional(Type.Object({ status: Type.Integer(), code: Type.String(), message: Type.String() }))
}, { additionalProperties: true, title: 'AuthzenDecisionContext', description: 'present only when reasons were asked for, or for a batch item that could not be evaluated' })

export const EvaluationResponseSchema = Type.Object({
  decision: Type.Boolean(),
  context: Type.Optional(DecisionContextSchema)
}, { title: 'AccessEvaluationResponse' })

export const EvaluationsResponseSchema = Type.Object({
  evaluations: Type.Optional(Type.Array(EvaluationResponseSchema, { description: 'one per evaluation, in order; fewer when a short-circuit semantic stopped early' })),
  decision: Type.Optional(Type.Boolean({ description: 'only when the request had no evaluations (a single evaluation)' })),
  context: Type.Optional(DecisionContextSchema)
}, { title: 'AccessEvaluationsResponse' })

const PageResponseSchema = Type.Object({
  next_token: Type.String({ description: 'empty on the last page' }),
  count: Type.Integer({ description: 'results on this page' }),
  total: Type.Integer({ description: 'results of the whole search' })
}, { title: 'PageResponse' })

const searchResponse = (item: TSchema, title: string): TSchema => Type.Object({ results: Type.Array(item), page: PageResponseSchema }, { title })

export const SubjectSearchResponseSchema = searchResponse(Type.Object({ type: Type.String(), id: Type.String() }), 'SubjectSearchResponse')
export const ResourceSearchResponseSchema = searchResponse(Type.Object({ type: Type.String(), id: Type.String(), properties: Type.Optional(Properties) }), 'ResourceSearchResponse')
export const ActionSearchResponseSchema = searchResponse(Type.Object({ name: Type.String() }), 'ActionSearchResponse')

export const MetadataSchema = Type.Object({
  policy_decision_point: Type.String(),
  access_evaluation_endpoint: Type.String(),
  access_evaluations_endpoint: Type.String(),
  search_subject_endpoint: Type.String(),
  search_resource_endpoint: Type.String(),
  search_action_endpoint: Type.String()
}, { title: 'AuthzenMetadata' })
