package main

import (
	"fmt"
	"io"
	"time"

	"github.com/ringbackhq/ringback/actors"
	"github.com/spf13/cobra"
)

func init() {
	rootCmd.AddCommand(&cobra.Command{
		Use:   "demo",
		Short: "Run a short built-in scenario through the routing core and print its events",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.OutOrStdout())
		},
	})
}

// runDemo plays two tenants through the actor system: domains, an agent
// with positions in two domains, callbacks that never cross a boundary,
// an automatic position switch, and a completed callback.
func runDemo(w io.Writer) error {
	sys := actors.NewSystem(actors.NewEngine())
	defer sys.Stop()
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	var err error
	step := func(title string, cmd actors.Command) uint64 {
		if err != nil {
			return 0
		}
		res, events, e := sys.Apply(cmd, now)
		if e != nil {
			err = fmt.Errorf("%s: %w", title, e)
			return 0
		}
		fmt.Fprintf(w, "%s %s\n", now.Format("15:04:05"), title)
		for _, ev := range events {
			fmt.Fprintf(w, "         %s\n", ev)
		}
		return res.ID
	}
	policy := actors.DefaultPolicy()
	policy.AutoSwitchPosition = true
	policy.CloseCommentRequired = true
	acme := actors.TenantID(step("operator creates tenant Acme (automatic position switch on)", &actors.CreateTenant{
		Profile: actors.Profile{CompanyName: "Acme", AdminUsername: "ada", AdminEmail: "ada@acme.example", AdminFirstName: "Ada"},
		Host:    "acme.example.com", Policy: &policy,
	}))
	admin := actors.Target{Tenant: acme, By: actors.AsUser(actors.TenantAdmin)}
	sales := actors.DomainID(step("admin creates domain Sales", &actors.CreateDomain{Target: admin, Name: "Sales", Parent: actors.HomeDomain}))
	support := actors.DomainID(step("admin creates domain Support", &actors.CreateDomain{Target: admin, Name: "Support", Parent: actors.HomeDomain}))
	queue := actors.QueueID(step("admin creates queue 'callbacks' in Home, serving both domains", &actors.CreateQueue{Target: admin, Name: "callbacks", Domain: actors.HomeDomain}))
	done := actors.CodeID(step("admin creates wrap-up code 'resolved'", &actors.CreateCode{Target: admin, CodeKind: actors.WrapUpCode, Name: "resolved"}))
	dana := actors.UserID(step("admin creates agent Dana: positions in Sales (active) and Support", &actors.CreateUser{Target: admin, Name: "dana", Home: sales,
		Grants:      []actors.Grant{{Role: actors.RoleAgent, Scope: actors.Scope{Domains: []actors.DomainID{sales, support}}}},
		Positions:   []actors.Position{{Name: "sales-desk", Domain: sales}, {Name: "support-desk", Domain: support}},
		Memberships: []actors.Membership{{Queue: queue, Tier: 1}}}))
	asDana := actors.Target{Tenant: acme, By: actors.AsUser(dana)}
	step("Dana becomes available", &actors.SetPresence{Target: asDana, Agent: dana, Presence: actors.Available})
	cb := actors.CallbackID(step("a Support customer asks for a callback: Dana switches to her Support desk", &actors.CreateCallback{Target: admin,
		Queue: queue, Domain: support, CustomerName: "Carol", Numbers: []string{"+15550100"}, IdempotencyKey: "web-123"}))
	var offer actors.OfferID
	if err == nil {
		err = sys.Query(acme, func(t *actors.Tenant) error {
			c, e := t.Callback(asDana.By, cb)
			offer = c.Offer
			return e
		})
	}
	now = now.Add(8 * time.Second)
	step("Dana accepts the offer", &actors.AcceptOffer{Target: asDana, Callback: cb, Offer: offer})
	now = now.Add(4 * time.Minute)
	step("Dana completes the callback with a comment (Acme requires one)", &actors.CompleteCallback{Target: asDana, Callback: cb, Disposition: done, Comment: "rebooked delivery"})
	globex := actors.TenantID(step("operator creates tenant Globex", &actors.CreateTenant{
		Profile: actors.Profile{CompanyName: "Globex", AdminUsername: "gus", AdminEmail: "gus@globex.example", AdminFirstName: "Gus"}}))
	gq := actors.QueueID(step("Globex admin creates a queue", &actors.CreateQueue{Target: actors.Target{Tenant: globex, By: actors.AsUser(actors.TenantAdmin)}, Name: "callbacks", Domain: actors.HomeDomain}))
	step("a Globex customer asks for a callback: Acme's Dana never sees it", &actors.CreateCallback{Target: actors.Target{Tenant: globex, By: actors.AsUser(actors.TenantAdmin)},
		Queue: gq, CustomerName: "Gina", Numbers: []string{"+15550199"}})
	if err != nil {
		return err
	}
	b, err := sys.Snapshot()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "state snapshot: %d bytes\n", len(b))
	return nil
}
