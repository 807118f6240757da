package main

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ringbackhq/ringback/cluster"
)

// `ringback operator raft ...`: cluster membership (operator token).

func operatorCommand() *cobra.Command {
	f := &clientFlags{}
	list := &cobra.Command{Use: "list-peers", Short: "List the Raft voters and who leads", Args: cobra.NoArgs}
	apiCommand(f, list, func(cmd *cobra.Command, cl *apiClient, _ []string) error {
		var ps []cluster.Peer
		raw, err := cl.get(cmd.Context(), "/v1/cluster/peers", &ps)
		if err != nil || f.JSON {
			return jsonOr(cmd, raw, err)
		}
		rows := make([][]string, 0, len(ps))
		for _, p := range ps {
			state := "follower"
			if p.Leader {
				state = "leader"
			}
			rows = append(rows, []string{p.ID, p.Address, state, strconv.FormatBool(p.Voter)})
		}
		return table(cmd.OutOrStdout(), []string{"NODE", "ADDRESS", "STATE", "VOTER"}, rows)
	})
	remove := &cobra.Command{Use: "remove-peer PEER_ID", Short: "Remove a server from the cluster", Args: cobra.ExactArgs(1)}
	apiCommand(f, remove, func(cmd *cobra.Command, cl *apiClient, args []string) error {
		raw, err := cl.send(cmd.Context(), http.MethodDelete, "/v1/cluster/peers/"+url.PathEscape(args[0]), nil, nil)
		if err != nil {
			return err
		}
		return done(cmd, f, raw, "Peer %s removed.", args[0])
	})
	transfer := &cobra.Command{Use: "transfer-leader", Short: "Hand leadership to another voter", Args: cobra.NoArgs}
	apiCommand(f, transfer, func(cmd *cobra.Command, cl *apiClient, _ []string) error {
		raw, err := cl.send(cmd.Context(), http.MethodPost, "/v1/cluster/transfer-leadership", nil, nil)
		if err != nil {
			return err
		}
		return done(cmd, f, raw, "Leadership transfer started.")
	})
	raft := &cobra.Command{Use: "raft", Short: "Raft membership and leadership", Args: cobra.NoArgs}
	raft.AddCommand(list, remove, transfer)
	return group("operator", "Platform operator commands (operator token)", f, raft)
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
