// Rego linter for a policy directory — a small substitute for Regal, which cannot
// be installed here. It parses each file with `opa parse` (the pinned OPA, found
// by opa-binary.ts) and checks:
//   package-path    the package mirrors the folder under the policy directory
//                   (policies/verdict/api/x.rego -> package verdict.api)
//   test-placement  x_test.rego sits beside x.rego, in package <pkg>_test; a
//                   tenant's own tests sit beside its data instead (a folder
//                   with data files and no policy .rego, e.g. policies/erp/
//                   acme_test.rego in package erp_test)
//   metadata        every non-test package has a `# METADATA` block with a
//                   description (package scope), and every public rule (name
//                   not starting with `_`) has METADATA with a description
//   import          no `import future.keywords…` or `import rego.v1` (both are
//                   redundant in OPA 1.0; `opa check --strict` enforces the rest)
// Used by `verdict test` (policy-checks.ts) and `npm run lint`
// (scripts/lint-rego.mjs, a thin wrapper).
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { basename, dirname, join, relative, resolve, sep } from 'node:path'
import { opaBinary } from './opa-binary.js'

export interface RegoLintResult {
  /** `file:line: rule: message`, paths relative to the working directory */
  violations: string[]
  /** the .rego files parsed */
  files: number
}

/** The lint could not run (no OPA binary): not a verdict on the policies. */
export class RegoLintError extends Error {}

interface RuleAst {
  head: { name?: string, ref?: Array<{ value?: unknown }> }
  location?: { row?: number }
  annotations?: Annotation[]
}
interface Annotation { scope?: string, description?: unknown }
interface ModuleAst {
  package: { path: Array<{ value: unknown }>, location?: { row?: number } }
  imports?: Array<{ path: { value: Array<{ value: unknown }> }, location: { row: number } }>
  rules?: RuleAst[]
  annotations?: Annotation[]
}
interface Parsed { file: string, pkg: string, line: number, ast: ModuleAst }

function regoFiles (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return regoFiles(p)
    return e.name.endsWith('.rego') ? [p] : []
  }).sort()
}

const isTest = (file: string): boolean => file.endsWith('_test.rego')
const DATA_FILES = new Set(['data.json', 'data.yaml', 'data.yml'])
// A folder of tenant data: it (or a folder under it) holds data files, and it
// holds no policy .rego of its own.
const holdsData = (dir: string): boolean => readdirSync(dir, { withFileTypes: true }).some((e) =>
  e.isDirectory() ? holdsData(join(dir, e.name)) : DATA_FILES.has(e.name))
const isDataFolder = (dir: string): boolean => statSync(dir).isDirectory() && holdsData(dir) &&
  !readdirSync(dir).some((name) => name.endsWith('.rego') && !isTest(name))

const described = (annotations: Annotation[] | undefined, scopes: string[]): boolean =>
  (annotations ?? []).some((a) => scopes.includes(a.scope ?? '') && String(a.description ?? '').trim() !== '')

