package cluster_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringbackhq/ringback/cluster/clustertest"
)

// raftNet is a set of TCP proxies on 127.0.0.1, one in front of each
// node's Raft port. Every node advertises its proxy's address (and the
// peers are given the proxy addresses in --join), so all Raft traffic to
// node d passes through proxy d. A proxy learns which node dialled it from
// the first bytes of the connection: hashicorp/raft's net transport opens
// every connection with an RPC whose header carries the sender's server
// ID, which here is its advertised (proxy) address.
//
// cut blocks traffic from one node to another (both ways when asked for
// both directions); connections that now cross a cut are closed, new ones
// are refused (closed at once) or, in drop mode, accepted and held silent
// so the sender waits for its timeout. heal lifts every cut and closes the
// held connections.
type raftNet struct {
	addrs   []string // proxy (advertised) address of node i
	proxies []*raftProxy

	mu      sync.Mutex
	blocked map[[2]int]bool // {src, dst}
	drop    bool            // hold blocked connections silent instead of refusing them

	unknownSrc atomic.Int64 // connections whose sender could not be told
	refused    atomic.Int64
}

type raftProxy struct {
	n      *raftNet
	dst    int
	target string // the node's real --raft-addr
	ln     net.Listener
	mu     sync.Mutex
	conns  map[*proxyConn]struct{}
	wg     sync.WaitGroup
}

type proxyConn struct {
	src       int // -1 when unknown
	down, up  net.Conn
	held      bool // accepted under a cut, nothing forwarded
	closeOnce sync.Once
}

func (c *proxyConn) close() {
	c.closeOnce.Do(func() {
		_ = c.down.Close()
		if c.up != nil {
			_ = c.up.Close()
		}
	})
}

// newRaftNet starts n proxies on 127.0.0.1 (targets are set by setTarget
// before the nodes start).
func newRaftNet(t *testing.T, n int) *raftNet {
	t.Helper()
	rn := &raftNet{blocked: map[[2]int]bool{}}
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := &raftProxy{n: rn, dst: i, ln: ln, conns: map[*proxyConn]struct{}{}}
		rn.proxies = append(rn.proxies, p)
		rn.addrs = append(rn.addrs, ln.Addr().String())
	}
	for _, p := range rn.proxies {
		p.wg.Add(1)
		go p.serve()
	}
	t.Cleanup(rn.close)
	return rn
}

func (rn *raftNet) close() {
	for _, p := range rn.proxies {
		_ = p.ln.Close()
		p.mu.Lock()
		for c := range p.conns {
			c.close()
		}
		p.mu.Unlock()
	}
	for _, p := range rn.proxies {
		p.wg.Wait()
	}
}

// cut blocks src -> dst for every pair given (a pair is {src, dst}) and
// closes the connections that now cross a cut.
func (rn *raftNet) cut(drop bool, pairs ...[2]int) {
	rn.mu.Lock()
	rn.drop = drop
	for _, pr := range pairs {
		rn.blocked[pr] = true
	}
	rn.mu.Unlock()
	for _, p := range rn.proxies {
		p.mu.Lock()
		for c := range p.conns {
			if !c.held && rn.isBlocked(c.src, p.dst) {
				c.close()
			}
		}
		p.mu.Unlock()
	}
}

// isolate cuts node i off from every other node, both ways.
func (rn *raftNet) isolate(drop bool, i int) {
	var pairs [][2]int
	for j := range rn.addrs {
		if j != i {
			pairs = append(pairs, [2]int{i, j}, [2]int{j, i})
		}
	}
	rn.cut(drop, pairs...)
}

// heal lifts every cut and closes the connections held under one.
func (rn *raftNet) heal() {
	rn.mu.Lock()
	rn.blocked = map[[2]int]bool{}
	rn.mu.Unlock()
	for _, p := range rn.proxies {
		p.mu.Lock()
		for c := range p.conns {
			if c.held {
				c.close()
			}
		}
		p.mu.Unlock()
	}
}

// isBlocked: an unknown sender is blocked whenever anything into dst is.
func (rn *raftNet) isBlocked(src, dst int) bool {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if src >= 0 {
		return rn.blocked[[2]int{src, dst}]
	}
	for pr := range rn.blocked {
		if pr[1] == dst {
			return true
		}
	}
	return false
}

func (p *raftProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.wg.Add(1)
		go p.handle(c)
	}
}

// sender reads the first bytes of a connection until they name one of the
// nodes (the earliest, longest address found), for at most 64 KiB or 2 s.
func (p *raftProxy) sender(c net.Conn) (int, []byte) {
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, 0, 4096)
	tmp := make([]byte, 4096)
	for len(buf) < 64<<10 {
		n, err := c.Read(tmp)
		buf = append(buf, tmp[:n]...)
		best, at := -1, -1
		for i, a := range p.n.addrs {
			if k := bytes.Index(buf, []byte(a)); k >= 0 && (at < 0 || k < at || k == at && len(a) > len(p.n.addrs[best])) {
				best, at = i, k
			}
		}
		// Wait for a few bytes past the match so a longer address with
		// the same prefix is not mistaken for a shorter one.
		if best >= 0 && len(buf) > at+len(p.n.addrs[best])+1 {
			return best, buf
		}
		if err != nil {
			return best, buf
		}
	}
	return -1, buf
}

