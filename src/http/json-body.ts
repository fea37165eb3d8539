// The JSON body parser for every route. It refuses nesting deeper than a small
// bound before parsing (a decision request is three levels deep; thousands of
// levels are an attack on the parser and validator, not a request), then parses
// with fastify's own parser, which rejects __proto__ and constructor poisoning.
// The bytes must be UTF-8; lone surrogates written as JSON escapes ("\ud800")
// are refused later, per decision (engine/input.ts), as the engine cannot read them.
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

// Fatal: bytes that are not UTF-8 are refused, never replaced by U+FFFD (a
// changed string is not what the caller sent).
const utf8 = new TextDecoder('utf-8', { fatal: true })

export function registerJsonBodyParser (fastify: FastifyInstance): void {
  const parse = fastify.getDefaultJsonParser('error', 'error')
  fastify.removeContentTypeParser('application/json')
  // fastify parses text/plain by default; a decision request is JSON only (415).
  fastify.removeContentTypeParser('text/plain')
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string
    try {
      text = utf8.decode(body as Buffer)
    } catch {
      done(new InvalidJsonError('the body is not valid UTF-8'), undefined)
      return
    }
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
