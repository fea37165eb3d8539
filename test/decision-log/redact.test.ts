// Masking and erasure by JSON pointer, and the credential scrub that runs
// whatever the configuration says. Nothing is mutated: the decision being
// answered and the policy input stay as they were.
import t from 'tap'
import { applyPointer, isCredentialKey, MASK_MARKER, parsePointer, redact, scrubCredentials } from '../../src/decision-log/redact.js'

const input = () => ({
  principal: { method: 'basic', subject: 'ACME||SVC_AP', roles: ['AP'], scopes: [] },
  request: { method: 'GET', path: '/cmictest/ap-rest-api/rest/1/apvoucher/7', query: { limit: '5', 'a/b': 'x', 't~n': 'y' } },
  resource: { VouCompCode: '01', VouJobCode: '23-410', lines: [{ amount: 5 }, { amount: 7 }] }
})
const result = () => ({ allow: true, status: 200, rows: { kind: 'conditional', filter: { type: 'field' } } })

t.test('pointers: RFC 6901 escaping', async (t) => {
  t.same(parsePointer('/input/request/query/a~1b'), ['input', 'request', 'query', 'a/b'])
  t.same(parsePointer('/input/request/query/t~0n'), ['input', 'request', 'query', 't~n'])
})

t.test('mask replaces the value with the marker; erase removes it; both listed', async (t) => {
  const original = input()
  const frozenCopy = JSON.parse(JSON.stringify(original))
  const r = redact(original, result(), {
    mask: ['/input/resource/VouJobCode', '/result/rows/filter', '/input/request/query/a~1b'],
    erase: ['/input/principal/roles', '/input/resource/lines/0', '/input/request/query/t~0n']
  })
  const out = r.input as ReturnType<typeof input>
  t.equal(out.resource.VouJobCode, MASK_MARKER)
  t.equal(out.resource.VouCompCode, '01', 'siblings stay')
  t.equal((r.result as any).rows.filter, MASK_MARKER)
  t.equal(out.request.query['a/b'], MASK_MARKER)
  t.notOk('roles' in out.principal)
  t.same(out.resource.lines, [{ amount: 7 }], 'an array element is removed')
  t.notOk('t~n' in out.request.query)
  t.same(r.masked, ['/input/resource/VouJobCode', '/result/rows/filter', '/input/request/query/a~1b'])
  t.same(r.erased, ['/input/principal/roles', '/input/resource/lines/0', '/input/request/query/t~0n'])
  t.same(original, frozenCopy, 'the input given is not mutated')
})

t.test('paths that do not exist are not listed and change nothing', async (t) => {
  const original = input()
  const r = redact(original, result(), {
    mask: ['/input/resource/ScmstJobCode', '/input/request/method/deeper', '/input/resource/lines/9'],
    erase: ['/input/nothing/here', '/input/resource/lines/x']
  })
  t.equal(r.input, original, 'the same object when nothing applied')
  t.same(r.masked, [])
  t.same(r.erased, [])
})

t.test('a path both erased and masked counts as erased', async (t) => {
  const r = redact(input(), result(), { mask: ['/input/resource/VouJobCode'], erase: ['/input/resource/VouJobCode'] })
  t.notOk('VouJobCode' in (r.input as any).resource)
  t.same(r.erased, ['/input/resource/VouJobCode'])
  t.same(r.masked, [])
})

t.test('credential-named keys are erased anywhere in the input, always', async (t) => {
  const dirty = {
    request: { query: { access_token: 'eyJ.abc.def', limit: '1', Password: 'hunter2', api_key: 'k' } },
    resource: { nested: [{ client_secret: 's', keep: 1 }], Authorization: 'Basic Zm9vOmJhcg==' }
  }
  const erased: string[] = []
  const out = scrubCredentials(dirty, '/input', erased) as any
  t.same(out, { request: { query: { limit: '1' } }, resource: { nested: [{ keep: 1 }] } })
  t.same(erased.sort(), [
    '/input/request/query/Password', '/input/request/query/access_token', '/input/request/query/api_key',
    '/input/resource/Authorization', '/input/resource/nested/0/client_secret'
  ])
  t.equal(dirty.request.query.access_token, 'eyJ.abc.def', 'the original keeps its fields')
  const clean = { a: { b: [1, { c: 2 }] } }
  t.equal(scrubCredentials(clean, '/input', []), clean, 'nothing to scrub: the same object')
  for (const key of ['token', 'id_token', 'refresh_token', 'secret', 'userPassword', 'x-api-key', 'cookie', 'credentials']) {
    t.ok(isCredentialKey(key), key)
  }
  for (const key of ['TshTypeCode', 'VouJobCode', 'client_id', 'subject', 'limit', 'q', 'finder']) {
    t.notOk(isCredentialKey(key), key)
  }
})

t.test('applyPointer on scalars and empty paths', async (t) => {
  t.same(applyPointer('x', ['a'], 'mask'), { value: 'x', changed: false })
  t.same(applyPointer({ a: 1 }, [], 'erase'), { value: { a: 1 }, changed: false })
})
