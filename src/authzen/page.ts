// Pagination of search results. Every page is cut from the same ordered answer,
// so a page token only needs the offset and the search it belongs to: it is
// base64url JSON { o: offset, q: digest of the search }. A token used with
// another search (or forged) is a 400, never a page of something else.
import { createHash } from 'node:crypto'
import { canonicalJson } from '../bundle/canonical-json.js'
import { PageTokenInvalidError } from '../errors.js'

export interface PageRequest { token?: string | undefined, limit?: number | undefined }

export interface Page<T> {
  results: T[]
  page: { next_token: string, count: number, total: number }
}

/** The digest a token is bound to: the search without its page and options. */
export function searchDigest (kind: string, search: Record<string, unknown>): string {
  const { page: _page, options: _options, ...query } = search
  const text = canonicalJson(Buffer.from(JSON.stringify({ kind, query }), 'utf8'))
  return createHash('sha256').update(text).digest('base64url').slice(0, 22)
}

function offsetOf (token: string, digest: string, total: number): number {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'))
  } catch {
    throw new PageTokenInvalidError('is not a token this service issued')
  }
  const p = parsed as { o?: unknown, q?: unknown } | null
  if (p === null || typeof p !== 'object' || !Number.isSafeInteger(p.o) || typeof p.q !== 'string') {
    throw new PageTokenInvalidError('is not a token this service issued')
  }
  if (p.q !== digest) throw new PageTokenInvalidError('belongs to another search: send the same request with the token')
  const offset = p.o as number
  if (offset < 0 || offset > total) throw new PageTokenInvalidError('points past the end of the results')
  return offset
}

export function paginate<T> (all: T[], request: PageRequest | undefined, digest: string, defaultSize: number): Page<T> {
  const total = all.length
  const offset = request?.token !== undefined && request.token !== '' ? offsetOf(request.token, digest, total) : 0
  const size = request?.limit ?? defaultSize
  const results = all.slice(offset, offset + size)
  const next = offset + results.length
  const nextToken = next < total ? Buffer.from(JSON.stringify({ o: next, q: digest }), 'utf8').toString('base64url') : ''
  return { results, page: { next_token: nextToken, count: results.length, total } }
}
