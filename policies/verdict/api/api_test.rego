package verdict.api_test

import data.verdict.api

_accounts := {"users": {"A": {"kind": "service_account"}, "B": {"kind": "service_account"}, "C": {"kind": "user"}}}

_api := {
	"roles": {
		"READ": {"endpoints": {"pm/scmast": ["retrieve"]}},
		"WRITE": {"endpoints": {"pm/scmast": ["create", "retrieve", "update"]}},
	},
	"assignments": {"A": ["READ", "WRITE"], "B": ["READ", "UNDEFINED"]},
	"bypass": {"sys/currency": ["retrieve"]},
}

_in(user, action, module, resource) := {
	"principal": {"idp": "basic", "erp_user": user},
	"action": action,
	"endpoint": {"module": module, "resource": resource},
}

_reason(user, action, module, resource) := r if {
	r := api.reason with input as _in(user, action, module, resource)
		with data.erp.accounts as _accounts
		with data.erp.api as _api
}

_allow(user, action, module, resource) := r if {
	r := api.allow with input as _in(user, action, module, resource)
		with data.erp.accounts as _accounts
		with data.erp.api as _api
}

# --- focused fixtures ---

test_endpoint_key if {
	api.endpoint == "pm/scmast" with input as _in("A", "retrieve", "pm", "scmast")
}

test_unknown_account_denied_even_on_bypass if {
	r := _reason("Z", "retrieve", "sys", "currency")
	r.code == "account_unknown"
	r.layer == "api"
	r.message == "account Z is not a known ERP account"
	not _allow("Z", "retrieve", "sys", "currency")
}

test_unresolved_principal_message if {
	r := api.reason with input as {"principal": {"idp": "local", "client_id": "nobody"}, "action": "retrieve", "endpoint": {"module": "pm", "resource": "scmast"}}
		with data.erp.accounts as _accounts
		with data.erp.api as _api
	r.code == "account_unknown"
	contains(r.message, "client nobody of identity provider local")
}

test_bypass_for_account_without_role if {
	r := _reason("C", "retrieve", "sys", "currency")
	r.code == "bypass"
	_allow("C", "retrieve", "sys", "currency")
}

test_bypass_is_per_action if {
	_reason("C", "update", "sys", "currency").code == "no_api_role"
	not _allow("C", "update", "sys", "currency")
}

test_no_api_role if {
	r := _reason("C", "retrieve", "pm", "scmast")
	r.code == "no_api_role"
	r.message == "account C has no API role"
}

test_role_grants_action_names_all_granting_roles if {
	r := _reason("A", "retrieve", "pm", "scmast")
	r.code == "role_grants_action"
	r.message == "roles READ, WRITE grant retrieve on pm/scmast"
	_allow("A", "retrieve", "pm", "scmast")
}

test_role_grants_action_single_role if {
	_reason("A", "create", "pm", "scmast").message == "role WRITE grants create on pm/scmast"
}

test_action_not_granted if {
	r := _reason("B", "create", "pm", "scmast")
	r.code == "action_not_granted"
	r.message == "no API role of account B (READ) grants create on pm/scmast"
	not _allow("B", "create", "pm", "scmast")
}

test_endpoint_in_no_role if {
	_reason("A", "retrieve", "cm", "cmmast").code == "action_not_granted"
}

test_undefined_role_grants_nothing if {
	api.roles == {"READ"} with input as _in("B", "retrieve", "pm", "scmast")
		with data.erp.accounts as _accounts
		with data.erp.api as _api
}

test_unknown_action_is_not_granted if {
	_reason("A", "purge", "pm", "scmast").code == "action_not_granted"
}

# --- the example data ---

_bound := {"users": {
	"A": {"kind": "service_account", "idps": ["entra"]},
	"B": {"kind": "service_account"},
}}

_as(user, idp) := r if {
	r := api.reason with input as {"principal": {"idp": idp, "erp_user": user}, "action": "retrieve", "endpoint": {"module": "pm", "resource": "scmast"}}
		with data.erp.accounts as _bound
		with data.erp.api as _api
}

test_idp_bound_account_refuses_other_providers if {
	_as("A", "entra").code == "role_grants_action"
	r := _as("A", "okta")
	r.code == "idp_not_allowed"
	r.message == "account A may not be authenticated by identity provider okta (allowed: entra)"
}

test_idp_binding_applies_before_the_bypass_list if {
	r := api.reason with input as {"principal": {"idp": "basic", "erp_user": "A"}, "action": "retrieve", "endpoint": {"module": "sys", "resource": "currency"}}
		with data.erp.accounts as _bound
		with data.erp.api as _api
	r.code == "idp_not_allowed"
}

test_account_without_idps_accepts_every_provider if {
	_as("B", "okta").code == "role_grants_action"
	_as("B", "basic").code == "role_grants_action"
}
