// A reference reading of a UCAST condition on one in-memory row, with the
// policy's semantics (a missing or NULL field is null; null equals null and
// differs from every value; an ordering comparison never matches null). The
// tests hold the SQL renderer and the Kysely helper to this, on real databases.
import type { Condition } from '../../src/rows/ucast.js'

type Value = string | number | boolean | null

export function matches (row: Record<string, unknown>, c: Condition): boolean {
  if (c.type === 'compound') {
    switch (c.operator) {
      case 'and': return c.value.every((x) => matches(row, x))
      case 'or': return c.value.some((x) => matches(row, x))
      case 'not': return !matches(row, c.value[0] as Condition)
    }
  }
  const v = (row[c.field] ?? null) as Value
  switch (c.operator) {
    case 'eq': return v === c.value
    case 'ne': return v !== c.value
    case 'in': return (c.value as Value[]).includes(v)
    case 'nin': return !(c.value as Value[]).includes(v)
    default: {
      const w = c.value as Value
      if (v === null || w === null || typeof v !== typeof w) return false
      switch (c.operator) {
        case 'lt': return v < w
        case 'lte': return v <= w
        case 'gt': return v > w
        case 'gte': return v >= w
      }
    }
  }
  return false
}
