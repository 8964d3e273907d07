package locale

// composeCatalog holds the newsroom's messages for writing an announcement: the compose form, the live preview matrix of every town × channel, drafts, and publishing.
var composeCatalog = []entry{}
