# The second tenant's own tests, beside its data.
package erp_test

import data.verdict

_in(user, idp, action, module, resource) := {
	"principal": {"idp": idp, "erp_user": user},
	"action": action,
	"endpoint": {"module": module, "resource": resource},
}

test_warehouse_sync_sees_its_warehouse if {
	d := verdict.decision with input as _in("GLOBEX||SVC_WAREHOUSE", "okta", "retrieve", "im", "iminv")
	d.allow
	d.rows.filter.value[0] == {"type": "field", "field": "InvComp", "operator": "eq", "value": "100"}
}

test_auditor_reads_but_cannot_write if {
	verdict.decision.allow with input as _in("GLOBEX||AUDITOR", "basic", "retrieve", "gl", "glacct")
	not verdict.decision.allow with input as _in("GLOBEX||AUDITOR", "basic", "update", "im", "iminv")
}

test_idle_account_has_no_role if {
	verdict.decision.reasons[0].code == "no_api_role" with input as _in("GLOBEX||SVC_IDLE", "basic", "retrieve", "po", "pomast")
}
