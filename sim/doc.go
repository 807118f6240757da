// Package sim owns Ringback's load simulator: scenario files (tenants,
// domains, queues, agents with shifts and handle times, customers who
// arrive, schedule, cancel, do not answer and ask twice), a discrete-event
// loop that drives the real routing core ([actors.Engine]) on a simulated
// clock, and the report of what happened (per queue and per domain tables,
// JSON, CSV and charts). It also holds the Erlang C formulas the simulator
// is checked against.
//
// A run is a pure function of its scenario: all randomness comes from PCG
// generators seeded from the scenario's seed (one stream per arrival stream
// and per agent, so changing one agent does not reshuffle every customer),
// nothing iterates a map unsorted, and nothing reads the wall clock. The
// same scenario gives the same report, byte for byte.
//
// The simulator must never reach into the core's private state or change
// its rules: it issues the same commands an API client would (create,
// accept, reject, complete, fail, cancel, set presence) and reads the
// events they return. Deadlines (offer timeouts, scheduled callbacks,
// retries, expiry, the end of wrap-up) fire because the loop applies a
// [actors.Tick] whenever [actors.Engine.NextDeadline] comes before the
// simulator's next own event.
//
// # Live mode
//
// [RunLive] plays the same scenario against a running server instead, in
// real time scaled by a speed: it creates the tenants, domains, queues,
// agents (with positions, memberships and API keys), a wrap-up code and a
// channel application per requesting domain through the HTTP API, then
// customers ask for callbacks (with an Idempotency-Key) and every agent
// holds an offer stream, accepts, handles, completes or fails and ends
// wrap-up as the scenario says. It measures what clients see: request
// latencies, create to offer on the stream, accept to in progress, and
// refusals by status. Live mode is the one part of the package that reads
// the wall clock, opens sockets and runs goroutines; it is not
// deterministic. It talks only to loopback addresses ([CheckTarget], and
// the dialer refuses any other address), and a run always stops: at the
// end of the scenario, after MaxDuration of wall time or MaxRequests
// requests, whichever comes first.
//
// # Where theory stops and the simulator starts
//
// One queue with Poisson arrivals, exponential handle times, c identical
// agents who are always there and accept at once, no abandonment and no
// retries is the M/M/c queue, and Erlang C gives its probability of
// waiting, mean wait and service level in closed form; TestErlangC checks
// the simulator against it (sim/testdata/erlang_c.md). The formulas stop
// as soon as any of these holds: customers cancel after a patience (that is
// Erlang A at best, and only for exponential patience); a no-answer
// schedules a retry minutes later, so arrivals are no longer Poisson and
// depend on the queue's own history; handle times are lognormal (M/G/c has
// no exact formula); agents have shifts, wrap-up, accept delays, reject or
// let offers time out (the server count and speed vary with time and state);
// arrivals follow a day profile (the queue never reaches a steady state);
// or callbacks come from several domains and agents hold positions in
// several of them, so which agent may take which callback depends on the
// active position and on automatic switching — several coupled queues with
// a routing rule no formula describes. In those cases the simulator runs the
// real routing rules and reports waits, service level, abandonment and
// occupancy per queue and per domain, which is what staffing decisions need.
package sim
