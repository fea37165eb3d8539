// A replaced policy is closed (its evaluation thread stopped) a while after the
// swap, not at once: a request takes the policy first and then awaits its
// authentication (a JWKS fetch, the Basic throttle over cluster IPC) before it
// decides, and a decision asked of a closed evaluator fails (500). Closing at
// the swap made a reload under load answer some of those requests 500.
export const RETIRE_AFTER_MS = 60_000

export function retire (policy: { close?: () => Promise<void> }, afterMs = RETIRE_AFTER_MS): void {
  const timer = setTimeout(() => { policy.close?.().catch(() => {}) }, afterMs)
  timer.unref()
}
