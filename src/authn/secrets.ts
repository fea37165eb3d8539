// Hashed secrets of Basic service accounts. The secrets file (YAML, kept apart
// from policy data) maps username → hashed record:
//
//   "ACME||SVC_PAYROLL": { scheme: hmac-sha256, hash: <base64> }
//   "ACME||SVC_HR":      { scheme: scrypt, salt: <base64>, hash: <base64>, N: 32768, r: 8, p: 1 }
//
// hmac-sha256 (keyed with a pepper from env or file) suits random,
// high-entropy machine secrets: brute force is hopeless and checks are cheap.
// scrypt suits anything a human might have chosen.
import { createHmac, randomBytes, scrypt as scryptCallback, type ScryptOptions } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { parse as parseYaml } from 'yaml'
import type { BasicConfig } from './config.js'

const Base64 = Type.String({ pattern: '^[A-Za-z0-9+/]+={0,2}$', maxLength: 1024 })

export const HmacRecordSchema = Type.Object({
  scheme: Type.Literal('hmac-sha256'),
  hash: Base64
}, { additionalProperties: false })

export const ScryptRecordSchema = Type.Object({
  scheme: Type.Literal('scrypt'),
  salt: Base64,
  hash: Base64,
  // Bounded so a typo in the file cannot make every login take seconds.
  N: Type.Integer({ minimum: 1024, maximum: 1048576 }),
  r: Type.Integer({ minimum: 1, maximum: 32 }),
  p: Type.Integer({ minimum: 1, maximum: 16 })
}, { additionalProperties: false })

export const SecretRecordSchema = Type.Union([HmacRecordSchema, ScryptRecordSchema])
export const SecretsFileSchema = Type.Record(Type.String({ minLength: 1, maxLength: 256 }), SecretRecordSchema)

export type HmacRecord = Static<typeof HmacRecordSchema>
export type ScryptRecord = Static<typeof ScryptRecordSchema>
export type SecretRecord = Static<typeof SecretRecordSchema>
export type SecretScheme = SecretRecord['scheme']

export const SCRYPT_DEFAULTS = { N: 2 ** 15, r: 8, p: 1, keyLength: 32, saltLength: 16 } as const
const MIN_PEPPER_BYTES = 16

export interface SecretStore {
  records: ReadonlyMap<string, SecretRecord>
  /** what an unknown username is checked against, so it costs what a known one costs */
  dummy: SecretRecord
  /** HMAC key; random when no hmac records exist */
  pepper: Buffer
}

export class SecretsError extends Error {
  override name = 'SecretsError'
}

function scrypt (secret: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(secret, salt, keyLength, options, (err, key) => (err !== null ? reject(err) : resolve(key)))
  })
}

/** The one hash function every Basic check runs, known user or not. */
export async function digestSecret (secret: string, record: SecretRecord, pepper: Buffer): Promise<Buffer> {
  if (record.scheme === 'hmac-sha256') {
    return createHmac('sha256', pepper).update(secret, 'utf8').digest()
  }
  const { N, r, p } = record
  // Node refuses scrypt when 128·N·r exceeds maxmem (default 32 MiB).
  return scrypt(secret, Buffer.from(record.salt, 'base64'), Buffer.from(record.hash, 'base64').length,
    { N, r, p, maxmem: 256 * N * r + 1024 * 1024 })
}

/** Hashes a secret into a record for the secrets file (used by the dev-secrets CLI). */
export async function hashSecret (secret: string, scheme: SecretScheme, pepper?: string | Buffer): Promise<SecretRecord> {
  if (scheme === 'hmac-sha256') {
    if (pepper === undefined || Buffer.byteLength(pepper) < MIN_PEPPER_BYTES) {
      throw new SecretsError(`hmac-sha256 needs a pepper of at least ${MIN_PEPPER_BYTES} bytes`)
    }
    const hash = await digestSecret(secret, { scheme, hash: 'AA==' }, Buffer.from(pepper))
    return { scheme, hash: hash.toString('base64') }
  }
  const { N, r, p, keyLength, saltLength } = SCRYPT_DEFAULTS
  const salt = randomBytes(saltLength).toString('base64')
  const template: ScryptRecord = { scheme, salt, hash: Buffer.alloc(keyLength).toString('base64'), N, r, p }
  const hash = await digestSecret(secret, template, Buffer.alloc(0))
  return { ...template, hash: hash.toString('base64') }
}

/** Parses and validates the YAML text of a secrets file. */
export function parseSecrets (text: string): Map<string, SecretRecord> {
  const data: unknown = parseYaml(text) ?? {}
  if (!Value.Check(SecretsFileSchema, data)) {
    // Report where, never what: the file's values are hashes, but still secrets.
    const paths = [...new Set([...Value.Errors(SecretsFileSchema, data)].map((e) => e.path || '/'))]
    throw new SecretsError(`invalid secrets file at ${paths.slice(0, 5).join(', ')}`)
  }
  return new Map(Object.entries(data))
}

export async function loadSecretsFile (path: string): Promise<Map<string, SecretRecord>> {
  return parseSecrets(await readFile(path, 'utf8'))
}

/** The configured pepper: pepperFile when set, else the pepperEnv variable. */
export async function loadPepper (basic: BasicConfig, env: NodeJS.ProcessEnv = process.env): Promise<Buffer | undefined> {
  const text = basic.pepperFile !== undefined
    ? (await readFile(basic.pepperFile, 'utf8')).replace(/\r?\n$/, '')
    : env[basic.pepperEnv]
  if (text === undefined || text === '') return undefined
  if (Buffer.byteLength(text) < MIN_PEPPER_BYTES) throw new SecretsError(`the Basic pepper must be at least ${MIN_PEPPER_BYTES} bytes`)
  return Buffer.from(text, 'utf8')
}

// The dummy mirrors the costliest scheme in the file, so an unknown user
// takes as long as a known scrypt user. (A known hmac user in a file that
// mixes schemes stays faster; keep one scheme per file to avoid that.)
function dummyFor (records: Map<string, SecretRecord>): SecretRecord {
  let costliest: ScryptRecord | undefined
  for (const record of records.values()) {
    if (record.scheme === 'scrypt' && (costliest === undefined || record.N * record.r * record.p > costliest.N * costliest.r * costliest.p)) {
      costliest = record
    }
  }
  if (costliest === undefined) return { scheme: 'hmac-sha256', hash: randomBytes(32).toString('base64') }
  const hashLength = Buffer.from(costliest.hash, 'base64').length
  return { ...costliest, salt: randomBytes(16).toString('base64'), hash: randomBytes(hashLength).toString('base64') }
}

export function createSecretStore (records: Map<string, SecretRecord>, pepper: Buffer | undefined): SecretStore {
  const needsPepper = [...records.values()].some((r) => r.scheme === 'hmac-sha256')
  if (needsPepper && pepper === undefined) throw new SecretsError('hmac-sha256 secrets need a pepper (pepperEnv or pepperFile)')
  return { records, dummy: dummyFor(records), pepper: pepper ?? randomBytes(32) }
}
