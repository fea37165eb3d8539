# METADATA
# title: API security
# description: |
#   Endpoint-level RBAC, as CMiC's API roles: may this account call this
#   endpoint ("module/resource") with this action? Roles come from
#   data.erp.api.assignments, their rights from data.erp.api.roles, and the
#   bypass list (data.erp.api.bypass) opens endpoints to every known account.
#   Lookups are by key only (WASM has no rule indexing).
package verdict.api

import data.verdict.identity

# METADATA
# description: The endpoint key used in roles and the bypass list, "module/resource".
endpoint := concat("/", [input.endpoint.module, input.endpoint.resource])

# METADATA
# description: The defined API roles assigned to the account.
roles contains role if {
	some role in data.erp.api.assignments[identity.account_id]
	data.erp.api.roles[role]
}

# METADATA
# description: The account's roles that grant input.action on the endpoint.
granting_roles contains role if {
	some role in roles
	input.action in data.erp.api.roles[role].endpoints[endpoint]
}

# METADATA
# description: True when the endpoint and action are on the API Program Security Bypass list.
default bypassed := false

bypassed if input.action in data.erp.api.bypass[endpoint]

# METADATA
# description: |
#   What the API security layer decided, as one reason {layer, code, message}.
#   Codes: account_unknown, idp_not_allowed, bypass, no_api_role,
#   role_grants_action, action_not_granted. Checked in that order.
reason := _reason("account_unknown", _unknown_message) if {
	not identity.known
} else := _reason("idp_not_allowed", msg) if {
	not identity.idp_allowed
	msg := sprintf("account %s may not be authenticated by identity provider %s (allowed: %s)", [identity.account_id, input.principal.idp, concat(", ", identity.account.idps)])
} else := _reason("bypass", msg) if {
	bypassed
	msg := sprintf("%s on %s is on the API security bypass list", [input.action, endpoint])
} else := _reason("no_api_role", msg) if {
	count(roles) == 0
	msg := sprintf("account %s has no API role", [identity.account_id])
} else := _reason("role_grants_action", msg) if {
	count(granting_roles) > 0
	msg := sprintf("%s %s %s %s on %s", [_role_word(granting_roles), _names(granting_roles), _grant_word(granting_roles), input.action, endpoint])
} else := _reason("action_not_granted", msg) if {
	msg := sprintf("no API role of account %s (%s) grants %s on %s", [identity.account_id, _names(roles), input.action, endpoint])
}

# METADATA
# description: True when the API security layer lets the call through.
default allow := false

allow if reason.code in {"bypass", "role_grants_action"}

_reason(code, message) := {"layer": "api", "code": code, "message": message}

_unknown_message := sprintf("account %s is not a known ERP account", [identity.account_id]) if {
	identity.account_id
} else := sprintf(
	"no ERP account for client %s of identity provider %s: the credential names no ERP user and the client is not mapped",
	[object.get(input.principal, "client_id", "(none)"), object.get(input.principal, "idp", "(none)")],
)

_names(set) := concat(", ", sort(set))

_role_word(set) := "role" if {
	count(set) == 1
} else := "roles"

_grant_word(set) := "grants" if {
	count(set) == 1
} else := "grant"
