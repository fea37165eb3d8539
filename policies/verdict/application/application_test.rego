package verdict.application_test

import data.verdict.application

# --- fixtures ---

_security := {
	"companies": {"01": {}, "02": {}},
	"groups": {
		"01": {
			"MASTER": {"all_jobs": true},
			"G1": {"jobs": ["B", "A"]},
			"G2": {"jobs": ["C", "A"]},
		},
		"02": {
			"MASTER": {"all_jobs": true},
			"H": {"jobs": ["X"]},
		},
	},
	"access": {
		"U_MASTER": {"01": {"groups": ["MASTER"]}},
		"U_JOBS": {"01": {"groups": ["G1", "G2", "NOT_A_GROUP"]}},
		"U_MIXED": {"01": {"groups": ["MASTER", "G1"]}, "02": {"groups": ["H"]}, "03": {"groups": ["MASTER"]}},
		"U_EMPTY": {"01": {"groups": []}, "02": {}},
		"U_NONE": {},
	},
}

_objects := {
	"thing": {"module": "m", "scope": "job", "company_field": "Co", "job_field": "Job"},
	"blank": {"module": "m", "scope": "job", "company_field": "Co", "job_field": "Job", "rows_without_job": "company"},
	"typed": {"module": "m", "scope": "job", "company_field": "Co", "job_field": "Job", "job_when": {"field": "Type", "equals": "J"}},
	"coonly": {"module": "m", "scope": "company", "company_field": "Co"},
	"free": {"module": "m", "scope": "all"},
}

_in(user, action, resource) := {
	"principal": {"idp": "basic", "erp_user": user},
	"action": action,
	"endpoint": {"module": "m", "resource": resource},
}

_rin(user, action, resource, record) := object.union(_in(user, action, resource), {"resource": record})

_rows(user, resource) := r if {
	r := application.rows with input as _in(user, "retrieve", resource)
		with data.erp.security as _security
		with data.erp.objects as _objects
}

_record(user, action, resource, record) := r if {
	r := application.reason with input as _rin(user, action, resource, record)
		with data.erp.security as _security
		with data.erp.objects as _objects
}

_f(field, operator, value) := {"type": "field", "field": field, "operator": operator, "value": value}

_c(operator, value) := {"type": "compound", "operator": operator, "value": value}

# --- row filters ---

test_master_is_one_company_condition if {
	_rows("U_MASTER", "thing") == {"kind": "conditional", "filter": _f("Co", "eq", "01")}
}

test_jobs_in_groups_sorted_and_deduplicated if {
	_rows("U_JOBS", "thing") == {"kind": "conditional", "filter": _c("and", [_f("Co", "eq", "01"), _f("Job", "in", ["A", "B", "C"])])}
}

test_several_companies_are_an_or if {
	_rows("U_MIXED", "thing") == {"kind": "conditional", "filter": _c("or", [
		_f("Co", "eq", "01"),
		_c("and", [_f("Co", "eq", "02"), _f("Job", "in", ["X"])]),
	])}
}

test_undeclared_company_is_ignored if {
	application.companies == {"01", "02"} with input as _in("U_MIXED", "retrieve", "thing")
		with data.erp.security as _security
		with data.erp.objects as _objects
}

test_blank_job_rule_in_filter if {
	_rows("U_JOBS", "blank") == {"kind": "conditional", "filter": _c("and", [
		_f("Co", "eq", "01"),
		_c("or", [_f("Job", "in", ["A", "B", "C"]), _f("Job", "eq", null), _f("Job", "eq", "")]),
	])}
}

test_blank_job_rule_without_jobs if {
	_rows("U_EMPTY", "blank") == {"kind": "conditional", "filter": _c("or", [
		_c("and", [_f("Co", "eq", "01"), _c("or", [_f("Job", "eq", null), _f("Job", "eq", "")])]),
		_c("and", [_f("Co", "eq", "02"), _c("or", [_f("Job", "eq", null), _f("Job", "eq", "")])]),
	])}
}

test_job_type_rule_in_filter if {
	_rows("U_JOBS", "typed") == {"kind": "conditional", "filter": _c("and", [
		_f("Co", "eq", "01"),
		_c("or", [_f("Job", "in", ["A", "B", "C"]), _f("Type", "ne", "J")]),
	])}
}

