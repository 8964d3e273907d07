package locale

// accessCatalog holds the messages of sign-in: sessions, password and single sign-on login, crier login.
var accessCatalog = []entry{
	// Refused logins (package access), for the newsroom and the API.
	{"access.login.failed", "Benutzername oder Passwort ist falsch.", "Wrong user name or password."},
	{"access.login.too_many", "Zu viele fehlgeschlagene Anmeldungen. Bitte in %d Min. erneut versuchen.",
		"Too many failed logins. Please try again in %d min."},
	{"access.oidc.unreachable", "Der Identitätsdienst ist nicht erreichbar. Bitte mit einem lokalen Konto anmelden oder später erneut versuchen.",
		"The identity provider cannot be reached. Please sign in with a local account, or try again later."},
	{"access.oidc.failed", "Die Anmeldung über den Identitätsdienst ist fehlgeschlagen. Bitte erneut beginnen.",
		"Single sign-on failed. Please start again."},
	{"access.oidc.no_group", "Ihr Konto beim Identitätsdienst ist in keiner Gruppe, die Rechte in crier hat. Bitte wenden Sie sich an die Administration.",
		"Your account at the identity provider is in no group that has rights in crier. Please ask an administrator."},
	{"access.oidc.no_name", "Der Identitätsdienst liefert im Claim %q keinen verwendbaren Benutzernamen.",
		"The identity provider gives no usable user name in the claim %q."},
	{"access.oidc.name_taken", "Der Benutzername %s gehört zu einem anderen Konto, oder Ihr Konto ist unter einem anderen Namen bekannt. Bitte wenden Sie sich an die Administration.",
		"The user name %s belongs to another account, or your account is known under another name. Please ask an administrator."},
	{"access.oidc.disabled", "Das Konto %s ist gesperrt.", "The account %s is disabled."},

	// crier login and crier logout.
	{"cli.login.name_prompt", "Benutzername: ", "User name: "},
	{"cli.login.password_prompt", "Passwort für %s: ", "Password for %s: "},
	{"cli.login.done", "Angemeldet als %s (Rolle %s, Orte %s) bei %s.", "Signed in as %s (role %s, towns %s) at %s."},
	{"cli.login.saved", "Token gespeichert in %s; Befehle ohne CRIER_TOKEN verwenden es.", "Token saved in %s; commands without CRIER_TOKEN use it."},
	{"cli.login.refused", "Anmeldung abgelehnt: Benutzername oder Passwort ist falsch.", "Login refused: wrong user name or password."},
	{"cli.login.too_many", "Anmeldung abgelehnt: zu viele Fehlversuche. Bitte später erneut versuchen.",
		"Login refused: too many failed attempts. Please try again later."},
	{"cli.logout.none", "Bei %s ist niemand mit crier login angemeldet.", "Nobody is signed in at %s with crier login."},
	{"cli.logout.done", "%s bei %s abgemeldet; das Token ist widerrufen.", "%s signed out at %s; the token is revoked."},

	// The oidc section of the configuration.
	{"problem.config.oidc_https", "muss eine https-URL sein: ID-Tokens und Geheimnisse gehen dorthin (http nur für eine Loopback-Adresse)",
		"must be an https URL: ID tokens and secrets travel to it (http only for a loopback address)"},
	{"problem.config.oidc_required", "ist erforderlich", "is required"},
	{"problem.config.oidc_secret_env", "muss aus der Umgebung kommen, etwa ${CRIER_OIDC_CLIENT_SECRET}, nicht aus der Datei",
		"must come from the environment, such as ${CRIER_OIDC_CLIENT_SECRET}, not from the file"},
	{"problem.config.oidc_towns", "eine Gruppe mit der Rolle %s braucht Orte", "a group with role %s needs towns"},
}
