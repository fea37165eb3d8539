// The original request a gateway asks about, read from exactly one source:
//   nginx   X-Original-Method + X-Original-URI (set in the auth_request location)
//   Traefik X-Forwarded-Method + X-Forwarded-Uri (set by ForwardAuth)
//   Envoy   the path after the forward-auth prefix, with the request's own method
//           (ext_authz HTTP service: path_prefix + original path, original method)
// Missing, partial, repeated or competing sources are the caller's mistake (400
// class; the route answers 403). The result is a /v1/decide body with the same
// bounds, and the decision service parses it like one.
import type { FastifyRequest } from 'fastify'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { DecisionRequestSchema, type DecisionRequest } from '../contract/wire.js'
import { InvalidRequestError } from '../errors.js'

const requestCheck = TypeCompiler.Compile(DecisionRequestSchema)

interface Source { name: string, method: string, uri: string }

export function originalRequest (request: FastifyRequest, prefix: string): DecisionRequest {
  const source = forwardedSource(request, prefix)
  const body = toDecisionRequest(source)
  if (!requestCheck.Check(body)) {
    const first = requestCheck.Errors(body).First()
    throw new InvalidRequestError(`forwarded request (${source.name})${first?.path ?? ''}: ${first?.message ?? 'does not match the schema'}`)
  }
  return body
}

function forwardedSource (request: FastifyRequest, prefix: string): Source {
  const sources: Source[] = []
  const nginx = headerPair(request, 'x-original-method', 'x-original-uri', 'nginx')
  if (nginx) sources.push(nginx)
  const traefik = headerPair(request, 'x-forwarded-method', 'x-forwarded-uri', 'Traefik')
  if (traefik) sources.push(traefik)
  const rawPath = request.url
  if (rawPath.length > prefix.length && rawPath.startsWith(prefix + '/')) {
    sources.push({ name: 'Envoy', method: request.method, uri: rawPath.slice(prefix.length) })
  }
  if (sources.length === 0) {
    throw new InvalidRequestError('no forwarded request: send X-Original-Method and X-Original-URI (nginx), X-Forwarded-Method and X-Forwarded-Uri (Traefik), or the original path after the forward-auth path (Envoy)')
  }
  if (sources.length > 1) {
    throw new InvalidRequestError(`the forwarded request is named more than once (${sources.map((s) => s.name).join(', ')}); a gateway sets exactly one`)
  }
  return sources[0] as Source
}

function headerPair (request: FastifyRequest, methodHeader: string, uriHeader: string, name: string): Source | undefined {
  const method = single(request, methodHeader)
  const uri = single(request, uriHeader)
  if (method === undefined && uri === undefined) return undefined
  if (method === undefined || uri === undefined) {
    throw new InvalidRequestError(`${name}: ${methodHeader} and ${uriHeader} come together; only ${method === undefined ? uriHeader : methodHeader} was sent`)
  }
  return { name, method, uri }
}

function single (request: FastifyRequest, header: string): string | undefined {
  const value = request.headers[header]
  if (value === undefined) return undefined
  if (Array.isArray(value)) throw new InvalidRequestError(`${header} is sent more than once`)
  return value
}

// The request line's target: a path, and a query whose keys appear once each
// (a repeated key is ambiguous, and ambiguity is refused).
function toDecisionRequest (source: Source): DecisionRequest {
  const uri = source.uri
  if (uri.includes('#')) throw new InvalidRequestError(`forwarded request (${source.name}): the URI carries a fragment`)
  const q = uri.indexOf('?')
  const path = q === -1 ? uri : uri.slice(0, q)
  const body: DecisionRequest = { request: { method: source.method, path } }
  if (q === -1 || q === uri.length - 1) return body
  const query: Record<string, string> = {}
  for (const [key, value] of new URLSearchParams(uri.slice(q + 1))) {
    if (Object.hasOwn(query, key)) throw new InvalidRequestError(`forwarded request (${source.name}): query parameter ${JSON.stringify(key.slice(0, 64))} is repeated`)
    query[key] = value
  }
  body.request.query = query
  return body
}
