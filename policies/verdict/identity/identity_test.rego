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

# A record the policy cannot read fully is unknown: a misspelt idps must not
# read as "every identity provider".
test_account_with_unknown_key_is_unknown if {
	accounts := {"users": {"T||X": {"kind": "user", "idpz": ["entra"]}, "T||Y": "user"}}
	not identity.known with input.principal as {"idp": "okta", "erp_user": "T||X"} with data.erp.accounts as accounts
	not identity.idp_allowed with input.principal as {"idp": "okta", "erp_user": "T||X"} with data.erp.accounts as accounts
	not identity.known with input.principal as {"idp": "okta", "erp_user": "T||Y"} with data.erp.accounts as accounts
}
