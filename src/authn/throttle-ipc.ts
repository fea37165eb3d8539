// The Basic failure throttle shared by every worker of a cluster: the primary
// holds the one FailureThrottle and workers ask it over the cluster's IPC
// channel, so two workers do not give an attacker twice the guesses.
//
//   primary (server.ts):  serveSharedThrottle(cluster, config.basic.rateLimit)
//   worker (authn):       ipcThrottleStore(...)   — chosen when cluster.isWorker
//
// A worker whose question is not answered in time (no primary serving the
// throttle, a primary too busy) counts locally for that attempt: still limited,
// never unlimited, never a hang.
import type { Cluster, Worker } from 'node:cluster'
import { FailureThrottle, localThrottleStore, type ThrottleConfig, type ThrottleStore } from './rate-limit.js'

const TAG = 'verdict:basic-throttle'
const ANSWER_TIMEOUT_MS = 1000

interface Question {
  tag: typeof TAG
  id: number
  op: 'begin' | 'succeeded'
  account: string
  client: string
}

interface Answer {
  tag: typeof TAG
  id: number
  waitMs: number
}

function isQuestion (message: unknown): message is Question {
  const m = message as Partial<Question> | null
  return typeof m === 'object' && m !== null && m.tag === TAG && typeof m.id === 'number' &&
    (m.op === 'begin' || m.op === 'succeeded') && typeof m.account === 'string' && typeof m.client === 'string'
}

function isAnswer (message: unknown): message is Answer {
  const m = message as Partial<Answer> | null
  return typeof m === 'object' && m !== null && m.tag === TAG && typeof m.id === 'number' && typeof m.waitMs === 'number'
}

/** In the cluster primary: answers the workers' throttle questions from one shared throttle. */
export function serveSharedThrottle (cluster: Cluster, config: ThrottleConfig, now: () => number = Date.now): FailureThrottle {
  const throttle = new FailureThrottle(config)
  cluster.on('message', (worker: Worker, message: unknown) => {
    if (!isQuestion(message)) return
    if (message.op === 'succeeded') {
      throttle.succeeded(message.account, message.client, now())
      return
    }
    const answer: Answer = { tag: TAG, id: message.id, waitMs: throttle.begin(message.account, message.client, now()) }
    if (worker.isConnected()) worker.send(answer)
  })
  return throttle
}

type Send = (message: Question) => void

/** In a worker: asks the primary; counts locally when no answer comes in time. */
export function ipcThrottleStore (config: ThrottleConfig, channel: NodeJS.Process = process, now: () => number = Date.now): ThrottleStore {
  const fallback = localThrottleStore(config, now)
  const pending = new Map<number, (waitMs: number) => void>()
  let nextId = 1
  channel.on('message', (message: unknown) => {
    if (!isAnswer(message)) return
    pending.get(message.id)?.(message.waitMs)
    pending.delete(message.id)
  })
  const send: Send = (message) => { channel.send?.(message) }

  return {
    begin (account, client) {
      const id = nextId++
      return new Promise<number>((resolve) => {
        const timer = setTimeout(() => {
          pending.delete(id)
          resolve(fallback.begin(account, client))
        }, ANSWER_TIMEOUT_MS)
        pending.set(id, (waitMs) => {
          clearTimeout(timer)
          resolve(waitMs)
        })
        send({ tag: TAG, id, op: 'begin', account, client })
      })
    },
    succeeded (account, client) {
      fallback.succeeded(account, client)
      send({ tag: TAG, id: nextId++, op: 'succeeded', account, client })
    }
  }
}
