// Checks and compiles a policy directory to a WASM bundle with the pinned OPA CLI.
// The built-ins list shipped with @open-policy-agent/opa-wasm is passed to OPA as
// capabilities (via .tools/wasm-capabilities.json, which `npm install` writes; see
// scripts/setup-opa.mjs), so a policy that calls a built-in the WASM runtime lacks
// fails here, at build time, with OPA's own message — not at evaluation time.
//
// The OPA arguments live here once: the engine (start and hot reload), `verdict
// build`, `verdict check` and `verdict test` all build the served bundle with
// wasmBuildArgs(), so what is tested is what is served.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PolicyCompileError } from '../errors.js'
import { readBundle, type PolicyBundle } from '../bundle/bundle.js'
import { runOpaExit } from './opa-cli.js'
import { checkPolicyData } from './policy-data-check.js'
import { offThread } from './off-thread.js'

/** Policy tests sit beside the policies (x_test.rego) and are for `opa test`, not for the served bundle. */
export const TEST_FILES = '*_test.rego'
export const isTestFile = (path: string): boolean => path.endsWith('_test.rego')
/**
 * Hidden files and folders are not policy: .git, editors' swap files, and the
 * ..data / ..<timestamp> entries of a Kubernetes ConfigMap volume (whose files
 * would otherwise be compiled twice). OPA would load them; it is told not to.
 * The pattern needs a character after the dot: with `--bundle`, OPA matches
 * `.*` against the root `.` itself and loads nothing.
 */
export const HIDDEN_FILES = '.?*'
export const isHiddenName = (name: string): boolean => name.startsWith('.')

export function wasmCapabilitiesFile (): string {
  return fileURLToPath(new URL('../../.tools/wasm-capabilities.json', import.meta.url))
}

/**
 * `opa build` arguments for the served WASM bundle of the directory OPA runs in.
 * Run from inside the directory: OPA writes source paths into policy.wasm, and
 * relative paths keep the digest a function of the policies alone, not of where
 * the checkout happens to be.
 */
export function wasmBuildArgs (entrypoint: string, output: string, revision?: string): string[] {
  const args = ['build', '-t', 'wasm', '-e', entrypoint, '--capabilities', wasmCapabilitiesFile(), '--ignore', TEST_FILES, '--ignore', HIDDEN_FILES, '-o', output]
  if (revision) args.push('--revision', revision)
  return [...args, '.']
}

/** One error OPA found, located in a policy file. */
export interface PolicyProblem {
  file?: string
  row?: number
  col?: number
  code: string
  message: string
}

export function formatProblem (p: PolicyProblem): string {
  const where = p.file ? `${p.file}:${p.row ?? 0}${p.col ? `:${p.col}` : ''}: ` : ''
  return `${where}${p.code}: ${p.message}`
}

/** Verdict's entrypoint, whose `input` has a JSON Schema (schemas/policy-input.json). */
export const DECISION_ENTRYPOINT = 'verdict/decision'

/** schemas/policy-input.json, generated from src/contract/policy.ts (a test holds them equal). */
export function inputSchemaFile (): string {
  return fileURLToPath(new URL('../../schemas/policy-input.json', import.meta.url))
}

export interface CheckOptions {
  /** Check the *_test.rego files too (`verdict check`); the served policy leaves them out. */
  includeTests?: boolean
  /**
   * The entrypoint the policies are built for: for Verdict's own, OPA type-checks
   * every reference to `input` against its schema (`opa check --schema`), so a
   * misspelt input field is a compile error, not a rule that never matches.
   */
  entrypoint?: string
  /** Check the tenant data against its schema and references (default true; policy-data-check.ts). */
  data?: boolean
}

/**
 * `opa check --strict`, with file paths as the caller names the directory. Without
 * the tests, the policy files are checked against the WASM capabilities as well.
 * Then the tenant data (data.erp) against schemas/policy-data.json and its
 * references. Returns the problems; none means the policies check.
 */
export async function checkPolicies (dir: string, options: CheckOptions = {}): Promise<PolicyProblem[]> {
  // Side by side: the data check reads the files while OPA checks the Rego.
  const [rego, data] = await Promise.all([checkRego(dir, options), options.data === false ? [] : checkPolicyData(dir)])
  return [...rego, ...data]
}

