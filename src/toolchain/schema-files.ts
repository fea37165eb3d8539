// The JSON Schemas kept in the repository (schemas/*.json), each generated from
// its TypeBox source in src/contract: scripts/write-schemas.mjs writes them and a
// test (test/policy-data/schemas.test.ts) fails when a committed file differs
// from what its source generates. Tools that read JSON Schema (editors, `opa
// check --schema`, other languages) use the files; Verdict uses the sources.
import type { TSchema } from '@sinclair/typebox'
import { PolicyData } from '../contract/policy-data.js'
import { PolicyInputSchema } from '../contract/policy.js'

/** Repository path -> schema. */
export const SCHEMA_FILES: Readonly<Record<string, TSchema>> = {
  'schemas/policy-data.json': PolicyData,
  'schemas/policy-input.json': PolicyInputSchema
}

/** The file text of a schema: JSON with two-space indent and a final newline. */
export function schemaText (schema: TSchema): string {
  return JSON.stringify(schema, null, 2) + '\n'
}
