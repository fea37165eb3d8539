#!/usr/bin/env node
// Verdict benchmark, one command (`npm run bench`, issue 12):
//   table 1   the HTTP floor, Verdict with 1 and N workers, with the file decision
//             log, the OPA server, Verdict with JWT callers and the batch endpoint,
//             in interleaved rounds, medians (scripts/bench/table1.mjs);
//   scale     generated data of 1k/10k/100k jobs: compile, load, RSS, latency,
//             row-filter size, the big-account row and the reload gap
//             (scripts/bench/scale.mjs).
// Every target's answers are checked before it is timed; a mismatch stops the
// run without figures. Child processes are killed on any exit.
//
//   npm run build && node scripts/bench.mjs [options]     (npm run bench builds first)
//
// Options (flag or environment variable; defaults in brackets):
//   --quick                       tiny durations, smallest scale only (smoke test)
//   --only=table1|scale|reload    one part [both]; reload: only the reload gap of the largest scale
//   --rounds=N      BENCH_ROUNDS      interleaved rounds of table 1 [3]
//   --duration=S    BENCH_DURATION    seconds per timed run [8; quick 0.3]
//   --warmup=S      BENCH_WARMUP      seconds of warm-up before each [1; quick 0.1]
//   --connections=N BENCH_CONNECTIONS concurrent connections [16]
//   --inputs=N      BENCH_INPUTS      distinct inputs, cycled [200; quick 60]
//   --seed=N        BENCH_SEED        seed of the input selection [42]
//   --json=FILE     BENCH_JSON        also write the raw figures as JSON
//   --markdown=FILE BENCH_MARKDOWN    write the tables and the machine to FILE
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { removeOnExit, stopAll, watchdog } from './bench/processes.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

function option (name, envName, fallback) {
  const flag = process.argv.slice(2).find((a) => a === `--${name}` || a.startsWith(`--${name}=`))
  if (flag !== undefined) return flag.includes('=') ? flag.slice(flag.indexOf('=') + 1) : 'true'
  return (envName && process.env[envName]) ?? fallback
}
function fail (message) {
  console.error(`bench: ${message}`)
  process.exit(1)
}
function number (name, value, { integer = false, min = 0, exclusive = true } = {}) {
  const n = Number(value)
  if (!Number.isFinite(n) || (exclusive ? n <= min : n < min) || (integer && !Number.isInteger(n))) fail(`--${name} must be a ${integer ? 'whole ' : ''}number above ${min} (got ${value})`)
  return n
}
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log('usage: node scripts/bench.mjs [--quick] [--only=table1|scale|reload] [--rounds=3] [--duration=8] [--warmup=1] [--connections=16] [--inputs=200] [--seed=42] [--json=FILE] [--markdown=FILE]')
  process.exit(0)
}
const known = ['quick', 'only', 'rounds', 'duration', 'warmup', 'connections', 'inputs', 'seed', 'json', 'markdown']
for (const arg of process.argv.slice(2)) {
  if (!known.includes(arg.replace(/^--/, '').split('=')[0])) fail(`unknown option ${arg} (see --help)`)
}
const quick = option('quick', undefined, 'false') === 'true'
const only = option('only', undefined, 'all')
if (!['all', 'table1', 'scale', 'reload'].includes(only)) fail(`--only must be table1, scale or reload (got ${only})`)
const opts = {
  quick,
  only,
  rounds: number('rounds', option('rounds', 'BENCH_ROUNDS', quick ? '1' : '3'), { integer: true }),
  durationMs: number('duration', option('duration', 'BENCH_DURATION', quick ? '0.3' : '8')) * 1000,
  warmupMs: number('warmup', option('warmup', 'BENCH_WARMUP', quick ? '0.1' : '1'), { exclusive: false }) * 1000,
  connections: number('connections', option('connections', 'BENCH_CONNECTIONS', '16'), { integer: true }),
  inputs: number('inputs', option('inputs', 'BENCH_INPUTS', quick ? '60' : '200'), { integer: true }),
  seed: number('seed', option('seed', 'BENCH_SEED', '42'), { integer: true }),
  json: option('json', 'BENCH_JSON', undefined),
  markdown: option('markdown', 'BENCH_MARKDOWN', undefined)
}
// Bounded: 7 targets × rounds of table 1, 3 scales of generated data, start-ups.
watchdog(quick ? 120_000 : 600_000 + opts.rounds * 7 * (opts.durationMs + opts.warmupMs) * 3 + 3 * 6 * (opts.durationMs + opts.warmupMs))

