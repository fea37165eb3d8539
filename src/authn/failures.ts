// Every reason an authentication can fail, with the one human message the
// service answers with. Messages are fixed text on purpose: they never echo
// the token, the secret or anything else the caller sent.

export const FAILURES = {
  credential_missing: 'no Authorization header was sent',
  scheme_unsupported: 'the Authorization scheme is not supported (use Bearer or Basic)',

  // The token's form, read before anything is fetched or verified.
  token_too_large: 'the bearer token is larger than allowed',
  token_whitespace: 'the bearer token contains whitespace or control characters',
  token_malformed: 'the bearer token is not a compact JWS (three base64url segments)',
  token_encrypted: 'the bearer token is an encrypted JWT (JWE), which is not accepted',
  token_header_invalid: 'the token header is not a JSON object',
  token_payload_invalid: 'the token payload is not a JSON object',
  token_duplicate_member: 'the token header or payload names the same member twice',
  token_nested: 'the bearer token is a nested JWT, which is not accepted',
  token_header_forbidden: 'the token header points at a key (jku, x5u, jwk or x5c); keys come only from the configured issuer',
  token_crit_unsupported: 'the token header marks extensions as critical (crit); none are supported',
  claim_string_invalid: 'a token claim holds a string that is not well-formed Unicode',

  // Issuer, algorithm and key.
  issuer_missing: 'the token has no iss claim',
  issuer_not_string: 'the token iss claim is not a single string',
  issuer_untrusted: 'the token issuer is not a trusted issuer',
  algorithm_none: 'the token is unsecured (alg none), which is never accepted',
  algorithm_symmetric: 'the token uses an HMAC algorithm; only the issuer\'s published asymmetric keys are accepted',
  algorithm_unknown: 'the token alg is not a registered JWS algorithm name (names are case-sensitive)',
  algorithm_not_allowed: 'the token algorithm is not allowed for this issuer',
  kid_missing: 'the token header has no key id (kid)',
  kid_invalid: 'the token key id (kid) is not a string of 1 to 256 printable characters',
  key_not_found: 'no signing key with the token key id is published by the issuer',
  key_algorithm_mismatch: 'the published key the token names cannot verify the token\'s algorithm',
  jwks_unavailable: "the issuer's signing keys could not be fetched",
  signature_missing: 'the token has no signature',
  signature_invalid: 'the token signature is invalid',

  // Claims.
  claim_type_invalid: 'a registered claim has the wrong type (exp, nbf and iat are numbers; aud is a string or strings)',
  expiry_missing: 'the token has no exp claim',
  token_expired: 'the token has expired',
  token_not_yet_valid: 'the token is not valid yet',
  token_issued_in_future: 'the token was issued in the future (iat)',
  audience_missing: 'the token has no aud claim',
  audience_mismatch: 'the token audience is not accepted',
  token_invalid: 'the token is invalid',

  // The identity provider's profile.
  tenant_mismatch: 'the token was issued for another tenant',
  token_not_client_credentials: 'the token was not issued to an application through the client-credentials flow',
  client_id_missing: 'the token does not name its caller in the claim its issuer profile uses',
  client_not_allowed: 'the token caller is not an allowed client for this issuer',
  email_not_verified: 'the token email is allow-listed but the issuer has not verified it (email_verified is not true)',

  basic_malformed: 'the Basic credential is malformed',
  basic_invalid_credentials: 'the username or secret is wrong',
  basic_rate_limited: 'too many failed attempts for this account from this client; wait before trying again',

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
