package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/ringbackhq/ringback/actors"
)

// Operator endpoints: the service provider manages tenants, never their data.

// LimitsBody are a tenant's limits.
type LimitsBody struct {
	MaxAgents         int   `json:"maxAgents,omitempty" minimum:"1" maximum:"100000"`
	StorageQuotaBytes int64 `json:"storageQuotaBytes,omitempty" minimum:"1"`
	MaxDomains        int   `json:"maxDomains,omitempty" minimum:"1" maximum:"10000"`
}

// PolicyBody are a tenant's business rules; unset fields keep their value.
type PolicyBody struct {
	CloseCommentRequired *bool   `json:"closeCommentRequired,omitempty"`
	MaxAttempts          *int    `json:"maxAttempts,omitempty" minimum:"1" maximum:"100"`
	RetryDelaySeconds    *int    `json:"retryDelaySeconds,omitempty" minimum:"0" maximum:"604800"`
	OfferTimeoutSeconds  *int    `json:"offerTimeoutSeconds,omitempty" minimum:"1" maximum:"3600"`
	AutoSwitchPosition   *bool   `json:"autoSwitchPosition,omitempty"`
	Duplicates           *string `json:"duplicates,omitempty" enum:"reject,allow"`
	ServiceLevelSeconds  *int    `json:"serviceLevelSeconds,omitempty" minimum:"1" maximum:"86400"`
	CallbackTTLSeconds   *int    `json:"callbackTtlSeconds,omitempty" minimum:"0" maximum:"31536000"`
	WrapUpSeconds        *int    `json:"wrapUpSeconds,omitempty" minimum:"0" maximum:"3600"`
	RecordRetentionDays  *int    `json:"recordRetentionDays,omitempty" minimum:"0" maximum:"3650" doc:"how long finished callbacks are kept, from their creation; 0 keeps them for ever"`
}

func (b *PolicyBody) apply(p actors.Policy) actors.Policy {
	if b == nil {
		return p
	}
	sec := func(v *int, d *time.Duration) {
		if v != nil {
			*d = time.Duration(*v) * time.Second
		}
	}
	if b.CloseCommentRequired != nil {
		p.CloseCommentRequired = *b.CloseCommentRequired
	}
	if b.MaxAttempts != nil {
		p.MaxAttempts = *b.MaxAttempts
	}
	if b.AutoSwitchPosition != nil {
		p.AutoSwitchPosition = *b.AutoSwitchPosition
	}
	if b.Duplicates != nil {
		p.Duplicates = actors.DuplicatePolicy(*b.Duplicates)
	}
	sec(b.RetryDelaySeconds, &p.RetryDelay)
	sec(b.OfferTimeoutSeconds, &p.OfferTimeout)
	sec(b.ServiceLevelSeconds, &p.ServiceLevel)
	sec(b.CallbackTTLSeconds, &p.CallbackTTL)
	sec(b.WrapUpSeconds, &p.WrapUp)
	if b.RecordRetentionDays != nil {
		p.RecordRetention = time.Duration(*b.RecordRetentionDays) * 24 * time.Hour
	}
	return p
}

// PolicyView is a tenant's policy as the API shows it.
type PolicyView struct {
	CloseCommentRequired bool   `json:"closeCommentRequired"`
	MaxAttempts          int    `json:"maxAttempts"`
	RetryDelaySeconds    int    `json:"retryDelaySeconds"`
	OfferTimeoutSeconds  int    `json:"offerTimeoutSeconds"`
	AutoSwitchPosition   bool   `json:"autoSwitchPosition"`
	Duplicates           string `json:"duplicates"`
	ServiceLevelSeconds  int    `json:"serviceLevelSeconds"`
	CallbackTTLSeconds   int    `json:"callbackTtlSeconds"`
	WrapUpSeconds        int    `json:"wrapUpSeconds"`
	RecordRetentionDays  int    `json:"recordRetentionDays"`
}

func policyView(p actors.Policy) PolicyView {
	s := func(d time.Duration) int { return int(d / time.Second) }
	return PolicyView{p.CloseCommentRequired, p.MaxAttempts, s(p.RetryDelay), s(p.OfferTimeout), p.AutoSwitchPosition,
		string(p.Duplicates), s(p.ServiceLevel), s(p.CallbackTTL), s(p.WrapUp), int(p.RecordRetention / (24 * time.Hour))}
}