test_job_type_rule_without_jobs_is_a_single_alternative if {
	_rows("U_EMPTY", "typed").filter.value[0] == _c("and", [_f("Co", "eq", "01"), _f("Type", "ne", "J")])
}

test_company_only_object_is_company_scope if {
	_rows("U_JOBS", "coonly") == {"kind": "conditional", "filter": _f("Co", "eq", "01")}
	_rows("U_EMPTY", "coonly") == {"kind": "conditional", "filter": _c("or", [_f("Co", "eq", "01"), _f("Co", "eq", "02")])}
}

test_no_keys_is_all if {
	_rows("U_NONE", "free") == {"kind": "all"}
	_rows("NOBODY", "free") == {"kind": "all"}
}

test_no_jobs_is_none if {
	_rows("U_EMPTY", "thing") == {"kind": "none"}
	_rows("U_NONE", "thing") == {"kind": "none"}
	_rows("NOBODY", "coonly") == {"kind": "none"}
}

test_collection_reasons if {
	r := application.reason with input as _in("U_JOBS", "retrieve", "thing")
		with data.erp.security as _security
		with data.erp.objects as _objects
	r.code == "rows_filtered"
	r.layer == "application"
	none := application.reason with input as _in("U_EMPTY", "retrieve", "thing")
		with data.erp.security as _security
		with data.erp.objects as _objects
	none.code == "no_accessible_rows"
	not application.allow with input as _in("U_EMPTY", "retrieve", "thing")
		with data.erp.security as _security
		with data.erp.objects as _objects
	free := application.reason with input as _in("U_NONE", "delete", "free")
		with data.erp.security as _security
		with data.erp.objects as _objects
	free.code == "object_unrestricted"
}

test_unknown_object if {
	r := application.reason with input as _in("U_MASTER", "retrieve", "nothing")
		with data.erp.security as _security
		with data.erp.objects as _objects
	r.code == "object_unknown"
	r.message == "m/nothing is not a declared business object"
}

test_module_mismatch_is_unknown_object if {
	r := application.reason with input as {"principal": {"erp_user": "U_MASTER"}, "action": "retrieve", "endpoint": {"module": "other", "resource": "thing"}}
		with data.erp.security as _security
		with data.erp.objects as _objects
	r.code == "object_unknown"
}

test_write_without_resource_requires_one if {
	every action in ["create", "update", "delete"] {
		r := application.reason with input as _in("U_MASTER", action, "thing")
			with data.erp.security as _security
			with data.erp.objects as _objects
		r.code == "resource_required"
	}
	_record("U_MASTER", "update", "coonly", {"Co": "01"}).code == "company_accessible"
}

# --- single records ---

test_record_master_covers_every_job if {
	r := _record("U_MASTER", "update", "thing", {"Co": "01", "Job": "ZZ"})
	r.code == "job_in_group"
	r.message == "job ZZ of company 01 is in group MASTER, which holds all jobs of company 01"
	_record("U_MASTER", "update", "thing", {"Co": "01"}).message == "job (none) of company 01 is in group MASTER, which holds all jobs of company 01"
}

test_record_job_in_group_names_groups if {
	r := _record("U_JOBS", "retrieve", "thing", {"Co": "01", "Job": "A"})
	r.code == "job_in_group"
	r.message == "job A of company 01 is in the caller's job security group G1, G2"
}

test_record_job_not_in_groups if {
	r := _record("U_JOBS", "retrieve", "thing", {"Co": "01", "Job": "Q"})
	r.code == "job_not_in_groups"
	r.message == "job Q of company 01 is in none of the caller's job security groups (G1, G2)"
	e := _record("U_EMPTY", "retrieve", "thing", {"Co": "01", "Job": "Q"})
	e.message == "job Q of company 01 is in none of the caller's job security groups (it holds none in this company)"
}

test_record_company_not_accessible if {
	r := _record("U_JOBS", "retrieve", "thing", {"Co": "02", "Job": "X"})
	r.code == "company_not_accessible"
	r.message == "company 02 is not accessible to account U_JOBS"
}

