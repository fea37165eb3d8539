# Application security: what the layer decided (package METADATA in
# application.rego).
package verdict.application

import data.verdict.identity

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

_resource_given if object.get(input, "resource", null) != null
