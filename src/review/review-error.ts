// An operational error of `verdict diff` / `verdict replay` (a bad ref, a policy
// that does not compile, an unreadable log). The commands print its message and
// exit 2; it never reaches the HTTP service, so it has no HTTP status code.
export class ReviewError extends Error {
  override name = 'ReviewError'
}
