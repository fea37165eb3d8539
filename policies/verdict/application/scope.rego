# Application security: the shared scope per accessible company, which the row
# filter and the record check both read (package METADATA in application.rego).
package verdict.application

import data.verdict.identity

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
#   company_wide (a group holding all jobs, or an object in company scope),
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
	business_object.scope == "company"
} else := false
