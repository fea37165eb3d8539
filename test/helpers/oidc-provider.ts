// A real OpenID provider (the `oidc-provider` package, v9) on loopback for
// end-to-end tests. It issues client-credentials access tokens as JWTs for
// one resource (audience) and signs them with keys generated at test time.
// tokenFor() calls its real token endpoint over HTTP.
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface OidcTestClient {
  clientId: string
  clientSecret: string
  /** space-separated scopes the client may ask for */
  scope?: string
  /** extra claims put into this client's access tokens (e.g. { cmicuser: 'ACME||SVC_PROCORE' }) */
  claims?: Record<string, unknown>
}

export interface OidcProviderOptions {
  clients: OidcTestClient[]
  /** resource indicator = `aud` of issued tokens */
  audience?: string
  /** access token lifetime in seconds */
  accessTokenTtlSec?: number
}

export interface StartedOidcProvider {
  /** issuer URL (no trailing slash), also the `iss` of tokens */
  issuer: string
  discoveryUrl: string
  audience: string
  /** gets an access token from the real token endpoint (client_credentials) */
  tokenFor: (clientId: string, clientSecret: string, scope?: string) => Promise<string>
  close: () => Promise<void>
}

// oidc-provider ships no type declarations; this is the little used here.
interface ProviderInstance {
  callback: () => (req: IncomingMessage, res: ServerResponse) => void
}
interface OidcModule {
  default: new (issuer: string, configuration: Record<string, unknown>) => ProviderInstance
  errors: { InvalidTarget: new (description?: string) => Error }
}

export async function startOidcProvider (opts: OidcProviderOptions): Promise<StartedOidcProvider> {
  // A non-literal specifier keeps TypeScript from looking for declarations.
  const specifier = 'oidc-provider'
  const { default: Provider, errors } = await import(specifier) as OidcModule
  const audience = opts.audience ?? 'api://verdict'
  const allScopes = [...new Set(opts.clients.flatMap((c) => (c.scope ?? '').split(' ').filter(Boolean)))]
  const claimsByClient = new Map(opts.clients.map((c) => [c.clientId, c.claims ?? {}]))

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' }

  // The issuer URL needs the port, so the server listens before the provider exists.
  const route: { handler?: (req: IncomingMessage, res: ServerResponse) => void } = {}
  const server = createServer((req, res) => {
    if (route.handler !== undefined) route.handler(req, res)
    else res.writeHead(503).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const provider = new Provider(issuer, {
    clients: opts.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      ...(c.scope !== undefined ? { scope: c.scope } : {})
    })),
    jwks: { keys: [signingJwk] },
    ttl: { ClientCredentials: () => opts.accessTokenTtlSec ?? 300 },
    scopes: allScopes,
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resourceIndicator: string) => {
          if (resourceIndicator !== audience) throw new errors.InvalidTarget()
          return {
            scope: allScopes.join(' '),
            audience,
            accessTokenFormat: 'jwt',
            accessTokenTTL: opts.accessTokenTtlSec ?? 300,
            jwt: { sign: { alg: 'RS256' } }
          }
        }
      }
    },
    extraTokenClaims: (_ctx: unknown, token: { clientId?: string }) =>
      token.clientId !== undefined ? claimsByClient.get(token.clientId) : undefined
  })
  route.handler = provider.callback()

  async function tokenFor (clientId: string, clientSecret: string, scope?: string): Promise<string> {
    const body = new URLSearchParams({ grant_type: 'client_credentials', resource: audience })
    if (scope !== undefined) body.set('scope', scope)
    // RFC 6749 §2.3.1: form-encode id and secret before Basic-encoding them.
    const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body
    })
    const json = await res.json() as { access_token?: string, error?: string, error_description?: string }
    if (!res.ok || json.access_token === undefined) {
      throw new Error(`token endpoint answered ${res.status}: ${json.error ?? ''} ${json.error_description ?? ''}`)
    }
    return json.access_token
  }

  return {
    issuer,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    audience,
    tokenFor,
    async close () {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
