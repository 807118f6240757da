package api

import (
	"bytes"
	"context"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/ringbackhq/ringback/actors"
	"github.com/ringbackhq/ringback/cluster"
)

// Health, developer, audit and cluster endpoints.

// Health says whether this node serves and who leads.
type Health struct {
	Status string `json:"status" enum:"ok"`
	Leader bool   `json:"leader"`
	Ready  bool   `json:"ready" doc:"the node has applied the log it had at start"`
}

// WhoAmI describes the caller's key.
type WhoAmI struct {
	TenantID  uint32   `json:"tenantId"`
	Kind      string   `json:"kind" enum:"user,channel"`
	UserID    uint32   `json:"userId,omitempty"`
	ChannelID uint32   `json:"channelId,omitempty"`
	Roles     []string `json:"roles,omitempty"`
}

type auditInput struct {
	Category string `query:"category" enum:"configuration,activity" doc:"configuration: changes to domains, people, keys, queues, codes (the newest 1,000 kept); activity: callbacks and presence (the newest 1,000 kept, apart, so that a busy hour does not push out the changes). Both when absent."`
}

// AuditView is one audit entry.
type AuditView struct {
	Time      time.Time `json:"time"`
	UserID    uint32    `json:"userId,omitempty"`
	ChannelID uint32    `json:"channelId,omitempty"`
	Operator  bool      `json:"operator,omitempty"`
	Command   uint16    `json:"command" doc:"the command kind, from the append-only list in actors/command.go"`
	Action    string    `json:"action" doc:"the command kind by name, such as create-callback or update-user"`
	ObjectID  uint64    `json:"objectId,omitempty" doc:"what the command made or acted on: the new object, or the domain, user, agent, queue or callback it names (0 for a key revocation, and for entries recorded before 2026-11-23)"`
}

// StateHash identifies a node's state: equal hashes at equal indexes
// mean equal states.
type StateHash struct {
	AppliedIndex uint64 `json:"appliedIndex"`
	Hash         string `json:"hash"`
}

type revokeInput struct {
	Body struct {
		APIKey string `json:"apiKey" minLength:"1" maxLength:"200"`
	}
}

type snapshotFile struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

type PeerPath struct {
	PeerID string `path:"peerId" maxLength:"300"`
}

