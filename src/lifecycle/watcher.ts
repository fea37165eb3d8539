// Watches a policy directory for the development loop. Editors save in bursts
// (a temp file, a rename, a backup, a swap file), so changes are debounced into
// one callback, and the files editors write beside the real ones never trigger
// a reload. Recursive fs.watch works on Linux from Node 20.
import { watch, type FSWatcher } from 'node:fs'
import { basename } from 'node:path'

export interface DirWatcherOptions {
  debounceMs?: number
  onError?: (err: Error) => void
}

export interface DirWatcher { close (): void }

// Vim (.x.swp, 4913, x~), Emacs (.#x, #x#), JetBrains (x___jb_tmp___), and the
// generic temp and backup suffixes.
const TEMP_NAME = /^(?:\.|#.*#$|4913$)|~$|\.(?:sw[a-p]x?|tmp|temp|bak|orig|part|crdownload)$|___jb_(?:tmp|old)___$/i

/** True for a changed path (relative to the watched directory) that no policy load needs to see. */
export function isIgnoredChange (relativePath: string): boolean {
  // Anything under a hidden directory (.git, .idea, …) as well.
  if (relativePath.split(/[\\/]/).some((segment) => segment.startsWith('.'))) return true
  return TEMP_NAME.test(basename(relativePath))
}

export function watchPolicyDir (dir: string, onChange: () => void, options: DirWatcherOptions = {}): DirWatcher {
  const debounceMs = options.debounceMs ?? 100
  let timer: NodeJS.Timeout | undefined
  const watcher: FSWatcher = watch(dir, { recursive: true, persistent: false }, (_event, filename) => {
    // No name (some platforms): something changed; reload to be safe.
    if (filename !== null && isIgnoredChange(filename.toString())) return
    clearTimeout(timer)
    timer = setTimeout(onChange, debounceMs)
    timer.unref()
  })
  watcher.on('error', (err) => options.onError?.(err))
  return {
    close () {
      clearTimeout(timer)
      watcher.close()
    }
  }
}
