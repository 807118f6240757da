// Package bench holds Ringback's `go test -bench` benchmarks: the routing
// core, the write-ahead log against raft-boltdb and raft-wal, the cluster
// and the API. It has no production code and must never be imported.
package bench
