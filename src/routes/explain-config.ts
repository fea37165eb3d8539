// The `explain` section of the service config: POST /v1/explain, off by default.
// An explanation shows an account's roles, groups and jobs, so the route opens
// only when an operator names the IdP app roles that may call it.
import { Type, type Static } from '@sinclair/typebox'

export const ExplainConfigSchema = Type.Object({
  enabled: Type.Boolean({ default: false, description: 'open `POST /v1/explain`: one decision with the evidence of each layer, from the policy itself' }),
  adminRoles: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), {
    default: [],
    maxItems: 64,
    uniqueItems: true,
    description: 'IdP app roles (the token\'s `roles`) that may call it; a caller holding none of them is refused (403 `EXPLAIN_FORBIDDEN`). Required when enabled'
  })
}, { additionalProperties: false, default: {}, description: '`POST /v1/explain` for security teams (needs `policy.dir`: it compiles the Rego with the explain entrypoint)' })

export type ExplainConfig = Static<typeof ExplainConfigSchema>

/** What the schema cannot say: an open route needs admin roles and a policy directory. */
export function explainConfigProblems (explain: ExplainConfig, policyDir: string | undefined): string[] {
  if (!explain.enabled) return []
  const problems: string[] = []
  if (explain.adminRoles.length === 0) problems.push('/explain/adminRoles: name the IdP app roles that may call POST /v1/explain (none would let nobody, so it is refused)')
  if (policyDir === undefined) problems.push('/explain/enabled: POST /v1/explain needs policy.dir (it compiles the Rego with the explain entrypoint; a bundle has no Rego)')
  return problems
}