async function checkRego (dir: string, options: CheckOptions): Promise<PolicyProblem[]> {
  const args = ['check', '--strict', '--format', 'json', '--max-errors', '-1', '--ignore', HIDDEN_FILES]
  if (!options.includeTests) args.push('--capabilities', wasmCapabilitiesFile(), '--ignore', TEST_FILES)
  if (options.entrypoint === DECISION_ENTRYPOINT) args.push('--schema', inputSchemaFile())
  args.push('.')
  const r = await runOpaExit(args, { cwd: resolve(dir) })
  if (r.code === 0) return []
  const text = r.stderr.trim() || r.stdout.trim()
  let parsed: { errors?: Array<{ code?: string, message?: string, location?: { file?: string, row?: number, col?: number } }> }
  try {
    parsed = JSON.parse(text)
  } catch {
    return [{ code: 'opa_check', message: relocate(text, dir) }]
  }
  return (parsed.errors ?? []).map((e) => {
    const p: PolicyProblem = { code: e.code ?? 'error', message: e.message ?? 'unknown error' }
    if (e.location?.file) {
      p.file = policyPath(dir, e.location.file)
      if (e.location.row) p.row = e.location.row
      if (e.location.col) p.col = e.location.col
    }
    return p
  })
}

/**
 * Builds the served WASM bundle into `output`; throws PolicyCompileError with OPA's
 * message, paths as the caller names them. OPA parses YAML data very slowly (9 MB,
 * 100k jobs: 57 s; the same data as JSON: 0.7 s), so the directory is staged first
 * with every YAML data file converted to JSON (stage-data.ts); the YAML stays the source.
 */
export async function buildWasm (dir: string, entrypoint: string, output: string, revision?: string): Promise<void> {
  const stage = await mkdtemp(join(tmpdir(), 'verdict-stage-'))
  try {
    // js-yaml reads 9.9 MB of YAML in about a second: in the data thread, so answering goes on meanwhile.
    await offThread.stageJsonData(resolve(dir), stage, dir)
    const r = await runOpaExit(wasmBuildArgs(entrypoint, output, revision), { cwd: stage })
    if (r.code !== 0) throw new PolicyCompileError(relocate((r.stderr.trim() || r.stdout.trim()).replace(/^error: /, ''), dir))
  } finally {
    await rm(stage, { recursive: true, force: true })
  }
}

export interface CompileOptions {
  dir: string
  entrypoint: string
  /** The manifest revision; without one the bundle is named by its digest. */
  revision?: string
  /** `opa check --strict` before building (default true): a strict error keeps the policy from loading. */
  check?: boolean
  /** With `check`, the tenant data check too (default true): data that fails it keeps the policy from loading. */
  checkData?: boolean
}

export async function compilePolicies (options: CompileOptions): Promise<PolicyBundle> {
  const check = options.check !== false
  const out = await mkdtemp(join(tmpdir(), 'verdict-build-'))
  const bundleFile = join(out, 'bundle.tar.gz')
  let bundle: PolicyBundle
  try {
    // The check and the build run side by side (a hot reload waits on both);
    // the check's problems, when there are any, are the error.
    const checking = check ? checkPolicies(options.dir, { data: false, entrypoint: options.entrypoint }) : Promise.resolve([])
    const building = buildWasm(options.dir, options.entrypoint, bundleFile, options.revision).then(() => undefined, (err: unknown) => err)
    const problems = await checking
    const buildError = await building
    if (problems.length > 0) throw new PolicyCompileError(problems.map(formatProblem).join('\n'))
    if (buildError !== undefined) throw buildError
    bundle = await readBundle(await readFile(bundleFile))
  } finally {
    await rm(out, { recursive: true, force: true })
  }
  // The data check on the data as built: exactly what will be evaluated.
  if (check && options.checkData !== false) {
    // JSON.parse and the schema check of 100k jobs take about 0.7 s: in the data thread too.
    const problems = await offThread.checkBundleData(options.dir, bundle.dataJson)
    if (problems.length > 0) throw new PolicyCompileError(problems.map(formatProblem).join('\n'))
  }
  return bundle
}

/** A path OPA reported relative to the directory it ran in, as the caller names the directory. */
function policyPath (dir: string, file: string): string {
  return isAbsolute(file) ? file : join(dir, file)
}

// OPA's text output starts each error with `relative/file.rego:ROW:`.
function relocate (text: string, dir: string): string {
  return text
    .replace(/(\.ya?ml)\.json\b/gi, '$1')
    .replace(/^([^\s:/][^\s:]*\.(?:rego|json|ya?ml)):(\d+)/gm, (_m, file: string, row: string) => `${policyPath(dir, file)}:${row}`)
}
