package sim

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ringbackhq/ringback/actors"
	"gopkg.in/yaml.v3"
)

var (
	// ErrScenario: a scenario file is malformed or a field is out of range.
	// Every such error is a *FieldError that names the field.
	ErrScenario = errors.New("sim: invalid scenario")
	// ErrEngine: the routing core refused a command the simulator expected
	// it to take (a bug in the scenario translation or in the core).
	ErrEngine = errors.New("sim: the routing core refused a command")
	// ErrTarget: a live run was pointed at something other than a
	// loopback address (127.0.0.1, localhost or ::1), or at no URL at all.
	ErrTarget = errors.New("sim: a live target must be a loopback address, http(s)://127.0.0.1, localhost or [::1]")
	// ErrLive: a live run could not be set up or was configured wrongly
	// (the wrapped error says which request or option).
	ErrLive = errors.New("sim: live run")
)

// FieldError is a bad scenario: which field, and why.
type FieldError struct {
	Field  string // path in the file, e.g. "tenants[0].queues[1].handleTime.mean"
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s: %s: %s", ErrScenario, e.Field, e.Reason)
}

func (e *FieldError) Unwrap() error { return ErrScenario }

func bad(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Duration is a length of time in a scenario: a Go duration ("150s",
// "1h30m"), a number of days ("2d"), or a bare number of seconds.
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML reads a duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDuration(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: %q is not a duration (use 150s, 5m, 8h or 2d)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(f * float64(time.Second)), nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		f, err := strconv.ParseFloat(days, 64)
		if err != nil {
			return 0, err
		}
		return time.Duration(f * 24 * float64(time.Hour)), nil
	}
	return time.ParseDuration(s)
}

// ClockTime is a time of day, "08:30", counted from midnight UTC.
type ClockTime time.Duration

// UnmarshalYAML reads "HH:MM".
func (c *ClockTime) UnmarshalYAML(n *yaml.Node) error {
	h, m, ok := strings.Cut(n.Value, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || hh*60+mm > 24*60 {
		return fmt.Errorf("line %d: %q is not a time of day (use HH:MM, 00:00 to 24:00)", n.Line, n.Value)
	}
	*c = ClockTime(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
	return nil
}

// Dist is a distribution of durations. Written as a map
// ({distribution: exponential, mean: 150s}) or, for a constant, as a bare
// duration ("30s").
type Dist struct {
	Distribution string   `yaml:"distribution" json:"distribution"` // constant, exponential, lognormal, uniform
	Mean         Duration `yaml:"mean" json:"mean,omitempty"`       // constant (or value), exponential, lognormal
	SD           Duration `yaml:"sd" json:"sd,omitempty"`           // lognormal: standard deviation
	Min          Duration `yaml:"min" json:"min,omitempty"`         // uniform
	Max          Duration `yaml:"max" json:"max,omitempty"`         // uniform
	Value        Duration `yaml:"value" json:"value,omitempty"`     // constant
}

// Constant is a distribution that always gives d.
func Constant(d time.Duration) *Dist { return &Dist{Distribution: "constant", Value: Duration(d)} }

// Exponential is an exponential distribution with the given mean.
func Exponential(mean time.Duration) *Dist {
	return &Dist{Distribution: "exponential", Mean: Duration(mean)}
}

// UnmarshalYAML reads a distribution map or a constant duration.
func (d *Dist) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var v Duration
		if err := v.UnmarshalYAML(n); err != nil {
			return err
		}
		*d = Dist{Distribution: "constant", Value: v}
		return nil
	}
	type plain Dist
	var p plain
	if err := strictDecode(n, &p); err != nil {
		return err
	}
	*d = Dist(p)
	return nil
}

func (d *Dist) validate(field string) error {
	switch d.Distribution {
	case "constant":
		if d.Value == 0 {
			d.Value = d.Mean
		}
		if d.Value < 0 {
			return bad(field+".value", "must not be negative")
		}
	case "exponential":
		if d.Mean <= 0 {
			return bad(field+".mean", "must be positive")
		}
	case "lognormal":
		if d.Mean <= 0 {
			return bad(field+".mean", "must be positive")
		}
		if d.SD <= 0 {
			return bad(field+".sd", "must be positive")
		}
	case "uniform":
		if d.Min < 0 {
			return bad(field+".min", "must not be negative")
		}
		if d.Max < d.Min {
			return bad(field+".max", "must be at least min (%s)", d.Min)
		}
	case "":
		return bad(field+".distribution", "is required: constant, exponential, lognormal or uniform")
	default:
		return bad(field+".distribution", "unknown distribution %q: use constant, exponential, lognormal or uniform", d.Distribution)
	}
	return nil
}

// MeanDuration is the distribution's mean.
func (d *Dist) MeanDuration() time.Duration {
	switch d.Distribution {
	case "constant":
		return d.Value.D()
	case "uniform":
		return (d.Min.D() + d.Max.D()) / 2
	}
	return d.Mean.D()
}

// Scenario is one simulation: the run's clock and seed, and the tenants to
// simulate. A one-tenant scenario may put its policy, domains, queues and
// agents at the top level; they form a tenant named "default".
type Scenario struct {
	Seed        uint64    `yaml:"seed"`
	Start       time.Time `yaml:"start"`       // zero: DefaultStart
	Duration    Duration  `yaml:"duration"`    // simulated time, warm-up included
	Warmup      Duration  `yaml:"warmup"`      // callbacks created before start+warmup are not reported
	SampleEvery Duration  `yaml:"sampleEvery"` // chart resolution; zero: duration/200, at least a minute

	Policy  PolicySpec   `yaml:"policy"`
	Domains []DomainSpec `yaml:"domains"`
	Queues  []QueueSpec  `yaml:"queues"`
	Agents  []AgentSpec  `yaml:"agents"`

	Tenants []TenantSpec `yaml:"tenants"`

	// prefix[i] is the path of tenant i in the file, for error messages.
	prefix []string
}

// DefaultStart is a Monday midnight, the start of a run that names none.
var DefaultStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// TenantSpec is one simulated tenant.
type TenantSpec struct {
	Name    string       `yaml:"name"`
	Policy  PolicySpec   `yaml:"policy"`
	Domains []DomainSpec `yaml:"domains"`
	Queues  []QueueSpec  `yaml:"queues"`
	Agents  []AgentSpec  `yaml:"agents"`
}

// PolicySpec is a tenant's business rules as the simulator sets them.
// Its defaults keep a plain scenario plain: nothing expires, duplicates
// are allowed, there is no wrap-up.
type PolicySpec struct {
	OfferTimeout         Duration  `yaml:"offerTimeout"`       // zero: 30s
	MaxAttempts          int       `yaml:"maxAttempts"`        // zero: 3
	RetryDelay           *Duration `yaml:"retryDelay"`         // nil: 5m
	AutoSwitchPosition   bool      `yaml:"autoSwitchPosition"` // agents follow callbacks to their other positions
	Duplicates           string    `yaml:"duplicates"`         // allow (default) or reject
	CallbackTTL          Duration  `yaml:"callbackTTL"`        // zero: never expires
	WrapUp               Duration  `yaml:"wrapUp"`             // wrap-up after every callback, unless the agent sets one
	ServiceLevelSeconds  float64   `yaml:"serviceLevelSeconds"`
	CloseCommentRequired bool      `yaml:"closeCommentRequired"`
}

// DomainSpec is a domain under Home or another domain of the tenant.
type DomainSpec struct {
	Name   string `yaml:"name"`
	Parent string `yaml:"parent"` // empty: Home
}

// QueueSpec is a virtual queue with its customers. Agents: N is the
// shorthand for N identical always-available agents in the queue's domain,
// members of this queue only, with the queue's handle time.
type QueueSpec struct {
	Name                string        `yaml:"name"`
	Domain              string        `yaml:"domain"`   // empty: Home
	Strategy            string        `yaml:"strategy"` // longest-idle (default), round-robin, fewest-handled
	ServiceLevelSeconds float64       `yaml:"serviceLevelSeconds"`
	Agents              int           `yaml:"agents"`
	HandleTime          *Dist         `yaml:"handleTime"` // for the shorthand agents and agents that set none
	Arrivals            []ArrivalSpec `yaml:"arrivals"`   // one stream, or a list (one per requesting domain)
}

// UnmarshalYAML accepts arrivals as one map or as a list of maps.
func (q *QueueSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "arrivals" && n.Content[i+1].Kind == yaml.MappingNode {
				one := n.Content[i+1]
				n.Content[i+1] = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: one.Line, Column: one.Column, Content: []*yaml.Node{one}}
			}
		}
	}
	type plain QueueSpec
	var p plain
	if err := strictDecode(n, &p); err != nil {
		return err
	}
	*q = QueueSpec(p)
	return nil
}

