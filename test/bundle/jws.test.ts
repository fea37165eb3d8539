// Bundle signature JWS: every configured algorithm signs and verifies with keys
// made now; the algorithm comes from the configuration, never from the token; a
// key that does not fit its algorithm is refused up front.
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import t from 'tap'
import { SIGNATURE_ALGORITHMS, type SignatureAlgorithm } from '../../src/lifecycle/config.js'
import { checkKeyFits, defaultAlgorithm, signCompact, verifyCompact } from '../../src/bundle/jws.js'

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const ec = {
  ES256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  ES384: generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  ES512: generateKeyPairSync('ec', { namedCurve: 'P-521' })
}
const keysFor = (alg: SignatureAlgorithm): { privateKey: KeyObject, publicKey: KeyObject } =>
  alg.startsWith('ES') ? ec[alg as keyof typeof ec] : rsa

t.test('every algorithm signs and verifies; a changed payload or another key does not verify', async (t) => {
  for (const alg of SIGNATURE_ALGORITHMS) {
    const { privateKey, publicKey } = keysFor(alg)
    const token = signCompact({ files: [] }, { alg, key: privateKey, kid: 'k1' })
    t.same(verifyCompact(token, { alg, key: publicKey }), { header: { alg, kid: 'k1', typ: 'JWT' }, payload: { files: [] } }, alg)
    const [h, , s] = token.split('.')
    const forged = `${h}.${Buffer.from('{"files":[{"name":"x"}]}').toString('base64url')}.${s}`
    t.throws(() => verifyCompact(forged, { alg, key: publicKey }), /does not verify/, `${alg}: changed payload`)
    const other = alg.startsWith('ES') ? generateKeyPairSync('ec', { namedCurve: keysFor(alg).publicKey.asymmetricKeyDetails?.namedCurve as string }) : generateKeyPairSync('rsa', { modulusLength: 2048 })
    t.throws(() => verifyCompact(token, { alg, key: other.publicKey }), /does not verify/, `${alg}: another key`)
  }
})

t.test('refused tokens', async (t) => {
  const token = signCompact({ files: [] }, { alg: 'RS256', key: rsa.privateKey })
  const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url')
  const cases: Array<[string, string, RegExp]> = [
    ['another algorithm than configured', token, /uses "RS256", but PS256 is configured/],
    ['two parts', 'a.b', /not a compact JWT/],
    ['a header that is not JSON', `x.${part({})}.sig`, /header is not base64url JSON/],
    ['a header that is an array', `${part([])}.${part({})}.sig`, /header is not a JSON object/],
    ['critical headers', `${part({ alg: 'PS256', crit: ['exp'] })}.${part({})}.sig`, /critical header/]
  ]
  for (const [name, tok, message] of cases) t.throws(() => verifyCompact(tok, { alg: 'PS256', key: rsa.publicKey }), { message }, name)
})

t.test('keys and algorithms', async (t) => {
  t.equal(defaultAlgorithm(rsa.publicKey), 'RS256')
  t.equal(defaultAlgorithm(ec.ES256.publicKey), 'ES256')
  t.equal(defaultAlgorithm(ec.ES384.publicKey), 'ES384')
  t.equal(defaultAlgorithm(ec.ES512.publicKey), 'ES512')
  const ed = generateKeyPairSync('ed25519')
  t.throws(() => defaultAlgorithm(ed.publicKey), /ed25519 key cannot sign bundles/)
  t.throws(() => defaultAlgorithm(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey), /curve secp256k1 has no JWS algorithm/)

  t.throws(() => checkKeyFits(rsa.publicKey, 'ES256'), /ES256 needs an EC key on curve prime256v1, not an rsa key/)
  t.throws(() => checkKeyFits(ec.ES384.publicKey, 'ES256'), /not an ec key \(secp384r1\)/)
  t.throws(() => checkKeyFits(ec.ES256.publicKey, 'RS256'), /RS256 needs an RSA key/)
  t.doesNotThrow(() => checkKeyFits(rsa.publicKey, 'PS512'))
  t.throws(() => signCompact({}, { alg: 'ES256', key: rsa.privateKey }), /needs an EC key/, 'signing checks the key too')
})
