// The directory watcher on its own, without compiling: every way a file gets
// changed calls back, and so does every later change of the same file (Node's
// recursive fs.watch lost a file after one rename-style save; chokidar alone
// lost one that `git checkout` recreated). A Kubernetes volume's `..data` swap
// is seen even while the old version's folder is still there.
import { execFile } from 'node:child_process'
import { cp, mkdir, readFile, rename, symlink, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { watchPolicyDir } from '../../src/lifecycle/watcher.js'
import { copyPolicies, waitFor } from '../engine/helpers.js'

const run = promisify(execFile)
const git = async (dir: string, ...args: string[]): Promise<string> =>
  (await run('git', ['-c', 'user.name=Verdict Test', '-c', 'user.email=test@verdict.invalid', '-c', 'advice.detachedHead=false', ...args], { cwd: dir })).stdout.trim()
const append = async (file: string, text: string): Promise<void> => { await writeFile(file, (await readFile(file, 'utf8')) + text) }
const API_DATA = join('erp', 'api', 'data.yaml')

type Change = [string, () => Promise<void>]

const cases: Array<[string, (dir: string) => Promise<{ dir: string, changes: Change[] }>]> = [
  ['in-place writes', async (dir) => ({
    dir,
    changes: [['a write', () => append(join(dir, API_DATA), '\n# 1\n')], ['another write', () => append(join(dir, API_DATA), '\n# 2\n')]]
  })],
  ['sed -i, then writes', async (dir) => ({
    dir,
    changes: [
      ['sed -i', async () => { await run('sed', ['-i', 's/^bypass:/bypass:  # sed/', join(dir, API_DATA)]) }],
      ['sed -i again', async () => { await run('sed', ['-i', 's/  # sed$//', join(dir, API_DATA)]) }],
      ['a write after', () => append(join(dir, API_DATA), '\n# after\n')]
    ]
  })],
  ['delete and recreate, then a write', async (dir) => ({
    dir,
    changes: [
      ['delete and recreate', async () => {
        const text = await readFile(join(dir, API_DATA), 'utf8')
        await unlink(join(dir, API_DATA))
        await writeFile(join(dir, API_DATA), text + '\n# recreated\n')
      }],
      ['a write after', () => append(join(dir, API_DATA), '\n# after\n')]
    ]
  })],
  ['git checkout, then a write', async (dir) => {
    await git(dir, 'init', '-q')
    await git(dir, 'add', '.')
    await git(dir, 'commit', '-q', '-m', 'one')
    const one = await git(dir, 'rev-parse', 'HEAD')
    await append(join(dir, API_DATA), '\n# two\n')
    await git(dir, 'commit', '-q', '-am', 'two')
    const two = await git(dir, 'rev-parse', 'HEAD')
    await git(dir, 'checkout', '-q', one)
    return {
      dir,
      changes: [
        ['checkout of another commit', async () => { await git(dir, 'checkout', '-q', two) }],
        ['checkout back', async () => { await git(dir, 'checkout', '-q', one) }],
        ['a write after', () => append(join(dir, API_DATA), '\n# after\n')]
      ]
    }
  }],
  ['a Kubernetes ..data swap, the old version left in place', async (policies) => {
    const dir = join(policies, '..', 'volume')
    await mkdir(dir)
    await cp(policies, join(dir, '..v1'), { recursive: true })
    await symlink('..v1', join(dir, '..data'))
    for (const entry of ['erp', 'verdict']) await symlink(join('..data', entry), join(dir, entry))
    const publish = (version: string) => async (): Promise<void> => {
      await cp(join(dir, '..v1'), join(dir, version), { recursive: true })
      await append(join(dir, version, API_DATA), `\n# ${version}\n`)
      await symlink(version, join(dir, '..data_tmp'))
      await rename(join(dir, '..data_tmp'), join(dir, '..data'))
    }
    return { dir, changes: [['a swap', publish('..v2')], ['another swap', publish('..v3')]] }
  }],
  ['a new file in a new folder, then writes to it', async (dir) => {
    const file = join(dir, 'erp', 'api', 'assignments', 'data.yaml')
    return {
      dir,
      changes: [
        ['a new folder with a file', async () => { await mkdir(join(file, '..')); await writeFile(file, '"ACME||SVC_LEGACY_FTP": []\n') }],
        ['a write to it', () => append(file, '# 1\n')],
        ['sed -i on it', async () => { await run('sed', ['-i', 's/# 1/# 2/', file]) }]
      ]
    }
  }]
]

for (const [name, prepare] of cases) {
  t.test(name, async (t) => {
    const { dir, changes } = await prepare(await copyPolicies(t))
    let calls = 0
    const watcher = watchPolicyDir(dir, () => { calls++ }, { debounceMs: 20 })
    t.teardown(() => watcher.close())
    await watcher.ready
    for (const [what, change] of changes) {
      const before = calls
      await change()
      await waitFor(`${name}: ${what} seen`, () => calls > before, 3000)
      t.pass(`${what}: seen`)
      await new Promise((resolve) => setTimeout(resolve, 150)) // the burst is over
    }
  })
}

t.test('hidden files and editor files do not call back', async (t) => {
  const dir = await copyPolicies(t)
  let calls = 0
  const watcher = watchPolicyDir(dir, () => { calls++ }, { debounceMs: 20 })
  t.teardown(() => watcher.close())
  await watcher.ready
  await mkdir(join(dir, '.git'))
  await writeFile(join(dir, '.git', 'index.json'), '{}')
  await writeFile(join(dir, 'erp', '.data.yaml.swp'), 'x')
  await writeFile(join(dir, 'erp', 'data.yaml~'), 'x')
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.equal(calls, 0)
  // A dir the watcher cannot start on throws (the engine logs it; the reconciler still runs).
  t.throws(() => watchPolicyDir(join(dir, 'missing'), () => {}), { code: 'ENOENT' })
})
