# ACME's own tests: what the example tenant's data (policies/erp/**/data.yaml)
# decides through the product policy. They live with the data and move with it;
# the product's rules are tested on fixtures in policies/verdict/** and pass with
# any valid tenant data. Whether the data is well formed (keys, types,
# references) is checked by `verdict check` against schemas/policy-data.json.
package erp_test

import data.verdict
import data.verdict.api
import data.verdict.application
import data.verdict.application_test
import data.verdict.identity

_f(field, operator, value) := {"type": "field", "field": field, "operator": operator, "value": value}

_c(operator, value) := {"type": "compound", "operator": operator, "value": value}

_q(user, module, resource) := {
	"principal": {"idp": "basic", "erp_user": user},
	"action": "retrieve",
	"endpoint": {"module": module, "resource": resource},
}

# --- decisions through the entrypoint ---

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

	# A record's answer carries that record's company condition, not the
	# account's whole row filter (both companies).
	d.rows.filter == {"type": "field", "field": "JsgCompCode", "operator": "eq", "value": "02"}
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

# --- API security ---

_api_in(user, action, module, resource) := {
	"principal": {"idp": data.erp.accounts.users[user].idps[0], "erp_user": user},
	"action": action,
	"endpoint": {"module": module, "resource": resource},
}

_api_code(user, action, module, resource) := r if {
	r := api.reason.code with input as _api_in(user, action, module, resource)
}

test_example_two_integrations_differ_on_scmast if {
	_api_code("ACME||SVC_PROCORE", "create", "pm", "scmast") == "role_grants_action"
	_api_code("ACME||SVC_PROCORE", "update", "pm", "scmast") == "role_grants_action"
	_api_code("ACME||SVC_POWERBI", "retrieve", "pm", "scmast") == "role_grants_action"
	_api_code("ACME||SVC_POWERBI", "create", "pm", "scmast") == "action_not_granted"
	_api_code("ACME||SVC_POWERBI", "delete", "pm", "scmast") == "action_not_granted"
}

test_example_procore_cannot_delete if {
	_api_code("ACME||SVC_PROCORE", "delete", "pm", "scmast") == "action_not_granted"
	_api_code("ACME||SVC_PROCORE", "create", "cm", "cmmast") == "role_grants_action"
	_api_code("ACME||SVC_PROCORE", "update", "jc", "jcjob") == "action_not_granted"
}

test_example_hr_writer_creates_but_cannot_retrieve_employees if {
	_api_code("ACME||SVC_HRWRITER", "create", "hcm", "pyemployee") == "role_grants_action"
	_api_code("ACME||SVC_HRWRITER", "retrieve", "hcm", "pyemployee") == "action_not_granted"
}

test_example_payroll if {
	_api_code("ACME||SVC_PAYROLL", "create", "hcm", "pyemptimesheet") == "role_grants_action"
	_api_code("ACME||SVC_PAYROLL", "retrieve", "hcm", "pyemployee") == "role_grants_action"
	_api_code("ACME||SVC_PAYROLL", "create", "hcm", "pyemployee") == "action_not_granted"
}

test_example_security_admin if {
	every action in ["create", "retrieve", "update", "delete"] {
		_api_code("ACME||SECADMIN", action, "sys", "jcjobsecgrpuser") == "role_grants_action"
	}
	_api_code("ACME||SVC_POWERBI", "retrieve", "sys", "jcjobsecgrpuser") == "action_not_granted"
}

test_example_account_without_role if {
	_api_code("ACME||SVC_LEGACY_FTP", "retrieve", "jc", "jcjob") == "no_api_role"
	_api_code("ACME||SVC_LEGACY_FTP", "retrieve", "sys", "currency") == "bypass"
}

test_example_accounts_are_bound_to_their_providers if {
	# Every example account names its providers, and each names at least one.
	every user in data.erp.accounts.users {
		count(user.idps) > 0
	}
	r := api.reason.code with input as {"principal": {"idp": "local", "erp_user": "ACME||SVC_PAYROLL"}, "action": "retrieve", "endpoint": {"module": "hcm", "resource": "pyemployee"}}
	r == "idp_not_allowed"
}

# --- identity ---

test_example_local_procore_sync_maps_to_svc_procore if {
	identity.principal == {"id": "ACME||SVC_PROCORE", "kind": "service_account"} with input.principal as {"method": "jwt", "idp": "local", "client_id": "procore-sync", "subject": "procore-sync"}
}

test_example_powerbi_reader_by_cmicuser if {
	identity.principal == {"id": "ACME||SVC_POWERBI", "kind": "service_account"} with input.principal as {"method": "jwt", "idp": "local", "client_id": "powerbi-reader", "erp_user": "ACME||SVC_POWERBI"}
}

test_example_powerbi_unmapped_without_cmicuser if {
	not identity.account_id with input.principal as {"method": "jwt", "idp": "local", "client_id": "powerbi-reader"}
}

test_example_entra_client_maps_to_svc_powerbi if {
	identity.account_id == "ACME||SVC_POWERBI" with input.principal as {"method": "jwt", "idp": "entra", "client_id": "8a4f2c71-3d5e-4b9a-9c1f-6e2d7b0a5f13"}
}

test_example_basic_payroll if {
	identity.known with input.principal as {"method": "basic", "idp": "basic", "subject": "ACME||SVC_PAYROLL", "erp_user": "ACME||SVC_PAYROLL"}
}

