# Application security: the row filter of a collection (package METADATA in
# application.rego).
package verdict.application

# METADATA
# description: |
#   The account's row scope on the object: {"kind": "all"} (scope all),
#   {"kind": "none"}, or {"kind": "conditional", "filter": <UCAST>}, one
#   company condition per accessible company (an "or" only when several).
rows := {"kind": "all"} if {
	business_object.scope == "all"
} else := {"kind": "none"} if {
	count(_conditions) == 0
} else := {"kind": "conditional", "filter": _conditions[0]} if {
	count(_conditions) == 1
} else := {"kind": "conditional", "filter": {"type": "compound", "operator": "or", "value": _conditions}}

_conditions := [condition |
	some company in sort(companies)
	condition := _company_condition(company)
]

_field(field, operator, value) := {"type": "field", "field": field, "operator": operator, "value": value}

_compound(operator, value) := {"type": "compound", "operator": operator, "value": value}

# A company-wide grant is one company condition; otherwise the company
# condition and the alternatives (jobs, blank job, rows without a job type).
# A company with no alternative contributes no condition (no row).
_company_condition(company) := _field(business_object.company_field, "eq", company) if {
	scope[company].company_wide
} else := _compound("and", [_field(business_object.company_field, "eq", company), alternatives[0]]) if {
	alternatives := _alternatives(company)
	count(alternatives) == 1
} else := _compound("and", [_field(business_object.company_field, "eq", company), _compound("or", alternatives)]) if {
	alternatives := _alternatives(company)
	count(alternatives) > 1
}

_alternatives(company) := array.concat(array.concat(_job_alternative(company), _blank_alternatives), _non_job_alternative)

_job_alternative(company) := [_field(business_object.job_field, "in", scope[company].jobs)] if {
	count(scope[company].jobs) > 0
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
