// Bundle signatures the way OPA makes and checks them (v1/bundle/sign.go,
// verify.go, hash.go): `.signatures.json` is `{"signatures": [<one JWT>]}`, and the
// JWT's payload lists every other file of the bundle as {name, hash, algorithm}.
// Structured files (data.json, data.yaml, .manifest) are hashed as canonical JSON
// (canonical-json.ts); every other file as its bytes. Verification refuses a
// bundle unless every file is listed with a matching digest and every listed file
// is present.
import { createHash, type KeyObject } from 'node:crypto'
import { posix } from 'node:path'
import { structuredDigest } from './canonical-json.js'
import type { SignatureAlgorithm } from '../lifecycle/config.js'
import { signCompact, verifyCompact } from './jws.js'

export const SIGNATURES_FILE = '.signatures.json'

// OPA's names for the digests a file entry may use. MD5 and SHA-1 are OPA options
// too, but no longer protect anything: a bundle that uses them is refused.
const DIGESTS: Record<string, string> = {
  'SHA-224': 'sha224',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
  'SHA-512-224': 'sha512-224',
  'SHA-512-256': 'sha512-256'
}
const WEAK_DIGESTS = new Set(['MD5', 'SHA-1'])
const STRUCTURED = new Set(['data.json', 'data.yaml', '.manifest'])

export interface BundleVerification {
  key: KeyObject
  alg: SignatureAlgorithm
  /** When set, a signature naming another key id is refused. */
  keyId?: string
  /** The `scope` claim the payload must carry (OPA compares it with ""). */
  scope?: string
}

export interface FileEntry { name: string, hash: string, algorithm: string }

/** The digest of one bundle file as OPA computes it, in hex. */
export function fileDigest (name: string, content: Buffer, algorithm = 'SHA-256'): string {
  const node = DIGESTS[algorithm]
  if (!node) throw new Error(`unsupported digest algorithm ${JSON.stringify(algorithm)}`)
  // data.yaml is structured for OPA as well, but its YAML-to-JSON conversion is
  // not reproduced here: a data.yaml that is not plain JSON fails to parse.
  if (STRUCTURED.has(posix.basename(name))) return structuredDigest(content, node)
  return createHash(node).update(content).digest('hex')
}

export interface SigningOptions { key: KeyObject, alg: SignatureAlgorithm, keyId?: string }

/** `.signatures.json` for the given files (every file of the bundle but the signature itself). */
export function signBundle (files: ReadonlyMap<string, Buffer>, options: SigningOptions): Buffer {
  const entries: FileEntry[] = [...files].filter(([name]) => name !== SIGNATURES_FILE)
    .map(([name, content]) => ({ name, hash: fileDigest(name, content), algorithm: 'SHA-256' }))
  const payload: Record<string, unknown> = { files: entries }
  // The deprecated `keyid` claim too, as `opa build` writes it.
  if (options.keyId) payload.keyid = options.keyId
  const token = signCompact(payload, { alg: options.alg, key: options.key, kid: options.keyId })
  return Buffer.from(JSON.stringify({ signatures: [token] }, null, 1))
}

export interface VerifiedBundle { keyId?: string }

/** Throws an Error saying why the files are not a bundle signed with the configured key. */
export function verifyBundle (files: ReadonlyMap<string, Buffer>, v: BundleVerification): VerifiedBundle {
  const signatures = files.get(SIGNATURES_FILE)
  if (!signatures) throw new Error('it is not signed (no .signatures.json) and a verification key is configured')
  const token = oneToken(signatures)
  const { header, payload } = verifyCompact(token, { alg: v.alg, key: v.key })

  const kid = typeof header.kid === 'string' ? header.kid : typeof payload.keyid === 'string' ? payload.keyid : undefined
  if (v.keyId !== undefined && kid !== undefined && kid !== v.keyId) {
    throw new Error(`it is signed with key id ${JSON.stringify(kid)}, but ${JSON.stringify(v.keyId)} is configured`)
  }
  const scope = payload.scope ?? ''
  if (scope !== (v.scope ?? '')) throw new Error(`its signature scope ${JSON.stringify(scope)} is not the configured scope ${JSON.stringify(v.scope ?? '')}`)

  const listed = listedFiles(payload.files)
  for (const [name, content] of files) {
    if (name === SIGNATURES_FILE) continue
    const entry = listed.get(name)
    if (!entry) throw new Error(`${name} is not included in the bundle signature`)
    if (WEAK_DIGESTS.has(entry.algorithm)) throw new Error(`${name} is signed with the weak digest ${entry.algorithm}`)
    let actual: string
    try {
      actual = fileDigest(name, content, entry.algorithm)
    } catch (err) {
      throw new Error(`${name}: ${(err as Error).message}`)
    }
    if (actual !== entry.hash.toLowerCase()) throw new Error(`${name} does not match its signed digest (tampered or corrupted)`)
    listed.delete(name)
  }
  if (listed.size > 0) throw new Error(`the signature lists files the bundle lacks: ${[...listed.keys()].join(', ')}`)
  return kid !== undefined ? { keyId: kid } : {}
}

function oneToken (signatures: Buffer): string {
  let parsed: unknown
  try {
    parsed = JSON.parse(signatures.toString('utf8'))
  } catch {
    throw new Error('.signatures.json is not JSON')
  }
  const sc = parsed as { signatures?: unknown, plugin?: unknown }
  if (sc.plugin !== undefined && sc.plugin !== '' && sc.plugin !== '_default') {
    throw new Error(`.signatures.json names the signing plugin ${JSON.stringify(sc.plugin)}, which Verdict does not have`)
  }
  if (!Array.isArray(sc.signatures) || sc.signatures.length !== 1 || typeof sc.signatures[0] !== 'string') {
    throw new Error('.signatures.json must hold exactly one JWT')
  }
  return sc.signatures[0]
}

function listedFiles (files: unknown): Map<string, FileEntry> {
  if (!Array.isArray(files)) throw new Error('the signature payload has no files list')
  const listed = new Map<string, FileEntry>()
  for (const f of files as Array<Partial<FileEntry>>) {
    if (typeof f?.name !== 'string' || typeof f.hash !== 'string' || typeof f.algorithm !== 'string') {
      throw new Error('the signature payload has a malformed file entry')
    }
    const name = f.name.replace(/^\/+/, '')
    if (listed.has(name)) throw new Error(`the signature lists ${name} twice`)
    listed.set(name, { name, hash: f.hash, algorithm: f.algorithm })
  }
  return listed
}
