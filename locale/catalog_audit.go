package locale

// auditCatalog holds the messages of the audit trail: crier audit, its entries and their verification.
var auditCatalog = []entry{}
