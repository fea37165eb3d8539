// The last good remote bundle, kept on disk (OPA's `persist`). A restart while
// the bundle service is down would otherwise serve nothing (503 for every
// decision) until the service is back.
//
// Only a bundle that was verified and activated is written (commit() runs on
// the store's 'activated' event), so a tampered or unsigned download never
// reaches the disk. What is read back goes through the same verification as a
// download: a persisted file that was changed on disk is refused like any
// other bundle. It is used only while no policy is active and the service does
// not answer; the first answer of the service replaces it.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { BundleFetcher, FetchResult } from './remote.js'

const BUNDLE_FILE = 'bundle.tar.gz'
const META_FILE = 'bundle.json'

interface PersistedMeta { etag?: string, savedAt: string }

export interface PersistedState {
  /** when the persisted bundle now serving was saved; undefined while serving a download */
  servingSince?: string
}

export interface PersistingFetcher extends BundleFetcher {
  /** Writes the bundle last downloaded (the one just activated) to disk. */
  commit: () => Promise<void>
  state: () => PersistedState
}

async function writeAtomically (file: string, data: Buffer | string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`
  await writeFile(temp, data, { mode: 0o600 })
  await rename(temp, file)
}

export function persistingFetcher (inner: BundleFetcher, dir: string): PersistingFetcher {
  let pending: { body: Buffer, etag?: string } | undefined
  let servingSince: string | undefined
  let triedDisk = false

  async function readPersisted (): Promise<FetchResult | undefined> {
    let body: Buffer
    let meta: PersistedMeta
    try {
      body = await readFile(join(dir, BUNDLE_FILE))
      meta = JSON.parse(await readFile(join(dir, META_FILE), 'utf8')) as PersistedMeta
    } catch {
      return undefined
    }
    servingSince = meta.savedAt
    const result: FetchResult = { notModified: false, body }
    if (typeof meta.etag === 'string') result.etag = meta.etag
    return result
  }

  return {
    async fetch (etag) {
      try {
        const result = await inner.fetch(etag)
        if (!result.notModified) {
          pending = { body: result.body, ...(result.etag !== undefined ? { etag: result.etag } : {}) }
        }
        // The service answered: what serves from now on is what it says.
        servingSince = undefined
        return result
      } catch (err) {
        // Only for the first load of this process (no policy active, so the
        // store sent no ETag), and once: a persisted bundle that fails its
        // verification is not offered again.
        if (etag === undefined && !triedDisk) {
          triedDisk = true
          const persisted = await readPersisted()
          if (persisted !== undefined) return persisted
        }
        throw err
      }
    },
    close: () => inner.close(),
    async commit () {
      const next = pending
      pending = undefined
      if (next === undefined) return
      await mkdir(dir, { recursive: true, mode: 0o700 })
      // Bundle first, then its metadata: a crash between the two leaves an old
      // etag beside a newer bundle, which at worst costs one extra download.
      await writeAtomically(join(dir, BUNDLE_FILE), next.body)
      const meta: PersistedMeta = { savedAt: new Date().toISOString(), ...(next.etag !== undefined ? { etag: next.etag } : {}) }
      await writeAtomically(join(dir, META_FILE), JSON.stringify(meta))
    },
    state: () => (servingSince !== undefined ? { servingSince } : {})
  }
}
