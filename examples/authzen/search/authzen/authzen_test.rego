package authzen_test

import data.authzen

_users := {
	"mia": {"role": "manager", "department": "Ops"},
	"eve": {"role": "employee", "department": "Ops"},
	"kim": {"role": "contractor", "department": "Law"},
}

_records := {
	"1": {"department": "Ops", "owner": "kim"},
	"2": {"department": "Law", "owner": "eve"},
	"3": {"department": "Tax", "owner": "nobody"},
}

_code(user, action, record) := c if {
	d := authzen.decision with input as {
		"subject": {"type": "user", "id": user},
		"action": {"name": action},
		"resource": {"type": "record", "id": record},
	}
		with data.authzen.subjects.user as _users
		with data.authzen.resources.record as _records
	allowed := d.status == 200
	d.allow == allowed
	c := d.reasons[0].code
}

test_owner_may_do_everything if {
	every action in ["view", "edit", "delete"] {
		_code("kim", action, "1") == "owner"
	}
}

test_view_by_department_or_manager if {
	_code("eve", "view", "1") == "department"
	_code("mia", "view", "3") == "manager"
	_code("eve", "view", "3") == "action_not_granted"
	_code("kim", "view", "2") == "department"
}

test_edit_by_manager_of_department_only if {
	_code("mia", "edit", "1") == "manager_of_department"
	_code("mia", "edit", "3") == "action_not_granted"
	_code("eve", "edit", "1") == "action_not_granted"
}

test_delete_by_owner_only if {
	_code("mia", "delete", "1") == "action_not_granted"
	_code("eve", "delete", "2") == "owner"
}

test_unknown_subject_record_or_action_is_denied if {
	_code("zed", "view", "1") == "subject_unknown"
	_code("mia", "view", "99") == "resource_unknown"
	_code("kim", "share", "1") == "action_not_granted"
	d := authzen.decision with input as {"subject": {"type": "group", "id": "mia"}, "action": {"name": "view"}, "resource": {"type": "record", "id": "1"}}
		with data.authzen.subjects.user as _users
		with data.authzen.resources.record as _records
	not d.allow
	d.reasons[0].code == "subject_unknown"
}

test_allowed_decision_shape if {
	d := authzen.decision with input as {"subject": {"type": "user", "id": "kim"}, "action": {"name": "view"}, "resource": {"type": "record", "id": "1"}}
		with data.authzen.subjects.user as _users
		with data.authzen.resources.record as _records
	d == {"allow": true, "status": 200, "rows": {"kind": "all"}, "reasons": [{"layer": "policy", "code": "owner", "message": "kim owns record 1"}]}
}

# The scenario's data: two of the documented answers.
test_scenario_data if {
	authzen.allow with input as {"subject": {"type": "user", "id": "erin"}, "action": {"name": "view"}, "resource": {"type": "record", "id": "115"}}
	not authzen.allow with input as {"subject": {"type": "user", "id": "erin"}, "action": {"name": "view"}, "resource": {"type": "record", "id": "101"}}
	authzen.allow with input as {"subject": {"type": "user", "id": "dan"}, "action": {"name": "edit"}, "resource": {"type": "record", "id": "115"}}
}
