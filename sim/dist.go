package sim

import (
	"math"
	"math/rand/v2"
)

// sampler draws from a validated Dist; it precomputes what the draw needs.
type sampler struct {
	kind uint8
	a, b float64 // constant: value; exponential: mean; lognormal: mu, sigma; uniform: min, max (ns)
}

const (
	distConstant uint8 = iota + 1
	distExponential
	distLognormal
	distUniform
)

func newSampler(d *Dist) sampler {
	if d == nil {
		return sampler{kind: distConstant}
	}
	switch d.Distribution {
	case "exponential":
		return sampler{kind: distExponential, a: float64(d.Mean)}
	case "lognormal":
		m, s := float64(d.Mean), float64(d.SD)
		v := math.Log1p(s * s / (m * m))
		return sampler{kind: distLognormal, a: math.Log(m) - v/2, b: math.Sqrt(v)}
	case "uniform":
		return sampler{kind: distUniform, a: float64(d.Min), b: float64(d.Max)}
	}
	v := d.Value
	if v == 0 {
		v = d.Mean
	}
	return sampler{kind: distConstant, a: float64(v)}
}

// draw returns one duration in nanoseconds, never negative.
func (s *sampler) draw(r *rand.Rand) int64 {
	var v float64
	switch s.kind {
	case distConstant:
		return int64(s.a)
	case distExponential:
		v = r.ExpFloat64() * s.a
	case distLognormal:
		v = math.Exp(s.a + s.b*r.NormFloat64())
	case distUniform:
		v = s.a + (s.b-s.a)*r.Float64()
	}
	if v > float64(maxDuration) {
		return int64(maxDuration)
	}
	return int64(v)
}
