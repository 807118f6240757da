package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ringbackhq/ringback/cmd/ringback/api"
)

// `ringback domain|queue|user ...`: a tenant's configuration (API key).

func domainCommand() *cobra.Command {
	f := &clientFlags{}
	list := listCommand(f, "list", "List the domains the key can see", "/v1/domains", []string{"ID", "NAME", "PARENT"},
		func(d api.DomainView) []string {
			return []string{itoa(d.ID), d.Name, idOrDash(d.ParentID)}
		})

	var parent uint32
	create := &cobra.Command{Use: "create NAME [--parent ID]", Short: "Create a domain (under Home unless --parent)", Args: cobra.ExactArgs(1)}
	create.Flags().Uint32Var(&parent, "parent", 1, "the parent domain's id (1 is Home)")
	apiCommand(f, create, func(cmd *cobra.Command, cl *apiClient, args []string) error {
		return createObject(cmd, f, cl, "/v1/domains", map[string]any{"name": args[0], "parentId": parent}, "Domain")
	})

	rename := renameCommand(f, "Domain", "/v1/domains/", "Rename a domain (Home included)")

	del := deleteCommand(f, "Domain", "/v1/domains/", "Delete an empty domain")
	stats := getCommand(f, "stats", "A domain's real-time statistics: its queues the key can see, summed", "DOMAIN_ID",
		"/v1/domains/{id}/realtime-statistics", printStats)
	return group("domain", "Manage a tenant's domains (API key)", f, list, create, rename, stats, del)
}

// deleteCommand is `delete ID` for one kind of object (noun, as in
// "Domain" or "Wrap-up code"), by DELETE on path+ID.
func deleteCommand(f *clientFlags, noun, path, short string) *cobra.Command {
	arg := idArgName(noun)
	return idAction(f, &cobra.Command{Use: "delete " + arg, Short: short}, arg, http.MethodDelete, path+"{id}", nil, noun+" %s deleted.")
}

// idArgName names the id argument of a kind of object: "Wrap-up code" is
// WRAP_UP_CODE_ID.
func idArgName(noun string) string {
	return strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToUpper(noun)) + "_ID"
}

// renameCommand is `rename ID NAME` for one kind of object (noun, as in
// "Domain"), by PATCH of its name on path+ID.
func renameCommand(f *clientFlags, noun, path, short string) *cobra.Command {
	arg := idArgName(noun)
	c := &cobra.Command{Use: "rename " + arg + " NAME", Short: short, Args: cobra.ExactArgs(2)}
	return apiCommand(f, c, func(cmd *cobra.Command, cl *apiClient, args []string) error {
		id, err := idArg(arg, args[0])
		if err != nil {
			return err
		}
		raw, err := cl.send(cmd.Context(), http.MethodPatch, path+id, map[string]string{"name": args[1]}, nil)
		if err != nil {
			return err
		}
		return done(cmd, f, raw, "%s %s renamed to %q.", noun, id, args[1])
	})
}

// idAction makes c, whose one argument is an id (arg names it, as in
// CALLBACK_ID), send method to path with the id in place of {id} and the
// body that body builds (none if body is nil), then confirm with msg,
// which gets the id.
func idAction(f *clientFlags, c *cobra.Command, arg, method, path string, body func() (any, error), msg string) *cobra.Command {
	c.Args = cobra.ExactArgs(1)
	return apiCommand(f, c, func(cmd *cobra.Command, cl *apiClient, args []string) error {
		id, err := idArg(arg, args[0])
		if err != nil {
			return err
		}
		var b any
		if body != nil {
			if b, err = body(); err != nil {
				return err
			}
		}
		raw, err := cl.send(cmd.Context(), method, withID(path, id), b, nil)
		if err != nil {
			return err
		}
		return done(cmd, f, raw, msg, id)
	})
}

// listCommand is a command (use, as in "list") that prints the []V that
// GET path answers as a table: the header, then row(v) for each.
func listCommand[V any](f *clientFlags, use, short, path string, header []string, row func(V) []string) *cobra.Command {
	return listAt(f, use, short, func() string { return path }, header, row)
}

// listAt is listCommand with the path made when the command runs (from
// its flags).
func listAt[V any](f *clientFlags, use, short string, path func() string, header []string, row func(V) []string) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs}
	return apiCommand(f, c, func(cmd *cobra.Command, cl *apiClient, _ []string) error {
		var vs []V
		raw, err := cl.get(cmd.Context(), path(), &vs)
		if err != nil || f.JSON {
			return jsonOr(cmd, raw, err)
		}
		rows := make([][]string, 0, len(vs))
		for _, v := range vs {
			rows = append(rows, row(v))
		}
		return table(cmd.OutOrStdout(), header, rows)
	})
}

// getCommand is `use ARG` (arg names an id, as in USER_ID): it shows the
// V that GET path answers, with the id in place of {id}.
func getCommand[V any](f *clientFlags, use, short, arg, path string, show func(*cobra.Command, V) error) *cobra.Command {
	c := &cobra.Command{Use: use + " " + arg, Short: short, Args: cobra.ExactArgs(1)}
	return apiCommand(f, c, func(cmd *cobra.Command, cl *apiClient, args []string) error {
		id, err := idArg(arg, args[0])
		if err != nil {
			return err
		}
		var v V
		raw, err := cl.get(cmd.Context(), withID(path, id), &v)
		if err != nil || f.JSON {
			return jsonOr(cmd, raw, err)
		}
		return show(cmd, v)
	})
}