// ArrivalSpec is a Poisson stream of customers asking for callbacks in one
// queue from one requesting domain, and how those customers behave.
type ArrivalSpec struct {
	Domain         string    `yaml:"domain"`  // requesting domain; empty: the queue's
	PerHour        float64   `yaml:"perHour"` // mean arrivals per hour
	Profile        []float64 `yaml:"profile"` // 24 hourly rates (UTC hours), replacing perHour
	Priority       int       `yaml:"priority"`
	ScheduledShare float64   `yaml:"scheduledShare"` // share of requests scheduled for later
	ScheduleAhead  *Dist     `yaml:"scheduleAhead"`  // how far ahead; default constant 1h
	NoAnswer       float64   `yaml:"noAnswer"`       // probability the customer does not answer an attempt
	NoAnswerTime   *Dist     `yaml:"noAnswerTime"`   // how long a failed attempt holds the agent; default 30s
	Patience       *Dist     `yaml:"patience"`       // the customer cancels after this wait; nil: never
	DuplicateShare float64   `yaml:"duplicateShare"` // share of customers who ask again
	DuplicateAfter *Dist     `yaml:"duplicateAfter"` // when; default constant 2m
}

// UnmarshalYAML decodes strictly.
func (a *ArrivalSpec) UnmarshalYAML(n *yaml.Node) error {
	type plain ArrivalSpec
	var p plain
	if err := strictDecode(n, &p); err != nil {
		return err
	}
	*a = ArrivalSpec(p)
	return nil
}

