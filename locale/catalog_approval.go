package locale

// approvalCatalog holds the messages of four-eyes approval: submitting, approving and rejecting announcements.
var approvalCatalog = []entry{
	{"approval.waiting", "Wartet auf Freigabe: %s – %s", "Waiting for approval: %s – %s"},
	{"approval.approved", "Freigegeben: %s (von %s) – %s", "Approved: %s (by %s) – %s"},
	{"approval.approved_scheduled", "Freigegeben und geplant: %s – wird am %s veröffentlicht.",
		"Approved and scheduled: %s – to be published on %s."},
	{"approval.rejected", "Abgelehnt: %s – %s sieht die Begründung.", "Rejected: %s – %s sees the reason."},
	{"approval.withdrawn", "Zurückgezogen: %s", "Withdrawn: %s"},
	{"approval.none_pending", "Nichts wartet auf Freigabe.", "Nothing waits for approval."},
	{"approval.author", "Autor", "Author"},
	{"approval.towns", "Orte", "Towns"},
	{"approval.submission", "Freigabe", "Approval"},
	{"approval.update_of", "[Aktualisierung von Revision %d]", "[update of revision %d]"},
	{"approval.by_approved", "%s, freigegeben von %s", "%s, approved by %s"},
	{"approval.by_emergency", "%s, Notfall ohne Freigabe", "%s, emergency publish without approval"},
	{"approval.state.pending_approval", "wartet auf Freigabe", "waiting for approval"},
	{"approval.state.approved", "freigegeben von %s", "approved by %s"},
	{"approval.state.rejected", "abgelehnt von %s: %s", "rejected by %s: %s"},
	{"approval.state.withdrawn", "zurückgezogen von %s", "withdrawn by %s"},

	{"problem.approval.reason_required", "muss sagen, warum die Meldung abgelehnt wird", "must say why the announcement is rejected"},
	{"problem.config.approval_severity_off", "wirkt nicht, solange die Freigabe ausgeschaltet ist (mode: off)",
		"has no effect while the approval mode is off"},
}
