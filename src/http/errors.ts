// Every error leaves as `{ code, message }`. Client errors (4xx) keep their code and
// message; a 5xx is logged in full and answered with its code and a generic message
// so internals (paths, stack traces, policy text) never reach the caller.
import type { FastifyError, FastifyInstance } from 'fastify'
import { BodyTooLargeError, InvalidJsonError, NotFoundError, UnsupportedMediaTypeError } from '../errors.js'

// fastify's own codes for transport-level mistakes, mapped to ours.
const FASTIFY_CLIENT_ERRORS: Record<string, (err: FastifyError, limit: number) => FastifyError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: (_e, limit) => new BodyTooLargeError(limit),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => new UnsupportedMediaTypeError(),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: (e) => new InvalidJsonError(e.message),
  FST_ERR_CTP_EMPTY_JSON_BODY: (e) => new InvalidJsonError(e.message)
}

// 5xx errors whose message is fixed text that reveals nothing internal.
const PUBLIC_SERVER_ERRORS = new Set(['POLICY_NOT_LOADED'])

export function registerErrorHandling (fastify: FastifyInstance, bodyLimit: number): void {
  fastify.setNotFoundHandler((request, reply) => {
    const err = new NotFoundError(request.method, request.url.split('?')[0]?.slice(0, 200))
    reply.code(404).send({ code: err.code, message: err.message })
  })

  fastify.setErrorHandler((error: FastifyError, request, reply) => {
    const mapped = FASTIFY_CLIENT_ERRORS[error.code]?.(error, bodyLimit) ?? error
    const status = mapped.statusCode ?? 500
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed')
      const message = PUBLIC_SERVER_ERRORS.has(mapped.code) ? mapped.message : 'the decision could not be made; see the service log'
      reply.code(status).send({ code: codeOf(mapped, 'INTERNAL_ERROR'), message })
      return
    }
    request.log.info({ code: mapped.code, status }, 'client error')
    reply.code(status).send({ code: codeOf(mapped, 'BAD_REQUEST'), message: mapped.message })
  })
}

function codeOf (err: FastifyError, fallback: string): string {
  return typeof err.code === 'string' && !err.code.startsWith('FST_') ? err.code : fallback
}
