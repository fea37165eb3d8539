package verdict_test

import data.verdict

# A small tenant of its own: the entrypoint's composition of the layers is tested
# on it, whatever tenant data the policy directory holds (the example tenant's
# own decisions are tested beside its data, policies/erp/acme_test.rego).
_erp := {
	"accounts": {
		"users": {
			"T||SYNC": {"kind": "service_account", "idps": ["local", "basic"]},
			"T||READER": {"kind": "user", "idps": ["basic"]},
			"T||NOROLE": {"kind": "service_account", "idps": ["basic"]},
		},
		"clients": {"local": {"sync-client": "T||SYNC"}},
	},
	"api": {
		"roles": {
			"SYNC": {"endpoints": {"pm/scmast": ["create", "retrieve"], "sys/currency": ["retrieve"]}},
			"READ": {"endpoints": {"pm/scmast": ["retrieve"], "hr/emp": ["retrieve"]}},
		},
		"assignments": {"T||SYNC": ["SYNC"], "T||READER": ["READ"]},
		"bypass": {"sys/currency": ["retrieve"]},
	},
	"security": {
		"companies": {"10": {}, "20": {}},
		"jobs": {"10": {"J1": {}, "J2": {}}, "20": {"K1": {}}},
		"groups": {"10": {"ALL": {"all_jobs": true}, "G": {"jobs": ["J1"]}}, "20": {"ALL": {"all_jobs": true}}},
		"access": {
			"T||SYNC": {"10": {"groups": ["G"]}},
			"T||READER": {"10": {"groups": ["ALL"]}, "20": {"groups": []}},
			"T||NOROLE": {"10": {"groups": ["ALL"]}},
		},
	},
	"objects": {
		"scmast": {
			"module": "pm", "scope": "job", "company_field": "Co", "job_field": "Job",
			"sql": {"table": "scmast", "columns": {"Co": "co", "Job": "job"}},
		},
		"emp": {"module": "hr", "scope": "company", "company_field": "EmpCo"},
		"currency": {"module": "sys", "scope": "all", "sql": {"table": "currency", "columns": {}}},
	},
}

_in(principal, method, action, module, resource) := {
	"principal": principal,
	"action": action,
	"request": {"method": method, "path": sprintf("/t/%s-rest-api/rest/1/%s", [module, resource]), "query": {"limit": "100"}},
	"endpoint": {"env": "t", "module": module, "version": "1", "resource": resource},
}

_rin(principal, method, action, module, resource, record) := object.union(_in(principal, method, action, module, resource), {"resource": record})

_basic(user) := {"method": "basic", "idp": "basic", "subject": user, "erp_user": user}

_client := {"method": "jwt", "idp": "local", "issuer": "http://127.0.0.1/oidc", "subject": "sync-client", "client_id": "sync-client"}

_decide(i) := d if {
	d := verdict.decision with input as i with data.erp as _erp
}

_codes(d) := [r.code | some r in d.reasons]

test_result_shape if {
	d := _decide(_in(_client, "GET", "retrieve", "pm", "scmast"))
	{k | some k, _ in d} == {"allow", "status", "principal", "reasons", "rows", "sql_mapping"}
	every r in d.reasons {
		{k | some k, _ in r} == {"layer", "code", "message"}
	}
}

test_default_decision_on_empty_input if {
	d := _decide({})
	d.allow == false
	d.status == 403
	_codes(d) == ["no_decision"]
	d.rows == {"kind": "none"}
	d.sql_mapping == null
}

test_default_decision_without_endpoint if {
	d := _decide({"principal": _basic("T||READER"), "action": "retrieve"})
	d.allow == false
	_codes(d) == ["no_decision"]
}

test_allowed_collection_is_200_with_both_layers_and_rows if {
	d := _decide(_in(_client, "GET", "retrieve", "pm", "scmast"))
	d.allow == true
	d.status == 200
	d.principal == {"id": "T||SYNC", "kind": "service_account"}
	_codes(d) == ["role_grants_action", "rows_filtered"]
	[r.layer | some r in d.reasons] == ["api", "application"]
	d.rows == {"kind": "conditional", "filter": {"type": "compound", "operator": "and", "value": [
		{"type": "field", "field": "Co", "operator": "eq", "value": "10"},
		{"type": "field", "field": "Job", "operator": "in", "value": ["J1"]},
	]}}
}

