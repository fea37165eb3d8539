// Turns a decision request into the facts the policy decides on: the action the
// HTTP method stands for, and the endpoint the ERP REST path names. Anything that
// is not a CMiC-style API request is the caller's mistake (400), decided before any
// credential is checked or policy evaluated.
//
// The path grammar is strict on purpose: a path is decided only when it has one
// spelling. A backend that normalizes a path (decodes %2e, turns `\` into `/`,
// drops `;params`, folds full-width characters, strips trailing dots) would
// otherwise serve a different endpoint than the one that was decided on.
import { MethodUnknownError, PathNotApiError, PathNotCanonicalError, PathUnknownError, StringNotWellFormedError } from '../errors.js'
import type { Action, Endpoint } from './result.js'

const ACTIONS: Readonly<Record<string, Action>> = {
  POST: 'create',
  GET: 'retrieve',
  HEAD: 'retrieve',
  PUT: 'update',
  PATCH: 'update',
  DELETE: 'delete'
}

export function actionOf (method: string): Action {
  const action = Object.hasOwn(ACTIONS, method) ? ACTIONS[method] : undefined
  if (!action) throw new MethodUnknownError(JSON.stringify(method.slice(0, 16)))
  return action
}

/** The `env` and `version` path segments a deployment serves (config `server.paths`). */
export interface PathVocabulary {
  envs: readonly string[]
  versions: readonly string[]
}

/** The example's environments and API version; config/verdict.yaml may name others. */
export const DEFAULT_PATH_VOCABULARY: PathVocabulary = { envs: ['cmictest', 'cmicprod'], versions: ['1'] }

// Every character a canonical path may hold. Everything else — `%`, `\`, `;`,
// `?`, `#`, whitespace, control characters, any non-ASCII character (full-width
// `．／`, look-alikes, lone surrogates) — has a second spelling or a second
// meaning somewhere between the caller and the backend.
const CANONICAL_CHARS = /^[A-Za-z0-9/_.~-]*$/

// /{env}/{module}-rest-api/rest/{version}/{resource}[/{id}], on a canonical path.
// The record id is letters, digits, `_`, `~`, `-`, and dots inside it.
const API_PATH = /^\/([A-Za-z0-9_-]{1,64})\/([a-z][a-z0-9]{0,15})-rest-api\/rest\/([A-Za-z0-9_-]{1,16})\/([A-Za-z][A-Za-z0-9_]{0,63})(?:\/([A-Za-z0-9_~-]+(?:\.[A-Za-z0-9_~-]+)*))?$/
const MAX_ID_LENGTH = 128

const quoted = (path: string): string => JSON.stringify(path.slice(0, 200))

/**
 * The endpoint a canonical ERP REST path names. Throws PATH_NOT_CANONICAL for a
 * path with a second spelling, PATH_NOT_API for one that is not an API path, and
 * PATH_UNKNOWN for an `env` or `version` the deployment does not serve.
 */
export function endpointOf (path: string, vocabulary: PathVocabulary = DEFAULT_PATH_VOCABULARY): Endpoint {
  // A path API_PATH matches is canonical (its characters, no empty segment, dots
  // only inside the id): the segment checks run only to word a refusal.
  const m = API_PATH.exec(path)
  if (!m) {
    const flaw = nonCanonical(path)
    throw flaw !== undefined ? new PathNotCanonicalError(quoted(path), flaw) : new PathNotApiError(quoted(path))
  }
  const [, env, module, version, resource, id] = m as unknown as [string, string, string, string, string, string | undefined]
  if (id !== undefined && id.length > MAX_ID_LENGTH) throw new PathNotApiError(quoted(path))
  if (!vocabulary.envs.includes(env)) {
    throw new PathUnknownError(`environment ${JSON.stringify(env)} is not served here (served: ${vocabulary.envs.join(', ')})`)
  }
  if (!vocabulary.versions.includes(version)) {
    throw new PathUnknownError(`API version ${JSON.stringify(version)} is not served here (served: ${vocabulary.versions.join(', ')})`)
  }
  const endpoint: Endpoint = { env, module, version, resource }
  if (id !== undefined) endpoint.id = id
  return endpoint
}

/** Why a path is not canonical, or undefined when it is. */
export function nonCanonical (path: string): string | undefined {
  if (!CANONICAL_CHARS.test(path)) return describeChar(path)
  const segments = path.split('/').slice(1)
  if (segments.some((s) => s === '')) return 'it has an empty segment (`//` or a trailing `/`)'
  if (segments.some((s) => s === '.' || s === '..')) return 'it has a dot-segment (`.` or `..`)'
  if (segments.some((s) => s.startsWith('.') || s.endsWith('.'))) return 'a segment starts or ends with a dot'
  return undefined
}

