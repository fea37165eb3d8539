# METADATA
# title: Verdict decision
# description: |
#   The one entrypoint, verdict/decision (data.verdict.decision), composing the
#   layers: identity resolves the ERP account, API security decides on the
#   endpoint and action, application security on the company and job data.
#   Deny by default. See docs/POLICY-CONTRACT.md for input and result.
package verdict

import data.verdict.api
import data.verdict.application
import data.verdict.identity

# METADATA
# description: |
#   The decision: {allow, status, principal, reasons, rows, sql_mapping}.
#   Always defined: when the input is incomplete the default denies with
#   reason no_decision. sql_mapping is the object's column mapping (or null),
#   which the service needs to render rows as SQL; it is never answered as is.
default decision := {
	"allow": false,
	"status": 403,
	"principal": {"kind": "unknown"},
	"reasons": [{
		"layer": "policy",
		"code": "no_decision",
		"message": "the input is incomplete or malformed: denied by default",
	}],
	"rows": {"kind": "none"},
	"sql_mapping": null,
}

decision := {
	"allow": allow,
	"status": status,
	"principal": identity.principal,
	"reasons": reasons,
	"rows": rows,
	"sql_mapping": application.sql_mapping,
}

# METADATA
# description: True only when both the API security and the application security layers allow.
default allow := false

allow if {
	api.allow
	application.allow
}

# METADATA
# description: HTTP status the calling service should answer with, 200 allowed or 403 denied.
status := 200 if {
	allow
} else := 403

# METADATA
# description: |
#   What each layer decided, in order. The application layer is consulted only
#   when the API security layer allows.
reasons := [api.reason] if {
	not api.allow
} else := [api.reason, application.reason]

# METADATA
# description: The row scope of an allowed call (all, or conditional with a filter); none when denied.
rows := application.rows if {
	allow
} else := {"kind": "none"}
