# Application security: the shared scope per accessible company, which the row
# filter and the record check both read (package METADATA in application.rego).
#
# Written for the WASM evaluator, where a request's cost must stay linear in the
# jobs the account holds: WASM's sort is an insertion sort (a set of 20,000 jobs
# took 1.1 s to sort, and its sets iterate in hash order), and it has no rule
# indexing. So nothing here sorts jobs: the record check scans the account's
# groups' job lists (job_held), and the row filter lists the jobs in set order
# (the service sorts `in` lists, src/rows/ucast.ts; OPA's own sets iterate sorted).
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
#   wide_groups (the groups holding all jobs) and jobs (the job codes of the
#   account's groups, each once; sorted in OPA, in set order in WASM). For
#   explain: the decision reads the parts, so a record check never builds jobs.
scope[company] := {
	"company_wide": _company_wide(company),
	"wide_groups": sort(_wide_groups(company)),
	"jobs": _jobs[company],
} if {
	some company in companies
}

# Per accessible company, the job codes of the account's groups, each once
# (the row filter's job list): linear in the jobs the groups hold.
_jobs[company] := [job | some job in _job_set(company)] if {
	some company in companies
}

_job_set(company) := {job | some group in groups[company]; some job in data.erp.security.groups[company][group].jobs}

# The account's groups of `company` that list `job`: a scan of their job lists,
# linear in the jobs they hold (empty when none does).
_groups_with_job(company, job) := {group |
	some group in groups[company]
	job in data.erp.security.groups[company][group].jobs
}

_wide_groups(company) := {group |
	some group in groups[company]
	data.erp.security.groups[company][group].all_jobs == true
}

# The account's scope in `company` is the whole company: a group holding all
# jobs, or an object in company scope.
_company_wide(company) if {
	count(_wide_groups(company)) > 0
} else if {
	business_object.scope == "company"
} else := false
