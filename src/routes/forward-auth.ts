// Forward-auth (default /v1/forward-auth): the door for gateways that ask "may
// this request through?" and read the answer from the HTTP status — nginx
// `auth_request`, Traefik ForwardAuth, Envoy ext_authz (HTTP service). Unlike
// /v1/decide, the status IS the answer, so it is 200 only on allow:
//
//   allow                 → 200, X-Verdict-Decision-Id, X-Verdict-Principal,
//                           X-Verdict-Rows: all|none|conditional, X-Verdict-Filter
//   unauthenticated       → 401 with WWW-Authenticate
//   denied                → 403
//   malformed forwarded request (no/odd method or URI, not an API path) → 403
//   engine failure        → 5xx (the gateway fails closed)
//
// The original request comes from exactly one source: X-Original-Method/-URI
// (nginx), X-Forwarded-Method/-Uri (Traefik), or the path after this route's
// prefix with the request's own method (Envoy ext_authz appends the original path
// to its path_prefix). Two sources at once are refused: a header the client
// smuggled through must never decide instead of the one the gateway set.
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest, FastifySchema } from 'fastify'
import { Type } from '@sinclair/typebox'
import { ErrorBodySchema, FORWARD_AUTH_HEADERS as H, ForwardAuthRefusalSchema, type Decision, type ForwardAuthRefusal } from '../contract/wire.js'
import { publicError } from '../decision/public-error.js'
import { RowFilterTooLargeError } from '../errors.js'
import { originalRequest } from './forward-auth-request.js'
import { DOC_ONLY } from './openapi.js'

export interface ForwardAuthRouteOptions {
  /** the route's path (config forwardAuth.path); Envoy's requests come to `${path}/…` */
  path: string
  /** bound of X-Verdict-Filter (base64url characters); over it the answer is 500 row_filter_too_large */
  maxFilterBytes: number
  /** the WWW-Authenticate challenges of a 401, one per configured scheme */
  challenges: string[]
}

// Methods the door accepts as its own (Envoy forwards the original method).
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']
const BODY_LIMIT = 64 * 1024

const forwardAuthRoute: FastifyPluginAsync<ForwardAuthRouteOptions> = async (fastify, opts) => {
  // A gateway sends no body worth reading (Envoy may send its Content-Length and
  // content type): accept any content type here and ignore it.
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_request, _body, done) => { done(null, undefined) })

  async function handler (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const decision = await fastify.decision.decide(request, originalRequest(request, opts.path))
    reply.header('cache-control', 'no-store')
    reply.header(H.decisionId, decision.decision_id)
    if (decision.allow && decision.status === 200) {
      allowHeaders(reply, decision, opts.maxFilterBytes)
      reply.code(200).send()
      return
    }
    const status = decision.status === 401 ? 401 : 403
    if (status === 401) reply.header('www-authenticate', opts.challenges)
    const refusal: ForwardAuthRefusal = { decision_id: decision.decision_id, allow: false, status }
    reply.code(status).send(refusal)
  }

  // Never a 2xx on an error. A client's mistake (a malformed forwarded request)
  // is a refusal, 403: nginx turns any status but 2xx/401/403 into 500, and the
  // issue is the request, not Verdict. Engine failures keep their 5xx.
  function errorHandler (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
    const answer = publicError(error)
    reply.header('cache-control', 'no-store')
    if (answer.serverError) {
      request.log.error({ err: error }, 'forward-auth failed')
      reply.code(answer.status).send(answer.body)
      return
    }
    request.log.info({ code: answer.body.code, status: answer.status }, 'forward-auth: malformed forwarded request')
    reply.code(403).send(answer.body)
  }

  // One route per method, so that each operation of the OpenAPI document has its own operationId.
  for (const method of METHODS) {
    const id = method[0] + method.slice(1).toLowerCase()
    fastify.route({ method, url: opts.path, exposeHeadRoute: false, handler, errorHandler, schema: { [DOC_ONLY]: headerDoc(`forwardAuth${id}`) } as FastifySchema })
    fastify.route({ method, url: `${opts.path}/*`, exposeHeadRoute: false, handler, errorHandler, schema: { [DOC_ONLY]: envoyDoc(`forwardAuthEnvoy${id}`) } as FastifySchema })
  }
}

