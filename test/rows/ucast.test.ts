// The canonical form of a checked filter: keys in the documented order, and
// the string lists of `in` and `nin` sorted (WASM lists a set in hash order).
import t from 'tap'
import { canonicalRows } from '../../src/rows/ucast.js'
import type { Rows } from '../../src/contract/rows.js'

const field = (operator: string, value: unknown): Rows => ({ kind: 'conditional', filter: { value, operator, field: 'F', type: 'field' } as never })

t.test('in and nin string lists are sorted, other values kept', async (t) => {
  t.same(canonicalRows(field('in', ['b', 'a', 'C'])), { kind: 'conditional', filter: { type: 'field', field: 'F', operator: 'in', value: ['C', 'a', 'b'] } })
  t.same(canonicalRows(field('nin', ['z', 'y'])), { kind: 'conditional', filter: { type: 'field', field: 'F', operator: 'nin', value: ['y', 'z'] } })
  t.same(canonicalRows(field('in', ['b', null, 'a'])), { kind: 'conditional', filter: { type: 'field', field: 'F', operator: 'in', value: ['b', null, 'a'] } }, 'a list with a non-string keeps its order')
  t.same(canonicalRows(field('eq', 'b')), { kind: 'conditional', filter: { type: 'field', field: 'F', operator: 'eq', value: 'b' } })
  const nested: Rows = { kind: 'conditional', filter: { type: 'compound', operator: 'and', value: [{ type: 'field', field: 'F', operator: 'in', value: ['2', '1'] }] } }
  t.same(canonicalRows(nested), { kind: 'conditional', filter: { type: 'compound', operator: 'and', value: [{ type: 'field', field: 'F', operator: 'in', value: ['1', '2'] }] } })
  const list = ['b', 'a']
  canonicalRows(field('in', list))
  t.same(list, ['b', 'a'], 'the policy result is not changed in place')
  t.same(canonicalRows({ kind: 'none' }), { kind: 'none' })
})
