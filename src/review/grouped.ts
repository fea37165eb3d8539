// Rows of one kind keyed by what the auditor reads; the routes (Basic, a
// token of an identity provider, a mapped client) that lead to the same row
// merge into its `via`. Listed in key order.
export class Grouped<T extends { via: string[] }> {
  private readonly rows = new Map<string, T>()

  add (key: string, make: () => T, via: string): void {
    let row = this.rows.get(key)
    if (!row) {
      row = make()
      this.rows.set(key, row)
    }
    if (!row.via.includes(via)) row.via.push(via)
  }

  list (): T[] {
    return [...this.rows.entries()].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([, row]) => row)
  }
}
