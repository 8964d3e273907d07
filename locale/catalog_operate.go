package locale

// operateCatalog holds the newsroom's messages for running crier: endpoints, schedules, service status, subscribers, captures, users and tokens.
var operateCatalog = []entry{}
