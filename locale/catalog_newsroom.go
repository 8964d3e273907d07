package locale

// newsroomCatalog holds the messages of the web interface under /admin/:
// its pages, forms and messages.
var newsroomCatalog = []entry{
	{"app.name", "crier Redaktion", "crier newsroom"},
	{"app.footer", "crier – Meldungen für alle Orte, auch wenn die Technik ausfällt.", "crier – notices for every town, even when the systems are down."},
	{"nav.skip", "Zum Inhalt springen", "Skip to content"},
	{"nav.label", "Hauptnavigation", "Main navigation"},
	{"nav.home", "Übersicht", "Overview"},
	{"nav.signed_in_as", "Angemeldet: %s (%s)", "Signed in: %s (%s)"},
	{"nav.logout", "Abmelden", "Sign out"},
	{"login.title", "Anmelden", "Sign in"},
	{"login.name", "Benutzername", "User name"},
	{"login.password", "Passwort", "Password"},
	{"login.submit", "Anmelden", "Sign in"},
	{"login.failed", "Benutzername oder Passwort ist falsch.", "Wrong user name or password."},
	{"login.locked", "Zu viele fehlgeschlagene Anmeldungen. Bitte versuchen Sie es später noch einmal.", "Too many failed sign-ins. Please try again later."},
	{"login.signed_out", "Sie sind abgemeldet.", "You are signed out."},
	{"home.title", "Übersicht", "Overview"},
	{"home.intro", "Von hier aus schreiben, prüfen und verfolgen Sie Meldungen für Ihre Orte.", "From here you write, check and follow notices for your towns."},
	{"error.title", "Fehler %d", "Error %d"},
	{"error.back", "Zur Übersicht", "Back to the overview"},
	{"error.notfound", "Diese Seite gibt es nicht.", "There is no such page."},
	{"error.forbidden", "Dazu fehlt Ihnen die Berechtigung.", "You are not allowed to do that."},
	{"error.internal", "Ein interner Fehler ist aufgetreten; er wurde protokolliert.", "An internal error occurred; it has been logged."},
	{"error.text", "%s", "%s"},
	{"error.signed_out", "Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.", "Your session has ended. Please sign in again."},
	{"error.csrf", "Das Formular war veraltet oder kam nicht von dieser Seite. Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.",
		"The form was stale or did not come from this site. Please reload the page and try again."},
	{"error.crossorigin", "Anfragen von anderen Websites werden nicht angenommen.", "Requests from other websites are not accepted."},
}
