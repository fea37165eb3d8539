// OPA's digest of a structured bundle file (data.json, .manifest), as its bundle
// signing computes it (v1/bundle/hash.go): the file is parsed, then hashed as
// canonical JSON — object keys sorted bytewise, no whitespace, strings encoded the
// way Go's encoding/json does without HTML escaping, and numbers as the literal
// text of the file (OPA decodes with UseNumber, so `1.50` stays `1.50`). JSON.parse
// would lose that text, hence the small parser here.
import { createHash } from 'node:crypto'

class JsonNumber {
  constructor (readonly text: string) {}
}

type Value = null | boolean | string | JsonNumber | Value[] | Map<string, Value>

/** Hex digest of a structured file as OPA hashes it; throws on text that is not JSON. */
export function structuredDigest (text: Buffer, algorithm: string): string {
  return createHash(algorithm).update(canonicalJson(text), 'utf8').digest('hex')
}

export function canonicalJson (text: Buffer): string {
  let s = text.toString('utf8')
  if (s.charCodeAt(0) === 0xfeff) s = s.slice(1) // a UTF-8 byte order mark, as OPA strips it
  const parser = new Parser(s)
  const value = parser.document()
  return encode(value)
}

function encode (value: Value): string {
  if (value === null) return 'null'
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  if (typeof value === 'string') return encodeString(value)
  if (value instanceof JsonNumber) return value.text
  if (Array.isArray(value)) return '[' + value.map(encode).join(',') + ']'
  // Go sorts map keys as UTF-8 bytes; UTF-16 order differs above the BMP.
  const keys = [...value.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  return '{' + keys.map((k) => encodeString(k) + ':' + encode(value.get(k) as Value)).join(',') + '}'
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

// JSON.stringify escapes what Go escapes (quote, backslash, \b \f \n \r \t, other
// control characters as \u00xx) except U+2028/U+2029, which Go always escapes;
// a lone surrogate is U+FFFD once Go has decoded it.
function encodeString (s: string): string {
  return JSON.stringify(s.replace(LONE_SURROGATE, '\ufffd')).replace(/[\u2028\u2029]/g, (c) => c === '\u2028' ? '\\u2028' : '\\u2029')
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
const ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y
const WHITESPACE = /[ \t\n\r]*/y
const MAX_DEPTH = 1000

class Parser {
  private pos = 0
  constructor (private readonly s: string) {}

  document (): Value {
    const v = this.value(0)
    this.skip()
    if (this.pos !== this.s.length) this.fail('unexpected text after the value')
    return v
  }

  private value (depth: number): Value {
    if (depth > MAX_DEPTH) this.fail('nested too deeply')
    this.skip()
    const c = this.s[this.pos]
    if (c === '{') return this.object(depth)
    if (c === '[') return this.array(depth)
    if (c === '"') return this.string()
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.s.startsWith(word, this.pos)) {
        this.pos += word.length
        return v
      }
    }
    NUMBER.lastIndex = this.pos
    const m = NUMBER.exec(this.s)
    if (!m) this.fail('unexpected character')
    this.pos += (m as RegExpExecArray)[0].length
    return new JsonNumber((m as RegExpExecArray)[0])
  }

  private object (depth: number): Map<string, Value> {
    const out = new Map<string, Value>()
    this.pos++
    this.skip()
    if (this.s[this.pos] === '}') {
      this.pos++
      return out
    }
    for (;;) {
      this.skip()
      if (this.s[this.pos] !== '"') this.fail('expected a key')
      const key = this.string()
      this.skip()
      if (this.s[this.pos] !== ':') this.fail('expected ":"')
      this.pos++
      out.set(key, this.value(depth + 1)) // a repeated key: the last wins, as in Go
      this.skip()
      const c = this.s[this.pos++]
      if (c === '}') return out
      if (c !== ',') this.fail('expected "," or "}"')
    }
  }

  private array (depth: number): Value[] {
    const out: Value[] = []
    this.pos++
    this.skip()
    if (this.s[this.pos] === ']') {
      this.pos++
      return out
    }
    for (;;) {
      out.push(this.value(depth + 1))
      this.skip()
      const c = this.s[this.pos++]
      if (c === ']') return out
      if (c !== ',') this.fail('expected "," or "]"')
    }
  }

  // Finds the closing quote by hand (a regex over a megabyte-long string can
  // exhaust the regex engine's backtracking stack); JSON.parse decodes the escapes.
  private string (): string {
    const start = this.pos
    let i = start + 1
    for (;;) {
      const c = this.s.charCodeAt(i)
      if (Number.isNaN(c)) this.fail('unterminated string')
      if (c === 0x22) break
      if (c < 0x20) this.fail('control character in a string')
      if (c === 0x5c) {
        ESCAPE.lastIndex = i
        const m = ESCAPE.exec(this.s)
        if (!m) {
          this.pos = i
          this.fail('malformed escape')
        }
        i += (m as RegExpExecArray)[0].length
      } else {
        i++
      }
    }
    this.pos = i + 1
    return JSON.parse(this.s.slice(start, this.pos)) as string
  }

  private skip (): void {
    WHITESPACE.lastIndex = this.pos
    this.pos += (WHITESPACE.exec(this.s) as RegExpExecArray)[0].length
  }

  private fail (why: string): never {
    throw new SyntaxError(`${why} at offset ${this.pos}`)
  }
}