func (s *Server) miscRoutes() {
	huma.Register(s.api, huma.Operation{Method: http.MethodGet, Path: "/v1/health", OperationID: "health", Summary: "Liveness and leadership"},
		func(ctx context.Context, _ *struct{}) (*struct{ Body Health }, error) {
			return &struct{ Body Health }{Body: Health{Status: "ok", Leader: s.o.Node.IsLeader(), Ready: s.o.Node.Ready()}}, nil
		})
	huma.Register(s.api, operation(http.MethodPost, "/v1/api-keys/test", "test-api-key", "Say whose key this is (a developer feature)", http.StatusOK, false),
		func(ctx context.Context, _ *struct{}) (*struct{ Body WhoAmI }, error) {
			c := callerOf(ctx)
			out := &struct{ Body WhoAmI }{Body: WhoAmI{TenantID: uint32(c.tenant)}}
			err := s.read(ctx, false, func(t *actors.Tenant) error {
				if err := t.Allowed(c.p, actors.ActDeveloper, nil, 0); err != nil {
					return s.problem(ctx, err)
				}
				if c.p.Kind == actors.PrincipalApp {
					out.Body.Kind, out.Body.ChannelID = "channel", uint32(c.p.App)
					return nil
				}
				out.Body.Kind, out.Body.UserID = "user", uint32(c.p.User)
				if u := t.Users[c.p.User]; u != nil {
					for _, g := range u.Grants {
						out.Body.Roles = append(out.Body.Roles, g.Role.String())
					}
				}
				return nil
			})
			return out, err
		})
	huma.Register(s.api, operation(http.MethodPost, "/v1/api-keys/revoke", "revoke-api-key", "Revoke an API key: your own, or one you could have issued", http.StatusNoContent, false),
		func(ctx context.Context, in *revokeInput) (*struct{}, error) {
			return s.done(ctx, func(t actors.Target) actors.Command {
				return &actors.RevokeAPIKey{Target: t, Hash: HashKey(in.Body.APIKey), LegacyHash: legacyHash(in.Body.APIKey)}
			})
		})
	huma.Register(s.api, operation(http.MethodGet, "/v1/errors/recent", "recent-errors", "Recent refused requests of this tenant on this node", http.StatusOK, false),
		func(ctx context.Context, _ *struct{}) (*struct{ Body []RecentError }, error) {
			c := callerOf(ctx)
			err := s.read(ctx, false, func(t *actors.Tenant) error {
				if err := t.Allowed(c.p, actors.ActDeveloper, nil, 0); err != nil {
					return s.problem(ctx, err)
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
			return &struct{ Body []RecentError }{Body: s.recent.list(c.tenant)}, nil
		})
	huma.Register(s.api, operation(http.MethodGet, "/v1/audit", "audit", "Who changed what, as far as the caller may see", http.StatusOK, false),
		func(ctx context.Context, in *auditInput) (*struct{ Body []AuditView }, error) {
			c := callerOf(ctx)
			out := &struct{ Body []AuditView }{Body: []AuditView{}}
			err := s.read(ctx, false, func(t *actors.Tenant) error {
				if err := t.Allowed(c.p, actors.ActViewReports, nil, 0); err != nil {
					return s.problem(ctx, err)
				}
				for a := range t.Audit.All() {
					if in.Category != "" && a.Kind.IsActivity() != (in.Category == "activity") || !auditVisible(t, c.p, a.By) {
						continue
					}
					out.Body = append(out.Body, AuditView{Time: time.Unix(0, a.At).UTC(), UserID: uint32(a.By.User), ChannelID: uint32(a.By.App),
						Operator: a.By.Kind == actors.PrincipalOperator || a.By.Kind == actors.PrincipalSystem, Command: uint16(a.Kind), Action: a.Kind.String(), ObjectID: a.Object})
				}
				return nil
			})
			return out, err
		})

	// Cluster operations, for the operator.
	huma.Register(s.api, operation(http.MethodGet, "/v1/cluster/state", "state-hash", "This node's applied index and the hash of its state", http.StatusOK, true),
		func(ctx context.Context, _ *struct{}) (*struct{ Body StateHash }, error) {
			_, h, err := s.o.Node.State()
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return &struct{ Body StateHash }{Body: StateHash{AppliedIndex: s.o.Node.AppliedIndex(), Hash: hex.EncodeToString(h[:])}}, nil
		})
	huma.Register(s.api, operation(http.MethodGet, "/v1/cluster/snapshot", "save-snapshot", "The whole state as a snapshot file", http.StatusOK, true),
		func(ctx context.Context, _ *struct{}) (*snapshotFile, error) {
			var buf bytes.Buffer
			if err := s.o.Node.WriteSnapshot(&buf); err != nil {
				return nil, s.problem(ctx, err)
			}
			return &snapshotFile{ContentType: "application/octet-stream", Body: buf.Bytes()}, nil
		})
	restore := operation(http.MethodPost, "/v1/cluster/snapshot", "restore-snapshot", "Replace the whole state with a snapshot file (disaster recovery)", http.StatusNoContent, true)
	restore.MaxBodyBytes = 1 << 30
	huma.Register(s.api, restore, func(ctx context.Context, in *struct {
		RawBody []byte `contentType:"application/octet-stream"`
	}) (*struct{}, error) {
		if err := s.o.Node.RestoreSnapshot(bytes.NewReader(in.RawBody)); err != nil {
			return nil, huma.Error422UnprocessableEntity("the snapshot could not be restored", &huma.ErrorDetail{Location: "body", Message: err.Error()})
		}
		return nil, nil
	})
	huma.Register(s.api, operation(http.MethodGet, "/v1/cluster/peers", "list-peers", "The Raft configuration", http.StatusOK, true),
		func(ctx context.Context, _ *struct{}) (*struct{ Body []cluster.Peer }, error) {
			peers, err := s.o.Node.Peers()
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return &struct{ Body []cluster.Peer }{Body: peers}, nil
		})
	huma.Register(s.api, operation(http.MethodDelete, "/v1/cluster/peers/{peerId}", "remove-peer", "Remove a server from the cluster", http.StatusNoContent, true),
		func(ctx context.Context, in *PeerPath) (*struct{}, error) {
			if err := s.o.Node.RemovePeer(in.PeerID); err != nil {
				return nil, huma.Error409Conflict(err.Error())
			}
			return nil, nil
		})
	huma.Register(s.api, operation(http.MethodPost, "/v1/cluster/transfer-leadership", "transfer-leadership", "Hand leadership to another voter", http.StatusNoContent, true),
		func(ctx context.Context, _ *struct{}) (*struct{}, error) {
			if err := s.o.Node.TransferLeadership(); err != nil {
				return nil, huma.Error409Conflict(err.Error())
			}
			return nil, nil
		})
}

// auditVisible: users see entries by principals of domains they can see.
func auditVisible(t *actors.Tenant, viewer, by actors.Principal) bool {
	switch by.Kind {
	case actors.PrincipalUser:
		u := t.Users[by.User]
		return u == nil || t.Allowed(viewer, actors.ActView, []actors.DomainID{u.Home}, 0) == nil
	case actors.PrincipalApp:
		a := t.Apps[by.App]
		return a == nil || t.Allowed(viewer, actors.ActView, []actors.DomainID{a.Domain}, 0) == nil
	}
	return t.Allowed(viewer, actors.ActAdminister, nil, 0) == nil
}

func (s *Server) routes() {
	s.tenantRoutes()
	s.configRoutes()
	s.callbackRoutes()
	s.offerRoutes()
	s.miscRoutes()
}
