package sim

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestShorthandDefaults(t *testing.T) {
	s, err := Load("testdata/shorthand.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Tenants) != 1 || s.Tenants[0].Name != "default" {
		t.Fatalf("Tenants = %+v, want one default tenant", s.Tenants)
	}
	q := s.Tenants[0].Queues[0]
	if q.Agents != 12 || q.Domain != "Home" || q.ServiceLevelSeconds != 20 || len(q.Arrivals) != 1 || q.Arrivals[0].PerHour != 240 {
		t.Fatalf("queue = %+v", q)
	}
	p := s.Tenants[0].Policy
	if p.CallbackTTL != 0 || p.Duplicates != "allow" || p.WrapUp != 0 {
		t.Fatalf("policy = %+v, want no expiry, duplicates allowed, no wrap-up", p)
	}
	if q.HandleTime.Distribution != "exponential" || q.HandleTime.Mean.D().Seconds() != 150 {
		t.Fatalf("handleTime = %+v", q.HandleTime)
	}
}

// TestValidateNamesField: a scenario with a bad field is refused with an
// error that names the field.
func TestValidateNamesField(t *testing.T) {
	base, err := os.ReadFile("testdata/shorthand.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, from, to, field string
	}{
		{"no duration", "duration: 200h", "", "duration"},
		{"warm-up too long", "warmup: 2h", "warmup: 300h", "warmup"},
		{"bad distribution", "distribution: exponential", "distribution: gamma", "queues[0].handleTime.distribution"},
		{"negative mean", "mean: 150s", "mean: -150s", "queues[0].handleTime.mean"},
		{"no rate", "{perHour: 240}", "{perHour: 0}", "queues[0].arrivals[0].perHour"},
		{"short profile", "{perHour: 240}", "{profile: [1, 2, 3]}", "queues[0].arrivals[0].profile"},
		{"unknown domain", "arrivals: {perHour: 240}", "arrivals: {perHour: 240, domain: Mars}", "queues[0].arrivals[0].domain"},
		{"bad probability", "arrivals: {perHour: 240}", "arrivals: {perHour: 240, noAnswer: 1.5}", "queues[0].arrivals[0].noAnswer"},
		{"bad strategy", "agents: 12", "agents: 12\n    strategy: random", "queues[0].strategy"},
		{"unknown field", "agents: 12", "agents: 12\n    agnets: 3", "agnets"},
		{"unknown arrival field", "{perHour: 240}", "{perHour: 240, perHoru: 3}", "perHoru"},
		{"bad duration", "duration: 200h", "duration: forever", "forever"},
		{"lognormal without sd", "{distribution: exponential, mean: 150s}", "{distribution: lognormal, mean: 150s}", "queues[0].handleTime.sd"},
		{"agent unknown queue", "queues:", "agents:\n  - {name: a, queues: [nope]}\nqueues:", "agents[0].queues[0].queue"},
		{"agent reject", "queues:", "agents:\n  - {name: a, queues: [q1], reject: 0.6, timeout: 0.5}\nqueues:", "agents[0].reject"},
		{"tenant policy", "queues:", "policy: {duplicates: maybe}\nqueues:", "policy.duplicates"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(string(base), tt.from, tt.to, 1)
			if src == string(base) {
				t.Fatalf("replacement %q not found", tt.from)
			}
			_, err := Parse([]byte(src))
			if err == nil || !errors.Is(err, ErrScenario) || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("Parse() = %v, want an invalid-scenario error naming %q", err, tt.field)
			}
		})
	}
}
