// Every error code Verdict answers with, in one place. A client's mistake is a
// 4xx with `{ code, message }`; anything else is a 5xx whose details stay in the
// log (the error handler in app.ts hides them). Decisions themselves — including
// "the credential failed" (status 401 in the body) — are not errors.
import createError from '@fastify/error'

// Malformed decision requests (HTTP 400)
export const InvalidJsonError = createError('invalid_json', 'request body is not valid JSON: %s', 400)
export const BodyTooDeepError = createError('body_too_deep', 'request body nests deeper than %d levels', 400)
export const InvalidRequestError = createError('request_invalid', '%s', 400)
export const MethodUnknownError = createError('method_unknown', 'method %s is not one of GET, HEAD, POST, PUT, PATCH, DELETE', 400)
export const PathNotApiError = createError('path_not_api', 'path %s is not an ERP REST API path (/{env}/{module}-rest-api/rest/{version}/{resource}[/{id}])', 400)
export const SqlDialectUnknownError = createError('sql_dialect_unknown', 'sql dialect %s is not one of %s', 400)
export const BatchTooLargeError = createError('batch_too_large', 'a batch holds at most %d items; this one has %d', 400)
export const BatchEmptyError = createError('batch_empty', 'a batch needs "items": an array of 1 to %d decision requests', 400)

// Transport-level client errors
export const BodyTooLargeError = createError('body_too_large', 'request body is larger than %d bytes', 413)
export const UnsupportedMediaTypeError = createError('unsupported_media_type', 'send the decision request as application/json', 415)
export const NotFoundError = createError('not_found', 'route %s %s does not exist', 404)

// Engine failures (HTTP 5xx, never an allow)
export const PolicyNotLoadedError = createError('policy_not_loaded', 'no policy is loaded yet', 503)
export const PolicyEvaluationError = createError('policy_evaluation_failed', 'policy evaluation failed: %s', 500)
export const PolicyCompileError = createError('policy_compile_failed', 'policy compilation failed: %s', 500)
export const PolicyBundleError = createError('policy_bundle_invalid', 'policy bundle is invalid: %s', 500)
// A row filter the SQL renderer cannot express (a field without a column in the
// object's mapping, a value that is not a scalar): a policy defect, never an allow.
export const SqlRenderError = createError('sql_render_failed', 'the row filter cannot be rendered as SQL: %s', 500)

// AuthZEN Authorization API (src/authzen): the PEP's credential, the request's
// content type, and search page tokens
export const PepUnauthenticatedError = createError('pep_unauthenticated', '%s', 401)
export const PepNotAllowedError = createError('pep_not_allowed', '%s', 403)
export const RequestNotJsonError = createError('request_not_json', 'send the request as a JSON object with Content-Type: application/json', 400)
export const PageTokenInvalidError = createError('page_token_invalid', 'page.token %s', 400)

// Configuration (raised at start-up, before anything listens)
export const ConfigInvalidError = createError('config_invalid', 'configuration is invalid: %s', 500)

// Policy lifecycle (never answered to a caller: they keep the last good policy
// active and surface in /health and the log)
export const PolicyBundleRefusedError = createError('policy_bundle_refused', 'policy bundle refused: %s', 500)
export const PolicyFetchError = createError('policy_bundle_fetch_failed', 'policy bundle download failed: %s', 500)
