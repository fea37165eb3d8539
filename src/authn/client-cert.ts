// Mutual TLS as a credential. When the server asks for client certificates
// (server.tls.clientCaFile), the TLS layer verifies a presented certificate
// against that CA; this turns a verified certificate into a principal of the
// configured identity provider, whose identity (a URI SAN such as a SPIFFE id,
// or the subject CN) is mapped to an ERP account by the policy's
// data.erp.accounts.clients[idp] like any OAuth client id.
//
// Fail closed: a certificate the TLS layer did not verify (another CA, expired,
// not yet valid), or one that names no single usable identity, is a 401 even
// when an Authorization header is sent too; a caller never falls back to a
// weaker credential after presenting a bad one.
import { X509Certificate } from 'node:crypto'
import type { TLSSocket } from 'node:tls'
import { Type, type Static } from '@sinclair/typebox'
import { failure } from './failures.js'
import { makePrincipal, type AuthnResult } from './principal.js'

export const ClientCertificateConfigSchema = Type.Object({
  idp: Type.String({
    minLength: 1,
    maxLength: 64,
    pattern: '^[A-Za-z0-9_.-]+$',
    default: 'mtls',
    description: 'Identity-provider name of certificate callers: the key under data.erp.accounts.clients and the name accounts list in `idps`.'
  }),
  identity: Type.Union([Type.Literal('uri-san'), Type.Literal('subject-cn')], {
    default: 'uri-san',
    description: 'Which part of the certificate names the caller: its one URI subject alternative name (e.g. a SPIFFE id), or its subject common name.'
  }),
  uriPrefix: Type.Optional(Type.String({
    minLength: 1,
    maxLength: 512,
    description: 'With identity uri-san: only URI SANs starting with this prefix (e.g. spiffe://acme.example/) name a caller.'
  }))
}, {
  additionalProperties: false,
  description: 'Client certificates (mutual TLS) as a credential; needs server.tls.clientCaFile.'
})

export type ClientCertificateConfig = Static<typeof ClientCertificateConfigSchema>

/** What authentication reads of the connection: a TLS socket, when there is one. */
export interface ConnectionLike { encrypted?: boolean }

function isTlsSocket (socket: unknown): socket is TLSSocket {
  return typeof socket === 'object' && socket !== null && (socket as ConnectionLike).encrypted === true &&
    typeof (socket as TLSSocket).getPeerCertificate === 'function'
}

// Node prints subjectAltName as "URI:a, DNS:b"; a value with a comma or quote is
// printed JSON-quoted. Quoted values are not identities here (fail closed).
function uriSans (subjectAltName: string | undefined): string[] {
  if (subjectAltName === undefined) return []
  return subjectAltName.split(', ')
    .filter((entry) => entry.startsWith('URI:'))
    .map((entry) => entry.slice(4))
}

function identityOf (cert: X509Certificate, config: ClientCertificateConfig): string | undefined {
  if (config.identity === 'subject-cn') {
    const cns = cert.subject.split('\n').filter((line) => line.startsWith('CN=')).map((line) => line.slice(3))
    return cns.length === 1 && cns[0] !== '' ? cns[0] : undefined
  }
  const candidates = uriSans(cert.subjectAltName)
    .filter((uri) => !uri.startsWith('"') && (config.uriPrefix === undefined || uri.startsWith(config.uriPrefix)))
  // Two identities in one certificate would make the account depend on order.
  return candidates.length === 1 ? candidates[0] : undefined
}

/**
 * The credential of the connection's client certificate: undefined when the
 * connection is not TLS or no certificate was presented, else a principal or a
 * failure.
 */
export function clientCertificateResult (socket: unknown, config: ClientCertificateConfig): AuthnResult | undefined {
  if (!isTlsSocket(socket)) return undefined
  const peer = socket.getPeerCertificate()
  if (peer === null || peer === undefined || peer.raw === undefined) return undefined
  if (!socket.authorized) return failure('client_certificate_invalid')
  const identity = identityOf(new X509Certificate(peer.raw), config)
  if (identity === undefined || identity.length > 2048) return failure('client_certificate_identity')
  return {
    ok: true,
    principal: makePrincipal({ method: 'mtls', idp: config.idp, subject: identity, client_id: identity, roles: [], scopes: [] })
  }
}
