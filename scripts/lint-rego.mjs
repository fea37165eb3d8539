#!/usr/bin/env node
// Rego linter for policies/ — a small substitute for Regal, which cannot be
// installed here. It parses each file with `opa parse` and checks:
//   package-path    the package mirrors the folder under policies/
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
// Prints `file:line: rule: message` per violation and exits 1 if there is any.
//
// Usage: node scripts/lint-rego.mjs [policies-dir]
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { basename, dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const root = resolve(process.argv[2] ?? join(repo, 'policies'))

function opaBinary () {
  if (process.env.OPA_BIN) return process.env.OPA_BIN
  const local = join(repo, '.tools', 'bin', 'opa')
  if (existsSync(local)) return local
  console.error(`lint-rego: no OPA binary (OPA_BIN unset, ${relative(process.cwd(), local)} missing): run \`npm install\``)
  process.exit(2)
}

function regoFiles (dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return regoFiles(p)
    return e.name.endsWith('.rego') ? [p] : []
  }).sort()
}

const opa = opaBinary()
const violations = []
const report = (file, line, rule, message) =>
  violations.push(`${relative(process.cwd(), file)}:${line}: ${rule}: ${message}`)

// Parse every file: { file, pkg, line, ast } or a parse violation.
const parsed = []
for (const file of regoFiles(root)) {
  let ast
  try {
    ast = JSON.parse(execFileSync(opa, ['parse', '--format', 'json', '--json-include', 'locations,comments', file],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 }))
  } catch (err) {
    if (err.code === 'ENOENT') {
      console.error(`lint-rego: cannot run OPA at ${opa}: run \`npm install\` (or set OPA_BIN)`)
      process.exit(2)
    }
    let errors
    try { errors = JSON.parse(err.stderr).errors } catch { errors = [{ message: String(err.stderr || err.message).trim() }] }
    for (const e of errors) report(file, e.location?.row ?? 1, 'parse', e.message)
    continue
  }
  const pkg = ast.package.path.slice(1).map((t) => t.value).join('.')
  parsed.push({ file, pkg, line: ast.package.location?.row ?? 1, ast })
}

const isTest = (file) => file.endsWith('_test.rego')
const DATA_FILES = new Set(['data.json', 'data.yaml', 'data.yml'])
// A folder of tenant data: it (or a folder under it) holds data files, and it
// holds no policy .rego of its own.
const holdsData = (dir) => readdirSync(dir, { withFileTypes: true }).some((e) =>
  e.isDirectory() ? holdsData(join(dir, e.name)) : DATA_FILES.has(e.name))
const isDataFolder = (dir) => statSync(dir).isDirectory() && holdsData(dir) &&
  !readdirSync(dir).some((name) => name.endsWith('.rego') && !isTest(name))
const folderPackage = (file) => relative(root, dirname(file)).split(sep).filter(Boolean).join('.')

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
const described = (annotations, scopes) =>
  (annotations ?? []).some((a) => scopes.includes(a.scope) && String(a.description ?? '').trim() !== '')
const packages = new Map()
for (const p of parsed.filter((p) => !isTest(p.file))) {
  if (!packages.has(p.pkg)) packages.set(p.pkg, [])
  packages.get(p.pkg).push(p)
}
for (const [pkg, files] of packages) {
  if (!files.some(({ ast }) => described(ast.annotations, ['package', 'subpackages']))) {
    report(files[0].file, files[0].line, 'metadata', `package ${pkg} has no METADATA block with a description`)
  }
  const rules = new Map() // rule name -> { file, line, documented }
  for (const { file, ast } of files) {
    for (const rule of ast.rules ?? []) {
      const name = rule.head.name || rule.head.ref?.[0]?.value
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

for (const v of violations) console.log(v)
if (violations.length > 0) {
  console.error(`lint-rego: ${violations.length} violation(s) in ${relative(process.cwd(), root) || '.'}`)
  process.exit(1)
}
console.log(`lint-rego: ${parsed.length} files OK`)
