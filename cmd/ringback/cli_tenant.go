package main

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ringbackhq/ringback/cmd/ringback/api"
)

// `ringback tenant ...`: the operator's tenant management (operator token).

func tenantCommand() *cobra.Command {
	f := &clientFlags{}
	return group("tenant", "Manage tenants (operator token)", f,
		tenantCreateCmd(f), tenantListCmd(f), tenantGetCmd(f), tenantUpdateCmd(f),
		tenantStatusCmd(f, "disable", "disabled", "Deactivate a tenant: its keys stop working, its data is kept"),
		tenantStatusCmd(f, "enable", "active", "Reactivate a disabled tenant"),
		tenantDeleteCmd(f))
}

func tenantCreateCmd(f *clientFlags) *cobra.Command {
	var b struct {
		CompanyName    string          `json:"companyName"`
		AdminUsername  string          `json:"adminUsername"`
		AdminEmail     string          `json:"adminEmail"`
		AdminFirstName string          `json:"adminFirstName"`
		Host           string          `json:"host,omitempty"`
		Limits         *api.LimitsBody `json:"limits,omitempty"`
		Features       map[string]bool `json:"features,omitempty"`
	}
	var limits api.LimitsBody
	var feats []string
	var key string
	c := &cobra.Command{
		Use:   "create COMPANY --admin-username NAME --admin-email EMAIL --admin-first-name NAME",
		Short: "Create a tenant; prints its id and the administrator's API key (shown once)",
		Long: "Creates a tenant. With --idempotency-key, running the same command again within 24 hours\n" +
			"creates no second tenant: it prints the first one, with a new administrator key.",
		Args: cobra.ExactArgs(1),
	}
	fs := c.Flags()
	fs.StringVar(&b.AdminUsername, "admin-username", "admin", "the tenant administrator's username")
	fs.StringVar(&b.AdminEmail, "admin-email", "", "the tenant administrator's email (required)")
	fs.StringVar(&b.AdminFirstName, "admin-first-name", "", "the tenant administrator's first name (required)")
	fs.StringVar(&b.Host, "host", "", "a host name that resolves to this tenant")
	fs.IntVar(&limits.MaxAgents, "max-agents", 0, "maximum number of agents (0: the default)")
	fs.Int64Var(&limits.StorageQuotaBytes, "storage-quota", 0, "bytes of callback data the tenant may keep (0: the default)")
	fs.IntVar(&limits.MaxDomains, "max-domains", 0, "maximum number of domains (0: the default)")
	fs.StringSliceVar(&feats, "feature", nil, "feature=true|false, repeatable (e.g. scheduled-callbacks=false)")
	fs.StringVar(&key, "idempotency-key", "", "a key that makes retries safe")
	return apiCommand(f, c, func(cmd *cobra.Command, cl *apiClient, args []string) error {
		b.CompanyName = args[0]
		if limits != (api.LimitsBody{}) {
			b.Limits = &limits
		}
		var err error
		if b.Features, err = parseFeatures(feats); err != nil {
			return err
		}
		var out struct {
			api.TenantView
			APIKey string `json:"apiKey"`
		}
		raw, err := cl.send(cmd.Context(), http.MethodPost, "/v1/tenants", b, &out, "Idempotency-Key", key)
		if err != nil {
			return err
		}
		if f.JSON {
			return printJSON(cmd.OutOrStdout(), raw)
		}
		return fields(cmd.OutOrStdout(), "Tenant", strconv.FormatUint(uint64(out.ID), 10), "Company", out.CompanyName,
			"Status", out.Status, "Admin API key", out.APIKey+"  (shown once; keep it)")
	})
}

func parseFeatures(kv []string) (map[string]bool, error) {
	if len(kv) == 0 {
		return nil, nil
	}
	m := map[string]bool{}
	for _, s := range kv {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			v = "true"
		}
		on, err := strconv.ParseBool(v)
		if err != nil || k == "" {
			return nil, usageErr("--feature %q: want name=true or name=false", s)
		}
		m[k] = on
	}
	return m, nil
}

