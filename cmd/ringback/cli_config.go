package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ringbackhq/ringback/cmd/ringback/api"
)

// `ringback domain|queue|user ...`: a tenant's configuration (API key).

func domainCommand() *cobra.Command {
	f := &clientFlags{}
	list := &cobra.Command{Use: "list", Short: "List the domains the key can see", Args: cobra.NoArgs}
	apiCommand(f, list, func(cmd *cobra.Command, cl *apiClient, _ []string) error {
		var ds []api.DomainView
		raw, err := cl.get(cmd.Context(), "/v1/domains", &ds)
		if err != nil || f.JSON {
			return jsonOr(cmd, raw, err)
		}
		rows := make([][]string, 0, len(ds))
		for _, d := range ds {
			parent := "-"
			if d.ParentID != 0 {
				parent = strconv.FormatUint(uint64(d.ParentID), 10)
			}
			rows = append(rows, []string{strconv.FormatUint(uint64(d.ID), 10), d.Name, parent})
		}
		return table(cmd.OutOrStdout(), []string{"ID", "NAME", "PARENT"}, rows)
	})

	var parent uint32
	create := &cobra.Command{Use: "create NAME [--parent ID]", Short: "Create a domain (under Home unless --parent)", Args: cobra.ExactArgs(1)}
	create.Flags().Uint32Var(&parent, "parent", 1, "the parent domain's id (1 is Home)")
	apiCommand(f, create, func(cmd *cobra.Command, cl *apiClient, args []string) error {
		return createObject(cmd, f, cl, "/v1/domains", map[string]any{"name": args[0], "parentId": parent}, "Domain")
	})

	rename := &cobra.Command{Use: "rename DOMAIN_ID NAME", Short: "Rename a domain (Home included)", Args: cobra.ExactArgs(2)}
	apiCommand(f, rename, func(cmd *cobra.Command, cl *apiClient, args []string) error {
		id, err := idArg("DOMAIN_ID", args[0])
		if err != nil {
			return err
		}
		raw, err := cl.send(cmd.Context(), http.MethodPatch, "/v1/domains/"+id, map[string]string{"name": args[1]}, nil)
		if err != nil {
			return err
		}
		return done(cmd, f, raw, "Domain %s renamed to %q.", id, args[1])
	})

	del := deleteCommand(f, "Domain", "/v1/domains/", "Delete an empty domain")
	return group("domain", "Manage a tenant's domains (API key)", f, list, create, rename, del)
}

// deleteCommand is `delete ID` for one kind of object (noun, as in
// "Domain"), by DELETE on path+ID.
func deleteCommand(f *clientFlags, noun, path, short string) *cobra.Command {
	arg := strings.ToUpper(noun) + "_ID"
	del := &cobra.Command{Use: "delete " + arg, Short: short, Args: cobra.ExactArgs(1)}
	apiCommand(f, del, func(cmd *cobra.Command, cl *apiClient, args []string) error {
		id, err := idArg(arg, args[0])
		if err != nil {
			return err
		}
		raw, err := cl.send(cmd.Context(), http.MethodDelete, path+id, nil, nil)
		if err != nil {
			return err
		}
		return done(cmd, f, raw, "%s %s deleted.", noun, id)
	})
	return del
}

// jsonOr prints raw as JSON when there is no error, else returns it.
func jsonOr(cmd *cobra.Command, raw []byte, err error) error {
	if err != nil {
		return err
	}
	return printJSON(cmd.OutOrStdout(), raw)
}

