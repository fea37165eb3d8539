// Compiles a policy directory to a WASM bundle with the pinned OPA CLI. The
// built-ins list shipped with @open-policy-agent/opa-wasm is passed to `opa build`
// as capabilities (via .tools/wasm-capabilities.json, which `npm install` writes;
// see scripts/setup-opa.mjs), so a policy that calls a built-in the WASM runtime
// lacks fails here, at build time, with OPA's own message — not at evaluation time.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PolicyCompileError } from '../errors.js'
import { readBundle, type PolicyBundle } from './bundle.js'
import { runOpa } from './opa-cli.js'

export function wasmCapabilitiesFile (): string {
  return fileURLToPath(new URL('../../.tools/wasm-capabilities.json', import.meta.url))
}

export interface CompileOptions {
  dir: string
  entrypoint: string
  revision?: string
}

export async function compilePolicies (options: CompileOptions): Promise<PolicyBundle> {
  const out = await mkdtemp(join(tmpdir(), 'verdict-build-'))
  const bundleFile = join(out, 'bundle.tar.gz')
  try {
    // Policy tests (*_test.rego) are for `opa test`, not for the served bundle.
    const args = ['build', '-t', 'wasm', '-e', options.entrypoint,
      '--capabilities', wasmCapabilitiesFile(), '--ignore', '*_test.rego', '-o', bundleFile]
    if (options.revision) args.push('--revision', options.revision)
    // Built from inside the directory: OPA writes source paths into policy.wasm,
    // and relative paths keep the digest a function of the policies alone, not of
    // where the checkout happens to be.
    args.push('.')
    try {
      await runOpa(args, { cwd: resolve(options.dir) })
    } catch (err) {
      throw new PolicyCompileError((err as Error).message)
    }
    return await readBundle(await readFile(bundleFile))
  } finally {
    await rm(out, { recursive: true, force: true })
  }
}
