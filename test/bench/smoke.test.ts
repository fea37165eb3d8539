// The benchmark command runs end to end (`node scripts/bench.mjs --quick`: tiny
// durations, the smallest data scale) and prints every row of its tables; Ctrl-C
// leaves no child process behind. Not a timed assertion: the figures of a quick
// run on a shared machine mean nothing, only their presence is checked.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'

const root = new URL('../../', import.meta.url).pathname
const BENCH = join(root, 'scripts', 'bench.mjs')

// The bench runs the built server (dist/): build it when the sources changed.
t.before(() => {
  const build = spawnSync(process.execPath, [join(root, 'scripts', 'build-if-stale.mjs')], { cwd: root, encoding: 'utf8' })
  if (build.status !== 0) throw new Error(`build failed: ${build.stdout}${build.stderr}`)
})

interface Run { code: number | null, signal: NodeJS.Signals | null, output: string }

function bench (args: string[], onOutput?: (output: string, child: ReturnType<typeof spawn>) => void): Promise<Run> {
  const child = spawn(process.execPath, [BENCH, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const take = (chunk: Buffer): void => {
    output += chunk.toString()
    onOutput?.(output, child)
  }
  child.stdout.on('data', take)
  child.stderr.on('data', take)
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, output })))
}

/** Running, i.e. neither gone nor a zombie waiting for a parent that will not reap it. */
async function alive (pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

t.test('--quick prints every row of every table and writes the markdown', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-bench-smoke-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const markdown = join(dir, 'bench.md')
  const run = await bench(['--quick', `--markdown=${markdown}`])
  t.equal(run.code, 0, 'the run succeeds', { output: run.output })
  const text = await readFile(markdown, 'utf8')
  for (const row of [
    /\| HTTP floor [^|]*\|\s*[\d,]+ \|/,
    /\| Verdict, 1 worker\s+\|\s*[\d,]+ \|/,
    /\| Verdict, \d+ workers\s+\|\s*[\d,]+ \|/,
    /\| Verdict, 1 worker, file decision log on\s+\|\s*[\d,]+ \|/,
    /\| OPA server [^|]*\|\s*[\d,]+ \|/,
    /\| Verdict, 1 worker, JWT callers [^|]*\|\s*[\d,]+ \|/,
    /\| Verdict, 1 worker, batch endpoint [^|]*\|\s*[\d,]+ \|/,
    /Verdict \d+ workers \/ OPA server: decisions\/s \d+\.\d\d, p99 \d+\.\d\d/,
    /\| 1,000 jobs, 100 accounts[^|]*\|[^|]+\|\s*[\d.]+ s \|\s*[\d.]+ s \|/,
    /\| 500 jobs\s+\|\s*[\d.]+ \|/,
    /\| 5,000 jobs\s+\|/,
    /\| 50,000 jobs\s+\|/,
    /\| 1,000-job policy, 16 connections \|\s*[\d.]+ \|\s*\d+/
  ]) t.match(text, row)
  t.match(text, /CPU .+, \d+ cores, [\d.]+ GiB RAM; .*Node v\d+.*; OPA \d+\.\d+/, 'the machine')
  t.match(text, /commit [0-9a-f]{7}/, 'the commit')
  t.match(text, /non-2xx answers during the timed runs: /, 'refusals reported (a non-2xx other than EVALUATION_TIMEOUT fails the run)')
})

t.test('Ctrl-C during the run: the bench exits and its servers are gone', async (t) => {
  let pids: number[] = []
  const run = await bench(['--quick', '--only=table1', '--duration=5'], (output, child) => {
    const m = /pids ([\d ]+)\n/.exec(output)
    if (m !== null && pids.length === 0) {
      pids = (m[1] as string).trim().split(' ').map(Number)
      child.kill('SIGINT')
    }
  })
  t.equal(pids.length, 5, 'the run printed the pids of its five servers', { output: run.output })
  t.not(run.code, 0, 'interrupted, not a success')
  t.match(run.output, /SIGINT, stopping/)
  const running = []
  for (const pid of pids) if (await alive(pid)) running.push(pid)
  t.same(running, [], 'no server left running')
})
