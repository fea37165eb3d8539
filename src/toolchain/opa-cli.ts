// Runs the pinned OPA CLI, wherever opa-binary.ts finds it (OPA_BIN, the
// checkout's .tools/bin/opa, the per-version cache, PATH).
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { promisify } from 'node:util'
import { opaBinary } from './opa-binary.js'

export { opaBinary }

const run = promisify(execFile)

export interface OpaRunResult { stdout: string, stderr: string }

/** Runs the OPA CLI; rejects with its stderr text when it exits non-zero. */
export async function runOpa (args: string[], options: { cwd?: string, timeoutMs?: number } = {}): Promise<OpaRunResult> {
  try {
    return await run(opaBinary(), args, {
      cwd: options.cwd,
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 16 * 1024 * 1024,
      encoding: 'utf8'
    })
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string, stdout?: string }
    if (e.code === 'ENOENT') {
      throw new Error(`OPA CLI not found at ${opaBinary()}: run \`npm install\` (it builds the pinned OPA) or set OPA_BIN`)
    }
    const detail = (e.stderr ?? '').trim() || (e.stdout ?? '').trim() || e.message
    throw new Error(detail)
  }
}

export interface OpaExit extends OpaRunResult { code: number }

/** Runs the OPA CLI and returns its exit code and output, whatever the code (a missing binary still throws). */
export async function runOpaExit (args: string[], options: { cwd?: string, timeoutMs?: number } = {}): Promise<OpaExit> {
  try {
    return { code: 0, ...await run(opaBinary(), args, { cwd: options.cwd, timeout: options.timeoutMs ?? 120_000, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' }) }
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string, stdout?: string, code?: unknown, killed?: boolean }
    // spawn says ENOENT for a missing working directory as for a missing binary.
    if (e.code === 'ENOENT' && options.cwd !== undefined && !existsSync(options.cwd)) throw new Error(`${options.cwd} does not exist`)
    if (e.code === 'ENOENT') {
      throw new Error(`OPA CLI not found at ${opaBinary()}: run \`npm install\` (it builds the pinned OPA) or set OPA_BIN`)
    }
    if (typeof e.code !== 'number') throw new Error(`OPA did not finish: ${e.message}`)
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}
