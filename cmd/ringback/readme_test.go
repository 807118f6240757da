package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ringbackhq/ringback/cluster/clustertest"
)

// TestREADMEQuickStart runs the README's quick start as written: its shell
// commands, with bash, curl and jq, against `ringback server` started as
// `make run` starts it (a fresh data directory, so the operator token is
// generated and stored there). Only the server's address is changed, to a
// free port. Every answer must be JSON and none a problem, and the
// callback must end completed after one attempt.
func TestREADMEQuickStart(t *testing.T) {
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the quick start needs %s: %v", tool, err)
		}
	}
	dir := t.TempDir()
	httpAddr := startServerProcess(t, dir)
	script := readmeScript(t, "RB=http://127.0.0.1:8080\n", "RB=http://"+httpAddr+"\n")
	stdout := runScript(t, "quick start", dir, script)

	var answers []map[string]any
	dec := json.NewDecoder(strings.NewReader(stdout))
	for {
		var a map[string]any
		if err := dec.Decode(&a); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("quick start printed something that is not a JSON object (%v):\n%s", err, stdout)
		}
		if status, ok := a["status"].(float64); ok && status >= 400 {
			t.Errorf("quick start got a problem: %v", a)
		}
		answers = append(answers, a)
	}
	if len(answers) == 0 {
		t.Fatal("quick start printed nothing")
	}
	last := answers[len(answers)-1]
	if last["state"] != "completed" || last["attempts"] != 1.0 {
		t.Errorf("the callback at the end of the quick start: %v, want state completed after 1 attempt", last)
	}
}

// TestREADMECommandLine runs the README's flow with the CLI alone as
// written, against a server started as for the quick start: the ringback
// on its PATH (bin/ringback, where `make run` builds it) is this test
// binary as main, so it is the code under test. Only the server's address
// is changed. The callback must end completed after one attempt, and the
// queue's statistics count it.
func TestREADMECommandLine(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skipf("the script needs bash: %v", err)
	}
	dir := t.TempDir()
	httpAddr := startServerProcess(t, dir)
	script := readmeScript(t, "RINGBACK_ADDR=http://127.0.0.1:8080\n", "RINGBACK_ADDR=http://"+httpAddr+"\n")
	self, err := filepath.Abs(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	wrapper := "#!/bin/sh\nRINGBACK_TEST_AS_MAIN=1 exec '" + strings.ReplaceAll(self, "'", `'\''`) + "' \"$@\"\n"
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "ringback"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	out := runScript(t, "the command-line flow", dir, script)
	wantLine(t, "offers list", out, `\d+ \d+ \d+ 1`)
	wantLine(t, "callback complete", out, `Callback \d+ completed\.`)
	wantLine(t, "callback get", out, "State: completed")
	wantLine(t, "callback get", out, "Attempts: 1")
	wantLine(t, "callback get", out, "Comment: rebooked delivery")
	wantLine(t, "queue stats", out, "Completed: 1")
}

// readmeScript returns the README's shell block that sets the server's
// address as addr does (a whole line), with newAddr instead.
func readmeScript(t *testing.T, addr, newAddr string) string {
	t.Helper()
	script := shBlock(t, "../../README.md", addr)
	return strings.Replace(script, addr, newAddr, 1)
}

// runScript runs a README script with bash -e -o pipefail in dir, jq on
// its PATH and no RINGBACK_ settings but the script's own, and returns
// what it printed.
func runScript(t *testing.T, what, dir, script string) string {
	t.Helper()
	cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", script)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RINGBACK_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if jq := jqDir(t); jq != "" {
		cmd.Env = append(cmd.Env, "PATH="+jq+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", what, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// shBlock returns the README's first shell block that holds marker.
func shBlock(t *testing.T, readme, marker string) string {
	t.Helper()
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	for _, block := range strings.Split(string(b), "```sh\n")[1:] {
		body, _, closed := strings.Cut(block, "```")
		if closed && strings.Contains(body, marker) {
			return body
		}
	}
	t.Fatalf("%s has no sh block with %q: update this test", readme, marker)
	return ""
}

// startServerProcess runs this test binary as `ringback server` in dir with
// ./data, as `make run` does, on free ports, and waits until it leads and
// its operator token is stored. It returns the HTTP address.
func startServerProcess(t *testing.T, dir string) string {
	t.Helper()
	httpAddr, raftAddr := clustertest.FreeAddr(t), clustertest.FreeAddr(t)
	cmd := exec.Command(os.Args[0])
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RINGBACK_") { // no operator token, no other settings
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "RINGBACK_TEST_AS_MAIN=1",
		"RINGBACK_TEST_ARGS=server --data-dir data --http-addr "+httpAddr+" --raft-addr "+raftAddr)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-exited:
			t.Fatalf("server exited: %v\n%s", err, out.String())
		default:
		}
		if leading(httpAddr) {
			if _, err := os.Stat(filepath.Join(dir, "data", "operator-token")); err != nil {
				t.Fatalf("the server leads but stored no operator token: %v", err)
			}
			return httpAddr
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not leading after 20 s:\n%s", out.String())
		}
	}
}

// leading says whether the server at addr answers its health check as a
// ready leader.
func leading(addr string) bool {
	c := &apiClient{base: "http://" + addr, http: http.DefaultClient}
	var h struct{ Leader, Ready bool }
	_, err := c.get(context.Background(), "/v1/health", &h)
	return err == nil && h.Leader && h.Ready
}

// jqDir returns "" when jq is installed, else a directory holding gojq (a
// jq written in Go, a tool of this module) built as jq, so that the test
// runs on a machine with only the Go toolchain.
func jqDir(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("jq"); err == nil {
		return ""
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "jq"), "github.com/itchyny/gojq/cmd/gojq")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building gojq as jq: %v\n%s", err, out)
	}
	return dir
}
