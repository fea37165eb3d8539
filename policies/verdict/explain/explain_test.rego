package verdict.explain_test

import data.verdict
import data.verdict.explain

_data := {
	"accounts": {
		"users": {
			"A": {"kind": "service_account", "idps": ["basic"]},
			"U": {"kind": "user"},
		},
		"clients": {"entra": {"app-1": "U"}},
	},
	"api": {
		"roles": {
			"READ": {"endpoints": {"jc/jcjob": ["retrieve"]}},
			"NOTHING": {},
		},
		"assignments": {"A": ["READ", "NOTHING"], "U": ["READ"]},
		"bypass": {"sys/currency": ["retrieve"]},
	},
	"security": {
		"companies": {"01": {}, "02": {}},
		"groups": {
			"01": {"MASTER": {"all_jobs": true}, "G": {"jobs": ["j-1"]}},
			"02": {"H": {}},
		},
		"access": {"A": {"01": {"groups": ["G"]}}, "U": {"01": {"groups": ["MASTER"]}, "02": {"groups": ["H"]}}},
	},
	"objects": {"jcjob": {"module": "jc", "scope": "job", "company_field": "C", "job_field": "J"}},
}

_in(principal, action, resource) := object.union(
	{"principal": principal, "action": action, "endpoint": {"module": split(resource, "/")[0], "resource": split(resource, "/")[1]}},
	{},
)

_explain(input_doc) := e if {
	e := explain.explanation with input as input_doc with data.erp as _data
}

_decision(input_doc) := d if {
	d := verdict.decision with input as input_doc with data.erp as _data
}

test_the_decision_is_data_verdict_decision if {
	cases := [
		_in({"idp": "basic", "erp_user": "A"}, "retrieve", "jc/jcjob"),
		object.union(_in({"idp": "basic", "erp_user": "A"}, "retrieve", "jc/jcjob"), {"resource": {"company": "01", "job": "j-2"}}),
		_in({"idp": "entra", "client_id": "app-1"}, "update", "jc/jcjob"),
		_in({"idp": "entra", "client_id": "nobody"}, "retrieve", "jc/jcjob"),
		_in({"idp": "entra", "erp_user": "A"}, "retrieve", "jc/jcjob"),
		{},
	]
	every c in cases {
		_explain(c).decision == _decision(c)
	}
}

test_identity_by_claim_and_by_client_mapping if {
	claim := _explain(_in({"method": "basic", "idp": "basic", "erp_user": "A"}, "retrieve", "jc/jcjob")).identity
	claim == {
		"method": "basic", "idp": "basic", "erp_user_claim": "A", "client_id": null,
		"account": "A", "resolved_by": "erp_user", "known": true, "kind": "service_account",
		"account_idps": ["basic"], "idp_allowed": true,
	}
	mapped := _explain(_in({"method": "jwt", "idp": "entra", "client_id": "app-1"}, "retrieve", "jc/jcjob")).identity
	mapped.account == "U"
	mapped.resolved_by == "client_mapping"
	mapped.account_idps == null
	mapped.idp_allowed == true
	nobody := _explain(_in({"idp": "entra", "client_id": "nobody"}, "retrieve", "jc/jcjob")).identity
	nobody.account == null
	nobody.resolved_by == "none"
	nobody.known == false
	wrong_idp := _explain(_in({"idp": "entra", "erp_user": "A"}, "retrieve", "jc/jcjob")).identity
	wrong_idp.idp_allowed == false
}

test_api_evidence_names_roles_and_what_they_list if {
	e := _explain(_in({"idp": "basic", "erp_user": "A"}, "update", "jc/jcjob")).api
	e.endpoint == "jc/jcjob"
	e.roles == ["NOTHING", "READ"]
	e.role_actions == {"READ": ["retrieve"], "NOTHING": []}
	e.granting_roles == []
	e.bypass == false
	e.reason.code == "action_not_granted"
	e.allow == false
	bypass := _explain(_in({"idp": "basic", "erp_user": "A"}, "retrieve", "sys/currency")).api
	bypass.bypass_actions == ["retrieve"]
	bypass.reason.code == "bypass"
}

test_application_evidence_companies_groups_jobs_and_record if {
	e := _explain(_in({"idp": "entra", "client_id": "app-1"}, "retrieve", "jc/jcjob")).application
	e.consulted == true
	e.companies == ["01", "02"]
	e.groups == {"01": {"MASTER": "all"}, "02": {"H": []}}
	e.scope["01"].company_wide == true
	e.object.company_field == "C"
	e.record == null
	e.reason.code == "rows_filtered"
	record := _explain(object.union(_in({"idp": "basic", "erp_user": "A"}, "retrieve", "jc/jcjob"), {"resource": {"company": "01", "job": "j-2"}})).application
	record.groups == {"01": {"G": ["j-1"]}}
	record.record == {"C": "01", "J": "j-2", "company": "01", "job": "j-2"}
	record.reason.code == "job_not_in_groups"
	record.allow == false
}

test_a_part_that_does_not_apply_is_null if {
	e := _explain({})
	e.decision.reasons[0].code == "no_decision"
	e.api == null
	e.application == null
	unknown := _explain(_in({"idp": "basic", "erp_user": "A"}, "retrieve", "xx/nothing")).application
	unknown.object == null
	unknown.reason.code == "object_unknown"
}