test_record_denial_counts_many_groups if {
	many := {sprintf("G%02d", [i]): {"jobs": [sprintf("J%02d", [i])]} | some i in numbers.range(1, 11)}
	r := application.reason with input as _rin("U_MANY", "retrieve", "thing", {"Co": "01", "Job": "Q"})
		with data.erp.security as {"companies": {"01": {}}, "groups": {"01": many}, "access": {"U_MANY": {"01": {"groups": object.keys(many)}}}}
		with data.erp.objects as _objects
	r.message == "job Q of company 01 is in none of the caller's job security groups (11 groups)"
	t := application.reason with input as _rin("U_MANY", "retrieve", "thing", {"Co": "01", "Job": "Q"})
		with data.erp.security as {"companies": {"01": {}}, "groups": {"01": many}, "access": {"U_MANY": {"01": {"groups": ["G01", "G10", "G02"]}}}}
		with data.erp.objects as _objects
	t.message == "job Q of company 01 is in none of the caller's job security groups (G01, G02, G10)"
}

test_record_company_missing if {
	_record("U_MASTER", "retrieve", "thing", {"Job": "A"}).code == "company_missing"
	_record("U_MASTER", "retrieve", "thing", {"Co": "", "Job": "A"}).code == "company_missing"
	_record("U_MASTER", "create", "thing", {}).code == "company_missing"
}

test_record_job_missing if {
	r := _record("U_JOBS", "create", "thing", {"Co": "01", "Job": null})
	r.code == "job_missing"
	_record("U_JOBS", "create", "thing", {"Co": "01"}).code == "job_missing"
}

test_record_blank_job_company_scope if {
	_record("U_EMPTY", "retrieve", "blank", {"Co": "01", "Job": ""}).code == "job_blank_company_scope"
	_record("U_EMPTY", "retrieve", "blank", {"Co": "01"}).code == "job_blank_company_scope"
	_record("U_EMPTY", "retrieve", "blank", {"Co": "01", "Job": "A"}).code == "job_not_in_groups"
}

test_record_non_job_row_company_scope if {
	r := _record("U_EMPTY", "retrieve", "typed", {"Co": "01", "Type": "R", "Job": "Q"})
	r.code == "row_not_job_scoped"
	r.message == "the m/typed record of company 01 has Type R, not J: company scope applies"
	_record("U_EMPTY", "retrieve", "typed", {"Co": "01", "Type": "J", "Job": "Q"}).code == "job_not_in_groups"
	_record("U_JOBS", "retrieve", "typed", {"Co": "01", "Type": "J", "Job": "C"}).code == "job_in_group"
}

test_record_company_accessible_without_job_key if {
	r := _record("U_EMPTY", "retrieve", "coonly", {"Co": "02"})
	r.code == "company_accessible"
	r.message == "company 02 is accessible to account U_EMPTY; m/coonly has no job key"
}

test_record_unrestricted_object if {
	_record("NOBODY", "delete", "free", {"Anything": 1}).code == "object_unrestricted"
}

test_generic_keys_map_to_object_fields if {
	_record("U_JOBS", "retrieve", "thing", {"company": "01", "job": "B"}).code == "job_in_group"
	_record("U_JOBS", "retrieve", "thing", {"company": "01", "job": "Q"}).code == "job_not_in_groups"
	_record("U_JOBS", "retrieve", "thing", {"company": "02", "job": "B"}).code == "company_not_accessible"
}

test_own_fields_win_over_generic_keys if {
	_record("U_JOBS", "retrieve", "thing", {"company": "01", "job": "A", "Job": "Q"}).code == "job_not_in_groups"
}

test_generic_job_makes_a_job_typed_record if {
	application.record == {"Co": "01", "Job": "Q", "Type": "J", "company": "01", "job": "Q"} with input as _rin("U_EMPTY", "retrieve", "typed", {"company": "01", "job": "Q"})
		with data.erp.security as _security
		with data.erp.objects as _objects
	_record("U_EMPTY", "retrieve", "typed", {"company": "01", "job": "Q"}).code == "job_not_in_groups"
	_record("U_EMPTY", "retrieve", "typed", {"company": "01", "job": "Q", "Type": "R"}).code == "row_not_job_scoped"
}

test_allow_follows_record_reason if {
	application.allow with input as _rin("U_JOBS", "update", "thing", {"Co": "01", "Job": "A"})
		with data.erp.security as _security
		with data.erp.objects as _objects
	not application.allow with input as _rin("U_JOBS", "update", "thing", {"Co": "01", "Job": "Q"})
		with data.erp.security as _security
		with data.erp.objects as _objects
}

# --- the example data ---

_leaf(n, row) if {
	n.type == "field"
	n.operator == "eq"
	object.get(row, n.field, null) == n.value
}

