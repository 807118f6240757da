package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ringbackhq/ringback/cluster"
	"github.com/ringbackhq/ringback/cmd/ringback/api"
)

// serverFlags is the one flag struct of `ringback server`. Every flag falls
// back to a RINGBACK_* environment variable.
type serverFlags struct {
	DataDir        string
	HTTPAddr       string
	RaftAddr       string
	RaftAdvertise  string
	Store          string
	Join           []string
	BootstrapExpct int
	JoinExisting   bool
	LeaveOnStop    bool
	TenantLabels   bool
	LogLevel       string
	GCPercent      int
	MemoryLimit    string
	// keepGC and keepLimit: GOGC or GOMEMLIMIT is set and the flag was not
	// given, so the runtime's own setting stays.
	keepGC, keepLimit bool
}

func (f *serverFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.DataDir, "data-dir", "./data", "where the log, snapshots and the operator token live")
	fs.StringVar(&f.HTTPAddr, "http-addr", "127.0.0.1:8080", "address of the HTTP API")
	fs.StringVar(&f.RaftAddr, "raft-addr", "127.0.0.1:7000", "address for Raft traffic between nodes")
	fs.StringVar(&f.RaftAdvertise, "raft-advertise", "", "Raft address peers dial, when it differs from --raft-addr (a proxy)")
	fs.StringVar(&f.Store, "store", cluster.StoreWAL, `log store: "wal" or "boltdb"`)
	fs.StringSliceVar(&f.Join, "join", nil, "Raft addresses of every voter (this node included) for the first start")
	fs.IntVar(&f.BootstrapExpct, "bootstrap-expect", 0, "number of voters named by --join (must match)")
	fs.BoolVar(&f.JoinExisting, "join-existing", false, "join a running cluster (a leader adds this node); never bootstrap")
	fs.BoolVar(&f.LeaveOnStop, "leave-on-stop", false, "on SIGTERM, leave the cluster before stopping")
	fs.BoolVar(&f.TenantLabels, "metrics-tenant-labels", false, "label metrics by tenant")
	fs.StringVar(&f.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.IntVar(&f.GCPercent, "gc-percent", cluster.DefaultGCPercent, "heap growth in percent of the live heap before a collection (Go's GOGC, which wins when set and this flag is not); -1: only the memory limit triggers collections")
	fs.StringVar(&f.MemoryLimit, "memory-limit", "auto", `soft memory limit: bytes, or with a KiB, MiB, GiB or TiB suffix; "auto": three quarters of the cgroup's or machine's memory; "none": Go's own (GOMEMLIMIT, which wins when set and this flag is not)`)
}

// memoryPolicy is the process's collector setting from --gc-percent and
// --memory-limit.
func (f *serverFlags) memoryPolicy() (cluster.MemoryPolicy, error) {
	p := cluster.DefaultMemoryPolicy()
	p.GCPercent = f.GCPercent
	if f.keepGC {
		p.GCPercent = cluster.RuntimeGCPercent()
	}
	switch limit, err := parseBytes(f.MemoryLimit); {
	case f.keepLimit || f.MemoryLimit == "none":
		p.Limit = 0
	case f.MemoryLimit == "auto":
	case err != nil:
		return p, fmt.Errorf("--memory-limit: %w", err)
	default:
		p.Limit = limit
	}
	switch {
	case f.keepGC:
	case f.GCPercent == 0 || f.GCPercent < -1:
		return p, fmt.Errorf("--gc-percent: %d: must be positive, or -1 to collect only near the memory limit", f.GCPercent)
	case f.GCPercent == -1 && p.Limit == 0 && !f.keepLimit:
		return p, errors.New("--gc-percent -1 needs a memory limit: without one the heap would never be collected")
	}
	return p, nil
}

// parseBytes reads a byte count, optionally with a binary suffix: 512MiB,
// 8GiB.
func parseBytes(s string) (int64, error) {
	num, shift := s, 0
	for i, suffix := range []string{"KiB", "MiB", "GiB", "TiB"} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			num, shift = n, 10*(i+1)
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64>>shift {
		return 0, fmt.Errorf("%q is not a positive number of bytes (for example 8GiB), \"auto\" or \"none\"", s)
	}
	return n << shift, nil
}

// envFallback sets every flag not given on the command line from its
// RINGBACK_* variable (--data-dir from RINGBACK_DATA_DIR, ...).
func envFallback(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		env := "RINGBACK_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok && !f.Changed && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", env, e)
			}
		}
	})
	return err
}