func tenantListCmd(f *clientFlags) *cobra.Command {
	return listCommand(f, "list", "List tenants", "/v1/tenants", []string{"ID", "COMPANY", "STATUS", "ADMIN", "EMAIL", "HOST", "AGENTS"},
		func(t api.TenantView) []string {
			return []string{itoa(t.ID), t.CompanyName, t.Status, t.AdminUsername, t.AdminEmail, dash(t.Host),
				fmt.Sprintf("%d/%d", t.Usage.Agents, t.Limits.MaxAgents)}
		})
}

func tenantGetCmd(f *clientFlags) *cobra.Command {
	return getCommand(f, "get", "Show a tenant's profile, limits and their usage, features and policy", "TENANT_ID", "/v1/tenants/{id}", printTenant)
}

func printTenant(cmd *cobra.Command, t api.TenantView) error {
	return fields(cmd.OutOrStdout(), append([]string{
		"ID", itoa(t.ID),
		"Company", t.CompanyName,
		"Status", t.Status,
		"Admin", fmt.Sprintf("%s (%s, %s)", t.AdminUsername, t.AdminFirstName, t.AdminEmail),
		"Host", dash(t.Host),
	}, terms(t.Limits, t.Usage, t.Features, t.Policy)...)...)
}

// terms are a tenant's limits with their usage, its features and its
// policy, as name/value pairs for fields.
func terms(l api.LimitsBody, u api.UsageView, features map[string]bool, p api.PolicyView) []string {
	var on []string
	for k, v := range features {
		if v {
			on = append(on, k)
		}
	}
	sort.Strings(on)
	return []string{
		"Agents", fmt.Sprintf("%d of %d", u.Agents, l.MaxAgents),
		"Domains", fmt.Sprintf("%d of %d", u.Domains, l.MaxDomains),
		"Storage", fmt.Sprintf("%d of %d bytes", u.StorageBytes, l.StorageQuotaBytes),
		"Features", dash(strings.Join(on, ", ")),
		"Policy", fmt.Sprintf("max attempts %d, retry %ds, offer timeout %ds, close comment %t, auto switch %t, duplicates %s, service level %ds, waiting callbacks expire %s, wrap-up %ds, records kept %s",
			p.MaxAttempts, p.RetryDelaySeconds, p.OfferTimeoutSeconds, p.CloseCommentRequired, p.AutoSwitchPosition, p.Duplicates, p.ServiceLevelSeconds,
			expiry(p.CallbackTTLSeconds), p.WrapUpSeconds, retention(p.RecordRetentionDays)),
	}
}

// expiry says when a waiting callback expires.
func expiry(ttl int) string {
	if ttl == 0 {
		return "never"
	}
	return "after " + (time.Duration(ttl) * time.Second).String()
}

// retention says how long finished callbacks are kept.
func retention(days int) string {
	if days == 0 {
		return "for ever"
	}
	return strconv.Itoa(days) + " days"
}

