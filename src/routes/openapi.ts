// The OpenAPI 3 document of every route, served at GET /docs/json.
//
// Response shapes are documentation only: they are added in @fastify/swagger's
// `transform`, when the document is generated, and never become a route's
// response schema. A response schema would make fastify serialize with it and
// silently drop any field it does not list — a decision must reach the caller
// exactly as the engine made it.
import type { FastifySwaggerOptions, SwaggerOptions } from '@fastify/swagger'
import { Type, type TSchema } from '@sinclair/typebox'
import type { FastifyPluginAsync, FastifySchema } from 'fastify'
import { VERSION } from '../decision-log/index.js'

const ErrorBody = Type.Object({
  code: Type.String({ description: 'stable error code, e.g. REQUEST_INVALID' }),
  message: Type.String()
}, { description: 'an error: `{ code, message }`' })

const Reason = Type.Object({
  layer: Type.Union([Type.Literal('authentication'), Type.Literal('api'), Type.Literal('application'), Type.Literal('policy')]),
  code: Type.String(),
  message: Type.String()
})

const Rows = Type.Object({
  kind: Type.Union([Type.Literal('all'), Type.Literal('none'), Type.Literal('conditional')]),
  filter: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'UCAST condition tree (expanded syntax), present for conditional' })),
  sql: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'the filter rendered as parameterized SQL, when asked for' }))
})

export const DecisionBody = Type.Object({
  decision_id: Type.String({ format: 'uuid' }),
  allow: Type.Boolean(),
  status: Type.Union([Type.Literal(200), Type.Literal(401), Type.Literal(403)], { description: 'what the calling service should answer with' }),
  principal: Type.Union([Type.Object({ id: Type.String(), kind: Type.String(), idp: Type.String() }), Type.Null()]),
  action: Type.Union([Type.Literal('create'), Type.Literal('retrieve'), Type.Literal('update'), Type.Literal('delete')]),
  endpoint: Type.Object({ module: Type.String(), resource: Type.String() }),
  reasons: Type.Array(Reason),
  rows: Rows,
  policy: Type.Object({ revision: Type.String(), digest: Type.String() })
}, { description: 'a decision (HTTP 200 whenever a decision was made, allowed or not)' })

const PolicyStatus = Type.Object({
  state: Type.String({ description: 'starting | ready | degraded | failed' }),
  revision: Type.Optional(Type.String()),
  digest: Type.Optional(Type.String()),
  loadedAt: Type.Optional(Type.String({ format: 'date-time' })),
  error: Type.Optional(Type.String())
}, { additionalProperties: true })

const HealthBody = Type.Object({ status: Type.String(), policy: PolicyStatus }, { additionalProperties: true })

interface RouteDoc {
  summary: string
  description?: string
  tags: string[]
  response?: Record<string, TSchema | { description: string }>
}

// Routes this document knows in detail. A route registered elsewhere without an
// entry is still listed (with its own schema, if any, under the tag "other").
const ROUTE_DOCS: Record<string, RouteDoc> = {
  'POST /v1/decide': {
    summary: 'Decide one request',
    description: 'Authenticates the credential in the Authorization header (Bearer JWT or Basic, forwarded unchanged from the caller) and evaluates the policy. HTTP 200 whenever a decision was made, allow or deny; `status` says what to answer the caller.',
    tags: ['decisions'],
    response: {
      200: DecisionBody,
      400: ErrorBody,
      413: ErrorBody,
      415: ErrorBody,
      500: ErrorBody,
      503: ErrorBody
    }
  },
  'POST /v1/decide/batch': {
    summary: 'Decide up to 100 requests of one caller',
    description: 'One credential, several items `{ id?, request, resource?, sql? }`. Each result is a decision (with the item\'s `id`) or `{ id?, error: { code, message } }` for a malformed item, in item order; each decision goes to the decision log.',
    tags: ['decisions'],
    response: {
      200: Type.Object({
        results: Type.Array(Type.Union([
          Type.Composite([DecisionBody, Type.Object({ id: Type.Optional(Type.Union([Type.String(), Type.Number()])) })]),
          Type.Object({ id: Type.Optional(Type.Union([Type.String(), Type.Number()])), error: ErrorBody })
        ]))
      }),
      400: ErrorBody,
      413: ErrorBody,
      415: ErrorBody,
      503: ErrorBody
    }
  },
  'GET /ready': {
    summary: 'Readiness for load balancers',
    description: '200 `{ ready: true }` while a policy is active (a degraded service is ready), 503 otherwise.',
    tags: ['operations'],
    response: { 200: Type.Object({ ready: Type.Boolean() }), 503: Type.Object({ ready: Type.Boolean() }) }
  },
  'GET /health': {
    summary: 'Health of the service and its policy',
    description: '200 while a policy serves (`ready`, or `degraded` when a newer policy failed and the last good one still serves), 503 while starting or when no policy could be loaded.',
    tags: ['operations'],
    response: { 200: HealthBody, 503: HealthBody }
  },
  'GET /metrics': {
    summary: 'Prometheus metrics',
    description: 'The Prometheus text exposition format: decisions, latency, JWKS fetches, policy activations, decision-log sinks, process metrics.',
    tags: ['operations'],
    response: { 200: { description: 'text/plain; version=0.0.4' } }
  },
  'GET /docs/json': {
    summary: 'This OpenAPI document',
    tags: ['operations'],
    response: { 200: { description: 'the OpenAPI 3 document of every route' } }
  }
}

function documented (schema: FastifySchema | undefined, url: string, method: string): FastifySchema {
  const doc = ROUTE_DOCS[`${method} ${url}`]
  const base: Record<string, unknown> = { ...(schema ?? {}) }
  if (!doc) {
    if (base.tags === undefined) base.tags = ['other']
    return base as FastifySchema
  }
  return {
    ...base,
    summary: base.summary ?? doc.summary,
    ...(doc.description !== undefined ? { description: base.description ?? doc.description } : {}),
    tags: base.tags ?? doc.tags,
    response: base.response ?? doc.response
  } as FastifySchema
}

export const swaggerOptions: SwaggerOptions & FastifySwaggerOptions = {
  openapi: {
    openapi: '3.0.3',
    info: {
      title: 'Verdict',
      description: 'Policy decision point for an ERP REST API: authenticate, evaluate Rego in WebAssembly, decide.',
      version: VERSION
    },
    tags: [
      { name: 'decisions', description: 'Ask Verdict whether a request may be served' },
      { name: 'operations', description: 'Health, metrics and this document' }
    ]
  },
  transform: ({ schema, url, route }) => {
    const method = Array.isArray(route.method) ? String(route.method[0]) : String(route.method)
    return { schema: documented(schema, url, method), url }
  }
}

const openapiRoute: FastifyPluginAsync = async (fastify) => {
  fastify.get('/docs/json', async () => fastify.swagger())
}

export default openapiRoute
