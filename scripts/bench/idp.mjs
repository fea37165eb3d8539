// Two OAuth issuers on loopback for the benchmark: "entra" (profile entra-v2)
// and "local" (profile oidc, ERP user in the cmicuser claim). Each serves a
// JWKS with one RSA key; tokens are RS256, signed here. Verdict fetches each
// JWKS once and caches verified tokens, as it would in production.
import { generateKeyPairSync, sign } from 'node:crypto'
import { createServer } from 'node:http'
import { ENTRA_TENANT } from './inputs.mjs'

const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

export async function startIdp () {
  const keys = {}
  for (const name of ['entra', 'local']) {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const kid = `bench-${name}-1`
    keys[name] = { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } }
  }
  const server = createServer((req, res) => {
    const m = /^\/(entra|local)\/jwks$/.exec(req.url ?? '')
    if (req.method !== 'GET' || !m) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [keys[m[1]].jwk] }))
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const origin = `http://127.0.0.1:${server.address().port}`
  const issuers = {
    entra: { issuer: `https://login.microsoftonline.com/${ENTRA_TENANT}/v2.0`, audience: 'api://verdict' },
    local: { issuer: `${origin}/local`, audience: 'verdict' }
  }
  /** The `authn.issuers` section of Verdict's configuration for these issuers. */
  const config = [
    { name: 'entra', profile: 'entra-v2', issuer: issuers.entra.issuer, tenant: ENTRA_TENANT, audience: issuers.entra.audience, jwksUri: `${origin}/entra/jwks` },
    { name: 'local', profile: 'oidc', issuer: issuers.local.issuer, audience: issuers.local.audience, jwksUri: `${origin}/local/jwks`, erpUserClaim: 'cmicuser' }
  ]
  function token (idp, claims) {
    const { kid, privateKey } = keys[idp]
    const now = Math.floor(Date.now() / 1000)
    const head = b64url({ alg: 'RS256', typ: 'JWT', kid })
    const body = b64url({ iat: now, nbf: now - 5, exp: now + 3600, ...claims })
    return `${head}.${body}.${sign('sha256', Buffer.from(`${head}.${body}`), privateKey).toString('base64url')}`
  }
  return {
    issuers,
    config,
    token,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()) })
  }
}
