// Compact JWS with node:crypto, for bundle signatures only (.signatures.json
// holds one JWT whose payload lists the bundle's files and their digests). The
// algorithm is fixed by configuration, never taken from the token: a token whose
// header names another algorithm is refused before any key is used.
import { constants, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import type { SignatureAlgorithm } from '../lifecycle/config.js'

const HASHES: Record<string, string> = { 256: 'sha256', 384: 'sha384', 512: 'sha512' }
const CURVES: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' }

/** RS256 for an RSA key, ES256/384/512 by the curve of an EC key — the algorithm a key implies. */
export function defaultAlgorithm (key: KeyObject): SignatureAlgorithm {
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') return 'RS256'
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve
    const alg = Object.entries(CURVES).find(([, c]) => c === curve)?.[0]
    if (alg) return alg as SignatureAlgorithm
    throw new Error(`EC curve ${curve ?? '?'} has no JWS algorithm (use P-256, P-384 or P-521)`)
  }
  throw new Error(`a ${key.asymmetricKeyType ?? 'symmetric'} key cannot sign bundles (use an RSA or EC key)`)
}

/** Throws unless the key can be used with the algorithm (RSA for RS/PS, the matching curve for ES). */
export function checkKeyFits (key: KeyObject, alg: SignatureAlgorithm): void {
  const type = key.asymmetricKeyType
  if (alg.startsWith('ES')) {
    if (type !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== CURVES[alg]) {
      throw new Error(`${alg} needs an EC key on curve ${CURVES[alg] ?? '?'}, not ${describeKey(key)}`)
    }
  } else if (type !== 'rsa' && !(type === 'rsa-pss' && alg.startsWith('PS'))) {
    throw new Error(`${alg} needs an RSA key, not ${describeKey(key)}`)
  }
}

function describeKey (key: KeyObject): string {
  const curve = key.asymmetricKeyDetails?.namedCurve
  return `an ${key.asymmetricKeyType ?? 'unknown'} key${curve ? ` (${curve})` : ''}`
}

export function privateKeyFromPem (pem: string | Buffer): KeyObject {
  return createPrivateKey(pem)
}

/** A public key from PEM: SPKI, PKCS#1 or an X.509 certificate (a private key yields its public half). */
export function publicKeyFromPem (pem: string | Buffer): KeyObject {
  return createPublicKey(pem)
}

function signOptions (alg: SignatureAlgorithm, key: KeyObject): { hash: string, key: Parameters<typeof sign>[2] } {
  const hash = HASHES[alg.slice(2)] as string
  if (alg.startsWith('ES')) return { hash, key: { key, dsaEncoding: 'ieee-p1363' } }
  if (alg.startsWith('PS')) return { hash, key: { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } }
  return { hash, key }
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url')

export interface SignOptions { alg: SignatureAlgorithm, key: KeyObject, kid?: string }

export function signCompact (payload: Record<string, unknown>, options: SignOptions): string {
  checkKeyFits(options.key, options.alg)
  const header: Record<string, string> = { alg: options.alg }
  if (options.kid) header.kid = options.kid
  header.typ = 'JWT'
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`
  const { hash, key } = signOptions(options.alg, options.key)
  return `${input}.${b64url(sign(hash, Buffer.from(input), key as never))}`
}

export interface VerifiedToken {
  header: Record<string, unknown>
  payload: Record<string, unknown>
}

export interface VerifyOptions { alg: SignatureAlgorithm, key: KeyObject }

/** Verifies a compact JWS with the one configured key and algorithm; throws an Error saying why not. */
export function verifyCompact (token: string, options: VerifyOptions): VerifiedToken {
  const parts = token.split('.')
  if (parts.length !== 3) throw new Error('the signature is not a compact JWT (three dot-separated parts)')
  const [h, p, s] = parts as [string, string, string]
  const header = decodeJson(h, 'header')
  if (header.alg !== options.alg) {
    throw new Error(`the signature uses ${JSON.stringify(header.alg)}, but ${options.alg} is configured`)
  }
  if (header.crit !== undefined) throw new Error('the signature has critical header parameters Verdict does not understand')
  const { hash, key } = signOptions(options.alg, options.key)
  const ok = verify(hash, Buffer.from(`${h}.${p}`), key as never, Buffer.from(s, 'base64url'))
  if (!ok) throw new Error('the signature does not verify with the configured key')
  return { header, payload: decodeJson(p, 'payload') }
}

function decodeJson (part: string, what: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
  } catch {
    throw new Error(`the signature's ${what} is not base64url JSON`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`the signature's ${what} is not a JSON object`)
  return value as Record<string, unknown>
}
