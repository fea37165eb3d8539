// The public key bundles must be signed with, read from the configured file
// and checked against its algorithm once, at start.
import { readFile } from 'node:fs/promises'
import { ConfigInvalidError } from '../errors.js'
import type { BundleVerification } from '../bundle/signatures.js'
import { checkKeyFits, defaultAlgorithm, publicKeyFromPem } from '../bundle/jws.js'
import type { PolicyConfig } from './config.js'

/** The configured verification key, read and checked against its algorithm; a bad key stops the start. */
export async function loadVerification (policy: PolicyConfig): Promise<BundleVerification | undefined> {
  if (policy.verificationKey === undefined) return undefined
  let pem: Buffer
  try {
    pem = await readFile(policy.verificationKey)
  } catch (err) {
    throw new ConfigInvalidError(`/policy/verificationKey: cannot read ${policy.verificationKey} (${(err as Error).message})`)
  }
  try {
    const key = publicKeyFromPem(pem)
    const alg = policy.verificationAlg ?? defaultAlgorithm(key)
    checkKeyFits(key, alg)
    const v: BundleVerification = { key, alg }
    if (policy.verificationKeyId !== undefined) v.keyId = policy.verificationKeyId
    if (policy.verificationScope !== undefined) v.scope = policy.verificationScope
    return v
  } catch (err) {
    throw new ConfigInvalidError(`/policy/verificationKey: ${policy.verificationKey}: ${(err as Error).message}`)
  }
}
