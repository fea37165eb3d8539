// Every error leaves as `{ code, message }`. Client errors (4xx) keep their code and
// message; a 5xx is logged in full and answered with its code and a generic message
// so internals (paths, stack traces, policy text) never reach the caller (the rule
// lives once, in src/decision/public-error.ts, for batch items too).
import type { FastifyError, FastifyInstance } from 'fastify'
import { publicError } from '../decision/public-error.js'
import { BodyTooLargeError, InvalidJsonError, NotFoundError, UnsupportedMediaTypeError } from '../errors.js'

// fastify's own codes for transport-level mistakes, mapped to ours.
const FASTIFY_CLIENT_ERRORS: Record<string, (err: FastifyError, limit: number) => FastifyError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: (_e, limit) => new BodyTooLargeError(limit),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => new UnsupportedMediaTypeError(),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: (e) => new InvalidJsonError(e.message),
  FST_ERR_CTP_EMPTY_JSON_BODY: (e) => new InvalidJsonError(e.message)
}

export function registerErrorHandling (fastify: FastifyInstance, bodyLimit: number): void {
  fastify.setNotFoundHandler((request, reply) => {
    const err = new NotFoundError(request.method, request.url.split('?')[0]?.slice(0, 200))
    reply.code(404).send({ code: err.code, message: err.message })
  })

  fastify.setErrorHandler((error: FastifyError, request, reply) => {
    const mapped = FASTIFY_CLIENT_ERRORS[error.code]?.(error, bodyLimit) ?? error
    const answer = publicError(mapped)
    if (answer.serverError) request.log.error({ err: error }, 'request failed')
    else request.log.info({ code: answer.body.code, status: answer.status }, 'client error')
    reply.code(answer.status).send(answer.body)
  })
}
