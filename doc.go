// Package crier is the vocabulary of the announcement broadcaster: towns,
// channels, announcements, messages and deliveries, the small interfaces the
// engine consumes (Channel, Renderer, AnnouncementStore, Queue, and the
// stores of subscribers, accounts, sessions, submissions and the audit
// trail), the one authorization function (Authorize), and the engine itself,
// which validates and renders an announcement for every town and channel,
// commits it with all its deliveries in one transaction, and drives the
// delivery workers.
//
// The package imports only the standard library. Adapters for remote
// services live in channels/, persistence in store/, rendering in
// templates/, the public website in site/, the HTTP API in server/, the
// newsroom (the web interface under /admin/) in newsroom/, sign-in in
// access/, and cmd/crier wires them together.
package crier
