package locale

// auditCatalog holds the messages of the audit trail: crier audit, its entries and their verification.
var auditCatalog = []entry{
	// crier audit: the table's columns.
	{"audit.seq", "Nr.", "No."},
	{"audit.actor", "Wer", "Who"},
	{"audit.client", "Von", "From"},
	{"audit.action", "Aktion", "Action"},
	{"audit.subject", "Gegenstand", "Subject"},
	{"audit.towns", "Orte", "Towns"},

	// crier audit verify.
	{"audit.intact", "Protokoll unversehrt: %d Einträge, Kopf %d:%s", "Audit trail intact: %d entries, head %d:%s"},
	{"audit.broken", "Protokoll verfälscht ab Eintrag Nr. %d: %s", "Audit trail broken at entry no. %d: %s"},
	{"audit.broken.changed", "sein Inhalt ergibt nicht seinen Hash (geändert)",
		"its content does not give its hash (changed)"},
	{"audit.broken.missing", "der Eintrag fehlt (gelöscht)", "the entry is missing (deleted)"},
	{"audit.broken.reordered", "er folgt nicht auf den Eintrag davor (umgestellt)",
		"it does not follow the entry before it (reordered)"},
	{"audit.broken.known", "er hat nicht mehr den Hash, der notiert wurde: das Protokoll wurde neu geschrieben",
		"it no longer has the hash that was noted: the trail was rewritten"},
	{"audit.broken.head", "der Kopf nennt nicht den neuesten Eintrag: die neuesten Einträge wurden gelöscht oder der Kopf geändert",
		"the head does not name the newest entry: the newest entries were deleted or the head was changed"},

	// Problems with the query of GET /api/v1/audit.
	{"problem.request.time", "%q ist keine Zeit wie 2026-12-07T09:00:00+01:00", "%q is no time like 2026-12-07T09:00:00+01:00"},
	{"problem.request.audit_seq", "%q ist keine Nummer eines Protokolleintrags", "%q is no number of an audit entry"},
}
