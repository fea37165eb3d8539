// One /metrics answer for all workers. Each worker has its own registry; the
// primary (which does not serve HTTP) aggregates them with prom-client's
// AggregatorRegistry, which asks every worker over cluster IPC. The worker that
// receives a scrape asks the primary for the aggregate and answers with it, so
// whichever worker the kernel hands the scrape to, the numbers cover the whole
// process tree. Counters and histograms are summed; see each metric's help for
// gauges.
import cluster from 'node:cluster'
import { randomUUID } from 'node:crypto'
import { AggregatorRegistry, type Registry } from 'prom-client'

const REQUEST = 'verdict:metrics:request'
const RESULT = 'verdict:metrics:result'

interface MetricsRequest { type: typeof REQUEST, id: string }
interface MetricsResult { type: typeof RESULT, id: string, text?: string, error?: string }

/** In a worker: the registry the primary's aggregation reads. */
export function shareWithPrimary (registry: Registry): void {
  if (!cluster.isWorker) return
  AggregatorRegistry.setRegistries([registry])
  // prom-client installs the worker's answering listener when the first
  // AggregatorRegistry of the process is constructed, in workers as well.
  workerListener ??= new AggregatorRegistry()
}

let workerListener: AggregatorRegistry<'text/plain; version=0.0.4; charset=utf-8'> | undefined

/** True when /metrics must come from the primary (this process is one of several workers). */
export function isClusterWorker (): boolean {
  return cluster.isWorker && typeof process.send === 'function'
}

/** In a worker: the aggregated metrics of all workers, from the primary. */
export async function clusterMetrics (timeoutMs = 5000): Promise<string> {
  const id = randomUUID()
  return await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { done(); reject(new Error(`the primary did not aggregate the metrics within ${timeoutMs} ms`)) }, timeoutMs)
    const onMessage = (message: unknown): void => {
      const m = message as Partial<MetricsResult>
      if (m?.type !== RESULT || m.id !== id) return
      done()
      if (typeof m.text === 'string') resolve(m.text)
      else reject(new Error(m.error ?? 'aggregation failed'))
    }
    const done = (): void => { clearTimeout(timer); process.off('message', onMessage) }
    process.on('message', onMessage)
    process.send?.({ type: REQUEST, id } satisfies MetricsRequest)
  })
}

/** In the primary: answers the workers' requests for the aggregate. */
export function serveClusterMetrics (): void {
  const aggregator = new AggregatorRegistry()
  cluster.on('message', (worker, message: unknown) => {
    const m = message as Partial<MetricsRequest>
    if (m?.type !== REQUEST || typeof m.id !== 'string') return
    const id = m.id
    aggregator.clusterMetrics().then(
      (text) => { worker.send({ type: RESULT, id, text } satisfies MetricsResult) },
      (err: Error) => { worker.send({ type: RESULT, id, error: err.message } satisfies MetricsResult) }
    )
  })
}
