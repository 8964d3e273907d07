// Package sqlite stores crier's announcements, messages, deliveries,
// subscribers and captures in one SQLite file, and implements the durable
// delivery queue on the deliveries table.
//
// It uses the pure-Go driver modernc.org/sqlite in WAL mode with
// synchronous=FULL, so a committed transaction survives a process crash or
// a power loss. All writes go through a single connection, which serialises
// them without SQLITE_BUSY; reads use a small pool of read-only connections
// on the same file. Open takes an exclusive lock next to the database file,
// so only one process uses it at a time; that is what makes Recover safe.
//
// Every method that changes state for a person appends its entry to the
// hash-chained audit trail (appendAudit) in the same transaction as the
// change; Record appends one for an event that changes nothing else, and
// VerifyAudit checks the chain.
package sqlite
