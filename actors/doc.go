// Package actors owns Ringback's routing core: tenants, their domains, users,
// agents and positions, virtual queues, access control and the callback
// lifecycle.
//
// The rules are plain Go. [Engine.Apply] is a pure step: given the state, a
// [Command] and the time the command was stamped with, it returns the result
// and the [Event]s that follow, or a typed error with nothing changed. The
// core never reads the wall clock, never uses randomness, and never depends
// on map iteration order, so the same command sequence gives the same state
// (and the same [Engine.Hash]) on every replica, in the simulator and after a
// snapshot and restore.
//
// The state is split the way the actors are: a [Tenant] owns the tenant's
// configuration (profile, limits, features, policy, the domain tree, users,
// queues, access) and each [Domain] owns the routing state of one domain:
// its callbacks, its waiting lines and the availability of the agents whose
// active position is in it. A tenant talks to its domains only through typed
// domain operations (see domainop.go), one at a time and in order; domains
// never talk to each other. [System] runs the same code inside protoactor-go
// actors: a root, one actor per tenant and one per domain.
//
// This package must never do I/O, start timers or read the clock: time is an
// input and deadlines fire through the [Tick] command.
package actors
