package verdict_test

import data.verdict

_in(principal, method, action, module, resource) := {
	"principal": principal,
	"action": action,
	"request": {"method": method, "path": sprintf("/cmictest/%s-rest-api/rest/1/%s", [module, resource]), "query": {"limit": "100"}},
	"endpoint": {"env": "cmictest", "module": module, "version": "1", "resource": resource},
}

_basic(user) := {"method": "basic", "idp": "basic", "subject": user, "erp_user": user}

_procore := {"method": "jwt", "idp": "local", "issuer": "http://127.0.0.1/oidc", "subject": "procore-sync", "client_id": "procore-sync", "scopes": ["erp"]}

_powerbi := {"method": "jwt", "idp": "local", "issuer": "http://127.0.0.1/oidc", "subject": "powerbi-reader", "client_id": "powerbi-reader", "erp_user": "ACME||SVC_POWERBI"}

_codes(d) := [r.code | some r in d.reasons]

test_result_shape if {
	d := verdict.decision with input as _in(_procore, "GET", "retrieve", "pm", "scmast")
	{k | some k, _ in d} == {"allow", "status", "principal", "reasons", "rows", "sql_mapping"}
	every r in d.reasons {
		{k | some k, _ in r} == {"layer", "code", "message"}
	}
}

test_default_decision_on_empty_input if {
	d := verdict.decision with input as {}
	d.allow == false
	d.status == 403
	_codes(d) == ["no_decision"]
	d.rows == {"kind": "none"}
	d.sql_mapping == null
}

test_sql_mapping_is_the_objects_mapping if {
	d := verdict.decision with input as _in(_procore, "GET", "retrieve", "pm", "scmast")
	d.sql_mapping == {"table": "scmast", "columns": {"ScmstCompCode": "scmst_comp_code", "ScmstJobCode": "scmst_job_code"}}

	# a deny carries it too: rendering `none` needs no column, but the field is always there
	denied := verdict.decision with input as _in(_basic("ACME||SVC_LEGACY_FTP"), "GET", "retrieve", "pm", "scmast")
	denied.allow == false
	denied.sql_mapping.table == "scmast"
}

test_sql_mapping_null_for_unknown_object if {
	d := verdict.decision with input as _in(_procore, "GET", "retrieve", "po", "pomast")
	d.sql_mapping == null
}

test_default_decision_without_endpoint if {
	d := verdict.decision with input as {"principal": _basic("ACME||SVC_PAYROLL"), "action": "retrieve"}
	d.allow == false
	_codes(d) == ["no_decision"]
}

test_procore_mapped_by_client_id_reads_filtered_subcontracts if {
	d := verdict.decision with input as _in(_procore, "GET", "retrieve", "pm", "scmast")
	d.allow == true
	d.status == 200
	d.principal == {"id": "ACME||SVC_PROCORE", "kind": "service_account"}
	_codes(d) == ["role_grants_action", "rows_filtered"]
	[r.layer | some r in d.reasons] == ["api", "application"]
	d.rows.kind == "conditional"
	d.rows.filter.value[1].value == ["23-410", "23-502", "24-205"]
}

test_procore_creates_subcontract_on_its_job if {
	i := object.union(_in(_procore, "POST", "create", "pm", "scmast"), {"resource": {"ScmstCompCode": "01", "ScmstJobCode": "23-410"}})
	d := verdict.decision with input as i
	d.allow == true
	_codes(d) == ["role_grants_action", "job_in_group"]
}

test_procore_create_without_resource_fails_closed if {
	d := verdict.decision with input as _in(_procore, "POST", "create", "pm", "scmast")
	d.allow == false
	d.status == 403
	_codes(d) == ["role_grants_action", "resource_required"]
	d.rows == {"kind": "none"}
}

test_powerbi_single_record_outside_groups if {
	i := object.union(_in(_powerbi, "GET", "retrieve", "jc", "jcjob"), {"resource": {"company": "01", "job": "24-101"}})
	d := verdict.decision with input as i
	d.allow == false
	d.status == 403
	d.reasons[1] == {
		"layer": "application",
		"code": "job_not_in_groups",
		"message": "job 24-101 of company 01 is in none of the caller's job security groups (COMMERCIAL, HEALTHCARE)",
	}
}