// TenantView is a tenant as the operator sees it.
type TenantView struct {
	ID             uint32          `json:"id"`
	CompanyName    string          `json:"companyName"`
	AdminUsername  string          `json:"adminUsername"`
	AdminEmail     string          `json:"adminEmail"`
	AdminFirstName string          `json:"adminFirstName"`
	Host           string          `json:"host,omitempty"`
	Status         string          `json:"status"`
	Limits         LimitsBody      `json:"limits"`
	Usage          UsageView       `json:"usage" doc:"how much of its limits the tenant uses"`
	Features       map[string]bool `json:"features"`
	Policy         PolicyView      `json:"policy"`
}

// OrganizationView is the caller's own tenant as its people see it: no
// administrator contact, which is the operator's.
type OrganizationView struct {
	ID          uint32          `json:"id"`
	CompanyName string          `json:"companyName"`
	Host        string          `json:"host,omitempty"`
	Limits      LimitsBody      `json:"limits"`
	Usage       UsageView       `json:"usage"`
	Features    map[string]bool `json:"features"`
	Policy      PolicyView      `json:"policy"`
}

// UsageView is how much of its limits a tenant uses.
type UsageView struct {
	Agents       int   `json:"agents" doc:"users who hold the agent role, against limits.maxAgents"`
	Domains      int   `json:"domains" doc:"domains, Home included, against limits.maxDomains"`
	StorageBytes int64 `json:"storageBytes" doc:"callback data held, against limits.storageQuotaBytes"`
}

func tenantView(t actors.TenantSummary) TenantView {
	f := map[string]bool{}
	for k, v := range t.Features {
		f[string(k)] = v
	}
	return TenantView{ID: uint32(t.ID), CompanyName: t.Profile.CompanyName, AdminUsername: t.Profile.AdminUsername,
		AdminEmail: t.Profile.AdminEmail, AdminFirstName: t.Profile.AdminFirstName, Host: t.Host, Status: t.Status.String(),
		Limits: LimitsBody{t.Limits.MaxAgents, t.Limits.StorageQuotaBytes, t.Limits.MaxDomains}, Features: f, Policy: policyView(t.Policy)}
}

type createTenantInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200"`
	Body           struct {
		CompanyName    string          `json:"companyName" minLength:"1" maxLength:"200"`
		AdminUsername  string          `json:"adminUsername" minLength:"1" maxLength:"100"`
		AdminEmail     string          `json:"adminEmail" format:"email" maxLength:"254"`
		AdminFirstName string          `json:"adminFirstName" minLength:"1" maxLength:"100"`
		Host           string          `json:"host,omitempty" maxLength:"253"`
		Limits         *LimitsBody     `json:"limits,omitempty"`
		Features       map[string]bool `json:"features,omitempty"`
		Policy         *PolicyBody     `json:"policy,omitempty"`
	}
}

type createdTenant struct {
	Status int
	Body   struct {
		TenantView
		APIKey string `json:"apiKey" doc:"the tenant administrator's API key; shown once"`
	}
}

type TenantPath struct {
	TenantID uint32 `path:"tenantId" minimum:"1"`
}

type tenantOutput struct{ Body TenantView }

type patchTenantInput struct {
	TenantPath
	Body struct {
		Status   string          `json:"status,omitempty" enum:"active,disabled"`
		Host     *string         `json:"host,omitempty" maxLength:"253"`
		Limits   *LimitsBody     `json:"limits,omitempty"`
		Features map[string]bool `json:"features,omitempty"`
		Policy   *PolicyBody     `json:"policy,omitempty"`
	}
}

type keyOutput struct {
	Status int
	Body   struct {
		ID     uint64 `json:"id,omitempty"`
		APIKey string `json:"apiKey" doc:"shown once"`
	}
}

func features(m map[string]bool) map[actors.Feature]bool {
	if m == nil {
		return nil
	}
	out := make(map[actors.Feature]bool, len(m))
	for k, v := range m {
		out[actors.Feature(k)] = v
	}
	return out
}

// newSecret makes the secret part of a new API key, and its stored hash.
func newSecret() (secret, hash string) {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	secret = hex.EncodeToString(b)
	return secret, secretHash(secret)
}

