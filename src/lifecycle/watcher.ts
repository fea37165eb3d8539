// Watches a policy directory. Node's recursive fs.watch follows inodes, so once
// a file is replaced by a rename (`sed -i`, editors' safe-save, `git checkout`)
// later writes to it go unseen; chokidar watches every folder as well as every
// file, follows links to files and folders, and picks up new folders. A Kubernetes ConfigMap volume
// changes by renaming its `..data` link to a new folder, which changes every
// file at once without touching a watched inode: the directory's own entries
// are watched for that. Editors save in bursts (a temp file, a rename, a backup,
// a swap file), so changes are debounced into one callback, and the files
// editors write beside the real ones never trigger one.
//
// Events are a fast path, not the guarantee: the reconciler (reconcile.ts)
// compares the files with the active policy on an interval all the same.
import { watch as watchEntries, type FSWatcher as EntriesWatcher } from 'node:fs'
import { basename, relative } from 'node:path'
import { watch, type FSWatcher } from 'chokidar'

export interface DirWatcherOptions {
  debounceMs?: number
  onError?: (err: Error) => void
}

export interface DirWatcher {
  /** Resolves once the directory's initial scan is done and changes are followed. */
  ready: Promise<void>
  close (): void
}

/** The link a Kubernetes volume swaps to publish a new version of all its files. */
export const KUBERNETES_DATA_LINK = '..data'

// Vim (.x.swp, 4913, x~), Emacs (.#x, #x#), JetBrains (x___jb_tmp___), and the
// generic temp and backup suffixes.
const TEMP_NAME = /^(?:\.|#.*#$|4913$)|~$|\.(?:sw[a-p]x?|tmp|temp|bak|orig|part|crdownload)$|___jb_(?:tmp|old)___$/i

/** True for a changed path (relative to the watched directory) that no policy load needs to see. */
export function isIgnoredChange (relativePath: string): boolean {
  // Anything under a hidden directory (.git, .idea, a volume's ..2026_… folders)
  // as well: the compiler does not read them.
  if (relativePath.split(/[\\/]/).some((segment) => segment.startsWith('.'))) return true
  return TEMP_NAME.test(basename(relativePath))
}

/**
 * Calls `onChange` (debounced) after anything under `dir` that the compiler
 * reads may have changed. Throws when the directory cannot be watched.
 */
export function watchPolicyDir (dir: string, onChange: () => void, options: DirWatcherOptions = {}): DirWatcher {
  const debounceMs = options.debounceMs ?? 100
  let timer: NodeJS.Timeout | undefined
  let closed = false
  const changed = (): void => {
    if (closed) return // chokidar closes asynchronously
    clearTimeout(timer)
    timer = setTimeout(onChange, debounceMs)
    timer.unref()
  }
  const failed = (err: unknown): void => { options.onError?.(err instanceof Error ? err : new Error(String(err))) }

  // First, as it throws for a directory that is missing or unreadable.
  const entries: EntriesWatcher = watchEntries(dir, { persistent: false }, (_event, name) => {
    if (name === null || name.toString() === KUBERNETES_DATA_LINK) changed()
  })
  entries.on('error', failed)

  const files: FSWatcher = watch(dir, {
    ignoreInitial: true,
    persistent: false,
    followSymlinks: true,
    ignored: (path: string) => isIgnoredChange(relative(dir, path))
  })
  files.on('all', changed)
  // chokidar follows a file's content through a watch on the file, and loses it
  // when the file is unlinked and created again quickly (`git checkout` does
  // that): later writes reach only the watch on its folder, which chokidar
  // reports as raw events alone. So raw events count too.
  files.on('raw', (_event, name, details) => {
    const watched = (details as { watchedPath?: unknown } | undefined)?.watchedPath
    const where = typeof watched === 'string' ? relative(dir, watched) : ''
    if (isIgnoredChange(where) || (name !== '' && isIgnoredChange(name))) return
    changed()
  })
  files.on('error', failed)
  const ready = new Promise<void>((resolve) => { files.once('ready', resolve) })

  return {
    ready,
    close () {
      closed = true
      clearTimeout(timer)
      entries.close()
      files.close().catch(failed)
    }
  }
}
