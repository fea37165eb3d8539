// A bounded map whose entries expire: the verified-credential caches (bearer
// tokens, Basic credentials) keep their results here. Least recently used
// entries are evicted first when full, so a flood of one-off credentials
// pushes out only entries nobody is using. Expiry is fixed when an entry is
// set; reading an entry never extends it.
interface Entry<V> {
  value: V
  expiresAtMs: number
}

export class ExpiringCache<V> {
  // Map keeps insertion order: a read re-inserts, so the first key is the least recently used.
  private readonly entries = new Map<string, Entry<V>>()

  constructor (private readonly maxEntries: number) {}

  get (key: string, nowMs: number): V | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    this.entries.delete(key)
    if (nowMs >= entry.expiresAtMs) return undefined
    this.entries.set(key, entry)
    return entry.value
  }

  set (key: string, value: V, expiresAtMs: number): void {
    this.entries.delete(key)
    if (this.maxEntries <= 0) return
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value
      if (oldest === undefined) break
      this.entries.delete(oldest)
    }
    this.entries.set(key, { value, expiresAtMs })
  }

  clear (): void {
    this.entries.clear()
  }

  get size (): number {
    return this.entries.size
  }
}
