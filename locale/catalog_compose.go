package locale

// composeCatalog holds the newsroom's messages for writing an announcement: the compose form, the live preview matrix of every town × channel, drafts, and publishing.
var composeCatalog = []entry{
	{"compose.cli.actual_allowed", "%s darf jetzt echte Meldungen veröffentlichen (Modus actual).", "%s may now publish real notices (mode actual)."},
	{"compose.cli.exercise_only", "%s darf jetzt nur noch Übungen veröffentlichen.", "%s may now publish exercises only."},
}
