// Counts failed attempts per key (a username, a remote address) in a fixed
// window. Once a key reaches its limit, attempts are refused without checking
// the credential until the window ends, which makes online guessing slow.
interface Window {
  startedAt: number
  failures: number
}

export class FailureLimiter {
  // Map keeps insertion order: the first key is the oldest window.
  private readonly windows = new Map<string, Window>()

  constructor (
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly maxKeys = 10_000
  ) {}

  private current (key: string, now: number): Window | undefined {
    const window = this.windows.get(key)
    if (window !== undefined && now - window.startedAt >= this.windowMs) {
      this.windows.delete(key)
      return undefined
    }
    return window
  }

  isBlocked (key: string, now: number): boolean {
    return (this.current(key, now)?.failures ?? 0) >= this.maxFailures
  }

  recordFailure (key: string, now: number): void {
    const window = this.current(key, now)
    if (window !== undefined) {
      window.failures++
      return
    }
    // Bounded memory: forget the oldest window when full.
    if (this.windows.size >= this.maxKeys) {
      const oldest = this.windows.keys().next().value
      if (oldest !== undefined) this.windows.delete(oldest)
    }
    this.windows.set(key, { startedAt: now, failures: 1 })
  }

  /** Takes back one failure recorded ahead of a check that then succeeded. */
  forgiveOne (key: string, now: number): void {
    const window = this.current(key, now)
    if (window !== undefined && window.failures > 0) window.failures--
  }

  reset (key: string): void {
    this.windows.delete(key)
  }
}
