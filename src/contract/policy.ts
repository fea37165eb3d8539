// The policy contract (docs/POLICY-CONTRACT.md): what the service hands the Rego
// entrypoint as `input`, and what the entrypoint must answer. The Rego side
// tests presence, so optional fields are absent, never null.
import { Type, type Static } from '@sinclair/typebox'
import { RowsSchema } from './rows.js'

export const ActionSchema = Type.Union([Type.Literal('create'), Type.Literal('retrieve'), Type.Literal('update'), Type.Literal('delete')],
  { description: 'the action the HTTP method stands for' })
export type Action = Static<typeof ActionSchema>

/** `input.principal`: the normalized caller identity authentication produced. */
export const PrincipalSchema = Type.Object({
  method: Type.Union([Type.Literal('jwt'), Type.Literal('basic'), Type.Literal('mtls')]),
  idp: Type.String({ description: 'configured issuer name, "basic", or the client-certificate idp (authn.clientCertificate.idp)' }),
  issuer: Type.Optional(Type.String({ description: 'exact `iss` (jwt only)' })),
  subject: Type.String({ description: 'client id (jwt), username (basic) or certificate identity (mtls)' }),
  client_id: Type.Optional(Type.String({ description: 'appid / azp / cid / client_id (jwt), certificate identity (mtls)' })),
  tenant: Type.Optional(Type.String({ description: 'Entra tenant id (entra only)' })),
  erp_user: Type.Optional(Type.String({ description: "ERP user from the issuer's configured claim, or the Basic username" })),
  roles: Type.Array(Type.String()),
  scopes: Type.Array(Type.String())
}, { title: 'Principal' })
export type Principal = Static<typeof PrincipalSchema>

/** The ERP REST endpoint a path names: /{env}/{module}-rest-api/rest/{version}/{resource}[/{id}] */
export const EndpointSchema = Type.Object({
  env: Type.String(),
  module: Type.String(),
  version: Type.String(),
  resource: Type.String(),
  id: Type.Optional(Type.String({ description: 'the record id, percent-decoded' }))
}, { title: 'Endpoint' })
export type Endpoint = Static<typeof EndpointSchema>

/** The ERP REST request being decided, as the calling service describes it. */
export const ApiRequestSchema = Type.Object({
  method: Type.String({ minLength: 1, maxLength: 16 }),
  path: Type.String({ minLength: 1, maxLength: 2048 }),
  query: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 4096 }), { maxProperties: 64 }))
}, { additionalProperties: false, title: 'ApiRequest' })
export type ApiRequest = Static<typeof ApiRequestSchema>

export const ScalarSchema = Type.Union([Type.String({ maxLength: 256 }), Type.Number(), Type.Boolean(), Type.Null()])

/** One record: generic `company`/`job`, or the business object's own field names. */
export const ResourceSchema = Type.Record(Type.String({ maxLength: 64 }), ScalarSchema, { maxProperties: 32, title: 'Resource' })
export type Resource = Static<typeof ResourceSchema>

export const PolicyInputSchema = Type.Object({
  principal: PrincipalSchema,
  action: ActionSchema,
  request: ApiRequestSchema,
  endpoint: EndpointSchema,
  // What the decision API accepts is ResourceSchema (scalars, bounded); other
  // producers of inputs (verdict diff, replay) may hand over any JSON values.
  resource: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'one record: its fields' }))
}, { title: 'PolicyInput', description: 'input of the verdict/decision entrypoint' })
export type PolicyInput = Static<typeof PolicyInputSchema>

export const LayerSchema = Type.Union([Type.Literal('authentication'), Type.Literal('api'), Type.Literal('application'), Type.Literal('policy')])
export type Layer = Static<typeof LayerSchema>

export const ReasonSchema = Type.Object({
  layer: LayerSchema,
  code: Type.String({ description: 'stable reason code (docs/POLICY-CONTRACT.md)' }),
  message: Type.String()
}, { title: 'Reason' })
export type Reason = Static<typeof ReasonSchema>

/** A business object's table and logical field -> column names (policy data, `sql`). */
export const SqlMappingSchema = Type.Object({
  table: Type.String(),
  columns: Type.Record(Type.String(), Type.String())
}, { title: 'SqlMapping' })
export type SqlMapping = Static<typeof SqlMappingSchema>

/** What the verdict/decision entrypoint answers (`data.verdict.decision`). */
export const PolicyResultSchema = Type.Object({
  allow: Type.Boolean(),
  status: Type.Union([Type.Literal(200), Type.Literal(403)]),
  principal: Type.Optional(Type.Object({ id: Type.Optional(Type.String()), kind: Type.String() })),
  reasons: Type.Array(ReasonSchema),
  rows: RowsSchema,
  sql_mapping: Type.Optional(Type.Union([SqlMappingSchema, Type.Null()]))
}, { title: 'PolicyResult', description: 'result of the verdict/decision entrypoint' })
export type PolicyResultBody = Static<typeof PolicyResultSchema>