test_sql_mapping_is_the_objects_mapping_even_when_denied if {
	d := _decide(_in(_client, "GET", "retrieve", "pm", "scmast"))
	d.sql_mapping == {"table": "scmast", "columns": {"Co": "co", "Job": "job"}}
	denied := _decide(_in(_basic("T||NOROLE"), "GET", "retrieve", "pm", "scmast"))
	denied.allow == false
	denied.sql_mapping.table == "scmast"
	_decide(_in(_basic("T||READER"), "GET", "retrieve", "hr", "emp")).sql_mapping == null
	_decide(_in(_client, "GET", "retrieve", "po", "pomast")).sql_mapping == null
}

test_record_in_group_and_outside if {
	d := _decide(_rin(_client, "POST", "create", "pm", "scmast", {"Co": "10", "Job": "J1"}))
	d.allow == true
	_codes(d) == ["role_grants_action", "job_in_group"]
	out := _decide(_rin(_client, "POST", "create", "pm", "scmast", {"company": "10", "job": "J2"}))
	out.allow == false
	out.status == 403
	out.rows == {"kind": "none"}
	_codes(out) == ["role_grants_action", "job_not_in_groups"]
}

test_write_without_resource_fails_closed if {
	d := _decide(_in(_client, "POST", "create", "pm", "scmast"))
	d.allow == false
	_codes(d) == ["role_grants_action", "resource_required"]
	d.rows == {"kind": "none"}
}

test_api_deny_lists_only_the_api_layer if {
	d := _decide(_in(_basic("T||READER"), "POST", "create", "pm", "scmast"))
	d.allow == false
	d.status == 403
	_codes(d) == ["action_not_granted"]
	d.rows == {"kind": "none"}
}

test_no_role_account_only_reaches_bypass if {
	_codes(_decide(_in(_basic("T||NOROLE"), "GET", "retrieve", "pm", "scmast"))) == ["no_api_role"]
	b := _decide(_in(_basic("T||NOROLE"), "GET", "retrieve", "sys", "currency"))
	b.allow == true
	_codes(b) == ["bypass", "object_unrestricted"]
	b.rows == {"kind": "all"}
}

test_unknown_account_and_unmapped_client if {
	d := _decide(_in(_basic("T||MALLORY"), "GET", "retrieve", "sys", "currency"))
	d.allow == false
	d.principal == {"id": "T||MALLORY", "kind": "unknown"}
	_codes(d) == ["account_unknown"]
	p := {"method": "jwt", "idp": "local", "client_id": "stranger", "subject": "stranger"}
	u := _decide(_in(p, "GET", "retrieve", "pm", "scmast"))
	u.principal == {"kind": "unknown"}
	_codes(u) == ["account_unknown"]
}

test_company_scope_object if {
	d := _decide(_in(_basic("T||READER"), "GET", "retrieve", "hr", "emp"))
	d.allow == true
	d.rows.filter == {"type": "compound", "operator": "or", "value": [
		{"type": "field", "field": "EmpCo", "operator": "eq", "value": "10"},
		{"type": "field", "field": "EmpCo", "operator": "eq", "value": "20"},
	]}
}

test_role_on_undeclared_object_is_denied if {
	d := verdict.decision with input as _in(_client, "GET", "retrieve", "po", "pomast")
		with data.erp as _erp
		with data.erp.api.roles.SYNC.endpoints as {"po/pomast": ["retrieve"]}
	_codes(d) == ["role_grants_action", "object_unknown"]
	d.allow == false
}

test_collection_none_is_403 if {
	d := verdict.decision with input as _in(_client, "GET", "retrieve", "pm", "scmast")
		with data.erp as _erp
		with data.erp.security.access["T||SYNC"] as {}
	d.allow == false
	d.status == 403
	_codes(d) == ["role_grants_action", "no_accessible_rows"]
}

# A declaration the policy cannot read fully is undeclared: a misspelt key, or
# fields that do not match the object's scope, deny instead of widening.
test_malformed_object_declaration_is_denied if {
	every objects in [
		{"scmast": {"module": "pm", "scope": "job", "company_field": "Co", "job_feild": "Job"}},
		{"scmast": {"module": "pm", "scope": "job", "company_field": "Co"}},
		{"scmast": {"module": "pm", "company_field": "Co", "job_field": "Job"}},
		{"scmast": {"module": "pm", "scope": "all", "company_field": "Co", "job_field": "Job"}},
	] {
		d := verdict.decision with input as _in(_client, "GET", "retrieve", "pm", "scmast")
			with data.erp as _erp
			with data.erp.objects as objects
		_codes(d) == ["role_grants_action", "object_unknown"]
		d.allow == false
	}
}
