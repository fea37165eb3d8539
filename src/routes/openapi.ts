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
import { BatchResponseSchema, DecisionSchema, ErrorBodySchema } from '../contract/wire.js'
import { VERSION } from '../decision-log/index.js'

const ErrorBody = ErrorBodySchema
const DecisionBody = DecisionSchema

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
      200: BatchResponseSchema,
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
