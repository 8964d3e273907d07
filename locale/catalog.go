package locale

// entry is one message in every supported language.
type entry struct {
	key, de, en string
}

// catalog holds every message. Keys are dotted, lower-case and grouped by
// where they appear. Keep German and English side by side and use the same
// fmt verbs in both; the tests check that.
var catalog = []entry{
	// Mode banners: every message that is not a real notice says so.
	{"mode.exercise.banner", "ÜBUNG – keine echte Meldung", "EXERCISE – not a real notice"},
	{"mode.exercise.tag", "ÜBUNG", "EXERCISE"},
	{"mode.test.banner", "TEST – keine echte Meldung", "TEST – not a real notice"},
	{"mode.test.tag", "TEST", "TEST"},

	// Revisions: an update or a cancel says so in its title.
	{"revision.updated.prefix", "Aktualisierung: ", "Update: "},
	{"revision.canceled.prefix", "Aufgehoben: ", "Canceled: "},
	{"revision.canceled.body", "Diese Meldung wurde aufgehoben.", "This notice has been canceled."},

	// Parts of every rendered notice.
	{"notice.more_info", "Mehr Informationen", "More information"},
	{"notice.valid_until", "Gültig bis", "Valid until"},
	{"notice.contact", "Kontakt", "Contact"},

	// Contact labels for the town's variables.
	{"contact.phone", "Telefon", "Phone"},
	{"contact.address", "Adresse", "Address"},
	{"contact.hours", "Öffnungszeiten", "Opening hours"},
	{"contact.email", "E-Mail", "Email"},
	{"contact.website", "Website", "Website"},

	// Email footer. %s is the town's name.
	{"mail.subscribed",
		"Sie erhalten diese E-Mail, weil Sie die Benachrichtigungen von %s abonniert haben.",
		"You receive this email because you subscribed to notices from %s."},
	{"mail.unsubscribe", "Abmelden", "Unsubscribe"},

	// Delivery states, as shown in status lists.
	{"state.queued", "wartet", "queued"},
	{"state.sending", "wird gesendet", "sending"},
	{"state.sent", "gesendet", "sent"},
	{"state.failed", "fehlgeschlagen", "failed"},
	{"state.unknown", "ungeklärt", "unknown"},
	{"state.canceled", "abgebrochen", "canceled"},
	{"state.expired", "abgelaufen", "expired"},

	// Command line.
	{"cli.published", "Veröffentlicht: %s – %s", "Published: %s – %s"},
	{"cli.updated", "Aktualisiert: %s, Revision %d – %s", "Updated: %s, revision %d – %s"},
	{"cli.canceled", "Aufgehoben: %s, Revision %d – %s", "Canceled: %s, revision %d – %s"},
	{"cli.canceled_scheduled", "Geplante Meldung %s gestrichen: sie wird nicht veröffentlicht.", "Scheduled notice %s withdrawn: it will not be published."},
	{"cli.deliveries", "%d Zustellungen", "%d deliveries"},
	{"cli.deliveries.one", "%d Zustellung", "%d delivery"},
	{"cli.failed", "%d fehlgeschlagen", "%d failed"},
	{"cli.all_sent", "Alle %d Zustellungen versandt.", "All %d deliveries sent."},
	{"cli.not_all_sent", "%d von %d Zustellungen nicht versandt:", "%d of %d deliveries not sent:"},
	{"cli.retry_hint", "Erneut versuchen: crier retry %s", "To try again: crier retry %s"},
	{"cli.problems", "%d Problem(e), nichts wurde veröffentlicht:", "%d problem(s), nothing was published:"},
	{"cli.preview_ok", "%d Nachrichten für %d Orte, keine Probleme.", "%d messages for %d towns, no problems."},
	{"cli.requeued", "%d Zustellungen wieder eingereiht.", "%d deliveries queued again."},
	{"cli.imported", "%d neu, %d aktualisiert (Liste %s).", "%d new, %d updated (list %s)."},
	{"cli.removed", "%s von der Liste %s abgemeldet.", "%s unsubscribed from list %s."},
	{"cli.town", "Ort", "Town"},
	{"cli.unsubscribe_link", "<persönlicher Abmeldelink>", "<personal unsubscribe link>"},
	{"check.endpoint", "Endpunkt", "Endpoint"},
	{"check.network", "Netz", "Network"},
	{"check.latency", "Dauer", "Latency"},
	{"check.error", "Fehler", "Error"},
	{"check.reachable", "erreichbar", "reachable"},
	{"check.unreachable_state", "nicht erreichbar", "unreachable"},
	{"check.refused", "abgewiesen", "refused"},
	{"check.skipped", "nicht prüfbar", "not probed"},
	{"check.ok", "Alle %d Orte sind auf jedem ihrer Kanäle erreichbar.", "All %d towns can be reached on every channel."},
	{"check.unreachable", "%d Kanäle ohne erreichbaren Endpunkt: %s", "%d channels without a reachable endpoint: %s"},
	{"cli.channel", "Kanal", "Channel"},
	{"cli.state", "Status", "State"},
	{"cli.count", "Anzahl", "Count"},
	{"cli.recipient", "Empfänger", "Recipient"},
	{"cli.attempts", "Versuche", "Attempts"},
	{"cli.result", "Ergebnis", "Result"},

	// Schedules: publish_at and "crier schedule". Times are written by
	// locale.DateTime or as 2006-01-02 15:04.
	{"cli.scheduled", "Geplant: %s – wird am %s veröffentlicht.", "Scheduled: %s – to be published on %s."},
	{"cli.wait_scheduled", "Nichts zu warten: die Meldung wird erst zum Termin veröffentlicht (danach: crier status %s --watch).",
		"Nothing to wait for: the notice is published at its time (then: crier status %s --watch)."},
	{"cli.schedule_created", "Zeitplan angelegt: %s – nächster Termin %s.", "Schedule created: %s – next run %s."},
	{"cli.schedule_changed", "Zeitplan %s geändert – nächster Termin %s.", "Schedule %s changed – next run %s."},
	{"cli.schedule_paused", "Zeitplan %s angehalten.", "Schedule %s paused."},
	{"cli.schedule_resumed", "Zeitplan %s fortgesetzt – nächster Termin %s.", "Schedule %s resumed – next run %s."},
	{"cli.schedule_removed", "Zeitplan %s entfernt: er wird nicht mehr ausgelöst.", "Schedule %s removed: it will not fire again."},
	{"cli.no_schedules", "Keine Zeitpläne.", "No schedules."},
	{"cli.schedule_once", "einmalig", "once"},
	{"cli.schedule_until", "bis %s", "until %s"},
	{"cli.schedule", "Zeitplan", "Schedule"},
	{"cli.next_run", "Nächster Termin", "Next run"},
	{"cli.last_run", "Letzte Veröffentlichung", "Last published"},
	{"cli.title", "Titel", "Title"},
	{"cli.fire_at", "Termin", "Time"},
	{"cli.announcement", "Meldung", "Announcement"},
	{"schedule.active", "aktiv", "active"},
	{"schedule.paused", "angehalten", "paused"},
	{"schedule.done", "erledigt", "done"},
	{"schedule.canceled", "entfernt", "removed"},
	{"run.claimed", "läuft", "running"},
	{"run.published", "veröffentlicht", "published"},
	{"run.skipped", "ausgelassen", "skipped"},
	{"run.failed", "abgelehnt", "rejected"},
}
