package authzen_test

import data.authzen

_users := {
	"p-admin": {"id": "admin@example.com", "roles": ["admin"]},
	"p-editor": {"id": "editor@example.com", "roles": ["editor"]},
	"p-viewer": {"id": "viewer@example.com", "roles": ["viewer"]},
	"p-evil": {"id": "evil@example.com", "roles": ["evil_genius", "editor"]},
}

_request(subject, action, owner) := {
	"subject": {"type": "user", "id": subject},
	"action": {"name": action},
	"resource": {"type": "todo", "id": "t-1", "properties": {"ownerID": owner}},
}

_allows(subject, action, owner) if {
	d := authzen.decision with input as _request(subject, action, owner) with data.authzen.subjects.user as _users
	d.allow == true
	d.status == 200
	d.rows.kind == "all"
}

_code(subject, action, owner) := c if {
	d := authzen.decision with input as _request(subject, action, owner) with data.authzen.subjects.user as _users
	d.allow == false
	d.status == 403
	d.rows.kind == "none"
	c := d.reasons[0].code
}

test_every_role_reads if {
	every p in ["p-admin", "p-editor", "p-viewer", "p-evil"] {
		_allows(p, "can_read_todos", "someone@example.com")
		_allows(p, "can_read_user", "someone@example.com")
	}
}

test_viewer_cannot_create_or_change_even_own_todos if {
	_code("p-viewer", "can_create_todo", "viewer@example.com") == "action_not_granted"
	_code("p-viewer", "can_update_todo", "viewer@example.com") == "action_not_granted"
	_code("p-viewer", "can_delete_todo", "viewer@example.com") == "action_not_granted"
}

test_editor_changes_own_todos_only if {
	_allows("p-editor", "can_create_todo", "x@example.com")
	_allows("p-editor", "can_update_todo", "editor@example.com")
	_allows("p-editor", "can_delete_todo", "editor@example.com")
	_code("p-editor", "can_update_todo", "other@example.com") == "action_not_granted"
	_code("p-editor", "can_delete_todo", "other@example.com") == "action_not_granted"
}

test_admin_deletes_any_but_updates_own_only if {
	_allows("p-admin", "can_delete_todo", "other@example.com")
	_allows("p-admin", "can_update_todo", "admin@example.com")
	_code("p-admin", "can_update_todo", "other@example.com") == "action_not_granted"
}

test_evil_genius_updates_any_but_deletes_own_only if {
	_allows("p-evil", "can_update_todo", "other@example.com")
	_code("p-evil", "can_delete_todo", "other@example.com") == "action_not_granted"
	_allows("p-evil", "can_delete_todo", "evil@example.com")
}

test_reason_names_granting_roles_in_order if {
	d := authzen.decision with input as _request("p-evil", "can_read_user", "") with data.authzen.subjects.user as _users
	d.reasons == [{"layer": "policy", "code": "role_grants_action", "message": "role editor, evil_genius grants can_read_user on every todo"}]
}

test_unknown_subject_or_wrong_type_is_denied if {
	_code("nobody", "can_read_todos", "") == "subject_unknown"
	d := authzen.decision with input as {"subject": {"type": "identity", "id": "p-admin"}, "action": {"name": "can_read_todos"}} with data.authzen.subjects.user as _users
	d.reasons[0].code == "subject_unknown"
}

test_unknown_action_or_missing_owner_is_denied if {
	_code("p-admin", "can_fly", "admin@example.com") == "action_not_granted"
	d := authzen.decision with input as {"subject": {"type": "user", "id": "p-editor"}, "action": {"name": "can_update_todo"}, "resource": {"type": "todo"}} with data.authzen.subjects.user as _users
	d.reasons[0].code == "action_not_granted"
}

test_malformed_input_is_denied if {
	d := authzen.decision with input as {"subject": {"type": "user", "id": "p-admin"}, "action": 7} with data.authzen.subjects.user as _users
	not d.allow
	d.reasons[0].message == "no role of user admin@example.com grants (no action) on this resource"
}

# The scenario's data: the five users of the interop, with their documented rights.
test_scenario_users if {
	rick := "CiRmZDA2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"
	morty := "CiRmZDE2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"
	beth := "CiRmZDM2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"
	authzen.allow with input as _request(rick, "can_update_todo", "morty@the-citadel.com")
	authzen.allow with input as _request(rick, "can_delete_todo", "morty@the-citadel.com")
	authzen.allow with input as _request(morty, "can_update_todo", "morty@the-citadel.com")
	not authzen.allow with input as _request(morty, "can_update_todo", "rick@the-citadel.com")
	not authzen.allow with input as _request(beth, "can_create_todo", "")
}