// keyOf is the API key of a tenant's secret (see parseKey).
func keyOf(t actors.TenantID, secret string) string {
	return "rbk_" + strconv.FormatUint(uint64(t), 10) + "_" + secret
}

func (s *Server) tenantRoutes() {
	create := operation(http.MethodPost, "/v1/tenants", "create-tenant", "Create a tenant", http.StatusCreated, true)
	create.Description = "With an Idempotency-Key header, a retry with the same key and body within 24 hours creates nothing: " +
		"it answers the tenant the first request created, with a new administrator key (the first answer's key is stored only as a hash, " +
		"so it cannot be shown again; it keeps working). The same key with another body answers 422; a retry while the first is still running answers 409."
	huma.Register(s.api, create,
		func(ctx context.Context, in *createTenantInput) (*createdTenant, error) {
			b := in.Body
			hash, end, err := s.flights.start("operator", in.IdempotencyKey, b)
			if err != nil {
				return nil, err
			}
			defer end()
			p := b.Policy.apply(actors.DefaultPolicy())
			cmd := &actors.CreateTenant{Profile: actors.Profile{CompanyName: b.CompanyName, AdminUsername: b.AdminUsername,
				AdminEmail: b.AdminEmail, AdminFirstName: b.AdminFirstName}, Host: b.Host, Features: features(b.Features), Policy: &p}
			if b.Limits != nil {
				cmd.Limits = actors.Limits{MaxAgents: b.Limits.MaxAgents, StorageQuotaBytes: b.Limits.StorageQuotaBytes, MaxDomains: b.Limits.MaxDomains}
			}
			// The administrator's key is issued in the same step, so that
			// no tenant is ever created without a way in.
			secret, keyHash := newSecret()
			cmd.AdminKeyHash, cmd.IdempotencyKey, cmd.RequestHash = keyHash, in.IdempotencyKey, hash
			out, err := s.propose(ctx, cmd)
			if err != nil {
				return nil, err
			}
			tid := actors.TenantID(out.Result.ID)
			res := &createdTenant{Status: http.StatusCreated}
			res.Body.TenantView, res.Body.APIKey = s.tenantView(ctx, tid), keyOf(tid, secret)
			return res, nil
		})
	huma.Register(s.api, operation(http.MethodGet, "/v1/organization", "get-organization",
		"The caller's own tenant: its limits and their usage, features and policy (whether closing needs a comment, say)", http.StatusOK, false),
		func(ctx context.Context, _ *struct{}) (*struct{ Body OrganizationView }, error) {
			v := s.tenantView(ctx, callerOf(ctx).tenant)
			return &struct{ Body OrganizationView }{OrganizationView{ID: v.ID, CompanyName: v.CompanyName, Host: v.Host,
				Limits: v.Limits, Usage: v.Usage, Features: v.Features, Policy: v.Policy}}, nil
		})
	huma.Register(s.api, operation(http.MethodGet, "/v1/tenants", "list-tenants", "List tenants", http.StatusOK, true),
		func(ctx context.Context, _ *struct{}) (*struct{ Body []TenantView }, error) {
			out := &struct{ Body []TenantView }{Body: []TenantView{}}
			for _, t := range s.o.Node.Tenants("") {
				out.Body = append(out.Body, s.withUsage(ctx, tenantView(t)))
			}
			return out, nil
		})
	huma.Register(s.api, operation(http.MethodGet, "/v1/tenants/{tenantId}", "get-tenant", "Get a tenant", http.StatusOK, true),
		func(ctx context.Context, in *TenantPath) (*tenantOutput, error) {
			v := s.tenantView(ctx, actors.TenantID(in.TenantID))
			if v.ID == 0 {
				return nil, huma.Error404NotFound("not found", &huma.ErrorDetail{Location: "path.tenantId", Message: "no such object"})
			}
			return &tenantOutput{Body: v}, nil
		})
	huma.Register(s.api, operation(http.MethodPatch, "/v1/tenants/{tenantId}", "update-tenant", "Change a tenant's status, limits, features or policy", http.StatusOK, true),
		func(ctx context.Context, in *patchTenantInput) (*tenantOutput, error) {
			tid := actors.TenantID(in.TenantID)
			cur, ok := s.summary(tid)
			if !ok {
				return nil, huma.Error404NotFound("not found", &huma.ErrorDetail{Location: "path.tenantId", Message: "no such object"})
			}
			b := in.Body
			if b.Host != nil || b.Limits != nil || b.Features != nil || b.Policy != nil || b.Status != "" {
				// One command: all of the change is made, or none of it.
				cmd := &actors.UpdateTenant{Tenant: tid, Host: b.Host, Features: features(b.Features)}
				if b.Limits != nil {
					l := actors.Limits{MaxAgents: b.Limits.MaxAgents, StorageQuotaBytes: b.Limits.StorageQuotaBytes, MaxDomains: b.Limits.MaxDomains}
					if l.MaxAgents == 0 {
						l.MaxAgents = cur.Limits.MaxAgents
					}
					if l.StorageQuotaBytes == 0 {
						l.StorageQuotaBytes = cur.Limits.StorageQuotaBytes
					}
					if l.MaxDomains == 0 {
						l.MaxDomains = cur.Limits.MaxDomains
					}
					cmd.Limits = &l
				}
				if b.Policy != nil {
					p := b.Policy.apply(cur.Policy)
					cmd.Policy = &p
				}
				if b.Status != "" {
					st := actors.TenantActive
					if b.Status == "disabled" {
						st = actors.TenantDisabled
					}
					cmd.Status = &st
				}
				if _, err := s.propose(ctx, cmd); err != nil {
					return nil, err
				}
			}
			return &tenantOutput{Body: s.tenantView(ctx, tid)}, nil
		})
	huma.Register(s.api, operation(http.MethodDelete, "/v1/tenants/{tenantId}", "delete-tenant", "Delete a tenant and all its data", http.StatusNoContent, true),
		func(ctx context.Context, in *TenantPath) (*struct{}, error) {
			_, err := s.propose(ctx, &actors.DeleteTenant{Tenant: actors.TenantID(in.TenantID)})
			return nil, err
		})
	huma.Register(s.api, operation(http.MethodPost, "/v1/tenants/{tenantId}/admin-key", "rotate-admin-key", "Issue a new API key for the tenant administrator", http.StatusCreated, true),
		func(ctx context.Context, in *TenantPath) (*keyOutput, error) {
			key, err := s.putKey(ctx, actors.TenantID(in.TenantID), actors.Operator, actors.AsUser(actors.TenantAdmin))
			if err != nil {
				return nil, err
			}
			out := &keyOutput{Status: http.StatusCreated}
			out.Body.ID, out.Body.APIKey = 1, key
			return out, nil
		})
}

