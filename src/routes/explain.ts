// POST /v1/explain — one decision with the evidence of each layer, for security
// teams (docs/API.md). Off unless `explain.enabled`; only callers whose token
// holds one of `explain.adminRoles` may call it. The explanation comes from the
// policy itself (policies/verdict/explain/explain.rego, src/review/explain.ts),
// compiled from `policy.dir` once per served revision, and it is answered only
// when its decision is the served policy's decision for the same input: a policy
// directory edited but not yet reloaded is refused, never an explanation of another
// policy than the one deciding (409 EXPLAIN_STALE).
import type { FastifyPluginAsync } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import type { PolicyResult } from '../engine/result.js'
import { ExplainForbiddenError, ExplainStaleError, ExplainUnauthenticatedError, ExplainUnavailableError, InvalidRequestError, PolicyNotLoadedError } from '../errors.js'
import { inputFromFlags, loadExplainer, type Explainer } from '../review/explain.js'
import { ReviewError } from '../review/review-error.js'
import type { ExplainConfig } from './explain-config.js'

const Name = Type.String({ minLength: 1, maxLength: 256 })

export const ExplainRequestSchema = Type.Object({
  account: Type.Optional(Name),
  idp: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: '`basic` (default) or the identity provider whose token names the account' })),
  client: Type.Optional(Name),
  method: Type.String({ minLength: 1, maxLength: 16 }),
  path: Type.String({ minLength: 1, maxLength: 2048 }),
  company: Type.Optional(Name),
  job: Type.Optional(Type.String({ maxLength: 256 }))
}, { additionalProperties: false, description: 'whose decision to explain: an account (and the identity provider whose token names it) or an OAuth client of an identity provider, and the request; company and job name one record' })

export type ExplainRequest = Static<typeof ExplainRequestSchema>

export interface ExplainRouteOptions { config: ExplainConfig, policyDir: string, bodyLimit: number }

const verdictOf = (r: PolicyResult): string => JSON.stringify([r.allow, r.status, r.reasons.map((x) => `${x.layer}:${x.code}`), r.rows, r.principal ?? null])

const explainRoute: FastifyPluginAsync<ExplainRouteOptions> = async (fastify, opts) => {
  const admin = new Set(opts.config.adminRoles)
  let cached: { digest: string, explainer: Promise<Explainer> } | undefined

  fastify.post<{ Body: ExplainRequest }>('/v1/explain', { bodyLimit: opts.bodyLimit, schema: { body: ExplainRequestSchema } }, async (request) => {
    const authn = await fastify.authenticate(request)
    if (!authn.ok) throw new ExplainUnauthenticatedError(`${authn.code}: ${authn.message}`)
    if (!authn.principal.roles.some((role) => admin.has(role))) {
      throw new ExplainForbiddenError('the caller holds none of the roles that may call POST /v1/explain (explain.adminRoles)')
    }
    const served = fastify.policy.current()
    if (!served) throw new PolicyNotLoadedError()
    let input
    try {
      input = inputFromFlags(request.body)
    } catch (err) {
      throw new InvalidRequestError((err as Error).message)
    }
    if (cached?.digest !== served.digest) {
      const explainer = loadExplainer({ policies: opts.policyDir })
      cached = { digest: served.digest, explainer }
      explainer.catch(() => { if (cached?.explainer === explainer) cached = undefined })
    }
    let explanation
    try {
      explanation = (await cached.explainer).explain(input)
    } catch (err) {
      if (err instanceof ReviewError) throw new ExplainUnavailableError(err.message)
      throw err
    }
    if (verdictOf(explanation.decision) !== verdictOf(await served.decide(input))) {
      cached = undefined
      throw new ExplainStaleError()
    }
    const { sqlMapping: _, ...decision } = explanation.decision
    return { decision, identity: explanation.identity, api: explanation.api, application: explanation.application, policy: { revision: served.revision, digest: served.digest }, input }
  })
}

export default explainRoute
