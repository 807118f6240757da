package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The client side of the API: one small HTTP client shared by every
// subcommand that talks to a server (tenant, domain, queue, user, callback,
// operator, and the rest of clientCommands). Commands print tables for people and, with --json, the API's
// own JSON for scripts. Any refusal by the API is a *problemError: the
// command exits 1 and prints the problem's title, detail and each field.

const defaultAddr = "http://127.0.0.1:8080"

// clientFlags are the flags every API subcommand shares. Unset flags fall
// back to RINGBACK_ADDR and RINGBACK_TOKEN.
type clientFlags struct {
	Addr    string
	Token   string
	JSON    bool
	Timeout time.Duration
}

func (f *clientFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.Addr, "addr", defaultAddr, "API address (RINGBACK_ADDR)")
	fs.StringVar(&f.Token, "token", "", "API key, or the operator token for tenant and operator commands (RINGBACK_TOKEN)")
	fs.BoolVar(&f.JSON, "json", false, "print the API's JSON instead of a table")
	fs.DurationVar(&f.Timeout, "timeout", 30*time.Second, "give up on a request after this long")
}

// client builds the API client for cmd from its flags and the environment.
func (f *clientFlags) client(cmd *cobra.Command) *apiClient {
	addr, token := f.Addr, f.Token
	if fl := cmd.Flags().Lookup("addr"); fl != nil && !fl.Changed {
		if v := os.Getenv("RINGBACK_ADDR"); v != "" {
			addr = v
		}
	}
	if fl := cmd.Flags().Lookup("token"); fl != nil && !fl.Changed {
		if v := os.Getenv("RINGBACK_TOKEN"); v != "" {
			token = v
		}
	}
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	return &apiClient{base: strings.TrimRight(addr, "/"), token: token, http: &http.Client{Timeout: f.Timeout}}
}

// apiClient calls the Ringback HTTP API.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

// problemError is an RFC 9457 problem the API answered with.
type problemError struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
	} `json:"errors"`
}

func (p *problemError) Error() string {
	var b strings.Builder
	title := p.Title
	if title == "" {
		title = http.StatusText(p.Status)
	}
	fmt.Fprintf(&b, "%s (HTTP %d)", title, p.Status)
	if p.Detail != "" && !strings.EqualFold(p.Detail, p.Title) {
		fmt.Fprintf(&b, ": %s", p.Detail)
	}
	for _, e := range p.Errors {
		loc := e.Location
		if loc == "" {
			loc = "request"
		}
		fmt.Fprintf(&b, "\n  %s: %s", loc, e.Message)
	}
	return b.String()
}

// call sends one request with an optional JSON body (and extra headers as
// name, value pairs) and returns the raw answer of a 2xx response, or a
// *problemError.
func (c *apiClient) call(ctx context.Context, method, path string, body any, headers ...string) ([]byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] != "" {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return raw, nil
	}
	p := &problemError{}
	if json.Unmarshal(raw, p) != nil || p.Title == "" && p.Detail == "" {
		p = &problemError{Detail: strings.TrimSpace(string(raw))}
		if len(p.Detail) > 200 {
			p.Detail = p.Detail[:200] + "..."
		}
	}
	p.Status = resp.StatusCode
	return nil, p
}

// get fetches path and decodes it into out; it returns the raw JSON too.
func (c *apiClient) get(ctx context.Context, path string, out any) ([]byte, error) {
	raw, err := c.call(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	return raw, decode(raw, out)
}

// send sends body and decodes a JSON answer (if any) into out.
func (c *apiClient) send(ctx context.Context, method, path string, body, out any, headers ...string) ([]byte, error) {
	raw, err := c.call(ctx, method, path, body, headers...)
	if err != nil {
		return nil, err
	}
	return raw, decode(raw, out)
}

func decode(raw []byte, out any) error {
	if out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("unexpected answer from the server: %w", err)
	}
	return nil
}

// printJSON writes the API's JSON as it came, indented, or {} for an empty
// answer (204) so scripts always get a JSON document.
func printJSON(w io.Writer, raw []byte) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		raw = []byte("{}")
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		_, err = w.Write(append(raw, '\n'))
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// table writes rows under a header, aligned in columns.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// fields writes name/value pairs, one a line, aligned.
func fields(w io.Writer, kv ...string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[i], kv[i+1])
	}
	return tw.Flush()
}

// apiCommand is a subcommand that calls the API: it gets the shared flags
// and a run function with a ready client.
func apiCommand(f *clientFlags, c *cobra.Command, run func(cmd *cobra.Command, cl *apiClient, args []string) error) *cobra.Command {
	c.RunE = func(cmd *cobra.Command, args []string) error {
		return run(cmd, f.client(cmd), args)
	}
	return c
}

// group is a parent command (tenant, domain, ...) whose children share the
// client flags.
func group(use, short string, f *clientFlags, children ...*cobra.Command) *cobra.Command {
	g := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs}
	f.register(g.PersistentFlags())
	g.AddCommand(children...)
	return g
}

// errUsage is a command-line mistake found before any request.
var errUsage = errors.New("usage")

func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// clientCommands builds a fresh tree of every API subcommand (fresh so that
// tests can run many commands without flags leaking between them).
func clientCommands() []*cobra.Command {
	return []*cobra.Command{tenantCommand(), domainCommand(), queueCommand(), userCommand(), callbackCommand(), operatorCommand(),
		channelCommand(), codeCommand("wrapup-code", "Wrap-up code", "/v1/wrapup-codes", "Manage the wrap-up codes agents close callbacks with (API key)"),
		codeCommand("away-reason", "Away reason", "/v1/away-reasons", "Manage the reasons agents give for being away (API key)"),
		folderCommand(), accessGroupCommand(), offersCommand(), auditCommand(), errorsCommand(), keyCommand(), organizationCommand()}
}

func init() {
	rootCmd.AddCommand(clientCommands()...)
}
