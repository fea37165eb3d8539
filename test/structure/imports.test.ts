// Structure the layout promises, held by reading the sources: evaluation
// (src/engine) knows neither authentication nor SQL rendering, and the contract
// (src/contract) compiles on its own (the client package builds it in).
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import t from 'tap'

const SRC = new URL('../../src', import.meta.url).pathname

async function sources (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...await sources(path))
    else if (entry.name.endsWith('.ts')) out.push(path)
  }
  return out
}

/** Every module specifier a file imports or re-exports (static and dynamic). */
export function specifiers (text: string): string[] {
  const found: string[] = []
  const patterns = [/\bfrom\s+['"]([^'"]+)['"]/g, /\bimport\s+['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g]
  for (const pattern of patterns) for (const m of text.matchAll(pattern)) found.push(m[1] as string)
  return found
}

t.test('the specifier reader sees every import form', async (t) => {
  const text = "import a from '../authn/x.js'\nimport type { B } from \"../rows/sql.js\"\nexport { c } from '../authn/y.js'\nimport '../z.js'\nconst d = await import('../authn/w.js')"
  t.same(specifiers(text).sort(), ['../authn/w.js', '../authn/x.js', '../authn/y.js', '../rows/sql.js', '../z.js'])
})

t.test('src/engine imports neither src/authn nor src/rows/sql', async (t) => {
  const files = await sources(join(SRC, 'engine'))
  t.ok(files.length >= 4, 'the engine has its files')
  for (const file of files) {
    const bad = specifiers(await readFile(file, 'utf8')).filter((s) => /(^|\/)authn(\/|$)|(^|\/)rows\/sql(\.js)?$/.test(s))
    t.same(bad, [], relative(SRC, file))
  }
})

t.test('src/contract imports nothing but @sinclair/typebox and itself', async (t) => {
  const files = await sources(join(SRC, 'contract'))
  t.ok(files.length >= 3, 'the contract has its files')
  for (const file of files) {
    const bad = specifiers(await readFile(file, 'utf8')).filter((s) => !(s === '@sinclair/typebox' || /^\.\/[a-z-]+\.js$/.test(s)))
    t.same(bad, [], relative(SRC, file))
  }
})
