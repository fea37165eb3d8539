package verdict.identity_test

import data.verdict.identity

_accounts := {
	"users": {
		"T||SVC_A": {"kind": "service_account"},
		"T||ALICE": {"kind": "user"},
	},
	"clients": {
		"entra": {"guid-a": "T||SVC_A"},
		"local": {"alice-cli": "T||ALICE", "ghost": "T||GONE"},
	},
}

# --- focused fixtures ---

test_erp_user_wins_over_client_mapping if {
	identity.account_id == "T||ALICE" with input.principal as {"idp": "entra", "client_id": "guid-a", "erp_user": "T||ALICE"}
		with data.erp.accounts as _accounts
}

test_client_mapping_when_no_erp_user if {
	identity.account_id == "T||SVC_A" with input.principal as {"idp": "entra", "client_id": "guid-a"}
		with data.erp.accounts as _accounts
	identity.kind == "service_account" with input.principal as {"idp": "entra", "client_id": "guid-a"}
		with data.erp.accounts as _accounts
}

test_empty_erp_user_falls_back_to_mapping if {
	identity.account_id == "T||ALICE" with input.principal as {"idp": "local", "client_id": "alice-cli", "erp_user": ""}
		with data.erp.accounts as _accounts
}

test_mapping_is_per_idp if {
	not identity.account_id with input.principal as {"idp": "local", "client_id": "guid-a"}
		with data.erp.accounts as _accounts
}

test_known_account if {
	identity.known with input.principal as {"idp": "basic", "erp_user": "T||ALICE"}
		with data.erp.accounts as _accounts
	identity.principal == {"id": "T||ALICE", "kind": "user"} with input.principal as {"idp": "basic", "erp_user": "T||ALICE"}
		with data.erp.accounts as _accounts
}

test_unknown_erp_user_keeps_its_name if {
	p := {"idp": "basic", "erp_user": "T||MALLORY"}
	not identity.known with input.principal as p with data.erp.accounts as _accounts
	identity.kind == "unknown" with input.principal as p with data.erp.accounts as _accounts
	identity.principal == {"id": "T||MALLORY", "kind": "unknown"} with input.principal as p with data.erp.accounts as _accounts
}

test_mapping_to_missing_account_is_unknown if {
	p := {"idp": "local", "client_id": "ghost"}
	identity.account_id == "T||GONE" with input.principal as p with data.erp.accounts as _accounts
	not identity.known with input.principal as p with data.erp.accounts as _accounts
}

test_nothing_resolves if {
	p := {"idp": "local", "client_id": "stranger"}
	not identity.account_id with input.principal as p with data.erp.accounts as _accounts
	identity.principal == {"kind": "unknown"} with input.principal as p with data.erp.accounts as _accounts
}

test_non_string_erp_user_is_ignored if {
	not identity.account_id with input.principal as {"idp": "basic", "erp_user": 42}
		with data.erp.accounts as _accounts
}

# --- the example data ---

test_example_local_procore_sync_maps_to_svc_procore if {
	identity.principal == {"id": "ACME||SVC_PROCORE", "kind": "service_account"} with input.principal as {"method": "jwt", "idp": "local", "client_id": "procore-sync", "subject": "procore-sync"}
}

test_example_powerbi_reader_by_cmicuser if {
	identity.principal == {"id": "ACME||SVC_POWERBI", "kind": "service_account"} with input.principal as {"method": "jwt", "idp": "local", "client_id": "powerbi-reader", "erp_user": "ACME||SVC_POWERBI"}
}

test_example_powerbi_unmapped_without_cmicuser if {
	not identity.account_id with input.principal as {"method": "jwt", "idp": "local", "client_id": "powerbi-reader"}
}

test_example_entra_client_maps_to_svc_powerbi if {
	identity.account_id == "ACME||SVC_POWERBI" with input.principal as {"method": "jwt", "idp": "entra", "client_id": "8a4f2c71-3d5e-4b9a-9c1f-6e2d7b0a5f13"}
}

test_example_basic_payroll if {
	identity.known with input.principal as {"method": "basic", "idp": "basic", "subject": "ACME||SVC_PAYROLL", "erp_user": "ACME||SVC_PAYROLL"}
}

test_example_user_kind if {
	identity.kind == "user" with input.principal as {"idp": "basic", "erp_user": "ACME||JSMITH"}
}

test_example_every_account_has_a_valid_kind if {
	every name, user in data.erp.accounts.users {
		startswith(name, "ACME||")
		user.kind in {"service_account", "user"}
	}
}

test_example_every_client_maps_to_a_known_account if {
	every _, clients in data.erp.accounts.clients {
		every _, name in clients {
			data.erp.accounts.users[name]
		}
	}
}
