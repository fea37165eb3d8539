// The sinks on their own: the file sink's size rotation and per-worker names,
// the console sink's back-pressure, the HTTP sink's retry delays.
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import t, { type Test } from 'tap'
import { BoundedQueue } from '../../src/decision-log/queue.js'
import { ConsoleSink } from '../../src/decision-log/sinks/console.js'
import { FileSink, workerFilePath } from '../../src/decision-log/sinks/file.js'
import { retryDelay } from '../../src/decision-log/sinks/http.js'

const quietLog = () => {
  const lines: Array<{ level: string, obj: object, msg: string }> = []
  return {
    lines,
    warn: (obj: object, msg: string) => { lines.push({ level: 'warn', obj, msg }) },
    error: (obj: object, msg: string) => { lines.push({ level: 'error', obj, msg }) }
  }
}
const queue = (maxEvents = 100_000) => new BoundedQueue({ maxEvents, maxBytes: 1e9 })
const event = (i: number) => JSON.stringify({ decision_id: `id-${String(i).padStart(4, '0')}`, pad: 'x'.repeat(60) })
const tick = () => new Promise((resolve) => setImmediate(resolve))

async function tempDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'verdict-sink-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

t.test('file sink: rotates by size, keeps maxFiles copies, every file holds whole events', async (t) => {
  const dir = await tempDir(t)
  const path = join(dir, 'logs', 'decisions.log')
  const sink = new FileSink(queue(), quietLog(), { path, maxBytes: 1024, maxFiles: 2 })
  const total = 60 // ~80 bytes each: ~4.7 KiB, more than the three files can hold
  for (let i = 0; i < total; i++) {
    sink.enqueue(event(i))
    if (i % 7 === 0) await tick() // several batches, not one
  }
  await sink.close(5000)
  t.same((await readdir(join(dir, 'logs'))).sort(), ['decisions.log', 'decisions.log.1', 'decisions.log.2'])
  const files = [`${path}.2`, `${path}.1`, path] // oldest first
  const ids: string[] = []
  for (const file of files) {
    t.ok((await stat(file)).size <= 1024, `${file} within maxBytes`)
    const text = await readFile(file, 'utf8')
    t.ok(text.endsWith('\n'), 'ends with a complete line')
    for (const line of text.split('\n').filter(Boolean)) ids.push((JSON.parse(line) as { decision_id: string }).decision_id)
  }
  const expected = Array.from({ length: total }, (_, i) => `id-${String(i).padStart(4, '0')}`)
  t.ok(ids.length < total, 'the oldest rotated copies were deleted')
  t.same(ids, expected.slice(total - ids.length), 'what is kept is the newest events, in order, without gaps')
  t.match(sink.stats(), { written: total, dropped: 0, failures: 0, buffered: 0 })
})

t.test('file sink: appends to an existing file and counts its size', async (t) => {
  const dir = await tempDir(t)
  const path = join(dir, 'decisions.log')
  await writeFile(path, 'x'.repeat(1000) + '\n')
  const sink = new FileSink(queue(), quietLog(), { path, maxBytes: 1050, maxFiles: 1 })
  sink.enqueue(event(1))
  sink.enqueue(event(2))
  await sink.close(5000)
  t.match(await readFile(`${path}.1`, 'utf8'), /^x{1000}\n$/, 'the full file was rotated before the new events')
  t.equal((await readFile(path, 'utf8')).split('\n').filter(Boolean).length, 2)
})

t.test('file sink: maxFiles 0 keeps only the live file', async (t) => {
  const dir = await tempDir(t)
  const path = join(dir, 'decisions.log')
  const sink = new FileSink(queue(), quietLog(), { path, maxBytes: 1024, maxFiles: 0 })
  for (let i = 0; i < 40; i++) sink.enqueue(event(i))
  await sink.close(5000)
  t.same(await readdir(dir), ['decisions.log'])
  const last = (await readFile(path, 'utf8')).trim().split('\n').at(-1) ?? ''
  t.match(JSON.parse(last), { decision_id: 'id-0039' })
})

t.test('file sink: a write that fails loses its batch, counted and logged', async (t) => {
  const dir = await tempDir(t)
  // A path through a regular file cannot be created, not even by root.
  const blocker = join(dir, 'not-a-directory')
  await writeFile(blocker, '')
  const log = quietLog()
  const sink = new FileSink(queue(), log, { path: join(blocker, 'decisions.log'), maxBytes: 1024, maxFiles: 1 })
  sink.enqueue(event(1))
  sink.enqueue(event(2))
  await sink.close(5000)
  t.match(sink.stats(), { written: 0, dropped: 2, failures: 1 })
  t.match(log.lines, [{ level: 'error', msg: /write failed/ }])
})

t.test('worker file names: one file per cluster worker', async (t) => {
  t.equal(workerFilePath('/var/log/verdict/decisions.log', undefined), '/var/log/verdict/decisions.log')
  t.equal(workerFilePath('/var/log/verdict/decisions.log', 3), '/var/log/verdict/decisions-worker3.log')
  t.equal(workerFilePath('logs/decisions', 1), 'logs/decisions-worker1')
})

t.test('console sink: JSON lines; a slow reader makes events wait in the bounded buffer', async (t) => {
  const stream = new PassThrough({ highWaterMark: 64 })
  const q = queue(10)
  const sink = new ConsoleSink(q, quietLog(), stream)
  sink.enqueue(event(0))
  await tick()
  await tick()
  // The stream is over its high-water mark and nobody reads: the writer waits for 'drain'.
  for (let i = 1; i <= 30; i++) sink.enqueue(event(i))
  await tick()
  t.equal(sink.stats().buffered, 10, 'the buffer holds its bound')
  t.equal(sink.stats().dropped, 20, 'the oldest of the waiting events were dropped')
  let text = ''
  stream.on('data', (c: Buffer) => { text += c.toString() })
  await sink.close(5000)
  const ids = text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { decision_id: string }).decision_id)
  t.same(ids, ['id-0000', ...Array.from({ length: 10 }, (_, i) => `id-${String(21 + i).padStart(4, '0')}`)])
})

t.test('console sink: closing gives up at the deadline when the reader never reads', async (t) => {
  const stream = new PassThrough({ highWaterMark: 16 })
  const log = quietLog()
  const sink = new ConsoleSink(queue(), log, stream)
  for (let i = 0; i < 5; i++) sink.enqueue(event(i))
  await tick()
  sink.enqueue(event(5))
  await sink.close(50)
  t.equal(sink.stats().dropped, 1, 'the event still buffered is counted as lost')
  t.match(log.lines, [{ level: 'warn', msg: /ran out of time/ }])
})

t.test('retry delays grow exponentially, capped, with full jitter', async (t) => {
  t.equal(retryDelay(1, 100, 10_000, () => 1), 100)
  t.equal(retryDelay(4, 100, 10_000, () => 1), 800)
  t.equal(retryDelay(20, 100, 10_000, () => 1), 10_000, 'capped at the maximum')
  t.equal(retryDelay(5, 100, 10_000, () => 0), 100, 'never below the minimum')
  t.equal(retryDelay(5, 100, 10_000, () => 0.5), 800)
})