test_powerbi_cannot_write if {
	i := object.union(_in(_powerbi, "POST", "create", "pm", "scmast"), {"resource": {"company": "01", "job": "23-410"}})
	d := verdict.decision with input as i
	d.allow == false
	_codes(d) == ["action_not_granted"]
}

test_hr_writer_create_but_not_retrieve if {
	i := object.union(_in(_basic("ACME||SVC_HRWRITER"), "POST", "create", "hcm", "pyemployee"), {"resource": {"EmpCompCode": "01"}})
	created := verdict.decision with input as i
	created.allow == true
	_codes(created) == ["role_grants_action", "company_accessible"]
	read := verdict.decision with input as _in(_basic("ACME||SVC_HRWRITER"), "GET", "retrieve", "hcm", "pyemployee")
	read.allow == false
	_codes(read) == ["action_not_granted"]
}

test_no_role_account_only_reaches_bypass if {
	d := verdict.decision with input as _in(_basic("ACME||SVC_LEGACY_FTP"), "GET", "retrieve", "jc", "jcjob")
	d.allow == false
	_codes(d) == ["no_api_role"]
	b := verdict.decision with input as _in(_basic("ACME||SVC_LEGACY_FTP"), "GET", "retrieve", "sys", "currency")
	b.allow == true
	_codes(b) == ["bypass", "object_unrestricted"]
	b.rows == {"kind": "all"}
}

test_unknown_account if {
	d := verdict.decision with input as _in(_basic("ACME||MALLORY"), "GET", "retrieve", "sys", "currency")
	d.allow == false
	d.principal == {"id": "ACME||MALLORY", "kind": "unknown"}
	_codes(d) == ["account_unknown"]
}

test_unmapped_client if {
	p := {"method": "jwt", "idp": "entra", "client_id": "00000000-0000-0000-0000-000000000000", "subject": "00000000-0000-0000-0000-000000000000"}
	d := verdict.decision with input as _in(p, "GET", "retrieve", "jc", "jcjob")
	d.allow == false
	d.principal == {"kind": "unknown"}
	_codes(d) == ["account_unknown"]
}

test_security_admin_manages_membership if {
	i := object.union(_in(_basic("ACME||SECADMIN"), "DELETE", "delete", "sys", "jcjobsecgrpuser"), {"resource": {"JsgCompCode": "02"}})
	d := verdict.decision with input as i
	d.allow == true
	d.principal.kind == "user"
	d.rows.filter == {"type": "compound", "operator": "or", "value": [
		{"type": "field", "field": "JsgCompCode", "operator": "eq", "value": "01"},
		{"type": "field", "field": "JsgCompCode", "operator": "eq", "value": "02"},
	]}
}

test_collection_with_no_rows_is_denied if {
	d := verdict.decision with input as _in(_basic("ACME||SVC_HRWRITER"), "POST", "create", "hcm", "pyemployee")
	d.allow == false
	_codes(d) == ["role_grants_action", "resource_required"]
	r := verdict.decision with input as _in(_basic("ACME||SVC_LEGACY_FTP"), "GET", "retrieve", "sys", "currency")
	r.allow == true
}

test_role_on_undeclared_object_is_denied if {
	d := verdict.decision with input as _in(_procore, "GET", "retrieve", "po", "pomast")
		with data.erp.api.roles.PM_SYNC.endpoints as {"po/pomast": ["retrieve"]}
	_codes(d) == ["role_grants_action", "object_unknown"]
	d.allow == false
}

test_collection_none_is_403 if {
	d := verdict.decision with input as _in(_basic("ACME||JSMITH"), "GET", "retrieve", "jc", "jcjob")
		with data.erp.security.access["ACME||JSMITH"] as {}
	d.allow == false
	d.status == 403
	_codes(d) == ["role_grants_action", "no_accessible_rows"]
}
