# METADATA
# title: Application security
# description: |
#   Business-data security, as CMiC's company access and job security groups.
#   One package in files by concern:
#     - application.rego: the business object's declaration (data.erp.objects),
#       read only when it is well formed;
#     - scope.rego: the shared scope per accessible company;
#     - rows.rego: the row filter (UCAST, expanded syntax) for a collection;
#     - record.rego: the single-record check when input.resource is present;
#     - reason.rego: the layer's reason and allow.
#   One scope computation per company feeds both answers, so they cannot drift
#   apart: for every account, object and row, the row matches `rows` iff the
#   single-record check of that row allows.
package verdict.application

# METADATA
# description: |
#   The declaration of the business object named by input.endpoint.resource in
#   data.erp.objects; undefined when it is not declared, its module differs, or
#   it is not well formed: a key the policy does not know (a misspelt
#   company_field), or fields that do not match its `scope` (a job object
#   without its job_field). Such a declaration is treated as undeclared, so a
#   gap in the data can only deny, never read as wider than it was meant.
business_object := obj if {
	obj := data.erp.objects[input.endpoint.resource]
	obj.module == input.endpoint.module
	_well_formed(obj)
}

_object_keys := {"module", "description", "scope", "company_field", "job_field", "rows_without_job", "job_when", "sql"}

# The field keys each scope needs: exactly these of the scoped keys, plus the
# optional ones a job object may have.
_scoped_keys := {"company_field", "job_field", "rows_without_job", "job_when"}

_scope_needs := {
	"all": set(),
	"company": {"company_field"},
	"job": {"company_field", "job_field"},
}

_scope_may := {
	"all": set(),
	"company": set(),
	"job": {"rows_without_job", "job_when"},
}

_well_formed(obj) if {
	keys := {key | some key, _ in obj}
	count(keys - _object_keys) == 0
	needs := _scope_needs[obj.scope]
	present := keys & _scoped_keys
	present - _scope_may[obj.scope] == needs
	every key in needs {
		_name(obj[key])
	}
	_job_when_well_formed(obj)
	_sql_well_formed(obj)
}

_name(value) if {
	is_string(value)
	value != ""
}

_job_when_well_formed(obj) if not obj.job_when

_job_when_well_formed(obj) if {
	is_object(obj.job_when)
	{key | some key, _ in obj.job_when} == {"field", "equals"}
	_name(obj.job_when.field)
}

_sql_well_formed(obj) if not obj.sql

_sql_well_formed(obj) if {
	is_object(obj.sql)
	count({key | some key, _ in obj.sql} - {"table", "columns"}) == 0
}

# METADATA
# description: |
#   The current object's SQL mapping {table, columns: {field: column}} from
#   data.erp.objects (`sql`), which the service uses to render `rows` as SQL;
#   null when the object is unknown or declares no mapping. Identifiers in
#   rendered SQL come only from here, never from the request.
default sql_mapping := null

sql_mapping := business_object.sql

# An object keyed by company (scope company or job): its rows are filtered.
_keyed if business_object.scope in {"company", "job"}

_what := sprintf("%s/%s record", [business_object.module, input.endpoint.resource])
