# METADATA
# title: Application security
# description: |
#   Business-data security, as CMiC's company access and job security groups.
#   One scope computation per company (`scope`) feeds both answers, so they
#   cannot drift apart:
#     - a single-record check when input.resource is present (`record_reason`);
#     - a row filter (UCAST, expanded syntax) for a collection (`rows`).
#   For every account, object and row: the row matches `rows` iff the
#   single-record check of that row allows.
package verdict.application

import data.verdict.identity

# METADATA
# description: |
#   The declaration of the business object named by input.endpoint.resource in
#   data.erp.objects; undefined when it is not declared or its module differs.
business_object := obj if {
	obj := data.erp.objects[input.endpoint.resource]
	obj.module == input.endpoint.module
}

# METADATA
# description: Companies the account has access to (company access is checked before groups).
companies contains company if {
	some company, _ in data.erp.security.access[identity.account_id]
	data.erp.security.companies[company]
}

# METADATA
# description: Per accessible company, the account's job security groups that exist in that company.
groups[company] := {group |
	some group in data.erp.security.access[identity.account_id][company].groups
	data.erp.security.groups[company][group]
} if {
	some company in companies
}

# METADATA
# description: |
#   The shared scope per accessible company, for the current object:
#   company_wide (a group holding all jobs, or an object without a job key),
#   wide_groups (the groups holding all jobs) and jobs (sorted job codes of the
#   account's groups). Both the row filter and the record check read only this.
scope[company] := {
	"company_wide": _company_wide(company),
	"wide_groups": sort(_wide_groups(company)),
	"jobs": sort({job | some group in groups[company]; some job in data.erp.security.groups[company][group].jobs}),
} if {
	some company in companies
}

_wide_groups(company) := {group |
	some group in groups[company]
	data.erp.security.groups[company][group].all_jobs == true
}

_company_wide(company) if {
	count(_wide_groups(company)) > 0
} else if {
	not business_object.job_field
} else := false

# --- Row filter ------------------------------------------------------------

# METADATA
# description: |
#   The current object's SQL mapping {table, columns: {field: column}} from
#   data.erp.objects (`sql`), which the service uses to render `rows` as SQL;
#   null when the object is unknown or declares no mapping. Identifiers in
#   rendered SQL come only from here, never from the request.
default sql_mapping := null

sql_mapping := business_object.sql

# METADATA
# description: |
#   The account's row scope on the object: {"kind": "all"} (no company or job
#   key), {"kind": "none"}, or {"kind": "conditional", "filter": <UCAST>}, one
#   company condition per accessible company (an "or" only when several).
rows := {"kind": "all"} if {
	not _keyed
	business_object
} else := {"kind": "none"} if {
	count(_conditions) == 0
} else := {"kind": "conditional", "filter": _conditions[0]} if {
	count(_conditions) == 1
} else := {"kind": "conditional", "filter": {"type": "compound", "operator": "or", "value": _conditions}}

_keyed if business_object.company_field

_keyed if business_object.job_field

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

# --- Single record -----------------------------------------------------------

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

_what := sprintf("%s/%s record", [business_object.module, input.endpoint.resource])

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
	not _keyed
	msg := sprintf("%s/%s has no company or job key: all rows", [business_object.module, input.endpoint.resource])
} else := _reason("company_missing", msg) if {
	object.get(row, business_object.company_field, null) in {null, ""}
	msg := sprintf("the %s names no company (%s)", [_what, business_object.company_field])
} else := _reason("company_not_accessible", msg) if {
	company := row[business_object.company_field]
	not scope[company]
	msg := sprintf("company %s is not accessible to account %s", [_text(company), identity.account_id])
} else := _reason("company_accessible", msg) if {
	not business_object.job_field
	msg := sprintf("company %s is accessible to account %s; %s/%s has no job key", [row[business_object.company_field], identity.account_id, business_object.module, input.endpoint.resource])
} else := _reason("job_in_group", msg) if {
	company := row[business_object.company_field]
	scope[company].company_wide
	msg := sprintf("job %s of company %s is in group %s, which holds all jobs of company %s", [_job_text(row), company, concat(", ", scope[company].wide_groups), company])
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
	job in scope[company].jobs
	msg := sprintf("job %s of company %s is in the caller's job security group %s", [_text(job), company, concat(", ", sort(_groups_with_job(company, job)))])
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

_groups_with_job(company, job) := {group |
	some group in groups[company]
	job in data.erp.security.groups[company][group].jobs
}

_held_text(company) := concat(", ", sort(groups[company])) if {
	count(groups[company]) > 0
} else := "it holds none in this company"

_resource_given if object.get(input, "resource", null) != null

# --- Layer result ------------------------------------------------------------

# METADATA
# description: |
#   What the application security layer decided, as one reason {layer, code,
#   message}. Unknown object: object_unknown. A resource that is not an
#   object: resource_invalid. A write without input.resource on
#   an object with a company or job key: resource_required (fail closed). A
#   record: record_reason. A collection: object_unrestricted, rows_filtered or
#   no_accessible_rows.
reason := _reason("object_unknown", msg) if {
	not business_object
	msg := sprintf("%s/%s is not a declared business object", [input.endpoint.module, input.endpoint.resource])
} else := _reason("resource_invalid", msg) if {
	_resource_given
	not is_object(input.resource)
	msg := "input.resource must be an object of the record's fields"
} else := _reason("resource_required", msg) if {
	input.action != "retrieve"
	_keyed
	not _resource_given
	msg := sprintf("%s on %s/%s needs the record's company and job (input.resource)", [input.action, business_object.module, input.endpoint.resource])
} else := record_reason if {
	_resource_given
} else := _reason("object_unrestricted", msg) if {
	rows.kind == "all"
	msg := sprintf("%s/%s has no company or job key: all rows", [business_object.module, input.endpoint.resource])
} else := _reason("no_accessible_rows", msg) if {
	rows.kind == "none"
	msg := sprintf("account %s may see no rows of %s/%s (no company access or no job in its groups)", [identity.account_id, business_object.module, input.endpoint.resource])
} else := _reason("rows_filtered", msg) if {
	msg := sprintf("%s/%s rows are filtered to the companies and jobs of account %s", [business_object.module, input.endpoint.resource, identity.account_id])
}

# METADATA
# description: True when the application security layer allows the call.
default allow := false

allow if reason.code in _allow_codes

# METADATA
# description: Whether the single-record check allows one row of the object (true or false).
allows(row) := check(row).code in _allow_codes

_allow_codes := {
	"object_unrestricted",
	"company_accessible",
	"job_in_group",
	"row_not_job_scoped",
	"job_blank_company_scope",
	"rows_filtered",
}

_reason(code, message) := {"layer": "application", "code": code, "message": message}
