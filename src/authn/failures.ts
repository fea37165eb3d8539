// Every reason an authentication can fail, with the one human message the
// service answers with. Messages are fixed text on purpose: they never echo
// the token, the secret or anything else the caller sent.

export const FAILURES = {
  credential_missing: 'no Authorization header was sent',
  scheme_unsupported: 'the Authorization scheme is not supported (use Bearer or Basic)',

  token_too_large: 'the bearer token is larger than allowed',
  token_malformed: 'the bearer token is not a well-formed JWT',
  token_header_forbidden: 'the token header carries a parameter that is not accepted (jku, x5u, jwk, x5c or crit)',
  issuer_untrusted: 'the token issuer is not a trusted issuer',
  algorithm_not_allowed: 'the token algorithm is not allowed for this issuer',
  kid_invalid: 'the token header has no usable key id (kid)',
  key_not_found: 'no signing key with the token key id is published by the issuer',
  jwks_unavailable: "the issuer's signing keys could not be fetched",
  signature_invalid: 'the token signature is invalid',
  token_expired: 'the token has expired',
  token_not_yet_valid: 'the token is not valid yet',
  audience_mismatch: 'the token audience is not accepted',
  token_invalid: 'the token is invalid',
  tenant_mismatch: 'the token was issued for another tenant',
  token_not_client_credentials: 'the token was not issued to an application through the client-credentials flow',
  client_not_allowed: 'the token caller is not an allowed client for this issuer',

  basic_malformed: 'the Basic credential is malformed',
  basic_invalid_credentials: 'the username or secret is wrong',
  basic_rate_limited: 'too many failed attempts; try again later',

  client_certificate_invalid: 'the client certificate is not trusted or not valid now',
  client_certificate_identity: 'the client certificate names no single usable identity',

  authn_error: 'the credential could not be checked'
} as const

export type FailureCode = keyof typeof FAILURES

export interface AuthnFailure {
  ok: false
  code: FailureCode
  message: string
}

export function failure (code: FailureCode): AuthnFailure {
  return { ok: false, code, message: FAILURES[code] }
}
