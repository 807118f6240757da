// Package clustertest owns what tests of nodes and servers share: a free
// loopback address to bind a node's raft transport or an HTTP server to.
// It imports nothing of Ringback, so the cluster package's own tests can
// use it as well as every package above it.
package clustertest

import (
	"net"
	"sync"
	"testing"
)

var given sync.Map // address -> struct{}: handed out by this process

// FreeAddr returns a 127.0.0.1 address whose port was free a moment ago
// and that this process has not handed out before: the kernel may offer
// a port just released again, and three nodes given one address between
// them refuse to bootstrap (seen once in CI). Another process could still
// take the port before the caller binds it, which on a test machine does
// not happen in practice.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		if _, dup := given.LoadOrStore(addr, struct{}{}); !dup {
			return addr
		}
	}
}