// AgentSpec is one agent, or Count identical ones.
type AgentSpec struct {
	Name             string       `yaml:"name"`
	Count            int          `yaml:"count"`     // zero: 1
	Home             string       `yaml:"home"`      // empty: the first position's domain, or Home
	Positions        []string     `yaml:"positions"` // domain names; the first is active; empty: [home]
	Queues           []MemberSpec `yaml:"queues"`
	Shifts           []ShiftSpec  `yaml:"shifts"`           // daily; empty: always on
	HandleTime       *Dist        `yaml:"handleTime"`       // nil: the queue's, or exponential 5m
	WrapUp           *Dist        `yaml:"wrapUp"`           // nil: the tenant's wrapUp
	AcceptTime       *Dist        `yaml:"acceptTime"`       // nil: accepts at once
	Reject           float64      `yaml:"reject"`           // probability of rejecting an offer
	Timeout          float64      `yaml:"timeout"`          // probability of letting an offer time out
	BackAfterTimeout Duration     `yaml:"backAfterTimeout"` // away after a timeout for this long; zero: 1m
}

// MemberSpec is a queue membership at a tier (1 is served first).
type MemberSpec struct {
	Queue string `yaml:"queue"`
	Tier  int    `yaml:"tier"` // zero: 1
}

// UnmarshalYAML accepts a bare queue name for tier 1.
func (m *MemberSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*m = MemberSpec{Queue: n.Value, Tier: 1}
		return nil
	}
	type plain MemberSpec
	var p plain
	if err := strictDecode(n, &p); err != nil {
		return err
	}
	*m = MemberSpec(p)
	return nil
}

// ShiftSpec is a daily shift, e.g. 08:00 to 16:00; an end before the
// start runs past midnight.
type ShiftSpec struct {
	Start ClockTime `yaml:"start"`
	End   ClockTime `yaml:"end"`
}

// strictDecode decodes a mapping into a struct, refusing keys the struct
// does not have (yaml.v3 forgets KnownFields inside custom unmarshalers).
func strictDecode(n *yaml.Node, v any) error {
	if n.Kind == yaml.MappingNode {
		t := reflect.TypeOf(v).Elem()
		known := map[string]bool{}
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			known[name] = true
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i].Value; !known[k] {
				return fmt.Errorf("line %d: field %s not found in %s", n.Content[i].Line, k, strings.ToLower(t.Name()[:1])+t.Name()[1:])
			}
		}
	}
	return n.Decode(v)
}

