// HTTPS for the decision API, and mutual TLS for machine callers. The
// certificate, key and client CA are files (a Kubernetes secret, cert-manager,
// an ACME client): they are re-read on an interval and, when their content
// changed, swapped into the listening server with setSecureContext(), so new
// handshakes use the new certificate while open connections carry on.
//
// Fail closed: files that cannot be read or do not form a usable context at
// start stop the start; at a reload they keep the previous context (logged),
// never a server without TLS or without client verification.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { createSecureContext, type SecureContextOptions } from 'node:tls'
import { Type, type Static } from '@sinclair/typebox'

export const TlsConfigSchema = Type.Object({
  certFile: Type.String({ minLength: 1, description: 'PEM certificate chain of the server (leaf first).' }),
  keyFile: Type.String({ minLength: 1, description: 'PEM private key of the server certificate.' }),
  clientCaFile: Type.Optional(Type.String({
    minLength: 1,
    description: 'PEM CA bundle for client certificates. When set, clients are asked for a certificate and a presented one is verified against it (see authn.clientCertificate).'
  })),
  requireClientCertificate: Type.Boolean({
    default: false,
    description: 'Refuse TLS handshakes without a client certificate that verifies against clientCaFile.'
  }),
  reloadIntervalMs: Type.Integer({
    minimum: 100,
    maximum: 3_600_000,
    default: 5000,
    description: 'How often the certificate, key and CA files are checked for a change (content hash).'
  })
}, {
  additionalProperties: false,
  description: 'Serve HTTPS (and mutual TLS) instead of plain HTTP.'
})

export type TlsConfig = Static<typeof TlsConfigSchema>

/** The config problems a schema cannot say. */
export function tlsConfigProblems (tls: TlsConfig | undefined): string[] {
  if (tls?.requireClientCertificate === true && tls.clientCaFile === undefined) {
    return ['/server/tls: requireClientCertificate needs clientCaFile']
  }
  return []
}

interface TlsFiles { cert: Buffer, key: Buffer, ca?: Buffer }

function contextOptions (files: TlsFiles): SecureContextOptions {
  return { cert: files.cert, key: files.key, ...(files.ca !== undefined ? { ca: files.ca } : {}) }
}

function digestOf (files: TlsFiles): string {
  const hash = createHash('sha256')
  for (const part of [files.cert, files.key, files.ca ?? Buffer.alloc(0)]) {
    hash.update(String(part.length)).update(':').update(part)
  }
  return hash.digest('hex')
}

/**
 * The options of the HTTPS server at start (read synchronously: the server
 * cannot start without them). Throws with the file and reason when a file is
 * missing or the pair does not form a context.
 */
export function httpsOptions (tls: TlsConfig): SecureContextOptions & { requestCert: boolean, rejectUnauthorized: boolean } {
  const files = readFilesSync(tls)
  createSecureContext(contextOptions(files)) // throws on a key that does not match, a bad PEM
  return {
    ...contextOptions(files),
    // Asked for only when there is a CA to verify against; unverified
    // certificates are let through the handshake (unless required) so the
    // answer is a 401 decision with a reason rather than a reset connection.
    requestCert: tls.clientCaFile !== undefined,
    rejectUnauthorized: tls.requireClientCertificate
  }
}

function readFilesSync (tls: TlsConfig): TlsFiles {
  const read = (label: string, file: string): Buffer => {
    try {
      return readFileSync(file)
    } catch (err) {
      throw new Error(`server.tls.${label} (${file}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
  }
  const files: TlsFiles = { cert: read('certFile', tls.certFile), key: read('keyFile', tls.keyFile) }
  if (tls.clientCaFile !== undefined) files.ca = read('clientCaFile', tls.clientCaFile)
  return files
}

async function readFiles (tls: TlsConfig): Promise<TlsFiles> {
  const [cert, key, ca] = await Promise.all([
    readFile(tls.certFile),
    readFile(tls.keyFile),
    tls.clientCaFile !== undefined ? readFile(tls.clientCaFile) : Promise.resolve(undefined)
  ])
  return ca !== undefined ? { cert, key, ca } : { cert, key }
}

export interface SecureServer { setSecureContext: (options: SecureContextOptions) => void }
export interface TlsReloadLog {
  info: (obj: object, msg: string) => void
  error: (obj: object, msg: string) => void
}

/**
 * Re-reads the TLS files every reloadIntervalMs and swaps a changed, valid set
 * into the server. Returns a stop function.
 */
export function watchTlsFiles (server: SecureServer, tls: TlsConfig, log: TlsReloadLog): () => void {
  let active = digestOf(readFilesSync(tls))
  let failedDigest: string | undefined
  let readError: string | undefined
  let running = false
  const check = async (): Promise<void> => {
    if (running) return
    running = true
    try {
      const files = await readFiles(tls)
      readError = undefined
      const digest = digestOf(files)
      if (digest === active || digest === failedDigest) return
      try {
        createSecureContext(contextOptions(files))
        server.setSecureContext(contextOptions(files))
        active = digest
        failedDigest = undefined
        log.info({ digest: digest.slice(0, 12) }, 'TLS certificate reloaded')
      } catch (err) {
        // Logged once per bad set of files; the previous context keeps serving.
        failedDigest = digest
        log.error({ err: { message: (err as Error).message } }, 'TLS files changed but do not form a usable context; keeping the previous certificate')
      }
    } catch (err) {
      // A file missing mid-rotation (delete then write) is retried next tick;
      // logged once per kind of error, not every tick.
      const code = (err as NodeJS.ErrnoException).code ?? 'read failed'
      if (code !== readError) log.error({ err: { code } }, 'TLS files could not be read; keeping the previous certificate')
      readError = code
    } finally {
      running = false
    }
  }
  const timer = setInterval(() => { check().catch(() => {}) }, tls.reloadIntervalMs)
  timer.unref()
  return () => clearInterval(timer)
}
