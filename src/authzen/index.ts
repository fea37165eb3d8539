// The AuthZEN Authorization API 1.0 doors (openid/authzen,
// api/authorization-api-1_0.md), off unless `authzen.enabled`:
//
//   POST /access/v1/evaluation          one decision
//   POST /access/v1/evaluations         many, with defaults and short-circuit semantics
//   POST /access/v1/search/subject      who may …        (paged)
//   POST /access/v1/search/resource     what may … on    (paged)
//   POST /access/v1/search/action       which actions …  (paged)
//   GET  /.well-known/authzen-configuration   PDP metadata (public)
//
// These routes only parse and shape: the PEP is authenticated (pep.ts), the
// request becomes a policy input through the configured model (models.ts), and
// the active policy decides (evaluate.ts). A search evaluates every candidate
// the way a single evaluation does. X-Request-ID is echoed on every answer.
import { randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { resolveAuthnConfig, type AuthnConfigInput } from '../authn/index.js'
import { loadPepper } from '../authn/secrets.js'
import type { DecisionPolicy } from '../engine/policy.js'
import { BatchTooLargeError, ConfigInvalidError, InvalidRequestError, PepNotAllowedError, PepUnauthenticatedError, PolicyEvaluationError, PolicyNotLoadedError, RequestNotJsonError } from '../errors.js'
import type { AuthzenConfig } from './config.js'
import { answer, evaluate, failedItem, policyData, stopsAfter, type EvaluationAnswer, type Evaluator } from './evaluate.js'
import { cmicModel, entitiesModel, type Model, type Query } from './models.js'
import { paginate, searchDigest } from './page.js'
import { createPepAuthenticator, loadApiKeys, WWW_AUTHENTICATE, type PepResult } from './pep.js'
import {
  ActionSearchRequestSchema, EvaluationRequestSchema, EvaluationsRequestSchema, MAX_EVALUATIONS, ResourceSearchRequestSchema,
  SubjectSearchRequestSchema, type ActionSearchRequest, type EvaluationRequest, type EvaluationsRequest,
  type ResourceSearchRequest, type SubjectSearchRequest
} from './schema.js'
import { TypeCompiler } from '@sinclair/typebox/compiler'

export { AuthzenConfigSchema, authzenConfigProblems, type AuthzenConfig } from './config.js'
export { hashApiKey } from './pep.js'

export interface AuthzenPluginOptions {
  config: AuthzenConfig
  /** the authn section: its Basic pepper hashes the API keys */
  authn: AuthnConfigInput
  bodyLimit: number
  batchBodyLimit: number
}

export const PATHS = {
  evaluation: '/access/v1/evaluation',
  evaluations: '/access/v1/evaluations',
  subject: '/access/v1/search/subject',
  resource: '/access/v1/search/resource',
  action: '/access/v1/search/action',
  metadata: '/.well-known/authzen-configuration'
} as const

const REQUEST_ID = /^[\x21-\x7e]{1,256}$/
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
const HIDDEN = 'the decision could not be made; see the service log'
const itemCheck = TypeCompiler.Compile(EvaluationRequestSchema)

declare module 'fastify' {
  interface FastifyRequest {
    /** the authenticated PEP of an AuthZEN request */
    authzenPep?: PepResult
  }
}

async function apiKeyPepper (authn: AuthnConfigInput): Promise<Buffer | undefined> {
  try {
    return await loadPepper(resolveAuthnConfig(authn).basic)
  } catch (err) {
    throw new ConfigInvalidError(`/authzen/apiKeysFile: the API keys need the Basic pepper (${(err as Error).message})`)
  }
}

/** The WASM runtime refuses lone surrogates; a 400 here says so instead of a 500 there. */
function checkWellFormed (value: unknown, path: string): void {
  if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) throw new InvalidRequestError(`body${path}: contains a lone UTF-16 surrogate`)
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => { checkWellFormed(v, `${path}/${i}`) })
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (LONE_SURROGATE.test(k)) throw new InvalidRequestError(`body${path}: a key contains a lone UTF-16 surrogate`)
      checkWellFormed(v, `${path}/${k}`)
    }
  }
}

function currentPolicy (fastify: FastifyInstance): DecisionPolicy {
  const policy = fastify.policy.current()
  if (!policy) throw new PolicyNotLoadedError()
  return policy
}

/**
 * The evaluator of one AuthZEN request: ERP questions go through the decision
 * service with the subject's account as the principal (the PEP has been
 * authenticated; the subject is who the question is about).
 */
