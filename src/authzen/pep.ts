// Authentication of the policy enforcement point (PEP) that calls the AuthZEN
// doors. A PEP names any subject it likes, so only configured PEPs get in:
//
//   - an API key, sent as the raw Authorization value (what the AuthZEN interop
//     PEPs send) or as `Bearer <key>`, checked against the hashed keys of
//     `authzen.apiKeysFile` (HMAC-SHA-256 with the Basic pepper: keys are random
//     machine secrets), every record compared in constant time;
//   - a client-credentials JWT verified by src/authn (a configured issuer) whose
//     client is listed in `authzen.clients`.
//
// No credential, or one that does not check: 401 with WWW-Authenticate. A valid
// token of a client that is not a PEP: 403.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { Type } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { parse as parseYaml } from 'yaml'
import type { AuthnRequest } from '../authn/index.js'
import type { AuthnResult } from '../authn/principal.js'
import { HmacRecordSchema } from '../authn/secrets.js'
import { ConfigInvalidError } from '../errors.js'
import type { AuthzenConfig } from './config.js'

/** The PEP a request came from. */
export interface Pep {
  /** the API key's name, or `<idp>/<client id>` */
  name: string
  method: 'apikey' | 'jwt'
}

export type PepResult = { ok: true, pep: Pep } | { ok: false, status: 401 | 403, message: string }

const ApiKeysFileSchema = Type.Record(Type.String({ minLength: 1, maxLength: 128 }), HmacRecordSchema, { maxProperties: 1024 })

export interface ApiKey { name: string, hash: Buffer }

/** Reads and checks the API-key file; a bad file stops the start. */
export async function loadApiKeys (path: string): Promise<ApiKey[]> {
  let data: unknown
  try {
    data = parseYaml(await readFile(path, 'utf8')) ?? {}
  } catch (err) {
    throw new ConfigInvalidError(`/authzen/apiKeysFile: cannot read ${path} (${(err as Error).name})`)
  }
  if (!Value.Check(ApiKeysFileSchema, data)) {
    // Where, never what: the values are hashes, but still secrets.
    const where = [...new Set([...Value.Errors(ApiKeysFileSchema, data)].map((e) => e.path || '/'))].slice(0, 5).join(', ')
    throw new ConfigInvalidError(`/authzen/apiKeysFile: ${path} is invalid at ${where} (name: { scheme: hmac-sha256, hash: <base64> })`)
  }
  return Object.entries(data).map(([name, record]) => ({ name, hash: Buffer.from(record.hash, 'base64') }))
}

function digestApiKey (key: string, pepper: Buffer): Buffer {
  return createHmac('sha256', pepper).update(key, 'utf8').digest()
}

/** The hash of an API key as the key file stores it (base64), for provisioning. */
export function hashApiKey (key: string, pepper: Buffer): string {
  return digestApiKey(key, pepper).toString('base64')
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/
const MAX_HEADER = 8192

export const WWW_AUTHENTICATE = 'Bearer realm="verdict-authzen"'

export interface PepAuthenticatorDeps {
  keys: ApiKey[]
  pepper: Buffer
  clients: AuthzenConfig['clients']
  /** src/authn's authenticate (fastify.authenticate) */
  authenticate: (request: AuthnRequest) => Promise<AuthnResult>
}

const unauthenticated = (message: string): PepResult => ({ ok: false, status: 401, message })

export function createPepAuthenticator (deps: PepAuthenticatorDeps): (request: AuthnRequest) => Promise<PepResult> {
  const clients = new Set(deps.clients.map((c) => `${c.idp}\u0000${c.clientId}`))

  function matchKey (candidates: string[]): ApiKey | undefined {
    let found: ApiKey | undefined
    for (const candidate of candidates) {
      const digest = digestApiKey(candidate, deps.pepper)
      // Every record is compared, match or not: the time taken says nothing about which.
      for (const key of deps.keys) {
        if (key.hash.length === digest.length && timingSafeEqual(key.hash, digest) && found === undefined) found = key
      }
    }
    return found
  }

  return async function authenticatePep (request) {
    const raw = request.headers.authorization
    const header = Array.isArray(raw) ? raw[0] : raw
    if (header === undefined || header.trim() === '') return unauthenticated('no Authorization header was sent')
    if (header.length > MAX_HEADER) return unauthenticated('the Authorization header is too large')
    const bearer = /^bearer\s+(.+)$/i.exec(header.trim())?.[1]?.trim()
    if (bearer !== undefined && JWT_SHAPE.test(bearer)) {
      const result = await deps.authenticate(request)
      if (!result.ok) return unauthenticated(result.message)
      const clientId = result.principal.client_id ?? result.principal.subject
      if (result.principal.method !== 'jwt' || !clients.has(`${result.principal.idp}\u0000${clientId}`)) {
        return { ok: false, status: 403, message: 'the token is valid, but its client is not a configured AuthZEN PEP (authzen.clients)' }
      }
      return { ok: true, pep: { name: `${result.principal.idp}/${clientId}`, method: 'jwt' } }
    }
    const key = matchKey(bearer !== undefined ? [header, bearer] : [header])
    if (key === undefined) return unauthenticated('the API key or token is not valid')
    return { ok: true, pep: { name: key.name, method: 'apikey' } }
  }
}
