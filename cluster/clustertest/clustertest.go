// Package clustertest owns what tests of nodes and servers share: a free
// loopback address to bind a node's raft transport or an HTTP server to.
// It imports nothing of Ringback, so the cluster package's own tests can
// use it as well as every package above it.
package clustertest

import (
	"net"
	"testing"
)

// FreeAddr returns a 127.0.0.1 address whose port was free a moment ago:
// the port is taken and released, so another process could take it before
// the caller binds it, which on a test machine does not happen in practice.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
