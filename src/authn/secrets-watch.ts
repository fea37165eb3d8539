// Follows the Basic secrets file. The path is polled (fs.watchFile stats the
// path, not an inode), so a file replaced by a rename — an editor's safe-save,
// `mv`, a Kubernetes Secret volume's `..data` link swap — is seen like a write
// in place. Reloads run one at a time; a change seen during one starts another
// when it ends, so the last state of the file is always the one loaded.
import { stat, unwatchFile, watchFile, type Stats } from 'node:fs'

export interface FileWatch {
  close (): void
}

function sameFile (a: Stats, b: Stats): boolean {
  return a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.size === b.size && a.ctimeMs === b.ctimeMs
}

/** The file's stat, taken before it is read, so a change during the read is not missed; undefined when there is none. */
export async function statBeforeRead (path: string): Promise<Stats | undefined> {
  return await new Promise((resolve) => { stat(path, (err, stats) => { resolve(err === null ? stats : undefined) }) })
}

/**
 * Calls `reload` after every change of the file at `path` (appearing and
 * disappearing included). `loaded`: the stat taken before the file was last
 * read; if the file changed between that and the start of watching, it is
 * reloaded at once.
 */
export function watchSecretsFile (path: string, intervalMs: number, reload: () => Promise<void>, loaded?: Stats): FileWatch {
  let running: Promise<void> | undefined
  let again = false
  let closed = false

  const run = (): void => {
    if (closed) return
    if (running !== undefined) {
      again = true
      return
    }
    again = false
    running = reload().finally(() => {
      running = undefined
      if (again) run()
    })
  }
  const listener = (current: Stats, previous: Stats): void => {
    // The listener also fires on an unchanged stat after an error clears; only real changes count.
    if (!sameFile(current, previous)) run()
  }
  watchFile(path, { interval: intervalMs, persistent: false }, listener)
  // Watching starts from the file as it is now: one changed since it was read would otherwise go unseen until the next change.
  if (loaded !== undefined) {
    stat(path, (err, now) => { if (err !== null || !sameFile(now, loaded)) run() })
  }
  return {
    close () {
      closed = true
      unwatchFile(path, listener)
    }
  }
}
