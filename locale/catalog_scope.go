package locale

// scopeCatalog holds the messages of the lists kept to a person's towns:
// announcements, deliveries and captures, and their paging.
var scopeCatalog = []entry{
	{"status.scope", "nur für %v: die übrigen Orte dieser Meldung sehen Sie nicht", "for %v only: you do not see the other towns of this announcement"},
	{"problem.request.town", "%q ist keine eingerichtete Stadt oder Gemeinde", "%q is no configured town"},
	{"problem.request.cursor", "ist keine Position aus next_before oder next_after", "is not a position from next_before or next_after"},
}
