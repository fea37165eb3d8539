# METADATA
# title: AuthZEN API-gateway scenario
# description: |
#   The API-gateway interop scenario of AuthZEN (openid/authzen, api-gateway):
#   medium-grained authorization of a route. The gateway asks whether an
#   identity (data.authzen.subjects.identity, keyed by the subject id) may call
#   an HTTP method (action.name) on a route template (resource.id, type route);
#   data.authzen.routes lists, per route and method, the roles that may.
#   Ownership is left to the application behind the gateway. Deny by default.
package authzen

# METADATA
# description: |
#   The decision: {allow, status, reasons, rows}. rows is "all" when allowed and
#   "none" when denied (the scenario has no row filters).
decision := {
	"allow": allow,
	"status": _status,
	"reasons": [reason],
	"rows": {"kind": _rows_kind},
}

# METADATA
# description: True when one of the identity's roles may call the method on the route.
default allow := false

allow if reason.code == "role_grants_method"

# METADATA
# description: |
#   Why, as one reason {layer, code, message}. Codes: subject_unknown,
#   route_unknown, role_grants_method, method_not_granted.
reason := _reason("subject_unknown", "the subject is not a known identity") if {
	not _identity
} else := _reason("route_unknown", msg) if {
	not _route
	msg := "the resource is not a route the gateway protects"
} else := _reason("role_grants_method", msg) if {
	count(_granting) > 0
	msg := sprintf("role %s may call %s %s", [concat(", ", _granting), input.action.name, input.resource.id])
} else := _reason("method_not_granted", msg) if {
	msg := sprintf("no role of %s may call this method on %s", [_identity.id, input.resource.id])
}

_identity := data.authzen.subjects.identity[input.subject.id] if input.subject.type == "identity"

_route := data.authzen.routes[input.resource.id] if input.resource.type == "route"

_granting := sort([role |
	some role in _identity.roles
	role in _route[input.action.name]
])

_reason(code, message) := {"layer": "policy", "code": code, "message": message}

_status := 200 if allow

else := 403

_rows_kind := "all" if allow

else := "none"
