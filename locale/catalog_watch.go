package locale

// watchCatalog holds the newsroom's messages for following announcements: the list, one announcement's page with live progress, retry, update and cancel.
var watchCatalog = []entry{}
