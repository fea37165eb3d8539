// Shared by the policy lifecycle tests (engine, health, CLI): temp dirs, a copy
// of the example policies to edit, signing keys made at test time, bundles built
// and signed by the real OPA CLI, and a way to capture a command's output.
import { generateKeyPairSync } from 'node:crypto'
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readBundle, readBundleFiles, type PolicyBundle } from '../../src/bundle/bundle.js'
import { tarGz } from '../../src/toolchain/bundle-writer.js'
import { wasmBuildArgs } from '../../src/toolchain/compiler.js'
import { runOpa } from '../../src/toolchain/opa-cli.js'
import type { FastifyInstance } from 'fastify'
import { build, POLICY_DIR, type TestAppOptions } from '../helpers/build.js'

/** The app with its store reachable as `app.policy` (the builder is test/helpers/build.ts). */
export async function buildAppWithStore (opts: TestAppOptions = {}): Promise<FastifyInstance> {
  return await build(undefined, opts)
}

interface Teardown { teardown: (fn: () => unknown) => void }

export async function tempDir (t: Teardown, prefix = 'verdict-lifecycle-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A private copy of policies/ (tests excluded: they are not served) to edit. */
export async function copyPolicies (t: Teardown): Promise<string> {
  const dir = join(await tempDir(t, 'verdict-policies-'), 'policies')
  await cp(POLICY_DIR, dir, { recursive: true, filter: (src) => !src.endsWith('_test.rego') })
  return dir
}

export interface KeyFiles { privateFile: string, publicFile: string }

/** A key pair made now, written as PEM (PKCS#8 private, SPKI public). */
export async function keyPair (dir: string, kind: 'rsa' | 'ec', name: string = kind): Promise<KeyFiles> {
  const { privateKey, publicKey } = kind === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const privateFile = join(dir, `${name}.key.pem`)
  const publicFile = join(dir, `${name}.pub.pem`)
  await writeFile(privateFile, privateKey.export({ type: 'pkcs8', format: 'pem' }))
  await writeFile(publicFile, publicKey.export({ type: 'spki', format: 'pem' }))
  return { privateFile, publicFile }
}

/** `opa build -t wasm --bundle --signing-key …` of a policy dir: a bundle signed by OPA itself. */
export async function opaSignedBundle (policies: string, out: string, signingKey: string, alg: 'RS256' | 'ES256', extra: string[] = []): Promise<void> {
  const args = wasmBuildArgs('verdict/decision', out)
  args.splice(args.length - 1, 0, '--bundle', '--signing-key', signingKey, '--signing-alg', alg, ...extra)
  await runOpa(args, { cwd: policies })
}

/** The bundle's files, changed by `edit`, packed again (its signature left as it was). */
export async function repack (archive: Buffer, edit: (files: Map<string, Buffer>) => void): Promise<Buffer> {
  const files = await readBundleFiles(archive)
  edit(files)
  return tarGz(files)
}

export interface Captured { code: number, stdout: string, stderr: string }

/** Runs a CLI command's run() with its stdout and stderr captured. */
export async function capture (run: (args: string[]) => Promise<number>, args: string[]): Promise<Captured> {
  const out: string[] = []
  const err: string[] = []
  const stdout = process.stdout.write.bind(process.stdout)
  const stderr = process.stderr.write.bind(process.stderr)
  process.stdout.write = ((chunk: string | Uint8Array) => { out.push(String(chunk)); return true }) as typeof process.stdout.write
  process.stderr.write = ((chunk: string | Uint8Array) => { err.push(String(chunk)); return true }) as typeof process.stderr.write
  try {
    const code = await run(args)
    return { code, stdout: out.join(''), stderr: err.join('') }
  } finally {
    process.stdout.write = stdout
    process.stderr.write = stderr
  }
}

/** Polls `check` until it returns a value (not undefined/false) or the time is up. */
export async function waitFor<T> (what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

// Allows every input; `n` makes it slow (a comprehension over n numbers, about 1 µs each):
// the evaluation deadline's tests.
const SLOW_POLICY = `package slow

import rego.v1

decision := {"allow": true, "status": 200, "reasons": [], "rows": {"kind": "all"}, "work": count(squares)}

squares := [x | some i in numbers.range(1, input.n); x := i * i]
`

/** Builds the slow policy (entrypoint `slow/decision`) with the real OPA into `out`, a bundle file. */
export async function writeSlowBundle (out: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-slow-'))
  try {
    await mkdir(join(dir, 'src'))
    await writeFile(join(dir, 'src', 'slow.rego'), SLOW_POLICY)
    await runOpa(['build', '-t', 'wasm', '-e', 'slow/decision', '-o', out, join(dir, 'src')])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** The slow policy's bundle, read. */
export async function buildSlowBundle (): Promise<PolicyBundle> {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-slow-'))
  try {
    await writeSlowBundle(join(dir, 'b.tar.gz'))
    return await readBundle(await readFile(join(dir, 'b.tar.gz')))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
