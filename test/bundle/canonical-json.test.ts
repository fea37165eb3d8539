// The canonical JSON OPA hashes structured bundle files as (v1/bundle/hash.go):
// sorted keys, no whitespace, Go's string escapes, numbers as written. The
// digests of OPA's own bundles are checked in bundle-signature.test.ts; these are
// the corners an example bundle does not reach.
import t from 'tap'
import { canonicalJson } from '../../src/bundle/canonical-json.js'

const canon = (text: string): string => canonicalJson(Buffer.from(text))

t.test('canonical form', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['keys sorted, whitespace dropped', '{ "b" : 1,\n "a": [ 1 , 2 ] }', '{"a":[1,2],"b":1}'],
    ['nested objects sorted too', '{"z":{"y":1,"x":{"b":null,"a":true}}}', '{"z":{"x":{"a":true,"b":null},"y":1}}'],
    ['numbers keep their text (OPA decodes with UseNumber)', '[1.50, 1e3, -0, 10E-2, 12345678901234567890]', '[1.50,1e3,-0,10E-2,12345678901234567890]'],
    ['a repeated key: the last wins', '{"a":1,"a":2}', '{"a":2}'],
    ['escapes decoded and re-encoded as Go does', '"\\u0041\\/\\b\\f\\n\\r\\t\\u0001"', '"A/\\b\\f\\n\\r\\t\\u0001"'],
    ['U+2028 and U+2029 escaped, as Go does', '"a\u2028b\u2029c"', '"a\\u2028b\\u2029c"'],
    ['HTML characters not escaped (SetEscapeHTML false)', '"<a&b>"', '"<a&b>"'],
    ['a lone surrogate becomes U+FFFD', '"\\ud800x"', '"\ufffdx"'],
    ['non-ASCII kept as UTF-8', '{"é":"ü"}', '{"é":"ü"}'],
    ['keys sorted by UTF-8 bytes, not UTF-16 units', '{"\uff61":1,"\ud83d\ude00":2}', '{"\uff61":1,"\ud83d\ude00":2}'],
    ['a byte order mark is dropped', '\ufeff{"a":1}', '{"a":1}'],
    ['empty containers', '{"a":{},"b":[]}', '{"a":{},"b":[]}']
  ]
  for (const [name, input, expected] of cases) t.equal(canon(input), expected, name)
})

t.test('not JSON: refused with where', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['trailing text', '{"a":1} x', /unexpected text after the value at offset 8/],
    ['unterminated string', '"abc', /unterminated string/],
    ['control character in a string', '"a\u0001"', /control character/],
    ['bad escape', '"\\x"', /malformed escape/],
    ['missing colon', '{"a" 1}', /expected ":"/],
    ['missing comma in an object', '{"a":1 "b":2}', /expected "," or "}"/],
    ['missing comma in an array', '[1 2]', /expected "," or "]"/],
    ['a key that is not a string', '{a:1}', /expected a key/],
    ['a leading zero', '012', /unexpected text/],
    ['a bare word', 'nope', /unexpected character/],
    ['nested a thousand deep', '['.repeat(1002) + ']'.repeat(1002), /nested too deeply/]
  ]
  for (const [name, input, message] of cases) t.throws(() => canon(input), { name: 'SyntaxError', message }, name)
})
