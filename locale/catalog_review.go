package locale

// reviewCatalog holds the newsroom's pages of four-eyes approval and of
// the audit trail.
var reviewCatalog = []entry{
	{"nav.approvals", "Freigaben", "Approvals"},
	{"review.approvals_title", "Freigaben", "Approvals"},
	{"review.waiting_heading", "Wartet auf Ihre Freigabe", "Waiting for your approval"},
	{"review.mine_heading", "Ihre vorgelegten Meldungen", "Your submitted announcements"},
	{"review.mine_none", "Sie haben keine Meldung zur Freigabe vorgelegt.", "You have submitted no announcement for approval."},
	{"review.col_title", "Titel", "Title"},
	{"review.col_submitted", "Vorgelegt", "Submitted"},
	{"review.col_state", "Stand", "State"},
	{"review.submission_title", "Freigabe: %s", "Approval: %s"},
	{"review.submitted", "Die Meldung wartet auf Freigabe. Eine zweite Person mit Freigaberecht für alle Orte muss sie freigeben.",
		"The announcement waits for approval. A second person with the approve right in every town must approve it."},
	{"review.back", "Zurück zu allen Freigaben", "Back to all approvals"},
	{"review.channels", "Kanäle", "Channels"},
	{"review.all_channels", "alle Kanäle der Orte", "every channel of the towns"},
	{"review.publish_at", "Veröffentlichen am", "Publish on"},
	{"review.live_link", "Veröffentlichte Meldung „%s“ verfolgen", "Follow the published announcement “%s”"},
	{"review.decide_heading", "Entscheiden", "Decide"},
	{"review.approve", "Freigeben und veröffentlichen", "Approve and publish"},
	{"review.reject", "Ablehnen", "Reject"},
	{"review.reason", "Begründung der Ablehnung (für den Autor)", "Reason for the rejection (for the author)"},
	{"review.withdraw", "Zurückziehen", "Withdraw"},
	{"review.approve_refused", "Die Freigabe wurde verweigert: die Meldung besteht die Prüfung nicht mehr. Sie wartet weiter; die Probleme stehen unten.",
		"Approval refused: the announcement no longer passes its checks. It still waits; the problems are listed below."},
	{"review.compose_legend", "Freigabe", "Approval"},
	{"review.compose_submit", "Zur Freigabe vorlegen", "Submit for approval"},
	{"review.compose_emergency", "Ohne Freigabe veröffentlichen (Notfall)", "Publish without approval (emergency)"},
	{"review.compose_emergency_help", "Wird im Protokoll als Notfall-Veröffentlichung vermerkt.",
		"Recorded in the audit trail as an emergency publish."},
}
