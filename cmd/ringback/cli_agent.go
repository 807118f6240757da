package main

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ringbackhq/ringback/cmd/ringback/api"
)

// `ringback offers|audit|errors|key|organization`: what agents,
// supervisors and developers look at with their own key.

func offersCommand() *cobra.Command {
	f := &clientFlags{}
	list := listCommand(f, "list", "Your pending offers", "/v1/offers", []string{"OFFER", "CALLBACK", "QUEUE", "DOMAIN"},
		func(o api.OfferEvent) []string {
			return []string{itoa(o.OfferID), itoa(o.CallbackID), itoa(o.QueueID), itoa(o.DomainID)}
		})
	accept := idAction(f, &cobra.Command{Use: "accept OFFER_ID", Short: "Accept an offer: the callback is yours to make"}, "OFFER_ID",
		http.MethodPost, "/v1/offers/{id}/accept", nil, "Offer %s accepted.")
	reject := idAction(f, &cobra.Command{Use: "reject OFFER_ID", Short: "Reject an offer: it goes to someone else"}, "OFFER_ID",
		http.MethodPost, "/v1/offers/{id}/reject", nil, "Offer %s rejected.")
	return group("offers", "An agent's offers: list, accept, reject (the agent's key)", f, list, accept, reject)
}

// single gives a command without subcommands the client flags that group
// gives a group's.
func single(f *clientFlags, c *cobra.Command) *cobra.Command {
	f.register(c.Flags())
	return c
}

func auditCommand() *cobra.Command {
	f := &clientFlags{}
	var category string
	c := listAt(f, "audit", "Who changed what, as far as the key may see (supervisors, administrators)", func() string {
		if category == "" {
			return "/v1/audit"
		}
		return "/v1/audit?category=" + url.QueryEscape(category)
	}, []string{"TIME", "BY", "ACTION", "OBJECT"}, func(a api.AuditView) []string {
		object := "-"
		if a.ObjectID != 0 {
			object = itoa(a.ObjectID)
		}
		return []string{a.Time.Format(time.RFC3339), auditBy(a), a.Action, object}
	})
	c.Flags().StringVar(&category, "category", "", "configuration (changes to domains, people, keys, queues, codes) or activity (callbacks and presence); both when not given")
	return single(f, c)
}

// auditBy names who made an audited change.
func auditBy(a api.AuditView) string {
	switch {
	case a.Operator:
		return "operator"
	case a.ChannelID != 0:
		return "channel " + itoa(a.ChannelID)
	case a.UserID != 0:
		return "user " + itoa(a.UserID)
	}
	return "-"
}

func errorsCommand() *cobra.Command {
	f := &clientFlags{}
	return single(f, listCommand(f, "errors", "The tenant's recently refused requests on this server (developers)", "/v1/errors/recent",
		[]string{"TIME", "STATUS", "REQUEST", "TITLE", "DETAIL"}, func(e api.RecentError) []string {
			return []string{e.At.Format(time.RFC3339), strconv.Itoa(e.Status), e.Method + " " + e.Path, e.Title, dash(e.Detail)}
		}))
}

func keyCommand() *cobra.Command {
	f := &clientFlags{}
	test := &cobra.Command{Use: "test", Short: "Say whose key this is: the tenant, the user or channel, the roles", Args: cobra.NoArgs}
	apiCommand(f, test, func(cmd *cobra.Command, cl *apiClient, _ []string) error {
		var w api.WhoAmI
		raw, err := cl.send(cmd.Context(), http.MethodPost, "/v1/api-keys/test", nil, &w)
		if err != nil || f.JSON {
			return jsonOr(cmd, raw, err)
		}
		who := "Channel " + itoa(w.ChannelID)
		if w.Kind == "user" {
			who = "User " + itoa(w.UserID)
		}
		return fields(cmd.OutOrStdout(), "Tenant", itoa(w.TenantID), "Key of", who, "Roles", dash(strings.Join(w.Roles, ", ")))
	})
	return group("key", "The API key in use", f, test)
}

func organizationCommand() *cobra.Command {
	f := &clientFlags{}
	c := &cobra.Command{Use: "organization", Short: "Your tenant: its limits and their usage, features and policy", Args: cobra.NoArgs}
	return single(f, apiCommand(f, c, func(cmd *cobra.Command, cl *apiClient, _ []string) error {
		var o api.OrganizationView
		raw, err := cl.get(cmd.Context(), "/v1/organization", &o)
		if err != nil || f.JSON {
			return jsonOr(cmd, raw, err)
		}
		return fields(cmd.OutOrStdout(), append([]string{"ID", itoa(o.ID), "Company", o.CompanyName, "Host", dash(o.Host)},
			terms(o.Limits, o.Usage, o.Features, o.Policy)...)...)
	}))
}
