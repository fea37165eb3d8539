# Application security: the single-record check (package METADATA in
# application.rego).
package verdict.application

import data.verdict.identity

# METADATA
# description: |
#   input.resource as a row of the object: the object's own fields, with the
#   generic keys company and job mapped onto the object's company and job
#   fields (own fields win). A generic job on an object with job_when also sets
#   the job-type field (the record is a job record).
record := object.union(_aliases, input.resource)

_aliases[business_object.company_field] := input.resource.company

_aliases[business_object.job_field] := input.resource.job

_aliases[business_object.job_when.field] := business_object.job_when.equals if input.resource.job

# METADATA
# description: The single-record check of `record` (see `check`).
record_reason := check(record)

# METADATA
# description: |
#   The single-record check of one row of the object, for the current account:
#   a reason {layer, code, message}; allowed iff the code is an allow code.
#   Codes: object_unrestricted, company_missing, company_not_accessible,
#   company_accessible, job_in_group, row_not_job_scoped,
#   job_blank_company_scope, job_missing, job_not_in_groups.
#   A function of the row, so tests check it against the row filter on many
#   rows in one evaluation.
check(row) := _reason("object_unrestricted", msg) if {
	business_object.scope == "all"
	msg := sprintf("%s/%s has no company or job key: all rows", [business_object.module, input.endpoint.resource])
} else := _reason("company_missing", msg) if {
	object.get(row, business_object.company_field, null) in {null, ""}
	msg := sprintf("the %s names no company (%s)", [_what, business_object.company_field])
} else := _reason("company_not_accessible", msg) if {
	company := row[business_object.company_field]
	not companies[company]
	msg := sprintf("company %s is not accessible to account %s", [_text(company), identity.account_id])
} else := _reason("company_accessible", msg) if {
	business_object.scope == "company"
	msg := sprintf("company %s is accessible to account %s; %s/%s has no job key", [row[business_object.company_field], identity.account_id, business_object.module, input.endpoint.resource])
} else := _reason("job_in_group", msg) if {
	company := row[business_object.company_field]
	_company_wide(company)
	msg := sprintf("job %s of company %s is in group %s, which holds all jobs of company %s", [_job_text(row), company, concat(", ", sort(_wide_groups(company))), company])
} else := _reason("row_not_job_scoped", msg) if {
	not _job_row(row)
	msg := sprintf("the %s of company %s has %s %s, not %s: company scope applies", [_what, row[business_object.company_field], business_object.job_when.field, _text(object.get(row, business_object.job_when.field, null)), _text(business_object.job_when.equals)])
} else := _reason("job_blank_company_scope", msg) if {
	_job_blank(row)
	business_object.rows_without_job == "company"
	msg := sprintf("the %s of company %s has no job: company scope applies", [_what, row[business_object.company_field]])
} else := _reason("job_in_group", msg) if {
	company := row[business_object.company_field]
	job := _job(row)
	holding := _groups_with_job(company, job)
	count(holding) > 0
	msg := sprintf("job %s of company %s is in the caller's job security group %s", [_text(job), company, concat(", ", sort(holding))])
} else := _reason("job_missing", msg) if {
	_job_blank(row)
	msg := sprintf("the %s of company %s has no job (%s); only a group holding all jobs of the company covers it", [_what, row[business_object.company_field], business_object.job_field])
} else := _reason("job_not_in_groups", msg) if {
	company := row[business_object.company_field]
	msg := sprintf("job %s of company %s is in none of the caller's job security groups (%s)", [_text(_job(row)), company, _held_text(company)])
}

_job(row) := object.get(row, business_object.job_field, null)

_job_blank(row) if _job(row) in {null, ""}

# A row the job field applies to (every row, unless job_when says otherwise).
_job_row(_) if not business_object.job_when

_job_row(row) if object.get(row, business_object.job_when.field, null) == business_object.job_when.equals

_job_text(row) := _text(_job(row)) if {
	not _job_blank(row)
} else := "(none)"

# Values from the request may be of any JSON type. sprintf gets strings only:
# the WASM runtime's sprintf throws on null and formats %v unlike OPA.
_text(value) := value if {
	is_string(value)
} else := json.marshal(value)

# The groups named when at most _named_groups, else their number: a message
# that grows with the account's groups would cost a sort in WASM (quadratic)
# and bytes in every denied answer.
_held_text(company) := concat(", ", sort(groups[company])) if {
	count(groups[company]) > 0
	count(groups[company]) <= _named_groups
} else := sprintf("%d groups", [count(groups[company])]) if {
	count(groups[company]) > _named_groups
} else := "it holds none in this company"

_named_groups := 10
