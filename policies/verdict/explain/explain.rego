# METADATA
# title: Explain
# description: |
#   A decision with the evidence each layer used, for `verdict explain` and
#   POST /v1/explain. Nothing here decides: the decision is data.verdict.decision
#   itself, and the evidence is what the identity, API security and application
#   security rules computed for it, read from those rules, so the trace cannot
#   disagree with the decision. A part that does not apply is null.
package verdict.explain

import data.verdict
import data.verdict.api
import data.verdict.application
import data.verdict.identity

# METADATA
# description: |
#   {decision, identity, api, application}: the decision exactly as
#   data.verdict.decision answers it, and the evidence of each layer.
explanation := {
	"decision": verdict.decision,
	"identity": identity_evidence,
	"api": api_evidence,
	"application": application_evidence,
}

# METADATA
# description: |
#   How the credential became an ERP account: the principal's identity provider,
#   ERP-user claim and client id, the account it resolved to (resolved_by:
#   erp_user, client_mapping or none), whether the account is known, its kind,
#   the identity providers it lists (null: any) and whether this one may speak for it.
default identity_evidence := null

identity_evidence := {
	"method": object.get(input.principal, "method", null),
	"idp": object.get(input.principal, "idp", null),
	"erp_user_claim": object.get(input.principal, "erp_user", null),
	"client_id": object.get(input.principal, "client_id", null),
	"account": _account,
	"resolved_by": _resolved_by,
	"known": identity.known,
	"kind": identity.kind,
	"account_idps": _account_idps,
	"idp_allowed": identity.idp_allowed,
}

default _account := null

_account := identity.account_id

_resolved_by := "none" if {
	not identity.account_id
} else := "erp_user" if {
	identity.account_id == input.principal.erp_user
} else := "client_mapping"

default _account_idps := null

_account_idps := identity.account.idps

# METADATA
# description: |
#   API security's evidence: the endpoint key, the account's API roles and the
#   actions each lists on the endpoint, the roles that grant the action, the
#   bypass entry of the endpoint, the layer's reason and whether it allows.
default api_evidence := null

api_evidence := {
	"endpoint": api.endpoint,
	"action": input.action,
	"roles": sort(api.roles),
	"role_actions": {role: _role_actions(role) | some role in api.roles},
	"granting_roles": sort(api.granting_roles),
	"bypass": api.bypassed,
	"bypass_actions": object.get(object.get(data.erp.api, "bypass", {}), api.endpoint, []),
	"reason": api.reason,
	"allow": api.allow,
}

_role_actions(role) := object.get(object.get(data.erp.api.roles[role], "endpoints", {}), api.endpoint, [])

# METADATA
# description: |
#   Application security's evidence: whether the layer was consulted (only when
#   API security allows), the business object's declaration, the companies the
#   account reaches, its job security groups per company and the jobs each holds
#   ("all" for a group holding all jobs), the scope per company, the record as
#   read from input.resource, the layer's reason, the row scope and whether it allows.
default application_evidence := null

application_evidence := {
	"consulted": api.allow,
	"object": _object,
	"companies": sort(application.companies),
	"groups": {company: _group_jobs(company) | some company in application.companies},
	"scope": application.scope,
	"record": _record,
	"reason": application.reason,
	"rows": application.rows,
	"allow": application.allow,
}

default _object := null

_object := application.business_object

default _record := null

_record := application.record

_group_jobs(company) := {group: _jobs(company, group) | some group in application.groups[company]}

_jobs(company, group) := "all" if {
	data.erp.security.groups[company][group].all_jobs == true
} else := object.get(data.erp.security.groups[company][group], "jobs", [])
