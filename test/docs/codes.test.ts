// The codes a caller can receive are documented: every error code of the registry
// (src/errors.ts), every authentication failure code and every reason code the
// policies and the engine produce must appear in docs/API.md. The registry must
// spell each code as it travels on the wire, so a grep for the wire code finds
// its source.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import * as errors from '../../src/errors.js'
import { FAILURES } from '../../src/authn/failures.js'

const repo = new URL('../../', import.meta.url).pathname
const apiDoc = readFileSync(join(repo, 'docs', 'API.md'), 'utf8')
const documented = (code: string): boolean => apiDoc.includes('`' + code + '`')

function regoFiles (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return regoFiles(p)
    return e.name.endsWith('.rego') && !e.name.endsWith('_test.rego') ? [p] : []
  })
}

/** The text of every `# METADATA` comment block of a Rego file. */
function metadataText (source: string): string {
  const blocks: string[] = []
  let inBlock = false
  for (const line of source.split('\n')) {
    if (/^\s*# METADATA\s*$/.test(line)) { inBlock = true; continue }
    if (inBlock && /^\s*#/.test(line)) { blocks.push(line); continue }
    inBlock = false
  }
  return blocks.join('\n')
}

/** Error codes as the registry's constructors produce them (what goes on the wire). */
function registryCodes (): string[] {
  const codes: string[] = []
  for (const value of Object.values(errors)) {
    if (typeof value !== 'function') continue
    const err = new (value as new (...args: unknown[]) => { code?: unknown })('x', 'y')
    if (typeof err.code === 'string') codes.push(err.code)
  }
  return codes
}

t.test('every error code of src/errors.ts is spelled as on the wire and documented', async (t) => {
  const wire = registryCodes()
  t.ok(wire.length >= 15, `the registry holds the error codes (${wire.length})`)
  const source = readFileSync(join(repo, 'src', 'errors.ts'), 'utf8')
  const spelled = [...source.matchAll(/createError\(\s*'([^']+)'/g)].map((m) => m[1])
  t.same([...spelled].sort(), [...wire].sort(), 'the source spells each code exactly as it is answered')
  // The error handler's fallbacks go on the wire too.
  const handler = readFileSync(join(repo, 'src', 'decision', 'public-error.ts'), 'utf8')
  const fallbacks = [...handler.matchAll(/codeOf\([^,]+,\s*'([A-Z_]+)'\)/g)].map((m) => m[1] as string)
  t.ok(fallbacks.length > 0, 'the error handler has fallback codes')
  for (const code of [...wire, ...fallbacks]) t.ok(documented(code), `${code} is in docs/API.md`)
})

t.test('every authentication failure code is documented', async (t) => {
  const codes = Object.keys(FAILURES)
  t.ok(codes.length >= 20)
  for (const code of codes) t.ok(documented(code), `${code} is in docs/API.md`)
})

t.test('every reason code of the policies is carried in METADATA and documented', async (t) => {
  const files = regoFiles(join(repo, 'policies'))
  t.ok(files.length > 0)
  const codes = new Set<string>()
  for (const file of files) {
    const source = readFileSync(file, 'utf8')
    const metadata = metadataText(source)
    const produced = [
      ...[...source.matchAll(/_reason\(\s*"([a-z_]+)"/g)].map((m) => m[1] as string),
      ...[...source.matchAll(/"code":\s*"([a-z_]+)"/g)].map((m) => m[1] as string)
    ]
    for (const code of new Set(produced)) {
      t.match(metadata, new RegExp(`\\b${code}\\b`), `${code} is named in the METADATA of ${file.slice(repo.length)}`)
      codes.add(code)
    }
  }
  t.ok(codes.size >= 20, `the policies produce reason codes (${codes.size})`)
  // The engine's own deny when the policy answers nothing.
  const result = readFileSync(join(repo, 'src', 'engine', 'result.ts'), 'utf8')
  for (const m of result.matchAll(/layer: 'policy', code: '([a-z_]+)'/g)) codes.add(m[1] as string)
  t.ok(codes.has('policy_undefined'), 'the engine default deny is found')
  for (const code of codes) t.ok(documented(code), `${code} is in docs/API.md`)
})
