package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeScenario(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const smallScenario = `seed: 7
duration: 6h
warmup: 1h
queues:
  - name: q1
    agents: 12
    serviceLevelSeconds: 20
    arrivals: {perHour: 240}
    handleTime: {distribution: exponential, mean: 150s}
`

func TestSimCommand(t *testing.T) {
	path := writeScenario(t, smallScenario)
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, out string)
	}{
		{"table", []string{path}, func(t *testing.T, out string) {
			if !strings.Contains(out, "q1") || !strings.Contains(out, "P(wait)") {
				t.Errorf("table output lacks the queue row:\n%s", out)
			}
		}},
		{"json", []string{path, "--json"}, func(t *testing.T, out string) {
			var rep struct {
				Queues []map[string]any `json:"queues"`
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("json: %v\n%s", err, out)
			}
			for _, k := range []string{"offered", "answered", "abandoned", "meanWaitSeconds", "probWait", "serviceLevel", "waitP50Seconds", "waitP90Seconds", "waitP99Seconds", "occupancy"} {
				if _, ok := rep.Queues[0][k]; !ok {
					t.Errorf("json queue row lacks %q", k)
				}
			}
			if rep.Queues[0]["offered"].(float64) < 1000 {
				t.Errorf("offered = %v, want about 1200", rep.Queues[0]["offered"])
			}
		}},
		{"csv", []string{path, "--csv"}, func(t *testing.T, out string) {
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 3 || !strings.HasPrefix(lines[0], "kind,tenant,name,offered") || !strings.HasPrefix(lines[1], "queue,default,q1,") {
				t.Errorf("csv = %q, want a header, a queue line and a domain line", lines)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			cmd := newSimCmd()
			cmd.SetOut(&out)
			cmd.SetArgs(tt.args)
			if err := cmd.Execute(); err != nil {
				t.Fatalf("ringback %v: %v", tt.args, err)
			}
			tt.check(t, out.String())
		})
	}
}

func TestSimCommandOut(t *testing.T) {
	dir := t.TempDir()
	cmd := newSimCmd()
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetArgs([]string{writeScenario(t, smallScenario), "--out", dir})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.txt", "report.json", "report.csv", "queue_depth.png", "wait_percentiles.png", "agents_by_state.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v, want a non-empty file", f, err)
		}
	}
}

func TestSimCommandBadScenario(t *testing.T) {
	path := writeScenario(t, strings.Replace(smallScenario, "perHour: 240", "perHour: -5", 1))
	cmd := newSimCmd()
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs([]string{path})
	err := cmd.Execute()
	if err == nil || !strings.Contains(err.Error(), "queues[0].arrivals[0].perHour") {
		t.Fatalf("ringback sim with a negative rate: %v, want an error naming queues[0].arrivals[0].perHour", err)
	}
}
