package locale

// newsroomCatalog holds the messages of the web interface under /admin/: its pages, forms and messages.
var newsroomCatalog = []entry{}