async function machine (opaBin) {
  const git = (args) => { try { return execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim() } catch { return '?' } }
  const opaVersion = /^Version:\s*(\S+)/m.exec(execFileSync(opaBin, ['version'], { encoding: 'utf8' }))?.[1] ?? '?'
  const wasmVersion = JSON.parse(await readFile(join(root, 'node_modules/@open-policy-agent/opa-wasm/package.json'), 'utf8')).version
  const dirty = git(['status', '--porcelain', '--untracked-files=no']) !== ''
  return {
    cpu: os.cpus()[0]?.model ?? '?',
    cores: os.availableParallelism(),
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    opa: opaVersion,
    opaWasm: wasmVersion,
    commit: git(['rev-parse', '--short', 'HEAD']) + (dirty ? ' (with uncommitted changes)' : ''),
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    loadBefore: os.loadavg().map((l) => l.toFixed(2))
  }
}

function machineText (m) {
  return [
    `- ${m.date}, commit ${m.commit}, \`node scripts/bench.mjs ${process.argv.slice(2).join(' ')}\``.trimEnd(),
    `- CPU ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM; ${m.os}; Node ${m.node}; OPA ${m.opa}; @open-policy-agent/opa-wasm ${m.opaWasm}`,
    `- load average before ${m.loadBefore.join(', ')}${m.loadAfter ? `, after ${m.loadAfter.join(', ')}` : ''} (1, 5, 15 min; other work on the machine skews every figure)`,
    '- load generator: undici Pool, closed loop (`scripts/bench/measure.mjs`; neither wrk nor autocannon is installed here), in the bench process on the same machine'
  ].join('\n')
}

async function main () {
  if (!existsSync(join(root, 'dist', 'server.js'))) fail('dist/ is missing: run `npm run build` first (or `npm run bench`)')
  const dist = {}
  for (const file of ['toolchain/compiler.js', 'engine/policy.js', 'engine/result.js', 'engine/input.js', 'toolchain/opa-cli.js', 'cli/dev-secrets.js']) {
    Object.assign(dist, await import(pathToFileURL(join(root, 'dist', file)).href))
  }
  const opaBin = dist.opaBinary()
  const m = await machine(opaBin)
  console.log('Verdict benchmark')
  console.log(machineText(m))
  console.log(`- ${opts.quick ? 'QUICK (smoke test; figures mean nothing) — ' : ''}rounds ${opts.rounds}, ${opts.durationMs / 1000} s per run after ${opts.warmupMs / 1000} s warm-up, ${opts.connections} connections, ${opts.inputs} inputs, seed ${opts.seed}\n`)

  const tmp = removeOnExit(await mkdtemp(join(os.tmpdir(), 'verdict-bench-')))
  const ctx = { root, tmp, opts, dist, opaBin, cleanups: [] }
  const out = { machine: m, options: opts }
  const sections = []
  try {
    if (opts.only === 'all' || opts.only === 'table1') {
      console.log('Table 1: floor, Verdict, OPA')
      const t1 = await import('./bench/table1.mjs').then((mod) => mod.runTable1(ctx))
      if (t1.mismatches) return 1
      out.table1 = t1
      sections.push('### Decisions side by side\n\n' + t1.markdown)
      console.log('\n' + t1.markdown + '\n')
      await cleanup(ctx)
    }
    if (opts.only !== 'table1') {
      console.log('Data scale')
      const { runScale } = await import('./bench/scale.mjs')
      const scale = await runScale({ ...ctx, tmp: removeOnExit(await mkdtemp(join(os.tmpdir(), 'verdict-bench-scale-'))) })
      if (scale.mismatches) return 1
      out.scale = scale
      sections.push('### Data scale\n\n' + scale.markdown)
      console.log('\n' + scale.markdown + '\n')
    }
  } finally {
    await cleanup(ctx)
  }
  m.loadAfter = os.loadavg().map((l) => l.toFixed(2))
  const markdown = `### Machine\n\n${machineText(m)}\n\n${sections.join('\n\n')}\n`
  console.log(`load average after the run: ${m.loadAfter.join(', ')}`)
  if (opts.markdown) {
    await writeFile(opts.markdown, markdown)
    console.log(`tables written to ${opts.markdown}`)
  }
  if (opts.json) {
    await writeFile(opts.json, JSON.stringify(out, null, 2) + '\n')
    console.log(`figures written to ${opts.json}`)
  }
  const errors = (out.table1?.errors ?? 0) + (out.scale?.errors ?? 0)
  if (errors > 0) {
    console.error(`bench: ${errors} request(s) of the throughput runs were answered with a non-2xx status`)
    return 1
  }
  return 0
}

async function cleanup (ctx) {
  for (const fn of ctx.cleanups.splice(0).reverse()) {
    try { await fn() } catch {}
  }
  await stopAll()
}

try {
  process.exitCode = await main()
} catch (err) {
  console.error(`bench: ${err?.stack ?? err}`)
  process.exitCode = 1
} finally {
  await stopAll()
}
// Ends the run even if a handle (a socket, a timer) was left open.
process.exit()
