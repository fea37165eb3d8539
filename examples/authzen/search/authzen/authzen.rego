# METADATA
# title: AuthZEN search scenario
# description: |
#   The search interop scenario of AuthZEN (openid/authzen, search): users
#   (data.authzen.subjects.user: role, department) and records
#   (data.authzen.resources.record: department, owner) with three actions
#   (data.authzen.actions.record). A user may view a record they own, a record of
#   their department, or any record when a manager; edit a record they own, or
#   any record of their department when a manager; delete a record they own.
#   The search endpoints evaluate this same decision for every known subject,
#   resource or action, so a search answer always agrees with single evaluations.
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
# description: True when one of the scenario's rules grants the action on the record.
default allow := false

allow if reason.code in {"owner", "department", "manager", "manager_of_department"}

# METADATA
# description: |
#   Why, as one reason {layer, code, message}. Codes: subject_unknown,
#   resource_unknown, owner, department, manager, manager_of_department,
#   action_not_granted.
reason := _reason("subject_unknown", "the subject is not a known user") if {
	not _user
} else := _reason("resource_unknown", "the resource is not a known record") if {
	not _record
} else := _reason("owner", msg) if {
	input.action.name in {"view", "edit", "delete"}
	_record.owner == input.subject.id
	msg := sprintf("%s owns record %s", [input.subject.id, input.resource.id])
} else := _reason("manager", msg) if {
	input.action.name == "view"
	_user.role == "manager"
	msg := sprintf("%s is a manager and may view every record", [input.subject.id])
} else := _reason("department", msg) if {
	input.action.name == "view"
	_same_department
	msg := sprintf("record %s belongs to %s's department", [input.resource.id, input.subject.id])
} else := _reason("manager_of_department", msg) if {
	input.action.name == "edit"
	_user.role == "manager"
	_same_department
	msg := sprintf("%s manages the department of record %s", [input.subject.id, input.resource.id])
} else := _reason("action_not_granted", msg) if {
	msg := sprintf("no rule lets %s do this on record %s", [input.subject.id, input.resource.id])
}

_user := data.authzen.subjects.user[input.subject.id] if input.subject.type == "user"

_record := data.authzen.resources.record[input.resource.id] if input.resource.type == "record"

_same_department if _record.department == _user.department

_reason(code, message) := {"layer": "policy", "code": code, "message": message}

_status := 200 if allow

else := 403

_rows_kind := "all" if allow

else := "none"