func (p *raftProxy) track(c *proxyConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *raftProxy) untrack(c *proxyConn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.close()
}

func (p *raftProxy) handle(down net.Conn) {
	defer p.wg.Done()
	src, first := p.sender(down)
	if src < 0 {
		p.n.unknownSrc.Add(1)
	}
	c := &proxyConn{src: src, down: down}
	if !p.track(c) {
		c.close()
		return
	}
	defer p.untrack(c)
	if p.n.isBlocked(src, p.dst) {
		p.n.refused.Add(1)
		p.n.mu.Lock()
		drop := p.n.drop
		p.n.mu.Unlock()
		if !drop {
			return // refused
		}
		p.mu.Lock()
		c.held = true
		p.mu.Unlock()
		// Held silent until heal (or close) closes it; bounded by that
		// and by a deadline well past any partition.
		_ = down.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, _ = io.Copy(io.Discard, down)
		return
	}
	up, err := net.DialTimeout("tcp", p.target, time.Second)
	if err != nil {
		return // the node is down: the sender sees a closed connection
	}
	p.mu.Lock()
	c.up = up
	p.mu.Unlock()
	// A cut may have come while dialling.
	if p.n.isBlocked(src, p.dst) {
		return
	}
	if _, err := up.Write(first); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, down); done <- struct{}{} }()
	go func() { _, _ = io.Copy(down, up); done <- struct{}{} }()
	<-done
	c.close()
	<-done
}

// startProxiedProcs starts n `ringback server` processes whose Raft
// traffic goes through rn: node i binds its own --raft-addr and
// advertises rn.addrs[i]. The returned procs are restarted with
// startProxied (proc.start would not pass --raft-advertise).
func startProxiedProcs(t *testing.T, rn *raftNet) []*proc {
	t.Helper()
	var ps []*proc
	for i := range rn.addrs {
		p := &proc{name: fmt.Sprintf("node%d", i), http: clustertest.FreeAddr(t), raft: clustertest.FreeAddr(t), dir: filepath.Join(t.TempDir(), "data"),
			peers: rn.addrs}
		rn.proxies[i].target = p.raft
		ps = append(ps, p)
	}
	for i, p := range ps {
		startProxied(t, p, rn.addrs[i])
	}
	t.Cleanup(func() {
		for _, p := range ps {
			p.kill()
		}
		if t.Failed() {
			for _, p := range ps {
				t.Logf("%s log:\n%s", p.name, p.log)
			}
		}
	})
	return ps
}

// startProxied is proc.start with --raft-advertise.
func startProxied(t *testing.T, p *proc, advertise string) {
	t.Helper()
	args := []string{"server", "--data-dir", p.dir, "--http-addr", p.http, "--raft-addr", p.raft, "--raft-advertise", advertise,
		"--log-level", "warn", "--join", strings.Join(p.peers, ","), "--bootstrap-expect", fmt.Sprint(len(p.peers))}
	p.cmd = exec.Command(ringbackBinary(t), args...)
	p.cmd.Env = append(os.Environ(), "RINGBACK_OPERATOR_TOKEN="+operatorToken, "RINGBACK_LEAVE_ON_STOP=false")
	p.log = &bytes.Buffer{}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
}

// TestRaftProxyPartition: the proxy really cuts a node off. An isolated
// leader loses leadership to the other two, which keep serving writes;
// after heal every node converges.
func TestRaftProxyPartition(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	rn := newRaftNet(t, 3)
	ps := startProxiedProcs(t, rn)
	ts := setup(t, ps)
	old := leader(t, ps)
	oi := indexOf(ps, old)
	rn.isolate(true, oi)
	others := []*proc{}
	for _, p := range ps {
		if p != old {
			others = append(others, p)
		}
	}
	leader(t, others)
	// The majority serves writes; a write through the isolated node does not succeed.
	if err := retry(t, others, "POST", "/v1/callbacks", ts.admin, map[string]any{"queueId": ts.queue, "callbackNumbers": []string{"+15550100"}, "callbackUserName": "C"}, nil); err != nil {
		t.Fatalf("majority side does not serve writes: %v", err)
	}
	if _, err := callTimeout("POST", "http://"+old.http+"/v1/callbacks", ts.admin, map[string]any{"queueId": ts.queue, "callbackNumbers": []string{"+15550101"}, "callbackUserName": "C"}, nil); err == nil {
		t.Fatal("a write through the isolated node succeeded")
	}
	rn.heal()
	leader(t, ps)
	converged(t, ps)
	if rn.unknownSrc.Load() > 0 {
		t.Logf("%d connections of unknown sender", rn.unknownSrc.Load())
	}
}

func indexOf(ps []*proc, p *proc) int {
	for i, q := range ps {
		if q == p {
			return i
		}
	}
	panic(errors.New("not a node of this cluster"))
}
