// POST /v1/decide/batch — up to 100 decisions for one caller in one call. The
// route checks only that the body is `{ items: [...] }` and shapes the answer;
// the decision service checks each item on its own (a malformed item gets its
// own `{ error: { code, message } }` in its position), decides and records.
import type { FastifyError, FastifyPluginAsync, FastifyRequest } from 'fastify'
import { BatchRequestSchema, type BatchRequest, type BatchResponse } from '../contract/wire.js'
import { BodyTooLargeError } from '../errors.js'

export interface BatchRouteOptions { bodyLimit: number }

const MAX_SINGLE_BODY_FACTOR = 16
const DEFAULT_BATCH_BODY_CAP = 1024 * 1024

/** The batch body limit: configured, or room for 16 single requests up to 1 MiB. */
export function batchBodyLimit (server: { bodyLimitBytes: number, batchBodyLimitBytes?: number | undefined }): number {
  return server.batchBodyLimitBytes ?? Math.min(MAX_SINGLE_BODY_FACTOR * server.bodyLimitBytes, DEFAULT_BATCH_BODY_CAP)
}

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

  fastify.post<{ Body: BatchRequest }>('/v1/decide/batch', routeOptions, async (request): Promise<BatchResponse> => {
    return { results: await fastify.decision.decideBatch(request, request.body.items) }
  })
}

export default batchRoute
