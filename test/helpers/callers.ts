// The example callers of the decision tests, each with a real credential made at
// test time: Basic secrets hashed into a temporary secrets file, and JWTs signed
// by keys that a real JWKS server on loopback publishes. Two issuers are trusted:
// an Entra ID v2 tenant (client ids mapped to accounts in policy data) and a
// local OIDC issuer that names the ERP user in a `cmicuser` claim.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { secretFileName, writeDevSecrets } from '../../src/cli/dev-secrets.js'
import { startJwksServer, type JwksServer } from './jwks-server.js'

export const TENANT = '4c6b7a1e-2f0d-4e8a-9b3c-5d1e7f9a0b2c'
export const ENTRA_ISSUER = `https://login.microsoftonline.com/${TENANT}/v2.0`
export const AUDIENCE = 'api://verdict'
export const POWERBI_APP = '8a4f2c71-3d5e-4b9a-9c1f-6e2d7b0a5f13'
export const BASIC_ACCOUNTS = ['ACME||SVC_PAYROLL', 'ACME||SVC_HRWRITER', 'ACME||SVC_LEGACY_FTP']

export interface Callers {
  authn: Record<string, unknown>
  /** Authorization header values by caller name */
  header: (name: CallerName) => string
  close: () => Promise<void>
}

export type CallerName =
  | 'payroll (basic)' | 'hr writer (basic)' | 'legacy ftp (basic)' | 'payroll, wrong secret (basic)'
  | 'power bi (entra)' | 'unmapped app (entra)'
  | 'procore (local)' | 'security admin (local)' | 'jane smith (local)' | 'unknown erp user (local)'
  | 'payroll named by a token (local)'
  | 'none'

export async function startCallers (): Promise<Callers> {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-callers-'))
  await writeDevSecrets(dir, BASIC_ACCOUNTS)
  const secrets = new Map<string, string>()
  for (const account of BASIC_ACCOUNTS) {
    secrets.set(account, (await readFile(join(dir, 'credentials', secretFileName(account)), 'utf8')).trim())
  }
  const entraKeys: JwksServer = await startJwksServer({ issuer: ENTRA_ISSUER })
  const localIdp: JwksServer = await startJwksServer()

  const now = Math.floor(Date.now() / 1000)
  const lifetime = { iat: now, nbf: now, exp: now + 3600 }
  const entraToken = (appId: string): string => entraKeys.sign({
    iss: ENTRA_ISSUER,
    aud: AUDIENCE,
    tid: TENANT,
    azp: appId,
    azpacr: '1',
    oid: appId,
    sub: appId,
    idtyp: 'app',
    roles: ['Verdict.Decide'],
    ver: '2.0',
    ...lifetime
  })
  const localToken = (clientId: string, cmicuser?: string): string => localIdp.sign({
    iss: localIdp.issuer,
    aud: AUDIENCE,
    client_id: clientId,
    sub: clientId,
    scope: 'erp',
    jti: clientId + now,
    ...(cmicuser !== undefined ? { cmicuser } : {}),
    ...lifetime
  })
  const basic = (user: string, secret: string): string => 'Basic ' + Buffer.from(`${user}:${secret}`).toString('base64')

  const headers: Record<CallerName, string> = {
    'payroll (basic)': basic('ACME||SVC_PAYROLL', secrets.get('ACME||SVC_PAYROLL') ?? ''),
    'payroll, wrong secret (basic)': basic('ACME||SVC_PAYROLL', 'not-the-secret'),
    'hr writer (basic)': basic('ACME||SVC_HRWRITER', secrets.get('ACME||SVC_HRWRITER') ?? ''),
    'legacy ftp (basic)': basic('ACME||SVC_LEGACY_FTP', secrets.get('ACME||SVC_LEGACY_FTP') ?? ''),
    'power bi (entra)': 'Bearer ' + entraToken(POWERBI_APP),
    'unmapped app (entra)': 'Bearer ' + entraToken('0f0f0f0f-1111-2222-3333-444444444444'),
    'procore (local)': 'Bearer ' + localToken('procore-sync'),
    'security admin (local)': 'Bearer ' + localToken('secadmin-console', 'ACME||SECADMIN'),
    'jane smith (local)': 'Bearer ' + localToken('pm-desktop', 'ACME||JSMITH'),
    'unknown erp user (local)': 'Bearer ' + localToken('pm-desktop', 'ACME||NOBODY'),
    'payroll named by a token (local)': 'Bearer ' + localToken('pm-desktop', 'ACME||SVC_PAYROLL'),
    none: ''
  }

  return {
    authn: {
      basic: { secretsFile: join(dir, 'secrets.yaml'), pepperFile: join(dir, 'pepper') },
      issuers: [
        { name: 'entra', profile: 'entra-v2', issuer: ENTRA_ISSUER, tenant: TENANT, audience: AUDIENCE, jwksUri: entraKeys.jwksUri },
        { name: 'local', profile: 'oidc', issuer: localIdp.issuer, audience: AUDIENCE, jwksUri: localIdp.jwksUri, erpUserClaim: 'cmicuser' }
      ]
    },
    header: (name) => headers[name],
    async close () {
      await entraKeys.close()
      await localIdp.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
}
