package locale

// accessCatalog holds the messages of sign-in: sessions, password and single sign-on login, crier login.
var accessCatalog = []entry{}
