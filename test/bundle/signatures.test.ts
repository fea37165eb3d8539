// Signed bundles, with the real OPA CLI on both sides: a bundle built and signed by
// `opa build --signing-key` (RS256 and ES256 keys made now) loads in Verdict with
// the public key; a bundle Verdict signs passes OPA's own verification (`opa build
// --bundle --verification-key`); and every way a bundle can fail its signature is
// refused, with the reason.
import { createPrivateKey, createPublicKey } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import t from 'tap'
import { readBundle, readBundleFiles } from '../../src/bundle/bundle.js'
import { fileDigest, signBundle, verifyBundle, type BundleVerification } from '../../src/bundle/signatures.js'
import { buildBundle, tarGz } from '../../src/toolchain/bundle-writer.js'
import { structuredDigest } from '../../src/bundle/canonical-json.js'
import { signCompact } from '../../src/bundle/jws.js'
import { runOpaExit } from '../../src/toolchain/opa-cli.js'
import { POLICY_DIR } from '../helpers/app.js'
import { keyPair, opaSignedBundle, repack, tempDir } from '../engine/helpers.js'

const dir = await tempDir(t)
const rsa = await keyPair(dir, 'rsa')
const ec = await keyPair(dir, 'ec')
const otherRsa = await keyPair(dir, 'rsa', 'other-rsa')

const publicKey = async (file: string): Promise<ReturnType<typeof createPublicKey>> => createPublicKey(await readFile(file))
const privateKey = async (file: string): Promise<ReturnType<typeof createPrivateKey>> => createPrivateKey(await readFile(file))
const rsaVerification: BundleVerification = { key: await publicKey(rsa.publicFile), alg: 'RS256' }

for (const [alg, keys] of [['RS256', rsa], ['ES256', ec]] as const) {
  t.test(`a bundle built and signed by opa build (${alg}) loads in Verdict`, async (t) => {
    const out = join(dir, `opa-${alg}.tar.gz`)
    await opaSignedBundle(POLICY_DIR, out, keys.privateFile, alg)
    const archive = await readFile(out)

    // Every file OPA signed — the Rego sources too — is checked against its digest.
    const files = await readBundleFiles(archive)
    t.ok(files.has('verdict/decision.rego'), 'opa build puts the Rego sources in the bundle')
    t.same(verifyBundle(files, { key: await publicKey(keys.publicFile), alg }), { keyId: 'default' }, 'opa build names its key "default"')

    const bundle = await readBundle(archive, { verification: { key: await publicKey(keys.publicFile), alg } })
    t.equal(bundle.verified, true)
    t.equal(bundle.signed, true)
    t.match(bundle.digest, /^sha256:[0-9a-f]{64}$/)
  })
}

t.test('Verdict hashes structured files exactly as OPA does', async (t) => {
  const out = join(dir, 'opa-digests.tar.gz')
  await opaSignedBundle(POLICY_DIR, out, rsa.privateFile, 'RS256')
  const files = await readBundleFiles(await readFile(out))
  const token = JSON.parse((files.get('.signatures.json') as Buffer).toString()).signatures[0] as string
  const payload = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as { files: Array<{ name: string, hash: string }> }
  t.ok(payload.files.length >= 4)
  for (const f of payload.files) {
    t.equal(fileDigest(f.name, files.get(f.name) as Buffer), f.hash, `${f.name}: same digest as OPA's`)
  }
  // The structured digest is of the content, not the layout: OPA signs parsed JSON.
  const data = files.get('data.json') as Buffer
  const reformatted = Buffer.from(JSON.stringify(JSON.parse(data.toString()), null, 7))
  t.equal(fileDigest('data.json', reformatted), fileDigest('data.json', data), 'whitespace does not change the digest')
})