_leaf(n, row) if {
	n.type == "field"
	n.operator == "ne"
	object.get(row, n.field, null) != n.value
}

_leaf(n, row) if {
	n.type == "field"
	n.operator == "in"
	object.get(row, n.field, null) in n.value
}

_l1(n, row) if _leaf(n, row)

_l1(n, row) if {
	n.operator == "or"
	some child in n.value
	_leaf(child, row)
}

_l1(n, row) if {
	n.operator == "and"
	every child in n.value {
		_leaf(child, row)
	}
}

_l2(n, row) if _l1(n, row)

_l2(n, row) if {
	n.operator == "or"
	some child in n.value
	_l1(child, row)
}

_l2(n, row) if {
	n.operator == "and"
	every child in n.value {
		_l1(child, row)
	}
}

_l3(n, row) if _l2(n, row)

_l3(n, row) if {
	n.operator == "or"
	some child in n.value
	_l2(child, row)
}

matches(rows, row) if {
	rows.kind == "all"
	is_object(row)
} else if {
	rows.kind == "conditional"
	_l3(rows.filter, row)
} else := false

test_interpreter if {
	matches({"kind": "all"}, {})
	not matches({"kind": "none"}, {})
	matches({"kind": "conditional", "filter": _c("and", [_f("a", "eq", 1), _c("or", [_f("b", "in", [2]), _f("c", "ne", 3)])])}, {"a": 1, "b": 5})
	not matches({"kind": "conditional", "filter": _c("and", [_f("a", "eq", 1), _c("or", [_f("b", "in", [2]), _f("c", "ne", 3)])])}, {"a": 1, "b": 5, "c": 3})
}

# Rows of an object: every combination of the given companies, jobs and (for
# job_when) job types, plus rows where the job or type field is absent.
rows_of(obj, companies, jobs) := [{"Other": 1}] if {
	not obj.company_field
} else := [{obj.company_field: c} | some c in companies] if {
	not obj.job_field
} else := array.concat(
	[{obj.company_field: c} | some c in companies],
	[{obj.company_field: c, obj.job_field: j} | some c in companies; some j in jobs],
) if {
	not obj.job_when
} else := array.concat(
	[{obj.company_field: c, obj.job_field: j} | some c in companies; some j in jobs],
	[{obj.company_field: c, obj.job_field: j, obj.job_when.field: t} |
		some c in companies
		some j in jobs
		some t in [obj.job_when.equals, "R", null]
	],
)

_q(user, module, resource) := {
	"principal": {"idp": "basic", "erp_user": user},
	"action": "retrieve",
	"endpoint": {"module": module, "resource": resource},
}

test_fixture_filter_agrees_with_record_check if {
	companies := ["01", "02", "03", "", null]
	jobs := ["A", "B", "C", "X", "Q", "", null]
	checks := [check |
		some user in ["U_MASTER", "U_JOBS", "U_MIXED", "U_EMPTY", "U_NONE", "NOBODY"]
		some name, obj in _objects
		q := _q(user, obj.module, name)
		generated := rows_of(obj, companies, jobs)
		rows := application.rows with input as q
			with data.erp.security as _security
			with data.erp.objects as _objects
		allowed := [application.allows(row) | some row in generated] with input as q
			with data.erp.security as _security
			with data.erp.objects as _objects
		some k, row in generated
		check := [user, name, row, matches(rows, row), allowed[k]]
	]
	[c | some c in checks; c[3] != c[4]] == []
	count([c | some c in checks; c[4]]) > 50
	count([c | some c in checks; not c[4]]) > 50
}

test_resource_must_be_an_object if {
	every resource in ["x", false, [], 1] {
		r := application.reason with input as _rin("U_MASTER", "retrieve", "thing", resource)
			with data.erp.security as _security
			with data.erp.objects as _objects
		r.code == "resource_invalid"
		not application.allow with input as _rin("U_MASTER", "retrieve", "thing", resource)
			with data.erp.security as _security
			with data.erp.objects as _objects
	}
}

test_null_resource_is_absent if {
	_record("U_MASTER", "create", "thing", null).code == "resource_required"
}

