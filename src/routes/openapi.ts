// The OpenAPI 3 document of every route, served at GET /docs/json, generated
// from the contract's schemas (src/contract). `npm run lint` holds it to
// @redocly/cli's recommended rules (scripts/lint-openapi.ts).
//
// Response shapes are documentation only: they are added in @fastify/swagger's
// `transform`, when the document is generated, and never become a route's
// response schema. A response schema would make fastify serialize with it and
// silently drop any field it does not list — a decision must reach the caller
// exactly as the engine made it.
import type { FastifySwaggerOptions, SwaggerOptions } from '@fastify/swagger'
import { Type, type TSchema } from '@sinclair/typebox'
import type { FastifyPluginAsync, FastifySchema } from 'fastify'
import { BatchRequestDocSchema, BatchResponseSchema, DecisionSchema, ErrorBodySchema } from '../contract/wire.js'
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
  operationId: string
  summary: string
  description?: string
  tags: string[]
  /** public routes say `[]`; the rest need the caller's credential */
  security?: Array<Record<string, string[]>>
  /** the request body as documented, when it differs from the validated one */
  body?: TSchema
  response?: Record<string, TSchema | { description: string }>
}

const PUBLIC: Array<Record<string, string[]>> = []
const FORWARDED = 'The `Authorization` header is the credential of the caller Verdict decides for (Bearer JWT from a configured issuer, or Basic for a service account), forwarded unchanged by the calling service.'

// Routes this document knows in detail. A route registered elsewhere without an
// entry is still listed (with its own schema, if any, under the tag "other").
const ROUTE_DOCS: Record<string, RouteDoc> = {
  'POST /v1/decide': {
    operationId: 'decide',
    summary: 'Decide one request',
    description: `Authenticates the caller and evaluates the policy. HTTP 200 whenever a decision was made, allow or deny; \`status\` says what to answer the caller. ${FORWARDED}`,
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
    operationId: 'decideBatch',
    summary: 'Decide up to 100 requests of one caller',
    description: 'One credential, several items `{ id?, request, resource?, sql? }`. Each result is a decision (with the item\'s `id`) or `{ id?, error: { code, message } }` for a malformed item, in item order; each decision goes to the decision log. ' + FORWARDED,
    tags: ['decisions'],
    body: BatchRequestDocSchema,
    response: {
      200: BatchResponseSchema,
      400: ErrorBody,
      413: ErrorBody,
      415: ErrorBody,
      503: ErrorBody
    }
  },
  'GET /ready': {
    operationId: 'ready',
    security: PUBLIC,
    summary: 'Readiness for load balancers',
    description: '200 `{ ready: true }` while a policy is active (a degraded service is ready), 503 otherwise.',
    tags: ['operations'],
    response: { 200: Type.Object({ ready: Type.Boolean() }), 503: Type.Object({ ready: Type.Boolean() }) }
  },
  'GET /health': {
    operationId: 'health',
    security: PUBLIC,
    summary: 'Health of the service and its policy',
    description: '200 while a policy serves (`ready`, or `degraded` when a newer policy failed and the last good one still serves), 503 while starting or when no policy could be loaded.',
    tags: ['operations'],
    response: { 200: HealthBody, 503: HealthBody }
  },
  'GET /metrics': {
    operationId: 'metrics',
    security: PUBLIC,
    summary: 'Prometheus metrics',
    description: 'The Prometheus text exposition format: decisions, latency, JWKS fetches, policy activations, decision-log sinks, process metrics.',
    tags: ['operations'],
    response: { 200: { description: 'text/plain; version=0.0.4' } }
  },
  'GET /docs/json': {
    operationId: 'openapi',
    security: PUBLIC,
    summary: 'This OpenAPI document',
    tags: ['operations'],
    response: { 200: { description: 'the OpenAPI 3 document of every route' } }
  }
}

function documented (schema: FastifySchema | undefined, url: string, method: string): FastifySchema {
  const base: Record<string, unknown> = { ...(schema ?? {}) }
  // A route that documents itself (forward-auth) hands its documentation-only
  // parts over under DOC_ONLY: they must not become validation or serialization.
  const own = base[DOC_ONLY] as Record<string, unknown> | undefined
  delete base[DOC_ONLY]
  if (own !== undefined) return { ...base, ...own } as FastifySchema
  const doc = ROUTE_DOCS[`${method} ${url}`]
  if (!doc) {
    return {
      ...base,
      operationId: base.operationId ?? operationIdOf(method, url),
      tags: base.tags ?? ['other']
    } as FastifySchema
  }
  return {
    ...base,
    operationId: doc.operationId,
    summary: base.summary ?? doc.summary,
    ...(doc.description !== undefined ? { description: base.description ?? doc.description } : {}),
    ...(doc.security !== undefined ? { security: doc.security } : {}),
    ...(doc.body !== undefined ? { body: doc.body } : {}),
    tags: base.tags ?? doc.tags,
    response: base.response ?? doc.response
  } as FastifySchema
}

/** `POST /access/v1/search/subject` → `postAccessV1SearchSubject` */
function operationIdOf (method: string, url: string): string {
  const words = [method.toLowerCase(), ...url.split(/[^A-Za-z0-9]+/).filter((w) => w !== '')]
  return words.map((w, i) => i === 0 ? w : w[0]?.toUpperCase() + w.slice(1)).join('')
}

/** The schema key under which a route passes documentation-only fields to the transform. */
export const DOC_ONLY = 'x-verdict-doc'

export const swaggerOptions: SwaggerOptions & FastifySwaggerOptions = {
  openapi: {
    openapi: '3.0.3',
    info: {
      title: 'Verdict',
      description: 'Policy decision point for an ERP REST API: authenticate, evaluate Rego in WebAssembly, decide.',
      version: VERSION
    },
    servers: [{ url: 'http://127.0.0.1:8181', description: 'Verdict at its default address (server.host, server.port)' }],
    tags: [
      { name: 'decisions', description: 'Ask Verdict whether a request may be served' },
      { name: 'gateways', description: 'Forward-auth for nginx, Traefik and Envoy: the HTTP status is the answer' },
      { name: 'authzen', description: 'AuthZEN Authorization API 1.0 (when configured)' },
      { name: 'operations', description: 'Health, metrics and this document' },
      { name: 'other', description: 'Routes without their own documentation' }
    ],
    components: {
      securitySchemes: {
        bearerJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'an OAuth 2.0 client-credentials access token of a configured issuer, forwarded unchanged from the caller' },
        basic: { type: 'http', scheme: 'basic', description: 'a service account and its secret (authn.basic), forwarded unchanged from the caller' }
      }
    },
    security: [{ bearerJwt: [] }, { basic: [] }]
  },
  // Schemas with an $id (the recursive UCAST Condition) become named components.
  refResolver: {
    buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}`
  },
  transform: ({ schema, url, route }) => {
    const method = Array.isArray(route.method) ? String(route.method[0]) : String(route.method)
    // A wildcard (Envoy's original path after the forward-auth prefix) is a path parameter.
    const documentedUrl = url.endsWith('/*') ? `${url.slice(0, -2)}/{originalPath}` : url
    return { schema: documented(schema, url, method), url: documentedUrl }
  }
}

const openapiRoute: FastifyPluginAsync = async (fastify) => {
  fastify.get('/docs/json', async () => fastify.swagger())
}

export default openapiRoute
