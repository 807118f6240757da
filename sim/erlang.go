package sim

import (
	"math"
	"time"
)

// ErlangC is the M/M/c queue in closed form: Poisson arrivals at Rate per
// hour, exponential handle times of mean Handle, Agents identical servers,
// first come first served, nobody leaves.
type ErlangC struct {
	Rate   float64 // arrivals per hour
	Handle time.Duration
	Agents int
}

// Load is the offered load in Erlangs, a = λ·h.
func (e ErlangC) Load() float64 { return e.Rate / 3600 * e.Handle.Seconds() }

// Occupancy is a/c, below 1 for a stable queue.
func (e ErlangC) Occupancy() float64 { return e.Load() / float64(e.Agents) }

// ProbWait is C(c, a), the probability that a callback waits at all,
// computed through the Erlang B recursion (stable for large c).
func (e ErlangC) ProbWait() float64 {
	a, c := e.Load(), float64(e.Agents)
	if a >= c {
		return 1
	}
	b := 1.0
	for k := 1; k <= e.Agents; k++ {
		b = a * b / (float64(k) + a*b)
	}
	return c * b / (c - a*(1-b))
}

// MeanWait is C·h/(c−a).
func (e ErlangC) MeanWait() time.Duration {
	a, c := e.Load(), float64(e.Agents)
	if a >= c {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(e.ProbWait() * float64(e.Handle) / (c - a))
}

// ServiceLevel is P(W ≤ t) = 1 − C·e^{−(c−a)t/h}.
func (e ErlangC) ServiceLevel(t time.Duration) float64 {
	a, c := e.Load(), float64(e.Agents)
	if a >= c {
		return 0
	}
	return 1 - e.ProbWait()*math.Exp(-(c-a)*t.Seconds()/e.Handle.Seconds())
}

// WaitQuantile is the p-quantile of the wait: 0 when p ≤ 1−C, else
// h/(c−a)·ln(C/(1−p)).
func (e ErlangC) WaitQuantile(p float64) time.Duration {
	a, c := e.Load(), float64(e.Agents)
	pw := e.ProbWait()
	if 1-p >= pw {
		return 0
	}
	return time.Duration(e.Handle.Seconds() / (c - a) * math.Log(pw/(1-p)) * float64(time.Second))
}
