// The `status` section: where Verdict reports its policy state, in the shape of
// OPA's status API, so a control plane that manages OPA fleets can watch
// Verdict replicas the same way.
import { Type, type Static } from '@sinclair/typebox'

export const STATUS_DEFAULTS = { intervalSeconds: 60, timeoutSeconds: 10 } as const

export const StatusConfigSchema = Type.Object({
  url: Type.String({
    pattern: '^https?://',
    maxLength: 2048,
    description: "the status service: OPA-shaped status is POSTed there (OPA's status API) when the policy changes or fails, and every `intervalSeconds`"
  }),
  intervalSeconds: Type.Number({ minimum: 0.05, maximum: 86400, default: STATUS_DEFAULTS.intervalSeconds, description: 'a report is sent at least this often' }),
  timeoutSeconds: Type.Number({ minimum: 0.05, maximum: 300, default: STATUS_DEFAULTS.timeoutSeconds, description: 'one report may take this long' }),
  bearerTokenFile: Type.Optional(Type.String({ minLength: 1, description: 'a file holding the bearer token for the status service (read at every report)' }))
}, { additionalProperties: false, description: 'status reporting to a status service (OPA status API)' })

export type StatusConfig = Static<typeof StatusConfigSchema>