function describeChar (path: string): string {
  // The first character outside the canonical set (there is one: the caller checked).
  const ch = [...path].find((c) => !/^[A-Za-z0-9/_.~-]$/.test(c)) ?? ''
  if (ch === '%') return `it is percent-encoded${decodesToSeparator(path) ? ' and decodes to a separator, dot or delimiter' : ''}`
  if (ch === '\\') return 'it has a backslash'
  if (ch === ';') return 'it has a `;` (path parameter)'
  if (ch === '?' || ch === '#') return `it has a \`${ch}\` (send the query as request.query)`
  const code = ch.codePointAt(0) ?? 0
  if (code < 0x20 || code === 0x7f) return 'it has a control character'
  if (code > 0x7f) return `it has a non-ASCII character (U+${code.toString(16).toUpperCase().padStart(4, '0')})`
  return `it has the character ${JSON.stringify(ch)}`
}

/** Whether percent-decoding the path, once or repeatedly, yields `/`, a backslash, `.`, `;`, `?`, `#` or NUL. */
function decodesToSeparator (path: string): boolean {
  let text = path
  for (let round = 0; round < 8; round++) {
    let hit = false
    const decoded = text.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => {
      const ch = String.fromCharCode(parseInt(hex, 16))
      if (/[/\\.;?#\0]/.test(ch)) hit = true
      return ch
    })
    if (hit) return true
    if (decoded === text) return false
    text = decoded
  }
  return false
}

// ---- Endpoints the policy knows ----------------------------------------------

/**
 * The endpoints ("module/resource") the policy data names: the business objects
 * (data.erp.objects, keyed by resource, with their module), every endpoint a role
 * grants anything on, and the bypass list. Undefined when the data has no
 * `erp` section (a policy that is not shaped like the ERP example decides alone).
 *
 * Self-contained (its helpers inside): the evaluator thread runs its text to
 * compute the list at boot, next to the data it loads (src/engine/isolate.ts).
 */
export function knownEndpoints (data: unknown): ReadonlySet<string> | undefined {
  const field = (value: unknown, key: string): unknown => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
    return Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined
  }
  const entries = (value: unknown): Array<[string, unknown]> => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return []
    return Object.entries(value)
  }
  const erp = field(data, 'erp')
  if (erp === undefined) return undefined
  const known = new Set<string>()
  for (const [resource, decl] of entries(field(erp, 'objects'))) {
    const module = field(decl, 'module')
    if (typeof module === 'string') known.add(`${module}/${resource}`)
  }
  const api = field(erp, 'api')
  for (const [, role] of entries(field(api, 'roles'))) {
    for (const [endpoint] of entries(field(role, 'endpoints'))) known.add(endpoint)
  }
  for (const [endpoint] of entries(field(api, 'bypass'))) known.add(endpoint)
  return known
}

/** Throws PATH_UNKNOWN when the policy's data names endpoints and not this one. */
export function checkEndpointKnown (known: ReadonlySet<string> | undefined, endpoint: Endpoint): void {
  if (known === undefined) return
  const key = `${endpoint.module}/${endpoint.resource}`
  if (!known.has(key)) throw new PathUnknownError(`endpoint ${JSON.stringify(key)} is not an endpoint the policy knows`)
}

// ---- Strings the policy can read -------------------------------------------

// In a `u` regex a surrogate class matches only unpaired surrogates.
const LONE_SURROGATE = /\p{Surrogate}/u

/**
 * The JSON pointer of the first string (value or key) in `value` that is not
 * well-formed Unicode, or undefined. Such a string cannot be handed to the
 * policy: OPA's JSON reader refuses `"\ud800"`, which would fail evaluation.
 */
export function illFormedStringAt (value: unknown, at = ''): string | undefined {
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? at || '/' : undefined
  if (value === null || typeof value !== 'object') return undefined
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = illFormedStringAt(value[i], `${at}/${i}`)
      if (found !== undefined) return found
    }
    return undefined
  }
  for (const [key, v] of Object.entries(value)) {
    const here = `${at}/${pointerToken(key)}`
    if (LONE_SURROGATE.test(key)) return here
    const found = illFormedStringAt(v, here)
    if (found !== undefined) return found
  }
  return undefined
}

const pointerToken = (key: string): string => JSON.stringify(key.replaceAll('~', '~0').replaceAll('/', '~1').slice(0, 64)).slice(1, -1)

/** Throws STRING_NOT_WELL_FORMED when a request field holds an ill-formed string. */
export function checkWellFormed (value: unknown, where: string): void {
  const at = illFormedStringAt(value)
  if (at !== undefined) throw new StringNotWellFormedError(`${where}${at === '/' ? '' : at}`)
}
