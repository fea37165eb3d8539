// The files the reconciler digests are the files the compiler reads: a fixture
// holds every kind of entry, the ones left out are broken (so the compile shows
// OPA did not read them either) and the data of the ones listed is exactly the
// data OPA built. The digest follows content and names, not where the
// directory is or what else lies beside the policy files.
import { cp, mkdir, readFile, rename, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { compilePolicies } from '../../src/toolchain/compiler.js'
import { checkPolicyData } from '../../src/toolchain/policy-data-check.js'
import { digestPolicySources, isPolicySource, listPolicySources } from '../../src/lifecycle/sources.js'
import { copyPolicies, tempDir } from '../engine/helpers.js'

async function fixture (root: string): Promise<string> {
  const dir = join(root, 'policies')
  const files: Record<string, string> = {
    // Read: modules and data, in folders, through a link to a folder.
    'decision.rego': 'package fixture\n\ndecision := {"allow": false, "sub": data.fixture.sub.value}\n',
    'sub/value.rego': 'package fixture.sub\n\nvalue := 1\n',
    'd.json': '{"d": 1}',
    'e/data.yaml': 'e: 2\n',
    'f.yml': 'f: 3\n',
    'target/data.json': '{"s": 4}',
    // Not read: tests, hidden entries (a volume's ..version folder too), other names.
    'decision_test.rego': 'package fixture\nbroken := {\n',
    '.hidden.rego': 'package fixture\nbroken := {\n',
    '.git/config.json': '{ not json',
    '..2026_11_29/decision.rego': 'package fixture\nbroken := {\n',
    'sub/.swap.yaml': ': not: yaml: [',
    'notes.md': '# notes',
    'upper.JSON': '{ not json',
    'decision.rego~': 'package fixture\nbroken := {\n'
  }
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true })
    await writeFile(join(dir, path), text)
  }
  await symlink('target', join(dir, 'linked'))
  return dir
}

t.test('the files listed are the files OPA reads', async (t) => {
  const dir = await fixture(await tempDir(t))
  const files = (await listPolicySources(dir)).sort()
  t.same(files, ['d.json', 'decision.rego', 'e/data.yaml', 'f.yml', 'linked/data.json', 'sub/value.rego', 'target/data.json'])

  // OPA compiles it: none of the broken files left out was read.
  const bundle = await compilePolicies({ dir, entrypoint: 'fixture/decision' })
  // And the data it built is the data of the listed files, each where its folder puts it.
  t.same(JSON.parse(bundle.dataJson.toString()), { d: 1, e: { e: 2 }, f: 3, linked: { s: 4 }, target: { s: 4 } })
})

t.test('isPolicySource', async (t) => {
  for (const path of ['a.rego', 'x/y.json', 'data.yaml', 'a/b/c.yml', 'b.tar.gz']) t.ok(isPolicySource(path), path)
  for (const path of ['a_test.rego', '.a.rego', '.git/x.json', '..data/a.rego', 'x/.y/z.yaml', 'a.rego~', 'a.md', 'A.JSON', 'a.rego.swp']) {
    t.notOk(isPolicySource(path), path)
  }
})

t.test('the digest: content and names, not the location or other files', async (t) => {
  const root = await tempDir(t)
  const dir = await fixture(root)
  const a = await digestPolicySources(dir)
  t.match(a.digest, /^sha256:[0-9a-f]{64}$/)
  t.same((await digestPolicySources(dir)).digest, a.digest, 'the same files, the same digest')

  await cp(dir, join(root, 'elsewhere'), { recursive: true, verbatimSymlinks: true })
  t.equal((await digestPolicySources(join(root, 'elsewhere'))).digest, a.digest, 'a copy elsewhere has the same digest')

  await writeFile(join(dir, 'notes.md'), 'changed')
  await writeFile(join(dir, '.git', 'config.json'), 'changed')
  await writeFile(join(dir, 'decision_test.rego'), 'changed')
  t.equal((await digestPolicySources(dir)).digest, a.digest, 'files the compiler does not read do not count')

  await writeFile(join(dir, 'd.json'), '{"d": 10}')
  const changed = await digestPolicySources(dir)
  t.not(changed.digest, a.digest, 'a content change counts')

  await rename(join(dir, 'd.json'), join(dir, 'e', 'd.json'))
  t.not((await digestPolicySources(dir)).digest, changed.digest, 'the same content under another name counts')

  await writeFile(join(dir, 'target', 'data.json'), '{"s": 40}')
  t.not((await digestPolicySources(dir)).digest, changed.digest, 'a change behind a link counts')
})

t.test('a directory that cannot be read throws', async (t) => {
  const root = await tempDir(t)
  await t.rejects(digestPolicySources(join(root, 'missing')), { code: 'ENOENT' })
  const dir = await fixture(root)
  await symlink('nowhere.rego', join(dir, 'dangling.rego'))
  await t.rejects(digestPolicySources(dir), { code: 'ENOENT' }, 'a dangling link (OPA fails on it too)')
})

t.test('a link cycle is walked once', async (t) => {
  const dir = await fixture(await tempDir(t))
  await symlink('..', join(dir, 'sub', 'up'))
  t.same((await listPolicySources(dir)).filter((f) => f.startsWith('sub/')), ['sub/value.rego'])
})

t.test('the data check reads what the compiler reads: through links, not in hidden folders', async (t) => {
  const policies = await copyPolicies(t)
  const volume = join(policies, '..', 'volume')
  await cp(policies, join(volume, '..v1'), { recursive: true })
  await symlink('..v1', join(volume, '..data'))
  for (const entry of ['erp', 'verdict']) await symlink(join('..data', entry), join(volume, entry))
  await mkdir(join(volume, '.git'))
  await writeFile(join(volume, '.git', 'data.yaml'), ': not: yaml: [')
  t.same(await checkPolicyData(volume), [], 'the example data, linked as a Kubernetes volume links it, passes; a hidden folder is not read')

  const api = join(volume, '..v1', 'erp', 'api', 'data.yaml')
  await writeFile(api, (await readFile(api, 'utf8')).replace('assignments:', 'asignments:'))
  const problems = await checkPolicyData(volume)
  t.ok(problems.some((p) => p.file === join(volume, 'erp', 'api', 'data.yaml') && /asignments/.test(p.message)),
    'a misspelt key behind the links is refused, named by the path the compiler reads')
})
