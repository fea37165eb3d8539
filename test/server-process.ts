// Runs src/server.ts (or the verdict CLI) as a real process with tap's TypeScript
// loader, so no build is needed, and collects what it prints.
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import type { Readable } from 'node:stream'

const tsLoader = import.meta.resolve('@tapjs/typescript/import')
export const SERVER_ENTRY = new URL('../src/server.ts', import.meta.url).pathname
export const CLI_ENTRY = new URL('../src/cli/verdict.ts', import.meta.url).pathname

export interface ServerProcess {
  child: ChildProcessByStdio<null, Readable, Readable>
  output: () => string
  exited: Promise<number | null>
  /** resolves with the base URL once `count` listeners said where they listen */
  listening: (count?: number) => Promise<string>
}

export function startProcess (args: string[], env: Record<string, string>): ServerProcess {
  const child = spawn(process.execPath, ['--import', tsLoader, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {
    child,
    output: () => output,
    exited,
    async listening (count = 1) {
      const deadline = Date.now() + 60_000
      while (Date.now() < deadline && child.exitCode === null) {
        const ports = [...output.matchAll(/Server listening at http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => m[1] as string)
        if (ports.length >= count) return `http://127.0.0.1:${ports[0] ?? '0'}`
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      throw new Error(`the server did not start:\n${output}`)
    }
  }
}
