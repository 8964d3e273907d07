package locale

// approvalCatalog holds the messages of four-eyes approval: submitting, approving and rejecting announcements.
var approvalCatalog = []entry{}