for (const [alg, keys, verifyArgs] of [['RS256', rsa, []], ['ES256', ec, ['--signing-alg', 'ES256']]] as const) {
  t.test(`a bundle signed by Verdict (${alg}) passes OPA's verification`, async (t) => {
    const built = await buildBundle({ dir: POLICY_DIR, entrypoint: 'verdict/decision', revision: 'interop', signing: { key: await privateKey(keys.privateFile), alg, keyId: 'default' } })
    const file = join(dir, `verdict-${alg}.tar.gz`)
    await writeFile(file, built.archive)
    const opaVerify = async (bundle: string, key: string): Promise<{ code: number, output: string }> => {
      const r = await runOpaExit(['build', '--bundle', '--verification-key', key, ...verifyArgs, '-o', join(dir, 'reverified.tar.gz'), bundle])
      return { code: r.code, output: r.stdout + r.stderr }
    }

    const ok = await opaVerify(file, keys.publicFile)
    t.equal(ok.code, 0, `opa build --verification-key accepts it ${ok.output}`)

    // The same check fails on a tampered copy and with another key, so the pass above means something.
    const tampered = join(dir, `verdict-${alg}-tampered.tar.gz`)
    await writeFile(tampered, await repack(built.archive, (f) => f.set('data.json', Buffer.from('{"erp":{}}'))))
    const bad = await opaVerify(tampered, keys.publicFile)
    t.not(bad.code, 0)
    t.match(bad.output, /data\.json: digest mismatch/)
    const otherKey = await opaVerify(file, alg === 'RS256' ? otherRsa.publicFile : rsa.publicFile)
    t.not(otherKey.code, 0, 'OPA refuses it with another key')
  })
}

t.test('refused: every way a bundle can fail its signature', async (t) => {
  const signing = { key: await privateKey(rsa.privateFile), alg: 'RS256' as const, keyId: 'release' }
  const built = await buildBundle({ dir: POLICY_DIR, entrypoint: 'verdict/decision', revision: 'r1', signing })
  const unsigned = await buildBundle({ dir: POLICY_DIR, entrypoint: 'verdict/decision', revision: 'r1' })
  const otherSigned = await buildBundle({ dir: POLICY_DIR, entrypoint: 'verdict/decision', revision: 'r1', signing: { ...signing, key: await privateKey(otherRsa.privateFile) } })
  const ecSigned = await buildBundle({ dir: POLICY_DIR, entrypoint: 'verdict/decision', revision: 'r1', signing: { key: await privateKey(ec.privateFile), alg: 'ES256' } })
  const resign = async (edit: (payload: Record<string, unknown>) => void): Promise<Buffer> => {
    const files = await readBundleFiles(built.archive)
    const entries = [...files].filter(([n]) => n !== '.signatures.json').map(([name, c]) => ({ name, hash: fileDigest(name, c), algorithm: 'SHA-256' }))
    const payload: Record<string, unknown> = { files: entries, keyid: 'release' }
    edit(payload)
    return await repack(built.archive, (f) => f.set('.signatures.json', Buffer.from(JSON.stringify({ signatures: [signCompact(payload, signing)] }))))
  }

  const cases: Array<[string, Buffer | Promise<Buffer>, RegExp, Partial<BundleVerification>?]> = [
    ['unsigned, with a key configured', unsigned.archive, /not signed \(no \.signatures\.json\)/],
    ['a tampered data.json', repack(built.archive, (f) => f.set('data.json', Buffer.from('{"erp":{"accounts":{}}}'))), /data\.json does not match its signed digest/],
    ['a tampered policy.wasm', repack(built.archive, (f) => { const w = Buffer.from(f.get('policy.wasm') as Buffer); w.writeUInt8(w.readUInt8(w.length - 1) ^ 1, w.length - 1); f.set('policy.wasm', w) }), /policy\.wasm does not match/],
    ['a tampered .manifest (another revision)', repack(built.archive, (f) => f.set('.manifest', Buffer.from(JSON.stringify({ ...JSON.parse((f.get('.manifest') as Buffer).toString()), revision: 'evil' })))), /\.manifest does not match/],
    ['an extra file', repack(built.archive, (f) => f.set('verdict/extra.rego', Buffer.from('package verdict.extra\n'))), /verdict\/extra\.rego is not included in the bundle signature/],
    ['a signed file missing', repack(built.archive, (f) => f.delete('data.json')), /lists files the bundle lacks: data\.json/],
    ['signed with another key', otherSigned.archive, /does not verify with the configured key/],
    ['signed with another algorithm', ecSigned.archive, /uses "ES256", but RS256 is configured/],
    ['another key id than configured', built.archive, /key id "release", but "prod" is configured/, { keyId: 'prod' }],
    ['a scope the configuration does not have', resign((p) => { p.scope = 'write' }), /scope "write" is not the configured scope ""/],
    ['a weak digest', resign((p) => { (p.files as Array<{ algorithm: string }>)[0]!.algorithm = 'MD5' }), /weak digest MD5/],
    ['a file listed twice', resign((p) => { const f = p.files as unknown[]; f.push(f[0]) }), /lists data\.json twice/],
    ['two signatures', repack(built.archive, (f) => { const s = JSON.parse((f.get('.signatures.json') as Buffer).toString()); s.signatures.push(s.signatures[0]); f.set('.signatures.json', Buffer.from(JSON.stringify(s))) }), /exactly one JWT/],
    ['an unknown signing plugin', repack(built.archive, (f) => { const s = JSON.parse((f.get('.signatures.json') as Buffer).toString()); s.plugin = 'vault'; f.set('.signatures.json', Buffer.from(JSON.stringify(s))) }), /plugin "vault"/],
    ['a token that is not a JWT', repack(built.archive, (f) => f.set('.signatures.json', Buffer.from('{"signatures":["abc"]}'))), /not a compact JWT/],
    ['a token with alg none', repack(built.archive, (f) => f.set('.signatures.json', Buffer.from(JSON.stringify({ signatures: [`${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"files":[]}').toString('base64url')}.`] })))), /uses "none", but RS256 is configured/],
    ['a data.json that appears twice', readBundleFiles(built.archive).then(duplicateEntry), /holds data\.json twice/]
  ]
  for (const [name, archive, reason, extra] of cases) {
    t.test(name, async (t) => {
      const err = await readBundle(await archive, { verification: { ...rsaVerification, ...extra } }).then(() => undefined, (e: Error) => e)
      t.ok(err, 'refused')
      t.match(err, { message: reason })
      t.match(err, { code: /^POLICY_BUNDLE_(REFUSED|INVALID)$/ })
    })
  }

  t.test('the untampered bundle with the same key passes', async (t) => {
    const bundle = await readBundle(built.archive, { verification: { ...rsaVerification, keyId: 'release' } })
    t.equal(bundle.verified, true)
    t.equal(bundle.revision, 'r1')
  })

  t.test('without a key, a signed bundle loads unverified (nothing is checked)', async (t) => {
    const bundle = await readBundle(await repack(built.archive, (f) => f.set('.manifest', Buffer.from(JSON.stringify({ revision: 'edited' })))))
    t.equal(bundle.signed, true)
    t.equal(bundle.verified, false)
    t.equal(bundle.revision, 'edited')
  })
})