test_example_user_kind if {
	identity.kind == "user" with input.principal as {"idp": "basic", "erp_user": "ACME||JSMITH"}
}

# --- application security ---

_ex_rows(user, module, resource) := r if {
	r := application.rows with input as {
		"principal": {"idp": "basic", "erp_user": user},
		"action": "retrieve",
		"endpoint": {"module": module, "resource": resource},
	}
}

_ex_record(user, action, module, resource, record) := r if {
	r := application.reason.code with input as {
		"principal": {"idp": "basic", "erp_user": user},
		"action": action,
		"endpoint": {"module": module, "resource": resource},
		"resource": record,
	}
}

test_example_procore_scmast_filter if {
	_ex_rows("ACME||SVC_PROCORE", "pm", "scmast") == {"kind": "conditional", "filter": _c("and", [
		_f("ScmstCompCode", "eq", "01"),
		_f("ScmstJobCode", "in", ["23-410", "23-502", "24-205"]),
	])}
}

test_example_secadmin_master_in_both if {
	_ex_rows("ACME||SECADMIN", "jc", "jcjob") == {"kind": "conditional", "filter": _c("or", [
		_f("JobCompCode", "eq", "01"),
		_f("JobCompCode", "eq", "02"),
	])}
}

test_example_powerbi_reads_are_filtered if {
	f := _ex_rows("ACME||SVC_POWERBI", "jc", "jcjobcategory").filter
	f == _c("or", [
		_c("and", [_f("JcatCompCode", "eq", "01"), _f("JcatJobCode", "in", ["23-410", "23-415", "23-502", "24-118"])]),
		_c("and", [_f("JcatCompCode", "eq", "02"), _f("JcatJobCode", "in", ["23-812", "24-820"])]),
	])
	_ex_record("ACME||SVC_POWERBI", "retrieve", "jc", "jcjob", {"company": "01", "job": "24-101"}) == "job_not_in_groups"
	_ex_record("ACME||SVC_POWERBI", "retrieve", "jc", "jcjob", {"company": "02", "job": "23-812"}) == "job_in_group"
}

test_example_vendors_are_all_rows if {
	_ex_rows("ACME||SVC_POWERBI", "ap", "apvendor") == {"kind": "all"}
}

test_example_overhead_voucher_is_company_scope if {
	_ex_record("ACME||SVC_POWERBI", "retrieve", "ap", "apvoucher", {"VouCompCode": "02", "VouJobCode": ""}) == "job_blank_company_scope"
	_ex_record("ACME||SVC_POWERBI", "retrieve", "ap", "apvoucher", {"VouCompCode": "02", "VouJobCode": "23-801"}) == "job_not_in_groups"
}

test_example_timesheets if {
	_ex_rows("ACME||SVC_PAYROLL", "hcm", "pyemptimesheet").filter == _c("or", [
		_f("TshCompCode", "eq", "01"),
		_f("TshCompCode", "eq", "02"),
	])
	_ex_record("ACME||SVC_POWERBI", "retrieve", "hcm", "pyemptimesheet", {"TshCompCode": "01", "TshTypeCode": "O", "TshJobdeptwoId": "ADMIN"}) == "row_not_job_scoped"
	_ex_record("ACME||SVC_POWERBI", "retrieve", "hcm", "pyemptimesheet", {"TshCompCode": "01", "TshTypeCode": "J", "TshJobdeptwoId": "24-205"}) == "job_not_in_groups"
}

test_example_procore_cannot_touch_company_02 if {
	_ex_record("ACME||SVC_PROCORE", "create", "pm", "scmast", {"ScmstCompCode": "02", "ScmstJobCode": "23-801"}) == "company_not_accessible"
	_ex_record("ACME||SVC_PROCORE", "create", "pm", "scmast", {"ScmstCompCode": "01", "ScmstJobCode": "23-502"}) == "job_in_group"
}

test_example_hr_writer_company_scope if {
	_ex_record("ACME||SVC_HRWRITER", "create", "hcm", "pyemployee", {"EmpCompCode": "02"}) == "company_accessible"
	_ex_rows("ACME||SVC_HRWRITER", "jc", "jcjob") == {"kind": "none"}
}

test_example_security_admin_membership_rows if {
	_ex_record("ACME||SECADMIN", "delete", "sys", "jcjobsecgrpuser", {"JsgCompCode": "02"}) == "company_accessible"
	_ex_record("ACME||JSMITH", "delete", "sys", "jcjobsecgrpuser", {"JsgCompCode": "02"}) == "company_not_accessible"
}

test_example_filter_agrees_with_record_check if {
	companies := ["01", "02", "99", "", null]
	jobs := array.concat([j | some _, catalogue in data.erp.security.jobs; some j, _ in catalogue], ["99-999", "", null])
	users := array.concat([u | some u, _ in data.erp.accounts.users], ["ACME||NOBODY"])
	checks := [check |
		some user in users
		some name, obj in data.erp.objects
		q := _q(user, obj.module, name)
		generated := application_test.rows_of(obj, companies, jobs)
		rows := application.rows with input as q
		allowed := [application.allows(row) | some row in generated] with input as q
		some k, row in generated
		check := [user, name, row, application_test.matches(rows, row), allowed[k]]
	]
	[c | some c in checks; c[3] != c[4]] == []
	count([c | some c in checks; c[4]]) > 500
	count([c | some c in checks; not c[4]]) > 500
}
