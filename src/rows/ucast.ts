// UCAST conditions in the expanded syntax OPA's Compile API emits, so that
// @ucast/* and @open-policy-agent/ucast-prisma consume a row filter as it is.
import type { Condition, Rows } from '../contract/rows.js'

// The types are the contract's (src/contract/rows.ts); here are the checks.
export type { CompoundCondition, CompoundOperator, Condition, FieldCondition, FieldOperator, Rows } from '../contract/rows.js'

const FIELD_OPERATORS = new Set<string>(['eq', 'ne', 'in', 'nin', 'lt', 'lte', 'gt', 'gte'])
const COMPOUND_OPERATORS = new Set<string>(['and', 'or', 'not'])
const MAX_DEPTH = 16

/** True when `value` is a well-formed condition tree (bounded depth). */
export function isCondition (value: unknown, depth = 0): value is Condition {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return false
  const c = value as Record<string, unknown>
  if (c.type === 'field') {
    return typeof c.field === 'string' && typeof c.operator === 'string' && FIELD_OPERATORS.has(c.operator) && 'value' in c
  }
  if (c.type === 'compound') {
    return typeof c.operator === 'string' && COMPOUND_OPERATORS.has(c.operator) &&
      Array.isArray(c.value) && c.value.every((v) => isCondition(v, depth + 1))
  }
  return false
}

/** True when `value` is a well-formed `rows` answer. */
export function isRows (value: unknown): value is Rows {
  if (value === null || typeof value !== 'object') return false
  const r = value as Record<string, unknown>
  if (r.kind === 'all' || r.kind === 'none') return true
  return r.kind === 'conditional' && isCondition(r.filter)
}

/**
 * The same condition with keys in the documented order (type, operator, field,
 * value), and the string lists of `in` and `nin` sorted. WASM returns object
 * keys and set members in its own (hash) order, and the policy cannot sort a
 * large list there (WASM's sort is an insertion sort: 20,000 jobs took 1.1 s;
 * policies/verdict/application/scope.rego); callers, logs and caches read
 * filters more easily in one stable order. Call only on a checked condition.
 */
export function canonicalCondition (c: Condition): Condition {
  if (c.type === 'field') return { type: 'field', field: c.field, operator: c.operator, value: canonicalValue(c.operator, c.value) }
  return { type: 'compound', operator: c.operator, value: c.value.map(canonicalCondition) }
}

// Only a list of strings is sorted (UTF-16 code-unit order): a
// list with other values keeps the policy's order.
function canonicalValue (operator: string, value: unknown): unknown {
  if ((operator !== 'in' && operator !== 'nin') || !Array.isArray(value) || !value.every((v) => typeof v === 'string')) return value
  return [...(value as string[])].sort()
}

export function canonicalRows (rows: Rows): Rows {
  return rows.kind === 'conditional' ? { kind: 'conditional', filter: canonicalCondition(rows.filter) } : { kind: rows.kind }
}
