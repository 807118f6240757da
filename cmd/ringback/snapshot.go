package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/ringbackhq/ringback/cluster"
)

// `ringback snapshot save|restore|inspect`: backups of the whole state.
func init() {
	cmd := &cobra.Command{Use: "snapshot", Short: "Save, restore and inspect snapshots of the whole state"}
	var addr, token string
	var asJSON bool
	flags := func(c *cobra.Command) {
		c.Flags().StringVar(&addr, "addr", envOr("RINGBACK_ADDR", "http://127.0.0.1:8080"), "API address (RINGBACK_ADDR)")
		c.Flags().StringVar(&token, "token", os.Getenv("RINGBACK_TOKEN"), "operator token (RINGBACK_TOKEN)")
	}
	save := &cobra.Command{
		Use: "save FILE", Short: "Write the cluster's current state to FILE", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			b, err := snapshotRequest(http.MethodGet, addr, token, nil)
			if err != nil {
				return err
			}
			if _, err := cluster.InspectSnapshot(bytes.NewReader(b)); err != nil {
				return fmt.Errorf("the server sent a damaged snapshot: %w", err)
			}
			if err := os.WriteFile(args[0], b, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "saved %d bytes to %s\n", len(b), args[0])
			return nil
		},
	}
	restore := &cobra.Command{
		Use: "restore FILE", Short: "Replace the cluster's whole state with FILE (disaster recovery)", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			if _, err := cluster.InspectSnapshot(bytes.NewReader(b)); err != nil {
				return err
			}
			if _, err := snapshotRequest(http.MethodPost, addr, token, b); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "restored %s\n", args[0])
			return nil
		},
	}
	inspect := &cobra.Command{
		Use: "inspect FILE", Short: "Check a snapshot file and summarise it", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			info, err := cluster.InspectSnapshot(f)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(c.OutOrStdout()).Encode(info)
			}
			fmt.Fprintf(c.OutOrStdout(), "state:      %d bytes, sha256 %s\nlast time:  %s\ntenants:    %d\ncallbacks:  %d\n",
				info.Bytes, hex.EncodeToString(info.StateSHA256[:]), time.Unix(0, info.LastTime).UTC().Format(time.RFC3339), info.Tenants, info.Callbacks)
			return nil
		},
	}
	inspect.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	flags(save)
	flags(restore)
	cmd.AddCommand(save, restore, inspect)
	rootCmd.AddCommand(cmd)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func snapshotRequest(method, addr, token string, body []byte) ([]byte, error) {
	req, err := http.NewRequest(method, addr+"/v1/cluster/snapshot", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(b))
	}
	return b, nil
}
