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
	"principal": {"idp": _idp(user), "erp_user": user},
	"action": action,
	"endpoint": {"module": module, "resource": resource},
}

# An identity provider the account may be authenticated by (example data), else basic.
_idp(user) := idp if {
	idp := data.erp.accounts.users[user].idps[0]
} else := "basic"

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

_ex(user, action, module, resource) := r if {
	r := api.reason.code with input as _in(user, action, module, resource)
}

test_example_two_integrations_differ_on_scmast if {
	_ex("ACME||SVC_PROCORE", "create", "pm", "scmast") == "role_grants_action"
	_ex("ACME||SVC_PROCORE", "update", "pm", "scmast") == "role_grants_action"
	_ex("ACME||SVC_POWERBI", "retrieve", "pm", "scmast") == "role_grants_action"
	_ex("ACME||SVC_POWERBI", "create", "pm", "scmast") == "action_not_granted"
	_ex("ACME||SVC_POWERBI", "delete", "pm", "scmast") == "action_not_granted"
}

test_example_procore_cannot_delete if {
	_ex("ACME||SVC_PROCORE", "delete", "pm", "scmast") == "action_not_granted"
	_ex("ACME||SVC_PROCORE", "create", "cm", "cmmast") == "role_grants_action"
	_ex("ACME||SVC_PROCORE", "update", "jc", "jcjob") == "action_not_granted"
}

test_example_hr_writer_creates_but_cannot_retrieve_employees if {
	_ex("ACME||SVC_HRWRITER", "create", "hcm", "pyemployee") == "role_grants_action"
	_ex("ACME||SVC_HRWRITER", "retrieve", "hcm", "pyemployee") == "action_not_granted"
}

test_example_payroll if {
	_ex("ACME||SVC_PAYROLL", "create", "hcm", "pyemptimesheet") == "role_grants_action"
	_ex("ACME||SVC_PAYROLL", "retrieve", "hcm", "pyemployee") == "role_grants_action"
	_ex("ACME||SVC_PAYROLL", "create", "hcm", "pyemployee") == "action_not_granted"
}

test_example_security_admin if {
	every action in ["create", "retrieve", "update", "delete"] {
		_ex("ACME||SECADMIN", action, "sys", "jcjobsecgrpuser") == "role_grants_action"
	}
	_ex("ACME||SVC_POWERBI", "retrieve", "sys", "jcjobsecgrpuser") == "action_not_granted"
}

test_example_account_without_role if {
	_ex("ACME||SVC_LEGACY_FTP", "retrieve", "jc", "jcjob") == "no_api_role"
	_ex("ACME||SVC_LEGACY_FTP", "retrieve", "sys", "currency") == "bypass"
}

test_example_roles_reference_declared_objects_and_actions if {
	every _, role in data.erp.api.roles {
		every key, actions in role.endpoints {
			_declared(key)
			every action in actions {
				action in {"create", "retrieve", "update", "delete"}
			}
		}
	}
}

test_example_bypass_references_declared_objects if {
	every key, actions in data.erp.api.bypass {
		_declared(key)
		count(actions) > 0
	}
}

test_example_assignments_name_known_accounts_and_defined_roles if {
	every name, roles in data.erp.api.assignments {
		data.erp.accounts.users[name]
		every role in roles {
			data.erp.api.roles[role]
		}
	}
}

_declared(key) if {
	[module, resource] := split(key, "/")
	data.erp.objects[resource].module == module
}

# --- identity provider binding ---

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

test_example_accounts_are_bound_to_their_providers if {
	# Every example account names its providers, and each names at least one.
	every user in data.erp.accounts.users {
		count(user.idps) > 0
	}
	r := api.reason.code with input as {"principal": {"idp": "local", "erp_user": "ACME||SVC_PAYROLL"}, "action": "retrieve", "endpoint": {"module": "hcm", "resource": "pyemployee"}}
	r == "idp_not_allowed"
}
