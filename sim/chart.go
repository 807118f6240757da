package sim

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// maxChartQueues caps the lines of the queue-depth chart.
const maxChartQueues = 12

// Chart files written by WriteCharts.
const (
	ChartDepth  = "queue_depth.png"
	ChartWait   = "wait_percentiles.png"
	ChartAgents = "agents_by_state.png"
)

// WriteCharts draws the run's time line into dir: queue depth, wait
// percentiles and agents by state over time.
func (rep *Report) WriteCharts(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	s := &rep.Series
	var depth []line
	for i, name := range s.Queues {
		if i == maxChartQueues {
			break
		}
		depth = append(depth, line{name, s.Depth[i]})
	}
	every := s.Every.String()
	charts := []struct {
		file, title, y string
		lines          []line
	}{
		{ChartDepth, "Callbacks waiting in line (sampled every " + every + ")", "callbacks", depth},
		{ChartWait, "Wait of callbacks answered in each " + every, "seconds", []line{{"p50", s.Wait[0]}, {"p90", s.Wait[1]}, {"p99", s.Wait[2]}}},
		{ChartAgents, "Agents by state (sampled every " + every + ")", "agents", agentLines(s)},
	}
	for _, c := range charts {
		if err := drawLines(filepath.Join(dir, c.file), c.title, c.y, s.Hours, c.lines); err != nil {
			return fmt.Errorf("sim: chart %s: %w", c.file, err)
		}
	}
	return nil
}

type line struct {
	name string
	ys   []float64
}

func agentLines(s *Series) []line {
	var out []line
	for i, name := range AgentStates {
		used := false
		for _, v := range s.Agents[i] {
			used = used || v != 0
		}
		if used {
			out = append(out, line{name, s.Agents[i]})
		}
	}
	return out
}

func drawLines(path, title, ylabel string, xs []float64, lines []line) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "hours since start"
	p.Y.Label.Text = ylabel
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	for i, l := range lines {
		var pts plotter.XYs
		for j, y := range l.ys {
			if j < len(xs) && !math.IsNaN(y) && !math.IsInf(y, 0) {
				pts = append(pts, plotter.XY{X: xs[j], Y: y})
			}
		}
		if len(pts) == 0 {
			continue
		}
		ln, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		ln.Color = plotutil.Color(i)
		ln.Dashes = plotutil.Dashes(i / 7)
		p.Add(ln)
		p.Legend.Add(l.name, ln)
	}
	return p.Save(9*vg.Inch, 4.5*vg.Inch, path)
}
