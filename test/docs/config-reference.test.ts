// docs/CONFIGURATION.md's reference is generated from the config schemas
// (scripts/config-reference.ts): it fails here when a key has no description in
// its schema, or when the file is not what the schemas generate today.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { DOC_FILE, configRows, renderDocument, undescribedKeys } from '../../scripts/config-reference.js'

t.test('every configuration key carries a description in its schema', async (t) => {
  t.same(undescribedKeys(), [], 'add a `description` to these keys\' schemas')
})

t.test('the reference lists every key of the schema', async (t) => {
  const keys = [...configRows().values()].flat().map((r) => r.key)
  for (const key of ['server.port', 'policy.bundleUrl', 'authn.issuers[].tenant', 'authn.basic.rateLimit.maxFailures', 'decisionLogs.http.url']) {
    t.ok(keys.includes(key), `${key} is listed`)
  }
})

t.test('docs/CONFIGURATION.md is up to date', async (t) => {
  const current = readFileSync(DOC_FILE, 'utf8')
  t.equal(current, renderDocument(current), 'docs/CONFIGURATION.md is out of date: run `npm run docs:config`')
})