func (f *serverFlags) validate() error {
	if f.BootstrapExpct != 0 && f.BootstrapExpct != len(f.Join) {
		return fmt.Errorf("--bootstrap-expect %d does not match the %d addresses in --join", f.BootstrapExpct, len(f.Join))
	}
	self := f.RaftAddr
	if f.RaftAdvertise != "" {
		self = f.RaftAdvertise
	}
	if len(f.Join) > 0 && !contains(f.Join, self) {
		return fmt.Errorf("--join must list this node's own Raft address %s", self)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(f.LogLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	_, err := f.memoryPolicy()
	return err
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func init() {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a Ringback node (a one-node cluster unless --join names peers)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envFallback(cmd.Flags()); err != nil {
				return err
			}
			f.keepGC = os.Getenv("GOGC") != "" && !cmd.Flags().Changed("gc-percent")
			f.keepLimit = os.Getenv("GOMEMLIMIT") != "" && !cmd.Flags().Changed("memory-limit")
			if err := f.validate(); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runServer(ctx, f, cmd.OutOrStdout())
		},
	}
	f.register(cmd.Flags())
	rootCmd.AddCommand(cmd)
}

// operatorToken returns RINGBACK_OPERATOR_TOKEN, or the token stored in the
// data directory, or a new one it stores (0600) and reports as new.
func operatorToken(dir string) (token string, fresh bool, err error) {
	if t := os.Getenv("RINGBACK_OPERATOR_TOKEN"); t != "" {
		return t, false, nil
	}
	path := filepath.Join(dir, "operator-token")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", false, err
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", false, err
	}
	token = "rbop_" + hex.EncodeToString(b)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", false, err
	}
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", false, err
	}
	return token, true, nil
}

func runServer(ctx context.Context, f serverFlags, out interface{ Write([]byte) (int, error) }) error {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(f.LogLevel))
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	mem, _ := f.memoryPolicy() // validated
	defer mem.Apply()()
	log.Info("memory policy", "gcPercent", mem.GCPercent, "memoryLimit", mem.Limit)
	token, fresh, err := operatorToken(f.DataDir)
	if err != nil {
		return fmt.Errorf("operator token: %w", err)
	}
	hub := api.NewHub()
	cfg := cluster.DefaultConfig()
	cfg.DataDir, cfg.BindAddr, cfg.AdvertiseAddr, cfg.Store, cfg.HTTPAddr = f.DataDir, f.RaftAddr, f.RaftAdvertise, f.Store, f.HTTPAddr
	cfg.Peers, cfg.Join, cfg.Logger, cfg.OnEvents = f.Join, f.JoinExisting, log, hub.Publish
	node, err := cluster.Open(cfg)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), cluster.NewCollector(node))
	srv := api.New(api.Options{Node: node, Hub: hub, OperatorToken: token, Logger: log, Registry: reg, TenantLabels: f.TenantLabels})
	ln, err := net.Listen("tcp", f.HTTPAddr)
	if err != nil {
		_ = node.Close(false)
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("ringback serving", "http", "http://"+ln.Addr().String(), "raft", f.RaftAddr, "data", f.DataDir, "store", f.Store)
	if fresh {
		fmt.Fprintf(out, "Operator token (shown once, stored in %s): %s\n", filepath.Join(f.DataDir, "operator-token"), token)
	}
	fmt.Fprintf(out, "Ringback is up: API http://%s  (OpenAPI at /openapi.json, docs at /docs, metrics at /metrics)\n", ln.Addr())
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	log.Info("ringback stopping")
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(shut)
	if f.LeaveOnStop && !node.IsLeader() {
		if lerr := askLeaderToRemove(shut, node, token); lerr != nil {
			log.Warn("could not leave the cluster", "err", lerr)
		}
	}
	if cerr := node.Close(f.LeaveOnStop); cerr != nil && err == nil {
		err = cerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// askLeaderToRemove has the leader remove this follower from the
// configuration (a follower cannot change it itself).
func askLeaderToRemove(ctx context.Context, node *cluster.Node, token string) error {
	leader := node.LeaderHTTP()
	if leader == "" {
		return errors.New("no leader known")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, "http://"+leader+"/v1/cluster/peers/"+node.ID(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("leader answered %s", resp.Status)
	}
	return nil
}
