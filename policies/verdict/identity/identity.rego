# METADATA
# title: Identity
# description: |
#   Resolves the authenticated principal to an ERP account. The account is the
#   ERP user the credential names (input.principal.erp_user: the cmicuser claim or
#   the Basic username) or, when it names none, the mapping of the identity
#   provider and OAuth client id in data.erp.accounts.clients.
package verdict.identity

# METADATA
# description: |
#   The ERP account name the principal resolves to: erp_user when present,
#   else data.erp.accounts.clients[idp][client_id]. Undefined when neither.
#   Defined even for names that are not known accounts (see `known`).
account_id := name if {
	name := input.principal.erp_user
	is_string(name)
	name != ""
} else := data.erp.accounts.clients[input.principal.idp][input.principal.client_id]

# METADATA
# description: |
#   The account's record in data.erp.accounts.users; undefined for an unknown
#   account, and for a record with a key the policy does not know (a misspelt
#   `idps` would otherwise read as "every identity provider"): such an account
#   is denied as unknown.
account := record if {
	record := data.erp.accounts.users[account_id]
	is_object(record)
	count({key | some key, _ in record} - _account_keys) == 0
}

_account_keys := {"kind", "idps", "name", "description", "owner"}

# METADATA
# description: True when the principal resolves to an account listed in data.erp.accounts.users.
default known := false

known if account

# METADATA
# description: |
#   True when the identity provider that authenticated the principal may act as
#   the account: it is in the account's `idps` list, or the account lists none.
#   Without this, any trusted issuer configured with an ERP-user claim could name
#   any account; the list binds each account to the providers meant to speak for it.
default idp_allowed := false

idp_allowed if {
	known
	not account.idps
}

idp_allowed if input.principal.idp in account.idps

# METADATA
# description: The account kind (service_account or user); "unknown" for an unknown account.
default kind := "unknown"

kind := account.kind

# METADATA
# description: |
#   The principal as the decision reports it: {"id", "kind"}. id is the resolved
#   account name (even when unknown); it is absent when nothing resolves.
principal := {"id": account_id, "kind": kind} if {
	account_id
} else := {"kind": kind}
