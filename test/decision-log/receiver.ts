// A decision-log receiver for tests: a real HTTP server on loopback that takes
// OPA-format uploads (gzip-compressed JSON arrays), answers each upload with the
// next status of a script (then 200), or hangs (accepts, never answers), and keeps
// what it received — decoded — for assertions.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'

export interface Upload {
  status: number
  headers: IncomingMessage['headers']
  events: Array<Record<string, unknown>>
}

export interface Receiver {
  url: string
  /** every upload that got an answer (status and decoded events), in order */
  uploads: Upload[]
  /** uploads received while hanging (never answered) */
  held: number
  /** the events of every upload answered 2xx */
  accepted: () => Array<Record<string, unknown>>
  /** statuses to answer the next uploads with, in order; afterwards 200 */
  script: (statuses: number[]) => void
  setHanging: (hanging: boolean) => void
  /** resolves once `count` uploads were answered or held */
  waitForUploads: (count: number) => Promise<void>
  close: () => Promise<void>
}

export async function startReceiver (): Promise<Receiver> {
  let statuses: number[] = []
  let hanging = false
  const hung = new Set<ServerResponse>()
  const uploads: Upload[] = []
  let held = 0
  let waiters: Array<{ count: number, resolve: () => void }> = []
  const seen = (): number => uploads.length + held
  const notify = (): void => {
    waiters = waiters.filter((w) => {
      if (seen() >= w.count) w.resolve()
      return seen() < w.count
    })
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (hanging) {
        held++
        hung.add(res)
        notify()
        return
      }
      const status = statuses.shift() ?? 200
      const events = JSON.parse(gunzipSync(Buffer.concat(chunks)).toString('utf8')) as Array<Record<string, unknown>>
      uploads.push({ status, headers: req.headers, events })
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}')
      notify()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/logs`

  return {
    url,
    uploads,
    get held () { return held },
    accepted: () => uploads.filter((u) => u.status >= 200 && u.status < 300).flatMap((u) => u.events),
    script (next) { statuses = [...next] },
    setHanging (value) {
      hanging = value
      if (!value) {
        for (const res of hung) res.destroy()
        hung.clear()
      }
    },
    async waitForUploads (count) {
      if (seen() >= count) return
      await new Promise<void>((resolve) => waiters.push({ count, resolve }))
    },
    async close () {
      for (const res of hung) res.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
