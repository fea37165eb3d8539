// The authentication layer as a Fastify plugin. It identifies the caller whose
// credential is in the Authorization header and grants nothing.
//
//   await app.register(authn, { config })
//   const result = await app.authenticate(request)   // never throws
//   if (!result.ok) → 401 with result.code
//
// A bad credential, an untrusted token or an IdP outage is an `ok: false`
// decision (fail closed), never an exception or a 5xx.
import cluster from 'node:cluster'
import type { Stats } from 'node:fs'
import fastifyJwt from '@fastify/jwt'
import type { FastifyBaseLogger } from 'fastify'
import fp from 'fastify-plugin'
import { BasicAuthenticator } from './basic.js'
import { clientAddress, toBlockList } from './client-address.js'
import { clientCertificateResult } from './client-cert.js'
import { resolveAuthnConfig, type AuthnConfig, type AuthnConfigInput } from './config.js'
import { createCounters, type AuthnCounters } from './counters.js'
import { failure } from './failures.js'
import { JwtAuthenticator, type JwtCodec } from './jwt.js'
import type { AuthnResult } from './principal.js'
import { localThrottleStore, type ThrottleStore } from './rate-limit.js'
import { ipcThrottleStore } from './throttle-ipc.js'
import { createSecretStore, loadPepper, loadSecretsFile, SecretsError, type SecretStore, type digestSecret } from './secrets.js'
import { statBeforeRead, watchSecretsFile, type FileWatch } from './secrets-watch.js'

export type { AuthnResult, Principal } from './principal.js'
export type { AuthnFailure, FailureCode } from './failures.js'
export type { AuthnCounters } from './counters.js'
export type { AuthnConfig, AuthnConfigInput, IssuerConfig } from './config.js'
export { AuthnConfigSchema, resolveAuthnConfig, AUTHN_DEFAULTS } from './config.js'
export { FAILURES } from './failures.js'
export { hashSecret } from './secrets.js'

/** The parts of a request authentication reads; a FastifyRequest fits. */
export interface AuthnRequest {
  headers: { authorization?: string | string[] | undefined, 'x-forwarded-for'?: string | string[] | undefined }
  /** the connection's peer; read only when there is no socket */
  ip?: string
  socket?: { remoteAddress?: string | undefined }
  /** the connection, for a client certificate (mutual TLS); a FastifyRequest's raw request fits */
  raw?: { socket?: unknown }
}

export interface Authenticator {
  authenticate: (request: AuthnRequest) => Promise<AuthnResult>
  counters: Readonly<AuthnCounters>
  close: () => Promise<void>
}

export interface AuthenticatorDeps {
  /** @fastify/jwt's verify (the plugin passes its own instance) */
  jwt: JwtCodec
  /** Basic secrets; loaded from config.basic.secretsFile when omitted */
  secrets?: SecretStore
  env?: NodeJS.ProcessEnv
  now?: () => number
  digest?: typeof digestSecret
  log?: Pick<FastifyBaseLogger, 'error' | 'info'>
  /** where Basic failures are counted; default: the cluster primary in a worker, else this process */
  throttle?: ThrottleStore
}

async function loadSecretStore (config: AuthnConfig, env?: NodeJS.ProcessEnv): Promise<SecretStore> {
  const records = config.basic.secretsFile !== undefined ? await loadSecretsFile(config.basic.secretsFile) : new Map()
  return createSecretStore(records, await loadPepper(config.basic, env))
}

function headerValue (raw: string | string[] | undefined): string | undefined {
  return Array.isArray(raw) ? raw[0] : raw
}

/**
 * Builds the authenticator. Throws only for bad configuration (unreadable
 * secrets file, missing pepper), at startup.
 */