func tenantUpdateCmd(f *clientFlags) *cobra.Command {
	c := &cobra.Command{
		Use:   "update TENANT_ID [--host H] [--max-agents N] [--storage-quota BYTES] [--max-domains N] [--feature NAME=BOOL]...",
		Short: "Change a tenant's host, limits or features, all at once or not at all",
		Long:  "Changes what the flags name, and nothing else: raise a storage quota, turn a feature on or off.",
		Args:  cobra.ExactArgs(1),
	}
	var limits api.LimitsBody
	var host string
	var feats []string
	fs := c.Flags()
	fs.StringVar(&host, "host", "", "a host name that resolves to this tenant (\"\" to clear it)")
	fs.IntVar(&limits.MaxAgents, "max-agents", 0, "maximum number of agents")
	fs.Int64Var(&limits.StorageQuotaBytes, "storage-quota", 0, "bytes of callback data the tenant may keep")
	fs.IntVar(&limits.MaxDomains, "max-domains", 0, "maximum number of domains")
	fs.StringSliceVar(&feats, "feature", nil, "feature=true|false, repeatable")
	return apiCommand(f, c, func(cmd *cobra.Command, cl *apiClient, args []string) error {
		id, err := idArg("TENANT_ID", args[0])
		if err != nil {
			return err
		}
		var b struct {
			Host     *string         `json:"host,omitempty"`
			Limits   *api.LimitsBody `json:"limits,omitempty"` // a zero limit stays as it is
			Features map[string]bool `json:"features,omitempty"`
		}
		if cmd.Flags().Changed("host") {
			b.Host = &host
		}
		if limits != (api.LimitsBody{}) {
			b.Limits = &limits
		}
		if b.Features, err = parseFeatures(feats); err != nil {
			return err
		}
		if b.Host == nil && b.Limits == nil && b.Features == nil {
			return usageErr("name something to change: --host, --max-agents, --storage-quota, --max-domains or --feature")
		}
		var t api.TenantView
		raw, err := cl.send(cmd.Context(), http.MethodPatch, "/v1/tenants/"+id, b, &t)
		if err != nil {
			return err
		}
		if f.JSON {
			return printJSON(cmd.OutOrStdout(), raw)
		}
		return printTenant(cmd, t)
	})
}

func tenantStatusCmd(f *clientFlags, verb, status, short string) *cobra.Command {
	c := &cobra.Command{Use: verb + " TENANT_ID", Short: short, Args: cobra.ExactArgs(1)}
	return apiCommand(f, c, func(cmd *cobra.Command, cl *apiClient, args []string) error {
		id, err := idArg("TENANT_ID", args[0])
		if err != nil {
			return err
		}
		var t api.TenantView
		raw, err := cl.send(cmd.Context(), http.MethodPatch, "/v1/tenants/"+id, map[string]string{"status": status}, &t)
		if err != nil {
			return err
		}
		if f.JSON {
			return printJSON(cmd.OutOrStdout(), raw)
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "Tenant %d (%s) is %s.\n", t.ID, t.CompanyName, t.Status)
		return err
	})
}

func tenantDeleteCmd(f *clientFlags) *cobra.Command {
	var yes bool
	c := &cobra.Command{Use: "delete TENANT_ID --yes", Short: "Delete a tenant and all its data, unrecoverably", Args: cobra.ExactArgs(1)}
	c.Flags().BoolVar(&yes, "yes", false, "confirm: the tenant's data cannot be recovered")
	return apiCommand(f, c, func(cmd *cobra.Command, cl *apiClient, args []string) error {
		id, err := idArg("TENANT_ID", args[0])
		if err != nil {
			return err
		}
		if !yes {
			return usageErr("deleting tenant %s removes all its data for good; add --yes to confirm", id)
		}
		raw, err := cl.send(cmd.Context(), http.MethodDelete, "/v1/tenants/"+id, nil, nil)
		if err != nil {
			return err
		}
		return done(cmd, f, raw, "Tenant %s deleted.", id)
	})
}

// done prints a confirmation, or {} (or the answer) with --json.
func done(cmd *cobra.Command, f *clientFlags, raw []byte, format string, args ...any) error {
	if f.JSON {
		return printJSON(cmd.OutOrStdout(), raw)
	}
	_, err := fmt.Fprintf(cmd.OutOrStdout(), format+"\n", args...)
	return err
}

// idArg checks a numeric identifier argument.
func idArg(name, s string) (string, error) {
	if n, err := strconv.ParseUint(s, 10, 64); err != nil || n == 0 {
		return "", usageErr("%s must be a positive number, got %q", name, s)
	}
	return s, nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func u32s(v []uint32) string {
	if len(v) == 0 {
		return "-"
	}
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatUint(uint64(x), 10)
	}
	return strings.Join(s, ",")
}
