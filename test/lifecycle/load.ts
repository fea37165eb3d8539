// Decision load for the reload tests: clients on real HTTP, each asking again as
// soon as it has its answer, recording what every answer said and when.
export interface Answer {
  startedAt: number
  endedAt: number
  status: number
  allow?: boolean
  digest?: string
  error?: string
}

export interface Load {
  answers: Answer[]
  /** Stops asking and resolves once every client has its last answer. */
  stop (): Promise<void>
}

export function startLoad (base: string, authorization: string, path: string, clients = 20): Load {
  const answers: Answer[] = []
  let running = true
  const body = JSON.stringify({ request: { method: 'GET', path } })
  const client = async (): Promise<void> => {
    while (running) {
      const startedAt = performance.now()
      try {
        const res = await fetch(`${base}/v1/decide`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body })
        const json = await res.json() as { allow?: boolean, policy?: { digest?: string } }
        answers.push({ startedAt, endedAt: performance.now(), status: res.status, allow: json.allow, digest: json.policy?.digest })
      } catch (err) {
        answers.push({ startedAt, endedAt: performance.now(), status: 0, error: (err as Error).message })
      }
    }
  }
  const all = Array.from({ length: clients }, client)
  return {
    answers,
    async stop () {
      running = false
      await Promise.all(all)
    }
  }
}