/** Lints every .rego file under `dir`. Throws RegoLintError when OPA cannot run. */
export function lintRego (dir: string, opa: string = opaBinary()): RegoLintResult {
  const root = resolve(dir)
  const violations: string[] = []
  const report = (file: string, line: number, rule: string, message: string): void => {
    violations.push(`${relative(process.cwd(), file)}:${line}: ${rule}: ${message}`)
  }

  // Parse every file: { file, pkg, line, ast } or a parse violation.
  const parsed: Parsed[] = []
  for (const file of regoFiles(root)) {
    let ast: ModuleAst
    try {
      ast = JSON.parse(execFileSync(opa, ['parse', '--format', 'json', '--json-include', 'locations,comments', file],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 })) as ModuleAst
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string }
      if (e.code === 'ENOENT') throw new RegoLintError(`cannot run OPA at ${opa}: run \`npm install\` (or set OPA_BIN)`)
      let errors: Array<{ message?: string, location?: { row?: number } }>
      try {
        errors = (JSON.parse(String(e.stderr)) as { errors: typeof errors }).errors
      } catch {
        errors = [{ message: String(e.stderr || e.message).trim() }]
      }
      for (const parseError of errors) report(file, parseError.location?.row ?? 1, 'parse', String(parseError.message))
      continue
    }
    const pkg = ast.package.path.slice(1).map((t) => String(t.value)).join('.')
    parsed.push({ file, pkg, line: ast.package.location?.row ?? 1, ast })
  }

  const folderPackage = (file: string): string => relative(root, dirname(file)).split(sep).filter(Boolean).join('.')

  // package-path and test-placement
  for (const { file, pkg, line } of parsed) {
    const folder = folderPackage(file)
    if (!folder) {
      report(file, line, 'package-path', 'Rego files belong in a folder under policies/ that names their package')
      continue
    }
    if (!isTest(file)) {
      if (pkg !== folder) report(file, line, 'package-path', `package ${pkg} should be ${folder} (its folder)`)
      continue
    }
    const tested = join(dirname(file), basename(file).replace(/_test\.rego$/, '.rego'))
    if (!existsSync(tested) && !isDataFolder(dirname(file))) {
      report(file, line, 'test-placement', `${basename(file)} has no ${basename(tested)} beside it (nor is it a tenant's test beside its data)`)
    }
    if (pkg !== `${folder}_test`) report(file, line, 'test-placement', `test package ${pkg} should be ${folder}_test`)
  }

  // metadata: per package, across its files
  const packages = new Map<string, Parsed[]>()
  for (const p of parsed.filter((p) => !isTest(p.file))) {
    if (!packages.has(p.pkg)) packages.set(p.pkg, [])
    packages.get(p.pkg)?.push(p)
  }
  for (const [pkg, files] of packages) {
    const first = files[0] as Parsed
    if (!files.some(({ ast }) => described(ast.annotations, ['package', 'subpackages']))) {
      report(first.file, first.line, 'metadata', `package ${pkg} has no METADATA block with a description`)
    }
    const rules = new Map<string, { file: string, line: number, documented: boolean }>()
    for (const { file, ast } of files) {
      for (const rule of ast.rules ?? []) {
        const name = rule.head.name || String(rule.head.ref?.[0]?.value ?? '')
        if (!name || name.startsWith('_')) continue
        const seen = rules.get(name) ?? { file, line: rule.location?.row ?? 1, documented: false }
        seen.documented ||= described(rule.annotations, ['rule', 'document'])
        rules.set(name, seen)
      }
    }
    for (const [name, { file, line, documented }] of rules) {
      if (!documented) report(file, line, 'metadata', `public rule ${pkg}.${name} has no METADATA with a description (or make it _private)`)
    }
  }

  // import
  for (const { file, ast } of parsed) {
    for (const imp of ast.imports ?? []) {
      const path = imp.path.value.map((t) => t.value)
      if (path[0] === 'future' && path[1] === 'keywords') {
        report(file, imp.location.row, 'import', 'import future.keywords is redundant in OPA 1.0: remove it')
      } else if (path[0] === 'rego' && path[1] === 'v1') {
        report(file, imp.location.row, 'import', 'import rego.v1 is redundant in OPA 1.0: remove it')
      }
    }
  }

  return { violations, files: parsed.length }
}

/** The lint's report as the command line prints it; ok when there is no violation. */
export function lintReport (dir: string, result: RegoLintResult): { ok: boolean, output: string } {
  const lines = [...result.violations]
  if (result.violations.length > 0) {
    lines.push(`lint-rego: ${result.violations.length} violation(s) in ${relative(process.cwd(), resolve(dir)) || '.'}`)
    return { ok: false, output: lines.join('\n') + '\n' }
  }
  return { ok: true, output: `lint-rego: ${result.files} files OK\n` }
}
