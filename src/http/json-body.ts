// The JSON body parser for every route. It refuses nesting deeper than a small
// bound before parsing (a decision request is three levels deep; thousands of
// levels are an attack on the parser and validator, not a request), then parses
// with fastify's own parser, which rejects __proto__ and constructor poisoning.
import type { FastifyInstance } from 'fastify'
import { BodyTooDeepError, InvalidJsonError } from '../errors.js'

export const MAX_JSON_DEPTH = 32

/** Deepest nesting of objects and arrays in JSON text, ignoring brackets in strings. */
export function jsonDepth (text: string, stopAbove = Infinity): number {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i)
    if (inString) {
      if (ch === 0x5c) i++ // backslash: skip the escaped character
      else if (ch === 0x22) inString = false
    } else if (ch === 0x22) {
      inString = true
    } else if (ch === 0x7b || ch === 0x5b) {
      depth++
      if (depth > deepest) {
        deepest = depth
        if (deepest > stopAbove) return deepest
      }
    } else if (ch === 0x7d || ch === 0x5d) {
      depth--
    }
  }
  return deepest
}

export function registerJsonBodyParser (fastify: FastifyInstance): void {
  const parse = fastify.getDefaultJsonParser('error', 'error')
  fastify.removeContentTypeParser('application/json')
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string
    if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      done(new BodyTooDeepError(MAX_JSON_DEPTH), undefined)
      return
    }
    parse(request, text, (err, value) => {
      if (err) done(new InvalidJsonError(err.message), undefined)
      else done(null, value)
    })
  })
}
