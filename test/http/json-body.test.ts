import t from 'tap'
import { jsonDepth } from '../../src/http/json-body.js'

t.test('jsonDepth counts nesting outside strings', async (t) => {
  const table: Array<[string, number]> = [
    ['1', 0], ['{}', 1], ['[[]]', 2], ['{"a":{"b":[1,{"c":2}]}}', 4],
    ['{"a":"[[[[{{{{"}', 1], ['{"a":"\\"[[["}', 1], ['[' + '"\\\\"' + ']', 1]
  ]
  for (const [text, depth] of table) t.equal(jsonDepth(text), depth, text)
  t.equal(jsonDepth('['.repeat(100000), 32), 33, 'stops counting past the bound')
})
