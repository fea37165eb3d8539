// The one decision service. Every door — POST /v1/decide, POST /v1/decide/batch,
// forward-auth, AuthZEN — is a thin adapter over `fastify.decision`, which does
// the whole path: current policy → authenticate → evaluate → record. The decision
// log gets the request as parsed here, so every event (a batch item's 401
// included) keeps what was asked.
//
//   const decision = await fastify.decision.decide(request, body)   // one request
//   const results = await fastify.decision.decideBatch(request, items)
//
// Client mistakes throw 4xx errors (src/errors.ts) before anything is decided;
// engine failures throw 5xx errors. Neither is ever an allow.
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { AuthnResult } from '../authn/principal.js'
import type { DecisionLog } from '../decision-log/index.js'
import {
  BatchItemIdSchema, BatchItemSchema, MAX_BATCH_ITEMS,
  type BatchItemId, type BatchResult, type Decision, type DecisionRequest
} from '../contract/wire.js'
import type { PathVocabulary } from '../engine/input.js'
import type { DecisionPolicy } from '../engine/policy.js'
import { BatchEmptyError, BatchTooLargeError, InvalidRequestError, PolicyNotLoadedError } from '../errors.js'
import { decideOnce } from './decide.js'
import { parseDecisionRequest, type ParsedRequest } from './parse.js'
import { publicError } from './public-error.js'

export { parseDecisionRequest, type ParsedRequest } from './parse.js'
export { decideOnce, type DecisionOutcome } from './decide.js'
export { publicError, type PublicError } from './public-error.js'

export interface DecideOptions {
  /**
   * The caller's identity when a door establishes it otherwise; by default the
   * credential in the request's Authorization header is authenticated.
   */
  authn?: AuthnResult
}

export interface DecisionService {
  /** One decision for a schema-valid decision request. */
  decide (request: FastifyRequest, body: DecisionRequest, options?: DecideOptions): Promise<Decision>
  /** One decision for a request a door has already parsed (its own request shape). */
  decideParsed (request: FastifyRequest, parsed: ParsedRequest, options?: DecideOptions): Promise<Decision>
  /**
   * 1 to 100 decisions for one caller: the credential is authenticated once and
   * every item is decided against the same policy revision. A malformed item (or
   * one whose decision failed) gets `{ id?, error }` in its position; the others
   * are still decided. Results come in the order of the items.
   */
  decideBatch (request: FastifyRequest, items: unknown[], options?: DecideOptions): Promise<BatchResult[]>
}

/** What the service needs from the app: the lifecycle's policy, authentication and the decision log. */
export interface DecisionServiceDeps {
  currentPolicy: () => DecisionPolicy | undefined
  authenticate: (request: FastifyRequest) => Promise<AuthnResult>
  record: DecisionLog['record']
  /** the envs and versions an API path may name (config server.paths) */
  paths?: PathVocabulary
}

const batchItemCheck = TypeCompiler.Compile(BatchItemSchema)
const batchItemIdCheck = TypeCompiler.Compile(BatchItemIdSchema)

export function createDecisionService (deps: DecisionServiceDeps): DecisionService {
  function policyNow (): DecisionPolicy {
    const policy = deps.currentPolicy()
    if (!policy) throw new PolicyNotLoadedError()
    return policy
  }

  async function decideParsed (request: FastifyRequest, parsed: ParsedRequest, options?: DecideOptions): Promise<Decision> {
    const policy = policyNow()
    const authn = options?.authn ?? await deps.authenticate(request)
    const outcome = await decideOnce(policy, authn, parsed)
    deps.record(request, outcome)
    return outcome.decision
  }

  async function decideItem (request: FastifyRequest, policy: DecisionPolicy, authn: AuthnResult, item: unknown, index: number): Promise<BatchResult> {
    const id = idOf(item)
    try {
      if (!batchItemCheck.Check(item)) {
        const first = batchItemCheck.Errors(item).First()
        throw new InvalidRequestError(`items/${index}${first?.path ?? ''}: ${first?.message ?? 'does not match the schema'}`)
      }
      const { id: _id, ...body } = item
      const outcome = await decideOnce(policy, authn, parseDecisionRequest(body, deps.paths))
      deps.record(request, outcome)
      return id === undefined ? outcome.decision : { id, ...outcome.decision }
    } catch (thrown) {
      const answer = publicError(thrown)
      if (answer.serverError) request.log.error({ err: thrown, item: index }, 'batch item failed')
      return id === undefined ? { error: answer.body } : { id, error: answer.body }
    }
  }

  return {
    async decide (request, body, options) {
      return await decideParsed(request, parseDecisionRequest(body, deps.paths), options)
    },
    decideParsed,
    async decideBatch (request, items, options) {
      if (items.length === 0) throw new BatchEmptyError(MAX_BATCH_ITEMS)
      if (items.length > MAX_BATCH_ITEMS) throw new BatchTooLargeError(MAX_BATCH_ITEMS, items.length)
      const policy = policyNow()
      const authn = options?.authn ?? await deps.authenticate(request)
      return await Promise.all(items.map(async (item, index) => await decideItem(request, policy, authn, item, index)))
    }
  }
}

/** The item's id when it has a well-formed one (echoed even when the rest is malformed). */
function idOf (item: unknown): BatchItemId | undefined {
  if (item === null || typeof item !== 'object' || !Object.hasOwn(item, 'id')) return undefined
  const id = (item as { id: unknown }).id
  return batchItemIdCheck.Check(id) ? id : undefined
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The decision service: every door decides through it. */
    decision: DecisionService
  }
}

export interface DecisionPluginOptions {
  /** the envs and versions an API path may name (config server.paths) */
  paths?: PathVocabulary
}

export default fp<DecisionPluginOptions>(async (fastify, opts) => {
  fastify.decorate('decision', createDecisionService({
    ...(opts.paths !== undefined ? { paths: opts.paths } : {}),
    currentPolicy: () => fastify.policy.current(),
    authenticate: async (request) => await fastify.authenticate(request),
    record: (request, outcome) => { fastify.decisionLog.record(request, outcome) }
  }))
}, { name: 'verdict-decision', dependencies: ['authn', 'engine', 'decision-log'] })