test_messages_render_non_string_values if {
	_record("U_JOBS", "retrieve", "thing", {"Co": 7}).message == "company 7 is not accessible to account U_JOBS"
	_record("U_JOBS", "retrieve", "thing", {"Co": "01", "Job": 5}).message == "job 5 of company 01 is in none of the caller's job security groups (G1, G2)"
	_record("U_EMPTY", "retrieve", "typed", {"Co": "01", "Job": "A"}).message == "the m/typed record of company 01 has Type null, not J: company scope applies"
	_record("U_MASTER", "retrieve", "thing", {"Co": "01", "Job": false}).message == "job false of company 01 is in group MASTER, which holds all jobs of company 01"
}

# A job field without a company field is a bad declaration (the data test
# rejects it); the policy still fails closed on it.
test_job_without_company_field_fails_closed if {
	objects := object.union(_objects, {"nocompany": {"module": "m", "job_field": "Job"}})
	rows := application.rows with input as _in("U_MASTER", "retrieve", "nocompany")
		with data.erp.security as _security
		with data.erp.objects as objects
	rows == {"kind": "none"}
	not application.allow with input as _rin("U_MASTER", "retrieve", "nocompany", {"Job": "A"})
		with data.erp.security as _security
		with data.erp.objects as objects
}

# --- SQL mapping ---

test_sql_mapping_of_object if {
	m := application.sql_mapping with input as _in("U_MASTER", "retrieve", "mapped")
		with data.erp.security as _security
		with data.erp.objects as {"mapped": {"module": "m", "scope": "company", "company_field": "Co", "sql": {"table": "t", "columns": {"Co": "co"}}}}
	m == {"table": "t", "columns": {"Co": "co"}}
}

test_sql_mapping_null_without_sql_or_object if {
	application.sql_mapping == null with input as _in("U_MASTER", "retrieve", "thing")
		with data.erp.security as _security
		with data.erp.objects as _objects
	application.sql_mapping == null with input as _in("U_MASTER", "retrieve", "nothing")
		with data.erp.security as _security
		with data.erp.objects as _objects
}

# The decision path (input.resource -> record -> check) and the function agree.
test_record_reason_is_check_of_record if {
	i := _rin("U_JOBS", "retrieve", "typed", {"company": "01", "job": "A"})
	r := application.record_reason with input as i
		with data.erp.security as _security
		with data.erp.objects as _objects
	c := application.check({"Co": "01", "Job": "A", "Type": "J"}) with input as i
		with data.erp.security as _security
		with data.erp.objects as _objects
	r == c
	r.code == "job_in_group"
}

# --- declarations the policy cannot read fully ---

_declared_as(declaration) := r if {
	r := application.reason with input as _in("U_MIXED", "retrieve", "thing")
		with data.erp.security as _security
		with data.erp.objects as {"thing": declaration}
}

test_well_formed_declarations_are_read if {
	_declared_as(_objects.thing).code == "rows_filtered"
	_declared_as(_objects.typed).code == "rows_filtered"
	_declared_as(object.union(_objects.thing, {"description": "d", "sql": {"table": "t", "columns": {}}})).code == "rows_filtered"
}

test_malformed_declarations_are_undeclared if {
	every declaration in [
		{"module": "m", "scope": "company", "company_fiel": "Co"}, # misspelt key
		{"module": "m", "scope": "job", "company_field": "Co", "job_fiel": "Job"}, # misspelt job_field: not company scope
		{"module": "m", "scope": "job", "company_field": "Co"}, # job scope without its job field
		{"module": "m", "scope": "company"}, # company scope without its company field
		{"module": "m", "company_field": "Co", "job_field": "Job"}, # no scope
		{"module": "m", "scope": "everything"}, # unknown scope
		{"module": "m", "scope": "all", "company_field": "Co"}, # fields the scope does not take
		{"module": "m", "scope": "company", "company_field": "Co", "rows_without_job": "company"},
		{"module": "m", "scope": "company", "company_field": ""}, # blank field name
		{"module": "m", "scope": "company", "company_field": 7},
		{"module": "m", "scope": "job", "company_field": "Co", "job_field": "Job", "job_when": {"field": "Type", "equal": "J"}},
		{"module": "m", "scope": "job", "company_field": "Co", "job_field": "Job", "job_when": "Type"},
		{"module": "m", "scope": "all", "sql": {"table": "t", "colums": {}}},
		{"module": "m", "scope": "all", "sql": "t"},
	] {
		r := _declared_as(declaration)
		r.code == "object_unknown"
	}
}
