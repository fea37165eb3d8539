// The reconciler: on an interval, whatever the watcher saw or missed, the
// policy directory's files are digested and compared with the active policy's
// (PolicyStore.reconcile); files that differ are loaded. A file-system event
// can be lost (a watch limit, a network file system, a link swapped where no
// watch sees it); this loop is what makes staleness bounded all the same.
import type { PolicyStore } from './store.js'

export interface Reconciler { stop (): void }

/** Reconciles every `intervalMs` (never two at once) until stopped. */
export function startReconciling (store: Pick<PolicyStore, 'reconcile'>, intervalMs: number): Reconciler {
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  const next = (): void => {
    if (stopped) return
    timer = setTimeout(() => { store.reconcile().finally(next) }, intervalMs)
    timer.unref()
  }
  next()
  return {
    stop () {
      stopped = true
      clearTimeout(timer)
    }
  }
}