function evaluatorFor (fastify: FastifyInstance, request: FastifyRequest, model: Model): Evaluator {
  return {
    policy: currentPolicy(fastify),
    model,
    decideErp: async (parsed, principal) => await fastify.decision.decideParsed(request, parsed, { authn: { ok: true, principal } })
  }
}

const toQuery = (r: { subject: Query['subject'], action: Query['action'], resource: Query['resource'], context?: Query['context'] }): Query =>
  ({ subject: r.subject, action: r.action, resource: r.resource, context: r.context })

async function authzenRoutes (fastify: FastifyInstance, opts: AuthzenPluginOptions): Promise<void> {
  const { config } = opts
  const keys = config.apiKeysFile !== undefined ? await loadApiKeys(config.apiKeysFile) : []
  let pepper: Buffer = randomBytes(32)
  if (keys.length > 0) {
    const configured = await apiKeyPepper(opts.authn)
    if (configured === undefined) throw new ConfigInvalidError('/authzen/apiKeysFile: the API keys need the Basic pepper (authn.basic.pepperFile or pepperEnv)')
    pepper = configured
  }
  const authenticatePep = createPepAuthenticator({ keys, pepper, clients: config.clients, authenticate: (r) => fastify.authenticate(r) })
  const model: Model = config.model === 'cmic' ? cmicModel({ subjectIdp: config.subjectIdp, env: config.env }) : entitiesModel()

  fastify.addHook('onSend', async (request, reply) => {
    const id = request.headers['x-request-id']
    if (typeof id === 'string' && REQUEST_ID.test(id)) reply.header('x-request-id', id)
  })

  // The PEP first (nothing of an unauthenticated caller is parsed), then the
  // content type: the specification's requests are JSON objects, anything else is a 400.
  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method !== 'POST') return
    const pep = await authenticatePep(request)
    if (!pep.ok) {
      if (pep.status === 401) {
        reply.header('www-authenticate', WWW_AUTHENTICATE)
        throw new PepUnauthenticatedError(pep.message)
      }
      throw new PepNotAllowedError(pep.message)
    }
    request.authzenPep = pep
    const type = String(request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase()
    if (type !== 'application/json') throw new RequestNotJsonError()
  })
  fastify.addHook('preHandler', async (request) => { checkWellFormed(request.body, '') })

  const tags = ['authzen']

  fastify.post<{ Body: EvaluationRequest }>(PATHS.evaluation, {
    bodyLimit: opts.bodyLimit,
    schema: { body: EvaluationRequestSchema, tags, operationId: 'authzenEvaluation', summary: 'AuthZEN: one access evaluation', description: 'May the subject perform the action on the resource? `{ decision }`; `context.reasons` when `options.include_reasons` is true.' }
  }, async (request) => {
    const ev = evaluatorFor(fastify, request, model)
    return answer(await evaluate(ev, toQuery(request.body)), request.body.options?.include_reasons === true)
  })

  fastify.post<{ Body: EvaluationsRequest }>(PATHS.evaluations, {
    bodyLimit: opts.batchBodyLimit,
    schema: { body: EvaluationsRequestSchema, tags, operationId: 'authzenEvaluations', summary: 'AuthZEN: many access evaluations', description: `Up to ${MAX_EVALUATIONS} evaluations; top-level subject, action, resource and context are defaults. options.evaluations_semantic: execute_all (default), deny_on_first_deny, permit_on_first_permit. An item that cannot be evaluated is \`decision: false\` with \`context.error\`.` }
  }, async (request) => {
    const body = request.body
    const includeReasons = body.options?.include_reasons === true
    const ev = evaluatorFor(fastify, request, model)
    const items = body.evaluations ?? []
    if (items.length > MAX_EVALUATIONS) throw new BatchTooLargeError(MAX_EVALUATIONS, items.length)
    if (items.length === 0) {
      // No evaluations: the request is a single evaluation (backwards compatible).
      if (!itemCheck.Check(body)) throw invalid(itemCheck.Errors(body).First())
      return answer(await evaluate(ev, toQuery(body as EvaluationRequest)), includeReasons)
    }
    const semantic = body.options?.evaluations_semantic ?? 'execute_all'
    const evaluations: EvaluationAnswer[] = []
    for (const item of items) {
      const one = await evaluateItem(request, ev, body, item, includeReasons)
      evaluations.push(one)
      if (stopsAfter(semantic, one.decision)) break
    }
    return { evaluations }
  })

  async function evaluateItem (request: FastifyRequest, ev: Evaluator, defaults: EvaluationsRequest, item: unknown, includeReasons: boolean): Promise<EvaluationAnswer> {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return failedItem(400, new InvalidRequestError('an evaluation must be an object'))
    const own = item as Record<string, unknown>
    const merged: Record<string, unknown> = {}
    for (const key of ['subject', 'action', 'resource', 'context'] as const) {
      const value = Object.hasOwn(own, key) ? own[key] : defaults[key]
      if (value !== undefined) merged[key] = value
    }
    if (!itemCheck.Check(merged)) {
      const first = itemCheck.Errors(merged).First()
      return failedItem(400, new InvalidRequestError(`${first?.path || '/'}: ${first?.message ?? 'does not match the schema'}`))
    }
    try {
      return answer(await evaluate(ev, toQuery(merged as EvaluationRequest)), includeReasons)
    } catch (err) {
      request.log.error({ err }, 'an AuthZEN evaluation failed')
      // An engine failure keeps its code and hides its details, as for a whole request.
      const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : new PolicyEvaluationError('').code
      return failedItem(500, { code, message: HIDDEN })
    }
  }

  fastify.post<{ Body: SubjectSearchRequest }>(PATHS.subject, {
    bodyLimit: opts.bodyLimit,
    schema: { body: SubjectSearchRequestSchema, tags, operationId: 'authzenSearchSubject', summary: 'AuthZEN: subject search', description: 'The subjects of the given type that may perform the action on the resource, `{ type, id }` each, paged.' }
  }, async (request) => {
    const body = request.body
    const ev = evaluatorFor(fastify, request, model)
    const type = body.subject.type
    const found = await matching(model.subjects(type, policyData(ev.policy)), async (id) => await evaluate(ev, toQuery({ ...body, subject: { type, id } })))
    return paginate(found.map((id) => ({ type, id })), body.page, searchDigest('subject', body), config.pageSize)
  })

  fastify.post<{ Body: ResourceSearchRequest }>(PATHS.resource, {
    bodyLimit: opts.bodyLimit,
    schema: { body: ResourceSearchRequestSchema, tags, operationId: 'authzenSearchResource', summary: 'AuthZEN: resource search', description: 'The resources of the given type on which the subject may perform the action, paged. ERP records carry their company and job fields in `properties`.' }
  }, async (request) => {
    const body = request.body
    const ev = evaluatorFor(fastify, request, model)
    const found = await matching(model.resources(body.resource, policyData(ev.policy)), async (resource) => await evaluate(ev, toQuery({ ...body, resource: { ...resource } })))
    return paginate(found, body.page, searchDigest('resource', body), config.pageSize)
  })

  fastify.post<{ Body: ActionSearchRequest }>(PATHS.action, {
    bodyLimit: opts.bodyLimit,
    schema: { body: ActionSearchRequestSchema, tags, operationId: 'authzenSearchAction', summary: 'AuthZEN: action search', description: 'The actions the subject may perform on the resource, `{ name }` each, paged.' }
  }, async (request) => {
    const body = request.body
    const ev = evaluatorFor(fastify, request, model)
    const found = await matching(model.actions(body.resource.type, policyData(ev.policy)), async (name) => await evaluate(ev, toQuery({ ...body, action: { name } })))
    return paginate(found.map((name) => ({ name })), body.page, searchDigest('action', body), config.pageSize)
  })

  fastify.get(PATHS.metadata, {
    schema: { tags, operationId: 'authzenMetadata', summary: 'AuthZEN: PDP metadata', description: 'The endpoints of this policy decision point. Public: no credential needed.' }
  }, async (request) => {
    const base = (config.policyDecisionPoint ?? `${request.protocol}://${request.host}`).replace(/\/+$/, '')
    return {
      policy_decision_point: base,
      access_evaluation_endpoint: base + PATHS.evaluation,
      access_evaluations_endpoint: base + PATHS.evaluations,
      search_subject_endpoint: base + PATHS.subject,
      search_resource_endpoint: base + PATHS.resource,
      search_action_endpoint: base + PATHS.action
    }
  })
}

/** The candidates whose evaluation allows, in their order (one at a time: evaluation is synchronous anyway). */
async function matching<T> (candidates: T[], evaluateOne: (candidate: T) => Promise<{ decision: boolean }>): Promise<T[]> {
  const out: T[] = []
  for (const candidate of candidates) if ((await evaluateOne(candidate)).decision) out.push(candidate)
  return out
}

function invalid (first: { path: string, message: string } | undefined): Error {
  return new InvalidRequestError(`body${first?.path ?? ''}: ${first?.message ?? 'does not match the schema'}`)
}

export default fp<AuthzenPluginOptions>(async (fastify, opts) => {
  if (!opts.config.enabled) return
  // Encapsulated: the hooks above apply to these routes only.
  await fastify.register(authzenRoutes, opts)
}, { name: 'authzen', dependencies: ['authn', 'engine', 'verdict-decision'] })
