// POST /v1/decide/batch — up to 100 decisions for one caller in one call. The
// credential is authenticated once and every item is decided against the same
// policy revision. Items are checked one by one: a malformed item gets its own
// `{ error: { code, message } }` in its position and the others are still
// decided. Results come back in the order of the items, each decision with its
// own decision_id, and each decision goes to the decision log.
import type { FastifyError, FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { AuthnResult } from '../authn/principal.js'
import { decide, type Decision } from '../engine/decide.js'
import type { PathVocabulary } from '../engine/input.js'
import type { DecisionPolicy } from '../engine/policy.js'
import { BatchEmptyError, BatchTooLargeError, BodyTooLargeError, InvalidRequestError, PolicyNotLoadedError } from '../errors.js'
import { BatchRequestSchema, batchItemCheck, batchItemIdCheck, MAX_BATCH_ITEMS, type BatchRequestBody } from './batch-schema.js'
import { parseDecisionRequest } from './decide-request.js'

export interface BatchRouteOptions { bodyLimit: number, paths?: PathVocabulary }

type ItemId = string | number
export interface BatchItemError { id?: ItemId, error: { code: string, message: string } }
export type BatchResult = (Decision & { id?: ItemId }) | BatchItemError

const MAX_SINGLE_BODY_FACTOR = 16
const DEFAULT_BATCH_BODY_CAP = 1024 * 1024

/** The batch body limit: configured, or room for 16 single requests up to 1 MiB. */
export function batchBodyLimit (server: { bodyLimitBytes: number, batchBodyLimitBytes?: number | undefined }): number {
  return server.batchBodyLimitBytes ?? Math.min(MAX_SINGLE_BODY_FACTOR * server.bodyLimitBytes, DEFAULT_BATCH_BODY_CAP)
}

// What a failed item says. A client mistake keeps its code and message; an
// engine failure keeps its code and hides its details, as the error handler
// does for a whole request.
const HIDDEN = 'the decision could not be made; see the service log'

const batchRoute: FastifyPluginAsync<BatchRouteOptions> = async (fastify, opts) => {
  const routeOptions = {
    bodyLimit: opts.bodyLimit,
    schema: { body: BatchRequestSchema },
    // The app's error handler names the single-request limit; a batch has its own.
    errorHandler: (error: FastifyError, request: FastifyRequest, reply: Parameters<typeof fastify.errorHandler>[2]) => {
      const mapped = error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? new BodyTooLargeError(opts.bodyLimit) : error
      fastify.errorHandler(mapped, request, reply)
    }
  }

  fastify.post<{ Body: BatchRequestBody }>('/v1/decide/batch', routeOptions, async (request) => {
    const items = request.body.items
    if (items.length === 0) throw new BatchEmptyError(MAX_BATCH_ITEMS)
    if (items.length > MAX_BATCH_ITEMS) throw new BatchTooLargeError(MAX_BATCH_ITEMS, items.length)
    const policy = fastify.policy.current()
    if (!policy) throw new PolicyNotLoadedError()
    const authn = await fastify.authenticate(request)
    const results = items.map((item, index) => decideItem(request, policy, authn, item, index))
    return { results }
  })

  function decideItem (request: FastifyRequest, policy: DecisionPolicy, authn: AuthnResult, item: unknown, index: number): BatchResult {
    const id = idOf(item)
    try {
      if (!batchItemCheck.Check(item)) {
        const first = batchItemCheck.Errors(item).First()
        throw new InvalidRequestError(`items/${index}${first?.path ?? ''}: ${first?.message ?? 'does not match the schema'}`)
      }
      const { id: _id, ...body } = item
      const outcome = decide(policy, authn, parseDecisionRequest(body, opts.paths))
      fastify.decisionLog.record(request, outcome)
      const { decision } = outcome
      return id === undefined ? decision : { id, ...decision }
    } catch (thrown) {
      const err = thrown as FastifyError
      const status = typeof err.statusCode === 'number' ? err.statusCode : 500
      if (status >= 500) request.log.error({ err, item: index }, 'batch item failed')
      const code = typeof err.code === 'string' && !err.code.startsWith('FST_') ? err.code : 'INTERNAL_ERROR'
      const error = { code, message: status >= 500 ? HIDDEN : err.message }
      return id === undefined ? { error } : { id, error }
    }
  }
}

/** The item's id when it has a well-formed one (echoed even when the rest is malformed). */
function idOf (item: unknown): ItemId | undefined {
  if (item === null || typeof item !== 'object' || !Object.hasOwn(item, 'id')) return undefined
  const id = (item as { id: unknown }).id
  return batchItemIdCheck.Check(id) ? id : undefined
}

export default batchRoute
