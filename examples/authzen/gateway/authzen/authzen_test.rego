package authzen_test

import data.authzen

_identities := {
	"p-viewer": {"id": "viewer@example.com", "roles": ["viewer"]},
	"p-editor": {"id": "editor@example.com", "roles": ["editor"]},
	"p-two": {"id": "two@example.com", "roles": ["viewer", "admin"]},
}

_routes := {
	"/things": {"GET": ["viewer", "editor"], "POST": ["editor"]},
	"/things/{id}": {"DELETE": ["admin"]},
}

_decide(subject, method, route) := d if {
	d := authzen.decision with input as {
		"subject": {"type": "identity", "id": subject},
		"action": {"name": method},
		"resource": {"type": "route", "id": route},
	}
		with data.authzen.subjects.identity as _identities
		with data.authzen.routes as _routes
}

test_roles_grant_methods_per_route if {
	_decide("p-viewer", "GET", "/things").allow
	_decide("p-editor", "POST", "/things").allow
	_decide("p-two", "DELETE", "/things/{id}").allow
	d := _decide("p-viewer", "POST", "/things")
	not d.allow
	d.status == 403
	d.reasons[0].code == "method_not_granted"
}

test_granting_roles_are_named if {
	d := _decide("p-two", "GET", "/things")
	d == {"allow": true, "status": 200, "rows": {"kind": "all"}, "reasons": [{"layer": "policy", "code": "role_grants_method", "message": "role viewer may call GET /things"}]}
}

test_unknown_route_method_or_identity_is_denied if {
	_decide("p-editor", "GET", "/other").reasons[0].code == "route_unknown"
	_decide("p-editor", "PATCH", "/things").reasons[0].code == "method_not_granted"
	_decide("nobody", "GET", "/things").reasons[0].code == "subject_unknown"
	d := authzen.decision with input as {"subject": {"type": "user", "id": "p-editor"}, "action": {"name": "GET"}, "resource": {"type": "route", "id": "/things"}}
		with data.authzen.subjects.identity as _identities
		with data.authzen.routes as _routes
	d.reasons[0].code == "subject_unknown"
}

test_route_id_must_be_a_route if {
	d := authzen.decision with input as {"subject": {"type": "identity", "id": "p-editor"}, "action": {"name": "GET"}, "resource": {"type": "todo", "id": "/things"}}
		with data.authzen.subjects.identity as _identities
		with data.authzen.routes as _routes
	d.reasons[0].code == "route_unknown"
}

# The scenario's data: viewers only read, editors may change todos, admins delete.
test_scenario_routes if {
	beth := "CiRmZDM2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"
	summer := "CiRmZDI2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"
	authzen.allow with input as {"subject": {"type": "identity", "id": beth}, "action": {"name": "GET"}, "resource": {"type": "route", "id": "/todos"}}
	not authzen.allow with input as {"subject": {"type": "identity", "id": beth}, "action": {"name": "DELETE"}, "resource": {"type": "route", "id": "/todos/{todoId}"}}
	authzen.allow with input as {"subject": {"type": "identity", "id": summer}, "action": {"name": "PUT"}, "resource": {"type": "route", "id": "/todos/{todoId}"}}
}