// Load reads and validates a scenario file.
func Load(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Parse decodes a YAML scenario strictly (unknown fields are errors),
// applies the defaults and validates it.
func Parse(b []byte) (*Scenario, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var s Scenario
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrScenario, err)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Limits of a scenario, so a typo cannot ask for a year of a million agents.
const (
	maxAgentsPerTenant = 100000
	maxDuration        = 366 * 24 * time.Hour
)

// Validate applies the defaults and checks every field, returning a
// *FieldError naming the first bad one. It moves top-level tenant fields
// into a tenant named "default".
func (s *Scenario) Validate() error {
	if s.prefix == nil {
		top := 0
		if len(s.Queues) > 0 || len(s.Agents) > 0 || len(s.Domains) > 0 {
			s.Tenants = append([]TenantSpec{{Name: "default", Policy: s.Policy, Domains: s.Domains, Queues: s.Queues, Agents: s.Agents}}, s.Tenants...)
			s.Policy, s.Domains, s.Queues, s.Agents = PolicySpec{}, nil, nil, nil
			top = 1
		}
		s.prefix = make([]string, len(s.Tenants))
		for i := top; i < len(s.Tenants); i++ {
			s.prefix[i] = fmt.Sprintf("tenants[%d].", i-top)
		}
	}
	if s.Start.IsZero() {
		s.Start = DefaultStart
	}
	s.Start = s.Start.UTC()
	switch {
	case s.Duration <= 0:
		return bad("duration", "is required and must be positive, e.g. 24h")
	case s.Duration.D() > maxDuration:
		return bad("duration", "must be at most %s", maxDuration)
	case s.Warmup < 0:
		return bad("warmup", "must not be negative")
	case s.Warmup >= s.Duration:
		return bad("warmup", "must be shorter than duration (%s)", s.Duration)
	case s.SampleEvery < 0:
		return bad("sampleEvery", "must not be negative")
	}
	if s.SampleEvery == 0 {
		s.SampleEvery = Duration(max(time.Minute, (s.Duration.D() / 200).Round(time.Minute)))
	}
	if s.Duration.D()/s.SampleEvery.D() > 100000 {
		return bad("sampleEvery", "gives more than 100000 samples; use at least %s", s.Duration.D()/100000)
	}
	if len(s.Tenants) == 0 {
		return bad("queues", "a scenario needs at least one queue (at the top level or in tenants)")
	}
	names := map[string]bool{}
	for i := range s.Tenants {
		t := &s.Tenants[i]
		p := s.prefix[i]
		if t.Name == "" {
			return bad(p+"name", "is required")
		}
		if names[t.Name] {
			return bad(p+"name", "tenant %q is listed twice", t.Name)
		}
		names[t.Name] = true
		if err := t.validate(p); err != nil {
			return err
		}
	}
	return nil
}

func (t *TenantSpec) validate(p string) error {
	pol := &t.Policy
	if pol.OfferTimeout == 0 {
		pol.OfferTimeout = Duration(30 * time.Second)
	}
	if pol.MaxAttempts == 0 {
		pol.MaxAttempts = 3
	}
	if pol.RetryDelay == nil {
		d := Duration(5 * time.Minute)
		pol.RetryDelay = &d
	}
	if pol.Duplicates == "" {
		pol.Duplicates = string(actors.DuplicateAllow)
	}
	if pol.ServiceLevelSeconds == 0 {
		pol.ServiceLevelSeconds = 20
	}
	switch {
	case pol.OfferTimeout.D() < time.Second || pol.OfferTimeout.D() > time.Hour:
		return bad(p+"policy.offerTimeout", "must be between 1s and 1h, got %s", pol.OfferTimeout)
	case pol.MaxAttempts < 1 || pol.MaxAttempts > 100:
		return bad(p+"policy.maxAttempts", "must be between 1 and 100, got %d", pol.MaxAttempts)
	case *pol.RetryDelay < 0:
		return bad(p+"policy.retryDelay", "must not be negative")
	case pol.Duplicates != string(actors.DuplicateAllow) && pol.Duplicates != string(actors.DuplicateReject):
		return bad(p+"policy.duplicates", "must be allow or reject, got %q", pol.Duplicates)
	case pol.CallbackTTL < 0:
		return bad(p+"policy.callbackTTL", "must not be negative")
	case pol.WrapUp < 0:
		return bad(p+"policy.wrapUp", "must not be negative")
	case pol.ServiceLevelSeconds < 0 || math.IsNaN(pol.ServiceLevelSeconds):
		return bad(p+"policy.serviceLevelSeconds", "must be positive")
	}
	domains := map[string]bool{"Home": true}
	for i, d := range t.Domains {
		f := fmt.Sprintf("%sdomains[%d]", p, i)
		switch {
		case strings.TrimSpace(d.Name) == "" || len(d.Name) > actors.MaxDomainNameLen:
			return bad(f+".name", "must be 1 to %d characters", actors.MaxDomainNameLen)
		case domains[d.Name]:
			return bad(f+".name", "domain %q is listed twice (Home exists already)", d.Name)
		case d.Parent != "" && !domains[d.Parent]:
			return bad(f+".parent", "unknown domain %q (list parents first)", d.Parent)
		}
		domains[d.Name] = true
	}
	domain := func(field, name string) error {
		if name != "" && !domains[name] {
			return bad(field, "unknown domain %q", name)
		}
		return nil
	}
	queues := map[string]bool{}
	agents := 0
	for i := range t.Queues {
		q := &t.Queues[i]
		f := fmt.Sprintf("%squeues[%d]", p, i)
		if strings.TrimSpace(q.Name) == "" {
			return bad(f+".name", "is required")
		}
		if queues[q.Name] {
			return bad(f+".name", "queue %q is listed twice", q.Name)
		}
		queues[q.Name] = true
		if q.Domain == "" {
			q.Domain = "Home"
		}
		if err := domain(f+".domain", q.Domain); err != nil {
			return err
		}
		if q.Strategy == "" {
			q.Strategy = actors.LongestIdle.String()
		}
		if _, ok := actors.ParseStrategy(q.Strategy); !ok {
			return bad(f+".strategy", "unknown strategy %q: use longest-idle, round-robin or fewest-handled", q.Strategy)
		}
		if q.ServiceLevelSeconds < 0 || math.IsNaN(q.ServiceLevelSeconds) {
			return bad(f+".serviceLevelSeconds", "must be positive")
		}
		if q.ServiceLevelSeconds == 0 {
			q.ServiceLevelSeconds = pol.ServiceLevelSeconds
		}
		if q.Agents < 0 {
			return bad(f+".agents", "must not be negative")
		}
		agents += q.Agents
		if q.HandleTime != nil {
			if err := q.HandleTime.validate(f + ".handleTime"); err != nil {
				return err
			}
		}
		for j := range q.Arrivals {
			if err := q.Arrivals[j].validate(fmt.Sprintf("%s.arrivals[%d]", f, j), domain); err != nil {
				return err
			}
		}
	}
	for i := range t.Agents {
		a := &t.Agents[i]
		f := fmt.Sprintf("%sagents[%d]", p, i)
		if a.Count == 0 {
			a.Count = 1
		}
		if a.Count < 0 {
			return bad(f+".count", "must be positive")
		}
		agents += a.Count
		if a.Name == "" {
			a.Name = fmt.Sprintf("agent%d", i+1)
		}
		if len(a.Positions) == 0 {
			a.Positions = []string{cmp(a.Home, "Home")}
		}
		if a.Home == "" {
			a.Home = a.Positions[0]
		}
		if err := domain(f+".home", a.Home); err != nil {
			return err
		}
		for j, d := range a.Positions {
			if err := domain(fmt.Sprintf("%s.positions[%d]", f, j), d); err != nil {
				return err
			}
		}
		if len(a.Queues) == 0 {
			return bad(f+".queues", "an agent needs at least one queue")
		}
		for j := range a.Queues {
			m := &a.Queues[j]
			if !queues[m.Queue] {
				return bad(fmt.Sprintf("%s.queues[%d].queue", f, j), "unknown queue %q", m.Queue)
			}
			if slices.ContainsFunc(a.Queues[:j], func(o MemberSpec) bool { return o.Queue == m.Queue }) {
				return bad(fmt.Sprintf("%s.queues[%d].queue", f, j), "queue %q is listed twice", m.Queue)
			}
			if m.Tier == 0 {
				m.Tier = 1
			}
			if m.Tier < 1 || m.Tier > 10 {
				return bad(fmt.Sprintf("%s.queues[%d].tier", f, j), "must be between 1 and 10, got %d", m.Tier)
			}
		}
		for j, sh := range a.Shifts {
			if sh.Start == sh.End {
				return bad(fmt.Sprintf("%s.shifts[%d].end", f, j), "must differ from start")
			}
		}
		for _, d := range []struct {
			name string
			d    *Dist
		}{{"handleTime", a.HandleTime}, {"wrapUp", a.WrapUp}, {"acceptTime", a.AcceptTime}} {
			if d.d != nil {
				if err := d.d.validate(f + "." + d.name); err != nil {
					return err
				}
			}
		}
		switch {
		case a.Reject < 0 || a.Reject > 1 || math.IsNaN(a.Reject):
			return bad(f+".reject", "must be a probability between 0 and 1")
		case a.Timeout < 0 || a.Timeout > 1 || math.IsNaN(a.Timeout):
			return bad(f+".timeout", "must be a probability between 0 and 1")
		case a.Reject+a.Timeout >= 1:
			return bad(f+".reject", "reject plus timeout must be below 1, or no offer is ever accepted")
		case a.BackAfterTimeout < 0:
			return bad(f+".backAfterTimeout", "must not be negative")
		}
		if a.BackAfterTimeout == 0 {
			a.BackAfterTimeout = Duration(time.Minute)
		}
	}
	if agents > maxAgentsPerTenant {
		return bad(p+"agents", "%d agents, at most %d per tenant", agents, maxAgentsPerTenant)
	}
	if len(t.Queues) == 0 {
		return bad(p+"queues", "a tenant needs at least one queue")
	}
	return nil
}

func cmp(a, b string) string {
	if a == "" {
		return b
	}
	return a
}

func (a *ArrivalSpec) validate(f string, domain func(field, name string) error) error {
	if err := domain(f+".domain", a.Domain); err != nil {
		return err
	}
	if a.PerHour < 0 || math.IsNaN(a.PerHour) || math.IsInf(a.PerHour, 0) {
		return bad(f+".perHour", "must not be negative")
	}
	if a.Profile != nil {
		if len(a.Profile) != 24 {
			return bad(f+".profile", "needs 24 hourly rates, got %d", len(a.Profile))
		}
		for h, r := range a.Profile {
			if r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
				return bad(fmt.Sprintf("%s.profile[%d]", f, h), "must not be negative")
			}
		}
	} else if a.PerHour == 0 {
		return bad(f+".perHour", "is required (or give a profile of 24 hourly rates)")
	}
	if a.Priority < 0 || a.Priority > 1000 {
		return bad(f+".priority", "must be between 0 and 1000")
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"scheduledShare", a.ScheduledShare}, {"noAnswer", a.NoAnswer}, {"duplicateShare", a.DuplicateShare}} {
		if p.v < 0 || p.v > 1 || math.IsNaN(p.v) {
			return bad(f+"."+p.name, "must be a probability between 0 and 1")
		}
	}
	if a.NoAnswer == 1 {
		return bad(f+".noAnswer", "must be below 1")
	}
	if a.ScheduleAhead == nil {
		a.ScheduleAhead = Constant(time.Hour)
	}
	if a.NoAnswerTime == nil {
		a.NoAnswerTime = Constant(30 * time.Second)
	}
	if a.DuplicateAfter == nil {
		a.DuplicateAfter = Constant(2 * time.Minute)
	}
	for _, d := range []struct {
		name string
		d    *Dist
	}{{"scheduleAhead", a.ScheduleAhead}, {"noAnswerTime", a.NoAnswerTime}, {"patience", a.Patience}, {"duplicateAfter", a.DuplicateAfter}} {
		if d.d != nil {
			if err := d.d.validate(f + "." + d.name); err != nil {
				return err
			}
		}
	}
	return nil
}
