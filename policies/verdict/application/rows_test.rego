# The row filter of a record's answer (rows.rego), on the fixtures of
# application_test.rego (same package).
package verdict.application_test

import data.verdict.application

_record_rows(user, resource, record) := r if {
	r := application.rows with input as _rin(user, "retrieve", resource, record)
		with data.erp.security as _security
		with data.erp.objects as _objects
}

test_record_rows_name_only_the_records_job if {
	_record_rows("U_JOBS", "thing", {"Co": "01", "Job": "B"}) == {"kind": "conditional", "filter": _c("and", [_f("Co", "eq", "01"), _f("Job", "in", ["B"])])}
	_record_rows("U_JOBS", "blank", {"company": "01", "job": "A"}) == {"kind": "conditional", "filter": _c("and", [
		_f("Co", "eq", "01"),
		_c("or", [_f("Job", "in", ["A"]), _f("Job", "eq", null), _f("Job", "eq", "")]),
	])}
}

test_record_rows_company_wide_and_company_scope if {
	_record_rows("U_MIXED", "thing", {"Co": "01", "Job": "Q"}) == {"kind": "conditional", "filter": _f("Co", "eq", "01")}
	_record_rows("U_EMPTY", "coonly", {"Co": "02"}) == {"kind": "conditional", "filter": _f("Co", "eq", "02")}
	_record_rows("U_NONE", "free", {"Co": "01"}) == {"kind": "all"}
}

test_record_rows_of_a_denied_record_are_none if {
	_record_rows("U_JOBS", "thing", {"Co": "01", "Job": "X"}) == {"kind": "none"}
	_record_rows("U_JOBS", "thing", {"Co": "02", "Job": "X"}) == {"kind": "none"}
	_record_rows("U_JOBS", "thing", {"Job": "A"}) == {"kind": "none"}
}

# For every account, object and row asked as a record: the record's filter
# matches the record iff the record check allows, every row it matches is a
# row of the collection's filter, and it names at most the record's own job.
test_record_rows_agree_with_record_check_and_collection if {
	companies := ["01", "02", "03", "", null]
	jobs := ["A", "B", "C", "X", "Q", "", null]
	checks := [check |
		some user in ["U_MASTER", "U_JOBS", "U_MIXED", "U_EMPTY", "U_NONE", "NOBODY"]
		some name, obj in _objects
		generated := rows_of(obj, companies, jobs)
		collection := _rows(user, name)
		some row in generated
		q := _rin(user, "retrieve", name, row)
		record_rows := application.rows with input as q
			with data.erp.security as _security
			with data.erp.objects as _objects
		allowed := application.allow with input as q
			with data.erp.security as _security
			with data.erp.objects as _objects
		wider := [other | some other in generated; matches(record_rows, other); not matches(collection, other)]
		check := [user, name, row, matches(record_rows, row), allowed, wider, _listed_jobs(record_rows)]
	]
	[c | some c in checks; c[3] != c[4]] == []
	[c | some c in checks; c[5] != []] == []
	[c | some c in checks; count(c[6]) > 1] == []
	count([c | some c in checks; c[4]]) > 50
}

_listed_jobs(rows) := {job |
	walk(rows, [_, node])
	node.operator == "in"
	some job in node.value
}
