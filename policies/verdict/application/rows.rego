# Application security: the row filter (package METADATA in application.rego).
package verdict.application

# METADATA
# description: |
#   The account's row scope on the object: {"kind": "all"} (scope all),
#   {"kind": "none"}, or {"kind": "conditional", "filter": <UCAST>}, one
#   company condition per accessible company (an "or" only when several).
#   For a record (input.resource), only that record's part of it: its
#   company's condition with the job list cut to the record's job, so the
#   answer's size does not grow with the jobs the account holds. The record
#   matches it iff the record check allows, and every row it matches is a row
#   of the collection's filter.
rows := {"kind": "all"} if {
	business_object.scope == "all"
} else := _rows_of(_record_conditions) if {
	_resource_given
} else := _rows_of(_conditions)

_rows_of(conditions) := {"kind": "none"} if {
	count(conditions) == 0
} else := {"kind": "conditional", "filter": conditions[0]} if {
	count(conditions) == 1
} else := {"kind": "conditional", "filter": _compound("or", conditions)}

_conditions := [condition |
	some company in sort(companies)
	condition := _company_condition(company)
]

_record_conditions := [condition |
	company := record[business_object.company_field]
	companies[company]
	condition := _record_condition(company)
]

_field(field, operator, value) := {"type": "field", "field": field, "operator": operator, "value": value}

_compound(operator, value) := {"type": "compound", "operator": operator, "value": value}

# A company-wide grant is one company condition; otherwise the company
# condition and the alternatives (jobs, blank job, rows without a job type).
# A company with no alternative contributes no condition (no row).
_company_condition(company) := _field(business_object.company_field, "eq", company) if {
	_company_wide(company)
} else := _scoped_condition(company, _jobs[company])

# The record's company condition: the job list is the record's job when one
# of the account's groups lists it, else empty.
_record_condition(company) := _field(business_object.company_field, "eq", company) if {
	_company_wide(company)
} else := _scoped_condition(company, [job]) if {
	job := _job(record)
	count(_groups_with_job(company, job)) > 0
} else := _scoped_condition(company, [])

_scoped_condition(company, jobs) := _compound("and", [_field(business_object.company_field, "eq", company), alternatives[0]]) if {
	alternatives := _alternatives(jobs)
	count(alternatives) == 1
} else := _compound("and", [_field(business_object.company_field, "eq", company), _compound("or", alternatives)]) if {
	alternatives := _alternatives(jobs)
	count(alternatives) > 1
}

_alternatives(jobs) := array.concat(array.concat(_job_alternative(jobs), _blank_alternatives), _non_job_alternative)

_job_alternative(jobs) := [_field(business_object.job_field, "in", jobs)] if {
	count(jobs) > 0
} else := []

_blank_alternatives := [
	_field(business_object.job_field, "eq", null),
	_field(business_object.job_field, "eq", ""),
] if {
	business_object.rows_without_job == "company"
} else := []

_non_job_alternative := [_field(business_object.job_when.field, "ne", business_object.job_when.equals)] if {
	business_object.job_when
} else := []
