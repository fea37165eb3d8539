// The primary's log: it runs no fastify, so no pino instance; JSON lines in
// pino's shape (numeric level, time, pid, msg) beside the workers' own.
import type { SourceLog } from '../lifecycle/follow.js'

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity }

export function primaryLog (level: string): SourceLog {
  const min = LEVELS[level] ?? 30
  const write = (n: number) => (obj: object, msg?: string): void => {
    if (n < min) return
    // An Error's fields are not enumerable: its message is what the line needs.
    const fields = Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, v instanceof Error ? { message: v.message } : v]))
    process.stdout.write(JSON.stringify({ level: n, time: Date.now(), pid: process.pid, ...fields, msg }) + '\n')
  }
  return { info: write(30), warn: write(40), error: write(50) } as unknown as SourceLog
}
