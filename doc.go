// Package crier is the vocabulary of the announcement broadcaster: towns,
// channels, announcements, messages and deliveries, the small interfaces the
// engine consumes (Channel, Renderer, Store, Queue), and the engine itself,
// which validates and renders an announcement for every town and channel,
// commits it with all its deliveries in one transaction, and drives the
// delivery workers.
//
// The package imports only the standard library. Adapters for remote
// services live in channels/, persistence in store/, rendering in
// templates/, and cmd/crier wires them together.
package crier
