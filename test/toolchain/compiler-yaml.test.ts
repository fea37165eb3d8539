// Policy data is converted from YAML to JSON before `opa build` (OPA's own YAML
// parser takes a minute on 100k jobs). The conversion must not change what is
// served: the same data document as OPA reading the YAML itself, the same
// policy.wasm, and a broken YAML file is still a compile error with its path and line.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { readBundle } from '../../src/bundle/bundle.js'
import { buildWasm, compilePolicies } from '../../src/toolchain/compiler.js'
import { runOpa } from '../../src/toolchain/opa-cli.js'
import { PolicyCompileError } from '../../src/errors.js'

const POLICY = 'package pol\n\nimport rego.v1\n\ndecision := {"allow": data.fx.flag == true, "d": data.fx}\n'

async function policyDir (t: Test, yaml: string, extra: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-yaml-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await mkdir(join(dir, 'fx'), { recursive: true })
  await mkdir(join(dir, 'pol'), { recursive: true })
  await writeFile(join(dir, 'pol', 'policy.rego'), POLICY)
  await writeFile(join(dir, 'fx', 'data.yaml'), yaml)
  for (const [file, text] of Object.entries(extra)) {
    await mkdir(join(dir, file, '..'), { recursive: true })
    await writeFile(join(dir, file), text)
  }
  return dir
}

// OPA reading the YAML itself (the path before this change), for comparison.
async function opaOwnBuild (dir: string): Promise<{ data: unknown, wasm: Buffer }> {
  const out = join(dir, '..', `${dir.split('/').pop() ?? 'x'}-opa.tar.gz`)
  try {
    await runOpa(['build', '-t', 'wasm', '-e', 'pol/decision', '--ignore', '.*', '-o', out, '.'], { cwd: dir })
    const bundle = await readBundle(await readFile(out))
    return { data: JSON.parse(bundle.dataJson.toString('utf8')), wasm: bundle.wasm }
  } finally {
    await rm(out, { force: true })
  }
}

async function stagedBuild (dir: string): Promise<{ data: unknown, wasm: Buffer }> {
  const out = join(dir, '..', `${dir.split('/').pop() ?? 'x'}-staged.tar.gz`)
  try {
    await buildWasm(dir, 'pol/decision', out)
    const bundle = await readBundle(await readFile(out))
    return { data: JSON.parse(bundle.dataJson.toString('utf8')), wasm: bundle.wasm }
  } finally {
    await rm(out, { force: true })
  }
}

t.test('the data served is what OPA makes of the YAML, and policy.wasm is unchanged', async (t) => {
  const yaml = [
    'flag: yes            # YAML 1.1 would make this true; OPA (and the served data) keep "yes"',
    'on: off',
    'codes: ["01", 02, 0x1F, 1e3, ~, null]',
    'when: 2024-01-02',
    'nested: { a: [1, 2, { b: "c" }], "quoted key": true }',
    'multi: |',
    '  line one',
    '  line two',
    'anchor: &x { k: v }',
    'ref: *x',
    ''
  ].join('\n')
  const dir = await policyDir(t, yaml, { 'fx/sub/data.yml': 'deep: 1\n', 'fx/other/data.json': '{"j": true}', '.hidden/data.yaml': 'nope: 1\n' })
  const [opa, staged] = await Promise.all([opaOwnBuild(dir), stagedBuild(dir)])
  t.same(staged.data, opa.data, 'same data document as OPA reading the YAML')
  t.equal((staged.data as { fx: { flag: unknown } }).fx.flag, 'yes', '`yes` is a string, never a true flag')
  t.notOk(Object.hasOwn(staged.data as object, 'nope'), 'hidden folders stay out')
  t.ok(staged.wasm.equals(opa.wasm), 'policy.wasm is byte for byte the same')
})

t.test('a YAML file the converter refuses is a compile error naming the file and line', async (t) => {
  for (const [what, yaml, line] of [
    ['duplicate key', 'flag: false\nx: 1\nflag: true\n', 3],
    ['bad indentation', 'a:\n  b: 1\n c: 2\n', 3],
    ['two documents', 'flag: false\n---\nflag: true\n', 1],
    ['infinity (JSON has none; it must not become null)', 'flag: false\nlimit: .inf\n', 0],
    ['not a number', 'flag: false\nlimit: [.nan]\n', 0]
  ] as const) {
    const dir = await policyDir(t, yaml)
    const err = await compilePolicies({ dir, entrypoint: 'pol/decision', check: false }).then(() => null, (e: unknown) => e)
    t.ok(err instanceof PolicyCompileError, `${what}: PolicyCompileError`)
    t.match((err as Error).message, new RegExp(`${join(dir, 'fx', 'data.yaml').replace(/[.|]/g, '\\$&')}${line > 0 ? `:${line}` : ''}: `), `${what}: names the file and line`)
  }
})

t.test('an OPA error about staged data names the YAML file, not the staged copy', async (t) => {
  // A conflict between two data files: OPA reports it during the build.
  const dir = await policyDir(t, 'flag: false\n', { 'fx/flag/data.yaml': 'x: 1\n' })
  const err = await compilePolicies({ dir, entrypoint: 'pol/decision', check: false }).then(() => null, (e: unknown) => e)
  t.ok(err instanceof PolicyCompileError, 'conflicting data is a compile error')
  t.notMatch((err as Error).message, /\.ya?ml\.json/, 'no staged file name in the message')
})
