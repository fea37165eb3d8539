// What may not leave the process in a decision-log event. Two mechanisms:
//   - configured JSON pointers (OPA style, "/input/resource/VouJobCode") that are
//     masked (value replaced by a marker, path listed in `masked`) or erased
//     (removed, path listed in `erased`);
//   - a fixed credential scrub: any object key that names a credential (password,
//     secret, token, api key, authorization …) anywhere in the input is erased,
//     whatever the configuration says. The principal never carries a token, but a
//     calling service may forward an ERP query such as `?access_token=…`.
// Both copy only the objects on the way to a changed value (copy on write), so
// the decision the route is about to answer with is never touched.

export const MASK_MARKER = '**MASKED**'

const CREDENTIAL_KEY = /^(authorization|proxy-authorization|cookie|set-cookie|password|passwd|pwd|pass|secret|client_secret|clientsecret|access_token|accesstoken|id_token|refresh_token|token|api[-_]?key|apikey|x-api-key|credentials?|private_key)$|password|secret/i

export function isCredentialKey (key: string): boolean {
  return CREDENTIAL_KEY.test(key)
}

type Json = unknown

/** RFC 6901 escaping of one path segment. */
function escapeSegment (segment: string): string {
  // Nearly every key needs no escaping: skip the two replaces for those.
  if (!segment.includes('~') && !segment.includes('/')) return segment
  return segment.replace(/~/g, '~0').replace(/\//g, '~1')
}

function unescapeSegment (segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~')
}

export function parsePointer (pointer: string): string[] {
  return pointer.split('/').slice(1).map(unescapeSegment)
}

function isContainer (value: Json): value is Record<string, Json> | Json[] {
  return value !== null && typeof value === 'object'
}

function shallowCopy (value: Record<string, Json> | Json[]): Record<string, Json> | Json[] {
  return Array.isArray(value) ? value.slice() : { ...value }
}

function hasOwn (container: Record<string, Json> | Json[], key: string): boolean {
  if (Array.isArray(container)) return /^(0|[1-9][0-9]*)$/.test(key) && Number(key) < container.length
  return Object.hasOwn(container, key)
}

/**
 * Applies one pointer to `root` (a path under it, without the leading /input or
 * /result segment): returns the new root, or the same root when the path does not
 * exist. `op` 'erase' removes the value; 'mask' replaces it with the marker.
 */
export function applyPointer (root: Json, segments: string[], op: 'erase' | 'mask'): { value: Json, changed: boolean } {
  if (segments.length === 0 || !isContainer(root)) return { value: root, changed: false }
  const [head, ...rest] = segments as [string, ...string[]]
  if (!hasOwn(root, head)) return { value: root, changed: false }
  const current = (root as Record<string, Json>)[head]
  if (rest.length > 0) {
    const inner = applyPointer(current, rest, op)
    if (!inner.changed) return { value: root, changed: false }
    const copy = shallowCopy(root) as Record<string, Json>
    copy[head] = inner.value
    return { value: copy, changed: true }
  }
  const copy = shallowCopy(root)
  if (op === 'mask') (copy as Record<string, Json>)[head] = MASK_MARKER
  else if (Array.isArray(copy)) copy.splice(Number(head), 1)
  else delete copy[head]
  return { value: copy, changed: true }
}

/** Erases every credential-named key below `value`; `path` is the pointer of `value`. */
export function scrubCredentials (value: Json, path: string, erased: string[]): Json {
  if (!isContainer(value)) return value
  let copy: Record<string, Json> | Json[] | undefined
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      if (!isContainer(item)) return
      const next = scrubCredentials(item, `${path}/${i}`, erased)
      if (next !== item) {
        copy ??= value.slice()
        ;(copy as Json[])[i] = next
      }
    })
    return copy ?? value
  }
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue
    const item = value[key]
    if (isCredentialKey(key)) {
      copy ??= { ...value }
      delete (copy as Record<string, Json>)[key]
      erased.push(`${path}/${escapeSegment(key)}`)
      continue
    }
    // The pointer is built only on the way down, never for the leaves that make up most of an input.
    if (!isContainer(item)) continue
    const next = scrubCredentials(item, `${path}/${escapeSegment(key)}`, erased)
    if (next !== item) {
      copy ??= { ...value }
      ;(copy as Record<string, Json>)[key] = next
    }
  }
  return copy ?? value
}

export interface RedactionRules {
  mask: readonly string[]
  erase: readonly string[]
}

export interface Redacted {
  input: Json
  result: Json
  erased: string[]
  masked: string[]
}

/**
 * The event's input and result after the credential scrub and the configured
 * rules. Only paths that existed are listed, in the order applied (erase first,
 * so a path both erased and masked counts as erased).
 */
export function redact (input: Json, result: Json, rules: RedactionRules): Redacted {
  const erased: string[] = []
  const masked: string[] = []
  const doc: { input: Json, result: Json } = { input: scrubCredentials(input, '/input', erased), result }
  const apply = (pointer: string, op: 'erase' | 'mask'): void => {
    const [top, ...rest] = parsePointer(pointer) as ['input' | 'result', ...string[]]
    const applied = applyPointer(doc[top], rest, op)
    if (!applied.changed) return
    doc[top] = applied.value
    ;(op === 'erase' ? erased : masked).push(pointer)
  }
  for (const pointer of rules.erase) apply(pointer, 'erase')
  for (const pointer of rules.mask) apply(pointer, 'mask')
  return { input: doc.input, result: doc.result, erased, masked }
}
