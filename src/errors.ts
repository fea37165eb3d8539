// Every error code Verdict answers with, in one place. A client's mistake is a
// 4xx with `{ code, message }`; anything else is a 5xx whose details stay in the
// log (the error handler in app.ts hides them). Decisions themselves — including
// "the credential failed" (status 401 in the body) — are not errors.
import createError from '@fastify/error'

// Malformed decision requests (HTTP 400)
export const InvalidJsonError = createError('INVALID_JSON', 'request body is not valid JSON: %s', 400)
export const BodyTooDeepError = createError('BODY_TOO_DEEP', 'request body nests deeper than %d levels', 400)
export const InvalidRequestError = createError('REQUEST_INVALID', '%s', 400)
export const MethodUnknownError = createError('METHOD_UNKNOWN', 'method %s is not one of GET, HEAD, POST, PUT, PATCH, DELETE', 400)
export const PathNotApiError = createError('PATH_NOT_API', 'path %s is not an ERP REST API path (/{env}/{module}-rest-api/rest/{version}/{resource}[/{id}])', 400)
export const SqlDialectUnknownError = createError('SQL_DIALECT_UNKNOWN', 'sql dialect %s is not one of %s', 400)
export const BatchTooLargeError = createError('BATCH_TOO_LARGE', 'a batch holds at most %d items; this one has %d', 400)
export const BatchEmptyError = createError('BATCH_EMPTY', 'a batch needs "items": an array of 1 to %d decision requests', 400)
// Paths and strings that cannot be decided as written (HTTP 400): a path with a
// second spelling, an env, version or endpoint that is not served, a string
// that is not well-formed Unicode (the policy engine cannot read it).
export const PathNotCanonicalError = createError('PATH_NOT_CANONICAL', 'path %s is not canonical: %s; send the exact path the service routes, unencoded', 400)
export const PathUnknownError = createError('PATH_UNKNOWN', '%s', 400)
export const StringNotWellFormedError = createError('STRING_NOT_WELL_FORMED', '%s holds a string that is not well-formed Unicode (a lone UTF-16 surrogate)', 400)

// Transport-level client errors
export const BodyTooLargeError = createError('BODY_TOO_LARGE', 'request body is larger than %d bytes', 413)
export const UnsupportedMediaTypeError = createError('UNSUPPORTED_MEDIA_TYPE', 'send the decision request as application/json', 415)
export const NotFoundError = createError('NOT_FOUND', 'route %s %s does not exist', 404)
// Answered on the socket before a request exists (http/client-errors.ts); the
// connection is closed after the answer.
export const RequestTimeoutError = createError('REQUEST_TIMEOUT', 'the request was not received completely within %d ms', 408)
export const HeadersTooLargeError = createError('HEADERS_TOO_LARGE', 'the request headers are larger than %d bytes', 431)
export const HttpMalformedError = createError('HTTP_MALFORMED', 'the request is not well-formed HTTP/1.1', 400)

// Engine failures (HTTP 5xx, never an allow)
export const PolicyNotLoadedError = createError('POLICY_NOT_LOADED', 'no policy is loaded yet', 503)
export const PolicyEvaluationError = createError('POLICY_EVALUATION_FAILED', 'policy evaluation failed: %s', 500)
export const PolicyCompileError = createError('POLICY_COMPILE_FAILED', 'policy compilation failed: %s', 500)
export const PolicyBundleError = createError('POLICY_BUNDLE_INVALID', 'policy bundle is invalid: %s', 500)
// A decision that ran past the evaluation deadline (src/engine/isolate.ts): answered
// 503, never an allow; the evaluator that ran it is replaced.
export const EvaluationTimeoutError = createError('EVALUATION_TIMEOUT', 'the policy evaluation did not finish within %d ms', 503)
// A row filter the SQL renderer cannot express (a field without a column in the
// object's mapping, a value that is not a scalar): a policy defect, never an allow.
export const SqlRenderError = createError('SQL_RENDER_FAILED', 'the row filter cannot be rendered as SQL: %s', 500)
// GET /metrics in a worker whose primary did not answer with the aggregate of all workers.
export const MetricsUnavailableError = createError('METRICS_UNAVAILABLE', 'the metrics of all workers could not be gathered; try again', 503)

// AuthZEN Authorization API (src/authzen): the PEP's credential, the request's
// content type, and search page tokens
export const PepUnauthenticatedError = createError('PEP_UNAUTHENTICATED', '%s', 401)
export const PepNotAllowedError = createError('PEP_NOT_ALLOWED', '%s', 403)
export const RequestNotJsonError = createError('REQUEST_NOT_JSON', 'send the request as a JSON object with Content-Type: application/json', 400)
export const PageTokenInvalidError = createError('PAGE_TOKEN_INVALID', 'page.token %s', 400)

// POST /v1/explain (src/routes/explain.ts): the caller's credential and admin
// role, and an explanation that cannot be given for the served policy
export const ExplainUnauthenticatedError = createError('EXPLAIN_UNAUTHENTICATED', '%s', 401)
export const ExplainForbiddenError = createError('EXPLAIN_FORBIDDEN', '%s', 403)
export const ExplainUnavailableError = createError('EXPLAIN_UNAVAILABLE', '%s', 503)
export const ExplainStaleError = createError('EXPLAIN_STALE', 'the policy directory differs from the served policy (a change not yet reloaded): retry after the reload', 409)

// Forward-auth: an allowed request whose row filter is larger than the header
// bound (forwardAuth.maxFilterBytes) is refused, never let through without it.
export const RowFilterTooLargeError = createError('ROW_FILTER_TOO_LARGE', 'the row filter is %d characters as X-Verdict-Filter, over the bound of %d', 500)

// Configuration (raised at start-up, before anything listens)
export const ConfigInvalidError = createError('CONFIG_INVALID', 'configuration is invalid: %s', 500)

// Policy lifecycle (never answered to a caller: they keep the last good policy
// active and surface in /health and the log)
export const PolicyBundleRefusedError = createError('POLICY_BUNDLE_REFUSED', 'policy bundle refused: %s', 500)
export const PolicyFetchError = createError('POLICY_BUNDLE_FETCH_FAILED', 'policy bundle download failed: %s', 500)
