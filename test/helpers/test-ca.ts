// A certificate authority made at test time (never committed): server and
// client certificates for the TLS and mutual-TLS tests, written as PEM files.
import 'reflect-metadata'
import { webcrypto } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as x509 from '@peculiar/x509'

type CryptoKey = webcrypto.CryptoKey
type CryptoKeyPair = webcrypto.CryptoKeyPair

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const
const DAY = 24 * 3600 * 1000
let serial = 1

export interface Issued { cert: string, key: string }
export interface TestCa extends Issued {
  name: string
  /** a certificate signed by this CA */
  issue: (opts: IssueOptions) => Promise<Issued>
}

export interface IssueOptions {
  cn: string
  /** DNS names and IP addresses (server certificates) */
  dns?: string[]
  ips?: string[]
  /** URI SANs (client certificates, e.g. SPIFFE ids) */
  uris?: string[]
  usage: 'server' | 'client'
  /** validity window, relative to now (ms); default: valid from a day ago for a year */
  notBefore?: number
  notAfter?: number
}

async function keyPem (key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY')
}

function nextSerial (): string {
  serial += 1
  return serial.toString(16).padStart(4, '0')
}

export async function createTestCa (name: string): Promise<TestCa> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as CryptoKeyPair
  const now = Date.now()
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: `CN=${name}`,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 365 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)
    ]
  })

  async function issue (opts: IssueOptions): Promise<Issued> {
    const leafKeys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as CryptoKeyPair
    const names: x509.JsonGeneralName[] = [
      ...(opts.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
      ...(opts.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
      ...(opts.uris ?? []).map((value) => ({ type: 'url' as const, value }))
    ]
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: nextSerial(),
      subject: `CN=${opts.cn}`,
      issuer: caCert.subject,
      notBefore: new Date(Date.now() + (opts.notBefore ?? -DAY)),
      notAfter: new Date(Date.now() + (opts.notAfter ?? 365 * DAY)),
      signingKey: keys.privateKey,
      publicKey: leafKeys.publicKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([opts.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
        ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : []),
        await x509.AuthorityKeyIdentifierExtension.create(caCert)
      ]
    })
    return { cert: cert.toString('pem'), key: await keyPem(leafKeys.privateKey) }
  }

  return { name, cert: caCert.toString('pem'), key: await keyPem(keys.privateKey), issue }
}

/** Writes a certificate and key as `<name>.crt` / `<name>.key`; returns their paths. */
export async function writePem (dir: string, name: string, issued: Issued): Promise<{ certFile: string, keyFile: string }> {
  const certFile = join(dir, `${name}.crt`)
  const keyFile = join(dir, `${name}.key`)
  await writeFile(certFile, issued.cert)
  await writeFile(keyFile, issued.key, { mode: 0o600 })
  return { certFile, keyFile }
}
