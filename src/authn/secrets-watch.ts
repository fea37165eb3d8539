// Follows the Basic secrets file. The path is polled (fs.watchFile stats the
// path, not an inode), so a file replaced by a rename — an editor's safe-save,
// `mv`, a Kubernetes Secret volume's `..data` link swap — is seen like a write
// in place. Reloads run one at a time; a change seen during one starts another
// when it ends, so the last state of the file is always the one loaded.
import { unwatchFile, watchFile, type Stats } from 'node:fs'

export interface FileWatch {
  close (): void
}

/** Calls `reload` after every change of the file at `path` (appearing and disappearing included). */
export function watchSecretsFile (path: string, intervalMs: number, reload: () => Promise<void>): FileWatch {
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
    if (current.mtimeMs === previous.mtimeMs && current.ino === previous.ino && current.size === previous.size &&
      current.ctimeMs === previous.ctimeMs) return
    run()
  }
  watchFile(path, { interval: intervalMs, persistent: false }, listener)
  return {
    close () {
      closed = true
      unwatchFile(path, listener)
    }
  }
}
