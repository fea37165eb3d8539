// A stand-in identity provider for tests: a real HTTP server on loopback that
// serves a discovery document and a JWKS built from keys generated at test
// time, counts every request, can rotate keys, and can HANG (accept the
// connection, never answer) to exercise timeouts. Plus token crafting.
import { generateKeyPairSync, createHmac, createSign, randomUUID, type KeyObject } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createSigner } from 'fast-jwt'

export type KeyAlg = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'ES256' | 'ES384' | 'ES512'

export interface TestKey {
  kid: string
  alg: KeyAlg
  privateKey: KeyObject
  privatePem: string
  publicPem: string
  publicJwk: Record<string, unknown>
}

const CURVES: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }

/** Generates a signing key; the JWK carries kid, alg and use like a real IdP's. */
export function generateKey (alg: KeyAlg = 'RS256', kid: string = randomUUID()): TestKey {
  const curve = CURVES[alg]
  const { privateKey, publicKey } = curve !== undefined
    ? generateKeyPairSync('ec', { namedCurve: curve })
    : generateKeyPairSync('rsa', { modulusLength: 2048 })
  return {
    kid,
    alg,
    privateKey,
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' }
  }
}

export interface RequestCounts {
  discovery: number
  jwks: number
  other: number
  total: number
}

export interface JwksServer {
  /** base URL, no trailing slash */
  url: string
  /** the `issuer` the discovery document names (defaults to url) */
  issuer: string
  discoveryUrl: string
  jwksUri: string
  keys: TestKey[]
  requests: RequestCounts
  /** replace the published keys (key rotation) */
  setKeys: (keys: TestKey[]) => void
  /** publish one fresh key of the same algorithm in place of the current ones */
  rotate: (alg?: KeyAlg) => TestKey
  /** when true, requests are accepted and never answered; false also drops the ones held */
  setHanging: (hanging: boolean) => void
  /** when set, every request is answered with this HTTP status */
  setFailStatus: (status: number | undefined) => void
  /** the Cache-Control header of JWKS answers (none when undefined) */
  setCacheControl: (value: string | undefined) => void
  /** signs payload with the first published key (or opts.key) */
  sign: (payload: Record<string, unknown>, opts?: SignOptions) => string
  close: () => Promise<void>
}

export interface SignOptions {
  key?: TestKey
  /** extra header fields (e.g. jku, typ, x5t) */
  header?: Record<string, unknown>
  /** omit kid from the header */
  noKid?: boolean
  /** override the kid written in the header */
  kid?: string
}

/** Signs with fast-jwt. iat is added unless the payload sets it. */
export function signToken (payload: Record<string, unknown>, key: TestKey, opts: SignOptions = {}): string {
  const kid = opts.noKid === true ? undefined : (opts.kid ?? key.kid)
  const signer = createSigner({
    key: key.privatePem,
    algorithm: key.alg,
    ...(kid !== undefined ? { kid } : {}),
    ...(opts.header !== undefined ? { header: { alg: key.alg, ...opts.header } } : {}),
    noTimestamp: 'iat' in payload
  })
  return signer(payload)
}

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/** Builds a token from raw parts: for alg none, HMAC confusion, tampering. */
export function craftToken (header: Record<string, unknown>, payload: Record<string, unknown>, sign?: (input: string) => string): string {
  const input = `${b64url(header)}.${b64url(payload)}`
  return `${input}.${sign !== undefined ? sign(input) : ''}`
}

/** An HS256 signature keyed with arbitrary bytes (e.g. the issuer's public PEM). */
export function hmacSignature (secret: string | Buffer): (input: string) => string {
  return (input) => createHmac('sha256', secret).update(input).digest('base64url')
}

/** An RS256 signature by a test key, for payloads fast-jwt's signer refuses to sign. */
export function rs256Signature (key: TestKey): (input: string) => string {
  return (input) => createSign('RSA-SHA256').update(input).sign(key.privateKey, 'base64url')
}

/** Replaces the payload segment of a signed token, keeping header and signature. */
export function tamperPayload (token: string, patch: Record<string, unknown>): string {
  const [header, payload, signature] = token.split('.') as [string, string, string]
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>
  return `${header}.${b64url({ ...claims, ...patch })}.${signature}`
}

export async function startJwksServer (opts: { keys?: TestKey[], issuer?: string } = {}): Promise<JwksServer> {
  let keys = opts.keys ?? [generateKey('RS256')]
  let hanging = false
  let failStatus: number | undefined
  let cacheControl: string | undefined
  const requests: RequestCounts = { discovery: 0, jwks: 0, other: 0, total: 0 }
  const hung = new Set<ServerResponse>()

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.total++
    const path = new URL(req.url ?? '/', 'http://x').pathname
    if (path === '/.well-known/openid-configuration') requests.discovery++
    else if (path === '/jwks') requests.jwks++
    else requests.other++
    if (hanging) {
      hung.add(res)
      return
    }
    if (failStatus !== undefined) {
      res.writeHead(failStatus, { 'content-type': 'application/json' }).end('{"error":"unavailable"}')
      return
    }
    const send = (body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
    }
    if (path === '/.well-known/openid-configuration') send({ issuer: server.issuer, jwks_uri: `${server.url}/jwks` })
    else if (path === '/jwks') send({ keys: keys.map((k) => k.publicJwk) }, cacheControl !== undefined ? { 'cache-control': cacheControl } : {})
    else res.writeHead(404).end()
  }) as ReturnType<typeof createServer> & { url: string, issuer: string }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  server.url = url
  server.issuer = opts.issuer ?? url

  const api: JwksServer = {
    url,
    issuer: server.issuer,
    discoveryUrl: `${url}/.well-known/openid-configuration`,
    jwksUri: `${url}/jwks`,
    get keys () { return keys },
    requests,
    setKeys (next) { keys = next },
    rotate (alg = 'RS256') {
      const key = generateKey(alg)
      keys = [key]
      return key
    },
    setHanging (value) {
      hanging = value
      if (!value) {
        for (const res of hung) res.destroy()
        hung.clear()
      }
    },
    setFailStatus (status) { failStatus = status },
    setCacheControl (value) { cacheControl = value },
    sign (payload, signOpts = {}) {
      const key = signOpts.key ?? keys[0]
      if (key === undefined) throw new Error('no key to sign with')
      return signToken(payload, key, signOpts)
    },
    async close () {
      for (const res of hung) res.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
  return api
}