// createObject posts body and prints the new object's id.
func createObject(cmd *cobra.Command, f *clientFlags, cl *apiClient, path string, body any, what string) error {
	var out struct {
		ID     uint64 `json:"id"`
		APIKey string `json:"apiKey"`
	}
	raw, err := cl.send(cmd.Context(), http.MethodPost, path, body, &out)
	if err != nil || f.JSON {
		return jsonOr(cmd, raw, err)
	}
	if out.APIKey != "" {
		return fields(cmd.OutOrStdout(), what, strconv.FormatUint(out.ID, 10), "API key", out.APIKey+"  (shown once; keep it)")
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s %d created.\n", what, out.ID)
	return err
}

func queueCommand() *cobra.Command {
	f := &clientFlags{}
	list := &cobra.Command{Use: "list", Short: "List the queues the key can see", Args: cobra.NoArgs}
	apiCommand(f, list, func(cmd *cobra.Command, cl *apiClient, _ []string) error {
		var qs []api.QueueView
		raw, err := cl.get(cmd.Context(), "/v1/queues", &qs)
		if err != nil || f.JSON {
			return jsonOr(cmd, raw, err)
		}
		rows := make([][]string, 0, len(qs))
		for _, q := range qs {
			sl := "-"
			if q.ServiceLevelSeconds > 0 {
				sl = strconv.Itoa(q.ServiceLevelSeconds) + "s"
			}
			rows = append(rows, []string{strconv.FormatUint(uint64(q.ID), 10), q.Name, strconv.FormatUint(uint64(q.DomainID), 10), q.Strategy, sl})
		}
		return table(cmd.OutOrStdout(), []string{"ID", "NAME", "DOMAIN", "STRATEGY", "SERVICE LEVEL"}, rows)
	})

	var qb struct {
		Name                string `json:"name"`
		DomainID            uint32 `json:"domainId"`
		Strategy            string `json:"strategy,omitempty"`
		FolderID            uint32 `json:"folderId,omitempty"`
		ServiceLevelSeconds int    `json:"serviceLevelSeconds,omitempty"`
	}
	create := &cobra.Command{Use: "create NAME --domain ID", Short: "Create a virtual queue", Args: cobra.ExactArgs(1)}
	create.Flags().Uint32Var(&qb.DomainID, "domain", 1, "the queue's domain id (1 is Home)")
	create.Flags().StringVar(&qb.Strategy, "strategy", "", "longest-idle (default), round-robin or fewest-handled")
	create.Flags().Uint32Var(&qb.FolderID, "folder", 0, "a queue folder id")
	create.Flags().IntVar(&qb.ServiceLevelSeconds, "service-level", 0, "service-level threshold in seconds (0: the tenant's)")
	apiCommand(f, create, func(cmd *cobra.Command, cl *apiClient, args []string) error {
		qb.Name = args[0]
		return createObject(cmd, f, cl, "/v1/queues", qb, "Queue")
	})

	members := &cobra.Command{
		Use:   "members QUEUE_ID [USER_ID[:TIER]...]",
		Short: "Replace a queue's members (no users: empty the queue)",
		Long:  "Replaces the members of the queue with the listed agents; TIER is 1 (first offered, the default) to 10.",
		Args:  cobra.MinimumNArgs(1),
	}
	apiCommand(f, members, func(cmd *cobra.Command, cl *apiClient, args []string) error {
		id, err := idArg("QUEUE_ID", args[0])
		if err != nil {
			return err
		}
		type member struct {
			UserID uint32 `json:"userId"`
			Tier   int    `json:"tier,omitempty"`
		}
		ms := []member{}
		for _, a := range args[1:] {
			u, t, hasTier := strings.Cut(a, ":")
			uid, err := strconv.ParseUint(u, 10, 32)
			if err != nil || uid == 0 {
				return usageErr("member %q: want USER_ID or USER_ID:TIER", a)
			}
			m := member{UserID: uint32(uid)}
			if hasTier {
				if m.Tier, err = strconv.Atoi(t); err != nil {
					return usageErr("member %q: the tier must be a number", a)
				}
			}
			ms = append(ms, m)
		}
		raw, err := cl.send(cmd.Context(), http.MethodPut, "/v1/queues/"+id+"/members", ms, nil)
		if err != nil {
			return err
		}
		return done(cmd, f, raw, "Queue %s now has %d members.", id, len(ms))
	})
	update := &cobra.Command{
		Use:   "update QUEUE_ID [--name N] [--strategy S] [--folder ID] [--service-level SECONDS]",
		Short: "Change a queue's name, strategy, folder or service level",
		Long:  "Changes what the flags name, and nothing else; --folder 0 takes the queue out of its folder.",
		Args:  cobra.ExactArgs(1),
	}
	var ud struct {
		Name                *string `json:"name,omitempty"`
		Strategy            *string `json:"strategy,omitempty"`
		FolderID            *uint32 `json:"folderId,omitempty"`
		ServiceLevelSeconds *int    `json:"serviceLevelSeconds,omitempty"`
	}
	name, strategy := update.Flags().String("name", "", "a new name"), update.Flags().String("strategy", "", "longest-idle, round-robin or fewest-handled")
	folder, level := update.Flags().Uint32("folder", 0, "a queue folder id"), update.Flags().Int("service-level", 0, "service-level threshold in seconds (0: the tenant's)")
	apiCommand(f, update, func(cmd *cobra.Command, cl *apiClient, args []string) error {
		id, err := idArg("QUEUE_ID", args[0])
		if err != nil {
			return err
		}
		ud.Name, ud.Strategy, ud.FolderID, ud.ServiceLevelSeconds = nil, nil, nil, nil
		if cmd.Flags().Changed("name") {
			ud.Name = name
		}
		if cmd.Flags().Changed("strategy") {
			ud.Strategy = strategy
		}
		if cmd.Flags().Changed("folder") {
			ud.FolderID = folder
		}
		if cmd.Flags().Changed("service-level") {
			ud.ServiceLevelSeconds = level
		}
		if ud.Name == nil && ud.Strategy == nil && ud.FolderID == nil && ud.ServiceLevelSeconds == nil {
			return usageErr("name something to change: --name, --strategy, --folder or --service-level")
		}
		var q api.QueueView
		raw, err := cl.send(cmd.Context(), http.MethodPatch, "/v1/queues/"+id, ud, &q)
		if err != nil {
			return err
		}
		return done(cmd, f, raw, "Queue %s (%s): %s, service level %ds, folder %d.", id, q.Name, q.Strategy, q.ServiceLevelSeconds, q.FolderID)
	})
	del := deleteCommand(f, "Queue", "/v1/queues/", "Delete a queue that holds no active callback; its members leave it")
	return group("queue", "Manage a tenant's virtual queues (API key)", f, list, create, update, members, del)
}

func userCommand() *cobra.Command {
	f := &clientFlags{}
	list := &cobra.Command{Use: "list", Short: "List the users the key can see", Args: cobra.NoArgs}
	apiCommand(f, list, func(cmd *cobra.Command, cl *apiClient, _ []string) error {
		var us []api.UserView
		raw, err := cl.get(cmd.Context(), "/v1/users", &us)
		if err != nil || f.JSON {
			return jsonOr(cmd, raw, err)
		}
		rows := make([][]string, 0, len(us))
		for _, u := range us {
			var roles []string
			for _, r := range u.Roles {
				roles = append(roles, roleString(r))
			}
			rows = append(rows, []string{strconv.FormatUint(uint64(u.ID), 10), u.Username, dash(u.Name),
				strconv.FormatUint(uint64(u.HomeDomainID), 10), strings.Join(roles, " "), dash(u.Presence)})
		}
		return table(cmd.OutOrStdout(), []string{"ID", "USERNAME", "NAME", "HOME", "ROLES", "PRESENCE"}, rows)
	})

	var ub struct {
		Username     string             `json:"username"`
		Name         string             `json:"name,omitempty"`
		HomeDomainID uint32             `json:"homeDomainId"`
		Roles        []api.RoleBody     `json:"roles"`
		Positions    []api.PositionBody `json:"positions,omitempty"`
		Groups       []uint32           `json:"accessGroupIds,omitempty"`
	}
	var roleArgs []string
	var positions, groups []uint
	create := &cobra.Command{
		Use:   "create USERNAME --home ID --role ROLE[@DOMAIN,...|@all]...",
		Short: "Create a user",
		Long: "Creates a user in the --home domain. Each --role is administrator, supervisor, monitor,\n" +
			"developer or agent, scoped to domains after @ (default: the home domain) or @all.\n" +
			"Agents get --position DOMAIN_ID for each domain they may work in.",
		Args: cobra.ExactArgs(1),
	}
	create.Flags().Uint32Var(&ub.HomeDomainID, "home", 1, "the user's home domain id")
	create.Flags().StringVar(&ub.Name, "name", "", "full name")
	create.Flags().StringArrayVar(&roleArgs, "role", nil, "ROLE[@DOMAIN,...|@all], repeatable (required)")
	create.Flags().UintSliceVar(&positions, "position", nil, "a position's domain id, repeatable; the first is active")
	create.Flags().UintSliceVar(&groups, "access-group", nil, "access group ids")
	apiCommand(f, create, func(cmd *cobra.Command, cl *apiClient, args []string) error {
		ub.Username = args[0]
		if len(roleArgs) == 0 {
			return usageErr("give at least one --role")
		}
		ub.Roles = nil
		for _, r := range roleArgs {
			rb, err := parseRole(r, ub.HomeDomainID)
			if err != nil {
				return err
			}
			ub.Roles = append(ub.Roles, rb)
		}
		ub.Positions, ub.Groups = nil, nil
		for _, d := range positions {
			ub.Positions = append(ub.Positions, api.PositionBody{DomainID: uint32(d)})
		}
		for _, g := range groups {
			ub.Groups = append(ub.Groups, uint32(g))
		}
		return createObject(cmd, f, cl, "/v1/users", ub, "User")
	})

	key := &cobra.Command{Use: "api-key USER_ID", Short: "Issue an API key for a user (shown once)", Args: cobra.ExactArgs(1)}
	apiCommand(f, key, func(cmd *cobra.Command, cl *apiClient, args []string) error {
		id, err := idArg("USER_ID", args[0])
		if err != nil {
			return err
		}
		return createObject(cmd, f, cl, "/v1/users/"+id+"/api-keys", nil, "User")
	})

	var reason string
	presence := &cobra.Command{Use: "presence USER_ID available|away|offline [--reason R]", Short: "Set an agent's presence", Args: cobra.ExactArgs(2)}
	presence.Flags().StringVar(&reason, "reason", "", "an away reason")
	apiCommand(f, presence, func(cmd *cobra.Command, cl *apiClient, args []string) error {
		id, err := idArg("USER_ID", args[0])
		if err != nil {
			return err
		}
		raw, err := cl.send(cmd.Context(), http.MethodPut, "/v1/users/"+id+"/presence", map[string]string{"state": args[1], "reason": reason}, nil)
		if err != nil {
			return err
		}
		return done(cmd, f, raw, "User %s is %s.", id, args[1])
	})
	del := deleteCommand(f, "User", "/v1/users/", "Delete an offline user; their API keys stop working")
	return group("user", "Manage a tenant's users and agents (API key)", f, list, create, key, presence, del)
}

// parseRole reads ROLE, ROLE@all or ROLE@D1,D2.
func parseRole(s string, home uint32) (api.RoleBody, error) {
	role, scope, scoped := strings.Cut(s, "@")
	rb := api.RoleBody{Role: role}
	switch {
	case !scoped:
		rb.DomainIDs = []uint32{home}
	case scope == "all":
		rb.AllDomains = true
	default:
		for _, d := range strings.Split(scope, ",") {
			n, err := strconv.ParseUint(d, 10, 32)
			if err != nil || n == 0 {
				return rb, usageErr("--role %q: want ROLE, ROLE@all or ROLE@DOMAIN_ID,...", s)
			}
			rb.DomainIDs = append(rb.DomainIDs, uint32(n))
		}
	}
	return rb, nil
}

func roleString(r api.RoleBody) string {
	if r.AllDomains {
		return r.Role + "@all"
	}
	return r.Role + "@" + u32s(r.DomainIDs)
}
