// The `file` sink: JSON lines, one event per line, in a file rotated by size:
// `decisions.log` is written, `decisions.log.1` is the newest rotated copy, up to
// `decisions.log.<maxFiles>`; older copies are deleted. A file is rotated before a
// write would take it past `maxBytes`, and only at line boundaries, so every file
// holds whole events (one event larger than maxBytes gets a file of its own).
//
// Only this process writes its file: with several cluster workers each worker
// gets its own file (workerFilePath), because appends from several processes to
// one file would interleave and rotation by one would pull the file from under
// the others.
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises'
import { basename, dirname, extname, join } from 'node:path'
import type { FileSinkConfig } from '../config.js'
import type { BoundedQueue } from '../queue.js'
import { BatchWriterSink, type SinkLogger } from './sink.js'

/** `logs/decisions.log` for worker 2 → `logs/decisions-worker2.log`. */
export function workerFilePath (path: string, workerId: number | undefined): string {
  if (workerId === undefined) return path
  const ext = extname(path)
  return join(dirname(path), `${basename(path, ext)}-worker${workerId}${ext}`)
}

export class FileSink extends BatchWriterSink {
  readonly name = 'file' as const
  private handle: FileHandle | undefined
  private size = 0

  constructor (queue: BoundedQueue, log: SinkLogger, private readonly config: FileSinkConfig) {
    super(queue, log)
  }

  private async openFile (): Promise<FileHandle> {
    if (this.handle) return this.handle
    await mkdir(dirname(this.config.path), { recursive: true })
    const handle = await open(this.config.path, 'a', 0o640)
    this.size = (await handle.stat()).size
    this.handle = handle
    return handle
  }

  private async rotate (): Promise<void> {
    await this.handle?.close()
    this.handle = undefined
    const path = this.config.path
    if (this.config.maxFiles === 0) {
      await rm(path, { force: true })
      return
    }
    // Shift .1 → .2 …; renaming onto .<maxFiles> replaces the oldest copy.
    for (let i = this.config.maxFiles - 1; i >= 1; i--) {
      await rename(`${path}.${i}`, `${path}.${i + 1}`).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err
      })
    }
    await rename(path, `${path}.1`)
  }

  protected async writeBatch (lines: string[]): Promise<void> {
    let chunk: string[] = []
    let chunkBytes = 0
    const flush = async (): Promise<void> => {
      if (chunk.length === 0) return
      const handle = await this.openFile()
      await handle.appendFile(chunk.join(''))
      this.size += chunkBytes
      chunk = []
      chunkBytes = 0
    }
    await this.openFile()
    for (const line of lines) {
      const text = line + '\n'
      const bytes = Buffer.byteLength(text)
      if (this.size + chunkBytes + bytes > this.config.maxBytes && this.size + chunkBytes > 0) {
        await flush()
        await this.rotate()
        await this.openFile()
      }
      chunk.push(text)
      chunkBytes += bytes
    }
    await flush()
  }

  protected override async release (): Promise<void> {
    const handle = this.handle
    this.handle = undefined
    await handle?.close()
  }
}
