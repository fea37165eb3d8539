// The compiler's data thread (src/toolchain/off-thread.ts): the YAML staging and
// the data check of a large policy run beside the event loop, not on it, with
// the same results and the same errors; a thread that dies fails the compile
// it was serving (the last good policy keeps serving) and the next one works.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CORE_SCHEMA, load as loadYaml } from 'js-yaml'
import t, { type Test } from 'tap'
import { PolicyCompileError } from '../../src/errors.js'
import { offThread } from '../../src/toolchain/off-thread.js'
import { stageJsonData } from '../../src/toolchain/stage-data.js'

async function scratch (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-data-thread-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

// About 3 MB of YAML: a parse long enough to see on the event loop.
function bigYaml (): string {
  const lines = ['jobs:']
  for (let i = 0; i < 40_000; i++) lines.push(`  J${i}:`, `    name: Job ${i}`, `    company: C${i % 97}`, '    active: true')
  return lines.join('\n') + '\n'
}

/** Runs `work` while a 1 ms timer records the longest pause of the event loop. */
async function longestPause (work: () => Promise<unknown>): Promise<number> {
  let last = performance.now()
  let longest = 0
  const timer = setInterval(() => {
    const now = performance.now()
    longest = Math.max(longest, now - last)
    last = now
  }, 1)
  try {
    await work()
    longest = Math.max(longest, performance.now() - last)
  } finally {
    clearInterval(timer)
  }
  return longest
}

t.test('large YAML is staged in the thread: the same JSON, and the event loop keeps turning', async (t) => {
  const dir = await scratch(t)
  const text = bigYaml()
  await mkdir(join(dir, 'src', 'fx'), { recursive: true })
  await writeFile(join(dir, 'src', 'fx', 'data.yaml'), text)
  await offThread.stageJsonData(join(dir, 'src'), join(dir, 'warm'), 'src') // the thread's start is not the point here

  // What the parse alone costs on this thread, right now (the machine may be busy).
  const start = performance.now()
  loadYaml(text, { schema: CORE_SCHEMA })
  const parseMs = performance.now() - start

  const pause = await longestPause(() => offThread.stageJsonData(join(dir, 'src'), join(dir, 'out'), 'src'))
  t.same(JSON.parse(await readFile(join(dir, 'out', 'fx', 'data.yaml.json'), 'utf8')), loadYaml(text, { schema: CORE_SCHEMA }))
  t.ok(pause < parseMs / 2, `longest pause ${pause.toFixed(0)} ms while staging, against ${parseMs.toFixed(0)} ms for the parse on this thread`)
})

t.test('a YAML error crosses the thread as the same PolicyCompileError, with file and line', async (t) => {
  const dir = await scratch(t)
  await mkdir(join(dir, 'src', 'fx'), { recursive: true })
  await writeFile(join(dir, 'src', 'fx', 'data.yaml'), 'a: 1\na: 2\n')
  const direct = await stageJsonData(join(dir, 'src'), join(dir, 'direct'), 'shown').then(() => undefined, (err: Error) => err)
  const crossed = await offThread.stageJsonData(join(dir, 'src'), join(dir, 'crossed'), 'shown').then(() => undefined, (err: Error) => err)
  t.type(direct, PolicyCompileError)
  t.type(crossed, PolicyCompileError)
  t.equal(crossed?.message, direct?.message)
  t.match(crossed?.message, /^policy compilation failed: shown\/fx\/data\.yaml:2: /)
})

t.test('other errors keep their message and code (a directory that is not there)', async (t) => {
  const dir = await scratch(t)
  const err = await offThread.stageJsonData(join(dir, 'missing'), join(dir, 'out'), 'missing').then(() => undefined, (e: Error & { code?: string }) => e)
  t.type(err, Error)
  t.notOk(err instanceof PolicyCompileError)
  t.equal(err?.code, 'ENOENT')
  t.match(err?.message, /no such file or directory/)
})

t.test('the data check answers with problems from the thread, and a data.json that is not JSON is one', async (t) => {
  const dir = await scratch(t)
  t.same(await offThread.checkBundleData(dir, Buffer.from('{"other": 1}')), [])
  const [problem, ...rest] = await offThread.checkBundleData(dir, Buffer.from('{"erp": '))
  t.same(rest, [])
  t.equal(problem?.code, 'data_schema')
  t.match(problem?.message, /^the bundle's data\.json is not JSON: /)
  // A slice of a larger buffer: only its own bytes are checked.
  const inside = Buffer.from('xx{"erp": {"api": {"unknown_key": true}}}yy')
  const problems = await offThread.checkBundleData(dir, inside.subarray(2, inside.length - 2))
  t.ok(problems.length > 0, 'the erp data is checked')
  t.ok(problems.every((p) => p.code === 'data_schema' || p.code === 'data_reference'))
})

t.test('a thread that stops fails what it was doing (never a silent success); the next request gets a new thread', async (t) => {
  const dir = await scratch(t)
  await mkdir(join(dir, 'src', 'fx'), { recursive: true })
  await writeFile(join(dir, 'src', 'fx', 'data.yaml'), bigYaml())
  const staging = offThread.stageJsonData(join(dir, 'src'), join(dir, 'out'), 'src')
  await new Promise((resolve) => setTimeout(resolve, 20))
  await offThread.close()
  await t.rejects(staging, /the compiler's data thread stopped/)
  await offThread.stageJsonData(join(dir, 'src'), join(dir, 'again'), 'src')
  t.same(await readdir(join(dir, 'again', 'fx')), ['data.yaml.json'])
})