t.test('signBundle covers every file but the signature, like opa build', async (t) => {
  const files = new Map([['data.json', Buffer.from('{"b": 1.50, "a": [true, null]}')], ['policy.wasm', Buffer.from([0, 1, 2])]])
  const sig = JSON.parse(signBundle(files, { key: await privateKey(ec.privateFile), alg: 'ES256' }).toString()) as { signatures: string[] }
  const payload = JSON.parse(Buffer.from((sig.signatures[0] as string).split('.')[1] as string, 'base64url').toString())
  t.same(payload, {
    files: [
      { name: 'data.json', hash: structuredDigest(Buffer.from('{"a":[true,null],"b":1.50}'), 'sha256'), algorithm: 'SHA-256' },
      { name: 'policy.wasm', hash: fileDigest('policy.wasm', Buffer.from([0, 1, 2])), algorithm: 'SHA-256' }
    ]
  }, 'no keyid claim without a key id')
})

/** A tar.gz in which data.json occurs twice: which copy counts would be up to the reader. */
function duplicateEntry (files: Map<string, Buffer>): Buffer {
  const first = gunzipSync(tarGz(new Map([['data.json', Buffer.from('{}')]])))
  const rest = gunzipSync(tarGz(files))
  return gzipSync(Buffer.concat([first.subarray(0, first.length - 1024), rest]))
}
