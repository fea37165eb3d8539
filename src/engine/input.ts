// Turns a decision request into the facts the policy decides on: the action the
// HTTP method stands for, and the endpoint the ERP REST path names. Anything that
// is not a CMiC-style API request is the caller's mistake (400), decided before any
// credential is checked or policy evaluated.
import { MethodUnknownError, PathNotApiError } from '../errors.js'
import type { Action, Endpoint } from './result.js'

const ACTIONS: Readonly<Record<string, Action>> = {
  POST: 'create',
  GET: 'retrieve',
  HEAD: 'retrieve',
  PUT: 'update',
  PATCH: 'update',
  DELETE: 'delete'
}

export function actionOf (method: string): Action {
  const action = Object.hasOwn(ACTIONS, method) ? ACTIONS[method] : undefined
  if (!action) throw new MethodUnknownError(JSON.stringify(method.slice(0, 16)))
  return action
}

// /{env}/{module}-rest-api/rest/{version}/{resource}[/{id}]
// Every segment but the record id is a plain identifier, so an encoded slash,
// a dot-segment or a stray query string can never make two paths look alike.
const API_PATH = /^\/([A-Za-z0-9_-]{1,64})\/([a-z][a-z0-9]{0,15})-rest-api\/rest\/([A-Za-z0-9._-]{1,16})\/([A-Za-z][A-Za-z0-9_]{0,63})(?:\/([^/?#]{1,256}))?$/

export function endpointOf (path: string): Endpoint {
  const m = API_PATH.exec(path)
  if (!m) throw new PathNotApiError(JSON.stringify(path.slice(0, 200)))
  const [, env, module, version, resource, rawId] = m as unknown as [string, string, string, string, string, string | undefined]
  if (version === '.' || version === '..') throw new PathNotApiError(JSON.stringify(path.slice(0, 200)))
  const endpoint: Endpoint = { env, module, version, resource }
  if (rawId !== undefined) endpoint.id = decodeId(rawId, path)
  return endpoint
}

function decodeId (raw: string, path: string): string {
  let id: string
  try {
    id = decodeURIComponent(raw)
  } catch {
    throw new PathNotApiError(JSON.stringify(path.slice(0, 200)))
  }
  if (id === '.' || id === '..' || id.includes('/') || /[\u0000-\u001f]/.test(id)) { // eslint-disable-line no-control-regex
    throw new PathNotApiError(JSON.stringify(path.slice(0, 200)))
  }
  return id
}