// summary reads a tenant's summary.
func (s *Server) summary(tid actors.TenantID) (actors.TenantSummary, bool) {
	for _, t := range s.o.Node.Tenants("") {
		if t.ID == tid {
			return t, true
		}
	}
	return actors.TenantSummary{}, false
}

// tenantView reads a tenant's view; zero ID when there is none.
func (s *Server) tenantView(ctx context.Context, tid actors.TenantID) TenantView {
	if t, ok := s.summary(tid); ok {
		return s.withUsage(ctx, tenantView(t))
	}
	return TenantView{}
}

// withUsage adds the tenant's usage, as this node has it, to its view.
func (s *Server) withUsage(ctx context.Context, v TenantView) TenantView {
	_ = s.o.Node.Read(ctx, false, actors.TenantID(v.ID), func(t *actors.Tenant) error {
		u := t.Usage()
		v.Usage = UsageView{Agents: u.Agents, Domains: u.Domains, StorageBytes: u.StorageBytes}
		return nil
	})
	return v
}

// putKey stores a new API key for a principal of the tenant and returns it.
// The operator issues the administrator's key (as the system principal of
// the tenant); users and developers issue keys through tenant endpoints.
func (s *Server) putKey(ctx context.Context, tid actors.TenantID, by, forP actors.Principal) (string, error) {
	secret, hash := newSecret()
	if by.Kind == actors.PrincipalOperator {
		by = actors.Principal{Kind: actors.PrincipalSystem}
	}
	_, err := s.propose(ctx, &actors.PutAPIKey{Target: actors.Target{Tenant: tid, By: by}, Hash: hash, For: forP})
	return keyOf(tid, secret), err
}