// withID puts a checked id in place of {id} in path.
func withID(path, id string) string {
	return strings.Replace(path, "{id}", id, 1)
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
	list := listCommand(f, "list", "List the queues the key can see", "/v1/queues", []string{"ID", "NAME", "DOMAIN", "STRATEGY", "SERVICE LEVEL"},
		func(q api.QueueView) []string {
			sl := "-"
			if q.ServiceLevelSeconds > 0 {
				sl = strconv.Itoa(q.ServiceLevelSeconds) + "s"
			}
			return []string{itoa(q.ID), q.Name, itoa(q.DomainID), q.Strategy, sl}
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
	stats := getCommand(f, "stats", "A queue's real-time statistics", "QUEUE_ID", "/v1/queues/{id}/realtime-statistics", printStats)
	return group("queue", "Manage a tenant's virtual queues (API key)", f, list, create, update, members, stats, del)
}

// printStats shows a queue's or a domain's real-time statistics.
func printStats(cmd *cobra.Command, s api.QueueStatsView) error {
	longest := time.Duration(s.LongestWaitSeconds * float64(time.Second)).Round(time.Second)
	return fields(cmd.OutOrStdout(),
		"Waiting", strconv.Itoa(s.Waiting),
		"Longest wait", longest.String(),
		"Agents available", strconv.Itoa(s.AgentsAvailable),
		"Offered", strconv.FormatInt(s.Offered, 10),
		"Answered", strconv.FormatInt(s.Answered, 10),
		"Completed", strconv.FormatInt(s.Completed, 10),
		"Abandoned", strconv.FormatInt(s.Abandoned, 10),
		"Service level", strconv.FormatFloat(s.ServiceLevel*100, 'f', 1, 64)+"%")
}

func userCommand() *cobra.Command {
	f := &clientFlags{}
	list := listCommand(f, "list", "List the users the key can see", "/v1/users", []string{"ID", "USERNAME", "NAME", "HOME", "ROLES", "PRESENCE"},
		func(u api.UserView) []string {
			return []string{itoa(u.ID), u.Username, dash(u.Name), itoa(u.HomeDomainID), rolesString(u.Roles), dash(u.Presence)}
		})
	get := getCommand(f, "get", "Show a user: roles, positions (which is active), access groups, presence", "USER_ID", "/v1/users/{id}", printUser)

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
	return group("user", "Manage a tenant's users and agents (API key)", f, list, get, create, key, presence, userPositionCmd(f), del)
}

func printUser(cmd *cobra.Command, u api.UserView) error {
	ps := make([]string, len(u.Positions))
	for i, p := range u.Positions {
		ps[i] = positionString(p)
	}
	active := "-"
	if u.ActivePosition < len(u.Positions) {
		active = positionString(u.Positions[u.ActivePosition])
	}
	return fields(cmd.OutOrStdout(),
		"ID", itoa(u.ID),
		"Username", u.Username,
		"Name", dash(u.Name),
		"Home", itoa(u.HomeDomainID),
		"Roles", dash(rolesString(u.Roles)),
		"Positions", dash(strings.Join(ps, ", ")),
		"Active position", active,
		"Access groups", u32s(u.AccessGroupIDs),
		"Presence", dash(u.Presence))
}

func positionString(p api.PositionBody) string {
	return fmt.Sprintf("%s (domain %d)", p.Name, p.DomainID)
}

// userPositionCmd makes the agent's position in a domain the active one.
func userPositionCmd(f *clientFlags) *cobra.Command {
	var name string
	c := &cobra.Command{
		Use:   "position USER_ID DOMAIN_ID [--name POSITION]",
		Short: "Make the agent's position in a domain the active one",
		Long:  "Makes the agent work in another domain; --name picks one of several positions in that domain.",
		Args:  cobra.ExactArgs(2),
	}
	c.Flags().StringVar(&name, "name", "", "the position's name, when the agent has several in the domain")
	return apiCommand(f, c, func(cmd *cobra.Command, cl *apiClient, args []string) error {
		id, err := idArg("USER_ID", args[0])
		if err != nil {
			return err
		}
		domain, err := idArg("DOMAIN_ID", args[1])
		if err != nil {
			return err
		}
		d, _ := strconv.ParseUint(domain, 10, 32)
		raw, err := cl.send(cmd.Context(), http.MethodPut, "/v1/users/"+id+"/active-position", map[string]any{"domainId": d, "name": name}, nil)
		if err != nil {
			return err
		}
		return done(cmd, f, raw, "User %s works in domain %s now.", id, domain)
	})
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

func rolesString(rs []api.RoleBody) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = roleString(r)
	}
	return strings.Join(s, " ")
}

func roleString(r api.RoleBody) string {
	if r.AllDomains {
		return r.Role + "@all"
	}
	return r.Role + "@" + u32s(r.DomainIDs)
}

// itoa writes an id.
func itoa[T ~uint32 | ~uint64](id T) string {
	return strconv.FormatUint(uint64(id), 10)
}

// idOrDash writes an optional id: 0 is none.
func idOrDash(id uint32) string {
	if id == 0 {
		return "-"
	}
	return itoa(id)
}
