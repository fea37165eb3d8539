# METADATA
# title: AuthZEN Todo scenario
# description: |
#   The Todo interop scenario of AuthZEN (openid/authzen, todo-1.1): users with
#   roles (data.authzen.subjects.user, keyed by the subject id the PEP sends) and
#   what each role may do (data.authzen.roles): `any` permissions apply to every
#   todo, `own` permissions only to todos whose resource.properties.ownerID is the
#   user's own id. Input is the AuthZEN request {subject, action, resource,
#   context}; the entrypoint authzen/decision answers in Verdict's result contract.
#   Deny by default.
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
# description: True when one of the subject's roles grants the action on this resource.
default allow := false

allow if reason.code in {"role_grants_action", "owner_grants_action"}

# METADATA
# description: |
#   Why, as one reason {layer, code, message}. Codes: subject_unknown,
#   role_grants_action, owner_grants_action, action_not_granted.
reason := _reason("subject_unknown", msg) if {
	not _user
	msg := "the subject is not a known user of the Todo application"
} else := _reason("role_grants_action", msg) if {
	count(_granting("any")) > 0
	msg := sprintf("role %s grants %s on every todo", [concat(", ", _granting("any")), input.action.name])
} else := _reason("owner_grants_action", msg) if {
	_owns
	count(_granting("own")) > 0
	msg := sprintf("role %s grants %s on the user's own todos", [concat(", ", _granting("own")), input.action.name])
} else := _reason("action_not_granted", msg) if {
	msg := sprintf("no role of user %s grants %s on this resource", [_user.id, _action_name])
}

_user := data.authzen.subjects.user[input.subject.id] if input.subject.type == "user"

# The user's roles that grant the action: on `any` todo, or on their `own`.
_granting(scope) := sort([role |
	some role in _user.roles
	input.action.name in data.authzen.roles[role][scope]
])

_owns if input.resource.properties.ownerID == _user.id

_action_name := name if {
	name := input.action.name
	is_string(name)
} else := "(no action)"

_reason(code, message) := {"layer": "policy", "code": code, "message": message}

_status := 200 if allow

else := 403

_rows_kind := "all" if allow

else := "none"