// The OpenAPI documentation of the door (documentation only: nothing here validates or serializes).
const RESPONSES = {
  200: {
    type: 'null',
    description: 'allowed (and only then): the X-Verdict-* headers are for the upstream',
    headers: {
      [H.decisionId]: { type: 'string', format: 'uuid', description: 'the decision\'s id' },
      [H.principal]: { type: 'string', description: 'the ERP account; non-visible-ASCII characters and % percent-encoded (UTF-8)' },
      [H.rows]: { type: 'string', enum: ['all', 'none', 'conditional'], description: 'the row scope' },
      [H.filter]: { type: 'string', description: 'conditional only: the UCAST filter (rows.filter of a decision) as compact JSON, base64url without padding; bounded by forwardAuth.maxFilterBytes' }
    }
  },
  401: { ...ForwardAuthRefusalSchema, description: 'the forwarded credential is missing or fails authentication', headers: { 'www-authenticate': { type: 'string', description: 'one challenge per accepted scheme' } } },
  403: Type.Union([ForwardAuthRefusalSchema, ErrorBodySchema], { description: 'denied by the policy, or a malformed forwarded request (`{ code, message }`)' }),
  500: { ...ErrorBodySchema, description: 'Verdict could not decide (engine failure, ROW_FILTER_TOO_LARGE): the gateway fails closed' },
  503: { ...ErrorBodySchema, description: 'no policy is loaded yet' }
}

const DESCRIPTION = 'For gateways that read the answer from the HTTP status: 200 only on allow, 401 with WWW-Authenticate, 403 when denied or malformed, 5xx when Verdict cannot decide. The `Authorization` header is the caller\'s credential, forwarded unchanged by the gateway (Bearer JWT or Basic). docs/API.md, "Gateways", has the nginx, Traefik and Envoy configurations.'

function headerDoc (operationId: string): Record<string, unknown> {
  return {
    operationId,
    summary: 'Forward-auth: nginx auth_request, Traefik ForwardAuth',
    description: `${DESCRIPTION} The original request: X-Original-Method and X-Original-URI (nginx), or X-Forwarded-Method and X-Forwarded-Uri (Traefik) — exactly one pair.`,
    tags: ['gateways'],
    headers: Type.Object({
      'x-original-method': Type.Optional(Type.String({ description: 'nginx: the original method' })),
      'x-original-uri': Type.Optional(Type.String({ description: 'nginx: the original request URI (path and query)' })),
      'x-forwarded-method': Type.Optional(Type.String({ description: 'Traefik: the original method' })),
      'x-forwarded-uri': Type.Optional(Type.String({ description: 'Traefik: the original request URI (path and query)' }))
    }),
    response: RESPONSES
  }
}

function envoyDoc (operationId: string): Record<string, unknown> {
  return {
    operationId,
    summary: 'Forward-auth: Envoy ext_authz (HTTP service)',
    description: `${DESCRIPTION} Envoy appends the original path (and query) to its path_prefix and keeps the original method.`,
    tags: ['gateways'],
    params: Type.Object({ originalPath: Type.String({ description: 'the original request path and query, after the forward-auth path' }) }),
    response: RESPONSES
  }
}

function allowHeaders (reply: FastifyReply, decision: Decision, maxFilterBytes: number): void {
  if (decision.principal !== null) reply.header(H.principal, headerSafe(decision.principal.id))
  reply.header(H.rows, decision.rows.kind)
  if (decision.rows.kind !== 'conditional') return
  const filter = Buffer.from(JSON.stringify(decision.rows.filter), 'utf8').toString('base64url')
  // A scope the gateway cannot carry is never dropped: the request is refused.
  if (filter.length > maxFilterBytes) {
    reply.removeHeader(H.principal)
    reply.removeHeader(H.rows)
    throw new RowFilterTooLargeError(filter.length, maxFilterBytes)
  }
  reply.header(H.filter, filter)
}

/**
 * A header value for any string: visible ASCII stays as it is, every other
 * character (and `%`) is percent-encoded UTF-8, so decodeURIComponent restores it.
 */
export function headerSafe (value: string): string {
  return value.replace(/[^\x21-\x24\x26-\x7e]/gu, (c) => [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''))
}

export default forwardAuthRoute