export async function createAuthenticator (config: AuthnConfig, deps: AuthenticatorDeps): Promise<Authenticator> {
  const counters = createCounters()
  const now = deps.now ?? Date.now
  const jwt = new JwtAuthenticator(config, { codec: deps.jwt, counters, now })
  // In a cluster worker the primary counts Basic failures for every worker
  // (server.ts serves it), so the limit does not grow with the worker count.
  const throttle = deps.throttle ?? (cluster.isWorker
    ? ipcThrottleStore(config.basic.rateLimit, process, now)
    : localThrottleStore(config.basic.rateLimit, now))
  const secretsFile = deps.secrets === undefined ? config.basic.secretsFile : undefined
  const loadedStat = secretsFile !== undefined ? await statBeforeRead(secretsFile) : undefined
  const basic = new BasicAuthenticator(config.basic, {
    store: deps.secrets ?? await loadSecretStore(config, deps.env),
    counters,
    throttle,
    now,
    ...(deps.digest !== undefined ? { digest: deps.digest } : {})
  })
  const secretsWatch = secretsFile !== undefined ? followSecretsFile(secretsFile, loadedStat, config, basic, counters, deps) : undefined
  const trustedProxies = toBlockList(config.trustedProxies)

  async function dispatch (request: AuthnRequest): Promise<AuthnResult> {
    const certificate = config.clientCertificate !== undefined
      ? clientCertificateResult(request.raw?.socket, config.clientCertificate)
      : undefined
    // A presented certificate that fails is final: no fallback to the header.
    if (certificate !== undefined && !certificate.ok) return certificate
    const header = headerValue(request.headers.authorization)
    if (header === undefined || header.trim() === '') return certificate ?? failure('credential_missing')
    const space = header.indexOf(' ')
    const scheme = (space === -1 ? header : header.slice(0, space)).toLowerCase()
    const credential = space === -1 ? '' : header.slice(space + 1).trim()
    switch (scheme) {
      case 'bearer':
        return credential === '' ? failure('token_malformed') : await jwt.authenticate(credential)
      case 'basic':
        return await basic.authenticate(credential,
          clientAddress(request.socket?.remoteAddress ?? request.ip, request.headers['x-forwarded-for'], trustedProxies))
      default:
        return failure('scheme_unsupported')
    }
  }

  async function authenticate (request: AuthnRequest): Promise<AuthnResult> {
    try {
      return await dispatch(request)
    } catch (err) {
      // Not a client's fault, but still a decision: fail closed. Log the
      // error name only; messages of crypto/parse errors may quote input.
      deps.log?.error({ err: { name: (err as Error)?.name } }, 'authentication failed unexpectedly')
      return failure('authn_error')
    }
  }

  jwt.start()
  return {
    async authenticate (request) {
      const result = await authenticate(request)
      if (!result.ok) counters.rejectsByReason[result.code]++
      return result
    },
    counters,
    close: async () => {
      secretsWatch?.close()
      await jwt.close()
    }
  }
}

/**
 * Reloads the secrets (and the pepper) whenever the secrets file changes.
 * Fails closed: a file that cannot be read or parsed leaves no Basic account
 * valid until it is fixed, rather than keeping accounts the operator may have
 * just removed.
 */
function followSecretsFile (
  path: string, loadedStat: Stats | undefined, config: AuthnConfig, basic: BasicAuthenticator, counters: AuthnCounters, deps: AuthenticatorDeps
): FileWatch {
  return watchSecretsFile(path, config.basic.secretsCheckIntervalMs, async () => {
    try {
      const store = await loadSecretStore(config, deps.env)
      basic.replaceStore(store)
      deps.log?.info({ accounts: store.records.size }, 'Basic secrets reloaded')
    } catch (err) {
      basic.replaceStore(createSecretStore(new Map(), undefined))
      counters.secretsReloadFailures++
      // A YAML parser's message may quote the file; only our own errors are known to name places, not values.
      const detail = err instanceof SecretsError ? { name: err.name, message: err.message } : { name: (err as Error)?.name, code: (err as NodeJS.ErrnoException)?.code }
      deps.log?.error({ err: detail }, 'Basic secrets could not be reloaded: every Basic credential is refused until the file is fixed')
    }
    // Counted once the new secrets (or none) are in force.
    counters.secretsReloads++
  }, loadedStat)
}

export interface AuthnPluginOptions {
  /** the `authn` config section, raw or already resolved */
  config: AuthnConfigInput | AuthnConfig
  secrets?: SecretStore
  env?: NodeJS.ProcessEnv
  now?: () => number
  digest?: typeof digestSecret
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Authenticates the caller in the Authorization header. Never throws. */
    authenticate: (request: AuthnRequest) => Promise<AuthnResult>
    /** Counters for /health and /metrics. */
    authnCounters: Readonly<AuthnCounters>
  }
}

export default fp<AuthnPluginOptions>(async function authn (fastify, opts) {
  const config = resolveAuthnConfig(opts.config)

  // @fastify/jwt lives in its own encapsulated context so it cannot clash with
  // another registration of it elsewhere in the app. Keys are never resolved
  // through its `secret`: every verify call passes the issuer's key itself.
  let codec: JwtCodec | undefined
  await fastify.register(async function authnJwt (scope) {
    await scope.register(fastifyJwt, {
      secret: () => { throw new Error('authn passes a key to every verify call') },
      decode: { complete: true },
      verify: {}
    })
    codec = { verify: (token, options) => scope.jwt.verify(token, options) }
  })
  if (codec === undefined) throw new Error('@fastify/jwt did not load')

  const authenticator = await createAuthenticator(config, {
    jwt: codec,
    log: fastify.log,
    ...(opts.secrets !== undefined ? { secrets: opts.secrets } : {}),
    ...(opts.env !== undefined ? { env: opts.env } : {}),
    ...(opts.now !== undefined ? { now: opts.now } : {}),
    ...(opts.digest !== undefined ? { digest: opts.digest } : {})
  })
  fastify.decorate('authenticate', authenticator.authenticate)
  fastify.decorate('authnCounters', authenticator.counters)
  fastify.addHook('onClose', async () => { await authenticator.close() })
}, { name: 'authn', fastify: '5.x' })
