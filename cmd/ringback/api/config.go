package api

import (
	"cmp"
	"context"
	"maps"
	"net/http"
	"slices"

	"github.com/danielgtaylor/huma/v2"
	"github.com/ringbackhq/ringback/actors"
)

// Tenant configuration endpoints: domains, users, access groups, folders,
// channels, codes and queues. The tenant is the caller's, from the key.

// DomainView is a domain.
type DomainView struct {
	ID       uint32 `json:"id"`
	Name     string `json:"name"`
	ParentID uint32 `json:"parentId,omitempty"`
}

type DomainPath struct {
	DomainID uint32 `path:"domainId" minimum:"1"`
}

type createDomainInput struct {
	Body struct {
		Name     string `json:"name" minLength:"1" maxLength:"500"`
		ParentID uint32 `json:"parentId" minimum:"1"`
	}
}

type renameDomainInput struct {
	DomainPath
	Body renameBody
}

type idOutput struct {
	Status int
	Body   struct {
		ID uint64 `json:"id"`
	}
}

func created(id uint64) *idOutput {
	o := &idOutput{Status: http.StatusCreated}
	o.Body.ID = id
	return o
}

// RoleBody grants a role in some domains or all.
type RoleBody struct {
	Role       string   `json:"role" enum:"administrator,supervisor,monitor,developer,agent"`
	DomainIDs  []uint32 `json:"domainIds,omitempty" maxItems:"1000"`
	AllDomains bool     `json:"allDomains,omitempty"`
}

// PositionBody is an agent position.
type PositionBody struct {
	DomainID uint32 `json:"domainId" minimum:"1"`
	Name     string `json:"name,omitempty" maxLength:"500"`
}

// UserView is a user.
type UserView struct {
	ID             uint32         `json:"id"`
	Username       string         `json:"username"`
	Name           string         `json:"name,omitempty"`
	HomeDomainID   uint32         `json:"homeDomainId"`
	Roles          []RoleBody     `json:"roles"`
	Positions      []PositionBody `json:"positions"`
	ActivePosition int            `json:"activePosition"`
	AccessGroupIDs []uint32       `json:"accessGroupIds"`
	Presence       string         `json:"presence,omitempty"`
}

type createUserInput struct {
	Body struct {
		Username       string         `json:"username" minLength:"1" maxLength:"100"`
		Name           string         `json:"name,omitempty" maxLength:"500"`
		HomeDomainID   uint32         `json:"homeDomainId" minimum:"1"`
		Roles          []RoleBody     `json:"roles" minItems:"1" maxItems:"20"`
		Positions      []PositionBody `json:"positions,omitempty" maxItems:"50"`
		AccessGroupIDs []uint32       `json:"accessGroupIds,omitempty" maxItems:"100"`
	}
}

type UserPath struct {
	UserID uint32 `path:"userId" minimum:"1"`
}

type updateUserInput struct {
	UserPath
	Body struct {
		Roles          *[]RoleBody     `json:"roles,omitempty" minItems:"1" maxItems:"20"`
		Positions      *[]PositionBody `json:"positions,omitempty" maxItems:"50" doc:"only while the agent is offline"`
		AccessGroupIDs *[]uint32       `json:"accessGroupIds,omitempty" maxItems:"100"`
	}
}

type presenceInput struct {
	UserPath
	Body struct {
		State  string `json:"state" enum:"available,away,offline"`
		Reason string `json:"reason,omitempty" maxLength:"100"`
	}
}

type positionInput struct {
	UserPath
	Body struct {
		Position *int   `json:"position,omitempty" minimum:"0" doc:"index into the user's positions; or give domainId"`
		DomainID uint32 `json:"domainId,omitempty" doc:"the agent's position in this domain; or give position"`
		Name     string `json:"name,omitempty" maxLength:"500" doc:"which of the agent's positions in domainId, when there are several"`
	}
}

type nameInput struct {
	Body struct {
		Name string `json:"name" minLength:"1" maxLength:"500"`
	}
}

type folderInput struct {
	Body struct {
		Name               string   `json:"name" minLength:"1" maxLength:"500"`
		DomainID           uint32   `json:"domainId" minimum:"1"`
		Propagate          bool     `json:"propagate,omitempty"`
		RevokeReadGroupIDs []uint32 `json:"revokeReadGroupIds,omitempty" maxItems:"100"`
	}
}

type channelInput struct {
	Body struct {
		Name     string `json:"name" minLength:"1" maxLength:"500"`
		DomainID uint32 `json:"domainId" minimum:"1"`
	}
}

type codeInput struct {
	Body struct {
		Name     string `json:"name" minLength:"1" maxLength:"100"`
		DomainID uint32 `json:"domainId,omitempty" doc:"omit for an unassigned code, visible to everyone"`
	}
}

// CodeView is a wrap-up code or an away reason.
type CodeView struct {
	ID       uint32 `json:"id"`
	Name     string `json:"name"`
	DomainID uint32 `json:"domainId,omitempty" doc:"absent for an unassigned code, visible to everyone"`
}

// GroupView is an access group.
type GroupView struct {
	ID   uint32 `json:"id"`
	Name string `json:"name"`
}

// FolderView is a queue folder.
type FolderView struct {
	ID                 uint32   `json:"id"`
	Name               string   `json:"name"`
	DomainID           uint32   `json:"domainId"`
	Propagate          bool     `json:"propagate"`
	RevokeReadGroupIDs []uint32 `json:"revokeReadGroupIds,omitempty"`
}

// ChannelView is a channel application (its keys are never shown again).
type ChannelView struct {
	ID       uint32 `json:"id"`
	Name     string `json:"name"`
	DomainID uint32 `json:"domainId"`
}

// QueueView is a virtual queue.
type QueueView struct {
	ID                  uint32   `json:"id"`
	Name                string   `json:"name"`
	DomainID            uint32   `json:"domainId"`
	FolderID            uint32   `json:"folderId,omitempty"`
	Strategy            string   `json:"strategy"`
	ServiceLevelSeconds int      `json:"serviceLevelSeconds,omitempty"`
	RevokeReadGroupIDs  []uint32 `json:"revokeReadGroupIds,omitempty"`
}

type queueInput struct {
	Body struct {
		Name                string   `json:"name" minLength:"1" maxLength:"500"`
		DomainID            uint32   `json:"domainId" minimum:"1"`
		Strategy            string   `json:"strategy,omitempty" enum:"longest-idle,round-robin,fewest-handled"`
		FolderID            uint32   `json:"folderId,omitempty"`
		ServiceLevelSeconds int      `json:"serviceLevelSeconds,omitempty" minimum:"0" maximum:"86400"`
		RevokeReadGroupIDs  []uint32 `json:"revokeReadGroupIds,omitempty" maxItems:"100"`
	}
}

type QueuePath struct {
	QueueID uint32 `path:"queueId" minimum:"1"`
}

type updateQueueInput struct {
	QueuePath
	Body struct {
		Name                *string   `json:"name,omitempty" minLength:"1" maxLength:"500"`
		Strategy            *string   `json:"strategy,omitempty" enum:"longest-idle,round-robin,fewest-handled"`
		FolderID            *uint32   `json:"folderId,omitempty" doc:"0 takes the queue out of its folder"`
		ServiceLevelSeconds *int      `json:"serviceLevelSeconds,omitempty" minimum:"0" maximum:"86400" doc:"0: the tenant's"`
		RevokeReadGroupIDs  *[]uint32 `json:"revokeReadGroupIds,omitempty" maxItems:"100"`
	}
}

type FolderPath struct {
	FolderID uint32 `path:"folderId" minimum:"1"`
}

type GroupPath struct {
	GroupID uint32 `path:"groupId" minimum:"1"`
}

type ChannelPath struct {
	ChannelID uint32 `path:"channelId" minimum:"1"`
}

type CodePath struct {
	CodeID uint32 `path:"codeId" minimum:"1"`
}

type updateFolderInput struct {
	FolderPath
	Body struct {
		Propagate          *bool     `json:"propagate,omitempty"`
		RevokeReadGroupIDs *[]uint32 `json:"revokeReadGroupIds,omitempty" maxItems:"100"`
	}
}

type membersInput struct {
	QueuePath
	Body []struct {
		UserID uint32 `json:"userId" minimum:"1"`
		Tier   int    `json:"tier,omitempty" minimum:"1" maximum:"10"`
	} `maxItems:"10000"`
}

// maxMembersBody is the body limit of a queue's members list: room for
// the 10,000 members the schema allows, each written out in full
// (`{"userId":4294967295,"tier":10}`, 32 bytes) with spacing to spare.
const maxMembersBody = 10000 * 64

// QueueStatsView is a queue's real-time statistics across the domains the
// caller may see.
type QueueStatsView struct {
	Waiting            int     `json:"waiting"`
	LongestWaitSeconds float64 `json:"longestWaitSeconds"`
	AgentsAvailable    int     `json:"agentsAvailable"`
	Offered            int64   `json:"offered"`
	Answered           int64   `json:"answered"`
	Completed          int64   `json:"completed"`
	Abandoned          int64   `json:"abandoned"`
	ServiceLevel       float64 `json:"serviceLevel"`
}

func ids[T ~uint32](in []uint32) []T {
	out := make([]T, len(in))
	for i, v := range in {
		out[i] = T(v)
	}
	return out
}

// uint32s is the inverse of ids: identifiers as the API writes them.
func uint32s[T ~uint32](in []T) []uint32 {
	out := make([]uint32, len(in))
	for i, v := range in {
		out[i] = uint32(v)
	}
	return out
}

// positions reads agent positions; an unnamed one is named after its domain.
func positions(in []PositionBody) []actors.Position {
	var out []actors.Position
	for _, p := range in {
		name := p.Name
		if name == "" {
			name = "position-" + itoa(uint64(p.DomainID))
		}
		out = append(out, actors.Position{Name: name, Domain: actors.DomainID(p.DomainID)})
	}
	return out
}

func roles(in []RoleBody) []actors.Grant {
	out := make([]actors.Grant, len(in))
	for i, r := range in {
		role, _ := actors.ParseRole(r.Role)
		out[i] = actors.Grant{Role: role, Scope: actors.Scope{All: r.AllDomains, Domains: ids[actors.DomainID](r.DomainIDs)}}
	}
	return out
}

func userView(u *actors.User) UserView {
	v := UserView{ID: uint32(u.ID), Username: u.Name, Name: u.FullName, HomeDomainID: uint32(u.Home), ActivePosition: u.Active,
		Roles: []RoleBody{}, Positions: []PositionBody{}, AccessGroupIDs: uint32s(u.Groups)}
	for _, g := range u.Grants {
		v.Roles = append(v.Roles, RoleBody{Role: g.Role.String(), AllDomains: g.Scope.All, DomainIDs: uint32s(g.Scope.Domains)})
	}
	for _, p := range u.Positions {
		v.Positions = append(v.Positions, PositionBody{DomainID: uint32(p.Domain), Name: p.Name})
	}
	if u.Presence != 0 {
		v.Presence = u.Presence.String()
	}
	return v
}

func domainView(n *actors.DomainNode) DomainView {
	return DomainView{ID: uint32(n.ID), Name: n.Name, ParentID: uint32(n.Parent)}
}

func queueView(q *actors.Queue) QueueView {
	return QueueView{ID: uint32(q.ID), Name: q.Name, DomainID: uint32(q.Domain), FolderID: uint32(q.Folder),
		Strategy: q.Strategy.String(), ServiceLevelSeconds: int(q.ServiceLevel.Seconds()), RevokeReadGroupIDs: uint32s(q.RevokeRead)}
}

// cmd proposes a tenant command built from the caller's target.
func (s *Server) cmd(ctx context.Context, build func(actors.Target) actors.Command) (actors.Outcome, error) {
	return s.propose(ctx, build(callerOf(ctx).target()))
}

func (s *Server) create(ctx context.Context, build func(actors.Target) actors.Command) (*idOutput, error) {
	out, err := s.cmd(ctx, build)
	if err != nil {
		return nil, err
	}
	return created(out.Result.ID), nil
}

func (s *Server) done(ctx context.Context, build func(actors.Target) actors.Command) (*struct{}, error) {
	_, err := s.cmd(ctx, build)
	return nil, err
}

// deleteRoute registers a tenant DELETE: one command, built from the path
// parameters I, answering 204.
func deleteRoute[I any](s *Server, path, id, summary string, build func(actors.Target, *I) actors.Command) {
	commandRoute(s, http.MethodDelete, path, id, summary, build)
}

// commandRoute registers a tenant operation that is one command, built
// from its input I, answering 204.
func commandRoute[I any](s *Server, method, path, id, summary string, build func(actors.Target, *I) actors.Command) {
	huma.Register(s.api, operation(method, path, id, summary, http.StatusNoContent, false),
		func(ctx context.Context, in *I) (*struct{}, error) {
			return s.done(ctx, func(t actors.Target) actors.Command { return build(t, in) })
		})
}

// renameBody is the body of a rename.
type renameBody struct {
	Name string `json:"name" minLength:"1" maxLength:"500"`
}

type renameChannelInput struct {
	ChannelPath
	Body renameBody
}

type renameGroupInput struct {
	GroupPath
	Body renameBody
}

type renameCodeInput struct {
	CodePath
	Body renameBody
}

func notFoundAt(loc string) error {
	return huma.Error404NotFound("not found", &huma.ErrorDetail{Location: loc, Message: "no such object"})
}

func (s *Server) configRoutes() {
	tenantOp := func(method, path, id, summary string, status int) huma.Operation {
		return operation(method, path, id, summary, status, false)
	}
	// Domains.
	huma.Register(s.api, tenantOp(http.MethodGet, "/v1/domains", "list-domains", "List the domains the caller can see", http.StatusOK),
		func(ctx context.Context, _ *struct{}) (*struct{ Body []DomainView }, error) {
			return listVisible(s, ctx, func(t *actors.Tenant) map[actors.DomainID]*actors.DomainNode { return t.Domains },
				func(n *actors.DomainNode) (actors.DomainID, bool) { return n.ID, true }, domainView)
		})
	huma.Register(s.api, tenantOp(http.MethodGet, "/v1/domains/home", "get-home-domain", "The tenant's Home domain", http.StatusOK),
		func(ctx context.Context, _ *struct{}) (*struct{ Body DomainView }, error) {
			return s.domain(ctx, actors.HomeDomain)
		})
	huma.Register(s.api, tenantOp(http.MethodGet, "/v1/domains/{domainId}", "get-domain", "Get a domain", http.StatusOK),
		func(ctx context.Context, in *DomainPath) (*struct{ Body DomainView }, error) {
			return s.domain(ctx, actors.DomainID(in.DomainID))
		})
	huma.Register(s.api, tenantOp(http.MethodGet, "/v1/domains/{domainId}/realtime-statistics", "domain-statistics", "A domain's real-time statistics: its queues that the caller can see, summed, with agents counted once", http.StatusOK),
		func(ctx context.Context, in *DomainPath) (*struct{ Body QueueStatsView }, error) {
			out := &struct{ Body QueueStatsView }{}
			c := callerOf(ctx)
			err := s.read(ctx, false, func(t *actors.Tenant) error {
				r, err := t.DomainReport(c.p, actors.DomainID(in.DomainID), s.o.Clock())
				if err != nil {
					return s.problem(ctx, err)
				}
				out.Body = QueueStatsView{Waiting: r.Waiting, LongestWaitSeconds: r.LongestWait.Seconds(), AgentsAvailable: r.AgentsAvailable,
					Offered: r.Offered, Answered: r.Answered, Completed: r.Completed, Abandoned: r.Abandoned, ServiceLevel: r.ServiceLevel}
				return nil
			})
			return out, err
		})
	huma.Register(s.api, tenantOp(http.MethodPost, "/v1/domains", "create-domain", "Create a domain under a parent", http.StatusCreated),
		func(ctx context.Context, in *createDomainInput) (*idOutput, error) {
			return s.create(ctx, func(t actors.Target) actors.Command {
				return &actors.CreateDomain{Target: t, Name: in.Body.Name, Parent: actors.DomainID(in.Body.ParentID)}
			})
		})
	commandRoute(s, http.MethodPatch, "/v1/domains/{domainId}", "rename-domain", "Rename a domain",
		func(t actors.Target, in *renameDomainInput) actors.Command {
			return &actors.RenameDomain{Target: t, Domain: actors.DomainID(in.DomainID), Name: in.Body.Name}
		})
	deleteRoute(s, "/v1/domains/{domainId}", "delete-domain", "Delete an empty domain",
		func(t actors.Target, in *DomainPath) actors.Command {
			return &actors.DeleteDomain{Target: t, Domain: actors.DomainID(in.DomainID)}
		})

	// Users.
	huma.Register(s.api, tenantOp(http.MethodPost, "/v1/users", "create-user", "Create a user", http.StatusCreated),
		func(ctx context.Context, in *createUserInput) (*idOutput, error) {
			b := in.Body
			return s.create(ctx, func(t actors.Target) actors.Command {
				return &actors.CreateUser{Target: t, Name: b.Username, FullName: b.Name, Home: actors.DomainID(b.HomeDomainID),
					Grants: roles(b.Roles), Groups: ids[actors.GroupID](b.AccessGroupIDs), Positions: positions(b.Positions)}
			})
		})
	huma.Register(s.api, tenantOp(http.MethodPatch, "/v1/users/{userId}", "update-user", "Replace a user's roles, positions or access groups", http.StatusOK),
		func(ctx context.Context, in *updateUserInput) (*struct{ Body UserView }, error) {
			b, id := in.Body, actors.UserID(in.UserID)
			cmd := &actors.UpdateUser{Target: callerOf(ctx).target(), User: id, Grants: mapPtr(b.Roles, roles),
				Positions: mapPtr(b.Positions, positions), Groups: mapPtr(b.AccessGroupIDs, ids[actors.GroupID])}
			if _, err := s.propose(ctx, cmd); err != nil {
				return nil, err
			}
			return s.user(ctx, id)
		})
	deleteRoute(s, "/v1/users/{userId}", "delete-user", "Delete an offline user and revoke their keys",
		func(t actors.Target, in *UserPath) actors.Command {
			return &actors.DeleteUser{Target: t, User: actors.UserID(in.UserID)}
		})
	huma.Register(s.api, tenantOp(http.MethodGet, "/v1/users", "list-users", "List the users the caller can see", http.StatusOK),
		func(ctx context.Context, _ *struct{}) (*struct{ Body []UserView }, error) {
			return listVisible(s, ctx, func(t *actors.Tenant) map[actors.UserID]*actors.User { return t.Users },
				func(u *actors.User) (actors.DomainID, bool) { return u.Home, true }, userView)
		})
	huma.Register(s.api, tenantOp(http.MethodGet, "/v1/users/{userId}", "get-user", "Get a user", http.StatusOK),
		func(ctx context.Context, in *UserPath) (*struct{ Body UserView }, error) {
			return s.user(ctx, actors.UserID(in.UserID))
		})
	huma.Register(s.api, tenantOp(http.MethodPost, "/v1/users/{userId}/api-keys", "create-user-api-key", "Issue an API key for a user", http.StatusCreated),
		func(ctx context.Context, in *UserPath) (*keyOutput, error) {
			c := callerOf(ctx)
			key, err := s.putKey(ctx, c.tenant, c.p, actors.AsUser(actors.UserID(in.UserID)))
			if err != nil {
				return nil, err
			}
			out := &keyOutput{Status: http.StatusCreated}
			out.Body.ID, out.Body.APIKey = uint64(in.UserID), key
			return out, nil
		})
	huma.Register(s.api, tenantOp(http.MethodPut, "/v1/users/{userId}/active-position", "switch-position", "Make another of the agent's positions active", http.StatusNoContent),
		func(ctx context.Context, in *positionInput) (*struct{}, error) {
			b := in.Body
			if (b.Position == nil) == (b.DomainID == 0) {
				return nil, huma.Error422UnprocessableEntity("invalid input", &huma.ErrorDetail{Location: "body.position", Message: "give position or domainId, not both"})
			}
			return s.done(ctx, func(t actors.Target) actors.Command {
				c := &actors.SwitchPosition{Target: t, Agent: actors.UserID(in.UserID), Domain: actors.DomainID(b.DomainID), Name: b.Name}
				if b.Position != nil {
					c.Position = *b.Position
				}
				return c
			})
		})
	huma.Register(s.api, tenantOp(http.MethodPut, "/v1/users/{userId}/presence", "set-presence", "Set an agent's presence", http.StatusNoContent),
		func(ctx context.Context, in *presenceInput) (*struct{}, error) {
			p, _ := actors.ParsePresence(in.Body.State)
			return s.done(ctx, func(t actors.Target) actors.Command {
				return &actors.SetPresence{Target: t, Agent: actors.UserID(in.UserID), Presence: p, Reason: in.Body.Reason}
			})
		})

	// Access groups, folders, channels, codes.
	groups := func(t *actors.Tenant) map[actors.GroupID]*actors.Group { return t.Groups }
	groupPlace := func(*actors.Group) (actors.DomainID, bool) { return 0, true }
	groupView := func(g *actors.Group) GroupView { return GroupView{ID: uint32(g.ID), Name: g.Name} }
	huma.Register(s.api, tenantOp(http.MethodGet, "/v1/access-groups", "list-access-groups", "List the tenant's access groups (lines of business; they belong to no domain)", http.StatusOK),
		func(ctx context.Context, _ *struct{}) (*struct{ Body []GroupView }, error) {
			return listVisible(s, ctx, groups, groupPlace, groupView)
		})
	getRoute(s, "/v1/access-groups/{groupId}", "get-access-group", "Get an access group", "path.groupId", groups,
		func(in *GroupPath) actors.GroupID { return actors.GroupID(in.GroupID) }, groupPlace, groupView)
	huma.Register(s.api, tenantOp(http.MethodPost, "/v1/access-groups", "create-access-group", "Create an access group", http.StatusCreated),
		func(ctx context.Context, in *nameInput) (*idOutput, error) {
			return s.create(ctx, func(t actors.Target) actors.Command { return &actors.CreateGroup{Target: t, Name: in.Body.Name} })
		})
	commandRoute(s, http.MethodPatch, "/v1/access-groups/{groupId}", "rename-access-group", "Rename an access group",
		func(t actors.Target, in *renameGroupInput) actors.Command {
			return &actors.RenameObject{Target: t, Object: actors.RenameGroup, ID: in.GroupID, Name: in.Body.Name}
		})
	deleteRoute(s, "/v1/access-groups/{groupId}", "delete-access-group", "Delete an access group no user is in; queues and folders stop naming it",
		func(t actors.Target, in *GroupPath) actors.Command {
			return &actors.DeleteGroup{Target: t, Group: actors.GroupID(in.GroupID)}
		})
	deleteRoute(s, "/v1/queue-folders/{folderId}", "delete-queue-folder", "Delete a queue folder that holds no queue",
		func(t actors.Target, in *FolderPath) actors.Command {
			return &actors.DeleteFolder{Target: t, Folder: actors.FolderID(in.FolderID)}
		})
	huma.Register(s.api, tenantOp(http.MethodPost, "/v1/queue-folders", "create-queue-folder", "Create a queue folder", http.StatusCreated),
		func(ctx context.Context, in *folderInput) (*idOutput, error) {
			b := in.Body
			return s.create(ctx, func(t actors.Target) actors.Command {
				return &actors.CreateFolder{Target: t, Name: b.Name, Domain: actors.DomainID(b.DomainID), Propagate: b.Propagate,
					RevokeRead: ids[actors.GroupID](b.RevokeReadGroupIDs)}
			})
		})
	huma.Register(s.api, tenantOp(http.MethodPatch, "/v1/queue-folders/{folderId}", "update-queue-folder", "Change whether a folder's permissions propagate, and which groups may not read its queues", http.StatusNoContent),
		func(ctx context.Context, in *updateFolderInput) (*struct{}, error) {
			return s.done(ctx, func(t actors.Target) actors.Command {
				return &actors.UpdateFolder{Target: t, Folder: actors.FolderID(in.FolderID), Propagate: in.Body.Propagate,
					RevokeRead: mapPtr(in.Body.RevokeReadGroupIDs, ids[actors.GroupID])}
			})
		})
	folders := func(t *actors.Tenant) map[actors.FolderID]*actors.Folder { return t.Folders }
	folderPlace := func(f *actors.Folder) (actors.DomainID, bool) { return f.Domain, true }
	folderView := func(f *actors.Folder) FolderView {
		return FolderView{ID: uint32(f.ID), Name: f.Name, DomainID: uint32(f.Domain), Propagate: f.Propagate, RevokeReadGroupIDs: uint32s(f.RevokeRead)}
	}
	huma.Register(s.api, tenantOp(http.MethodGet, "/v1/queue-folders", "list-queue-folders", "List the queue folders the caller can see", http.StatusOK),
		func(ctx context.Context, _ *struct{}) (*struct{ Body []FolderView }, error) {
			return listVisible(s, ctx, folders, folderPlace, folderView)
		})
	getRoute(s, "/v1/queue-folders/{folderId}", "get-queue-folder", "Get a queue folder", "path.folderId", folders,
		func(in *FolderPath) actors.FolderID { return actors.FolderID(in.FolderID) }, folderPlace, folderView)
	apps := func(t *actors.Tenant) map[actors.AppID]*actors.App { return t.Apps }
	appPlace := func(a *actors.App) (actors.DomainID, bool) { return a.Domain, true }
	appView := func(a *actors.App) ChannelView {
		return ChannelView{ID: uint32(a.ID), Name: a.Name, DomainID: uint32(a.Domain)}
	}
	huma.Register(s.api, tenantOp(http.MethodGet, "/v1/channels", "list-channels", "List the channel applications the caller can see", http.StatusOK),
		func(ctx context.Context, _ *struct{}) (*struct{ Body []ChannelView }, error) {
			return listVisible(s, ctx, apps, appPlace, appView)
		})
	getRoute(s, "/v1/channels/{channelId}", "get-channel", "Get a channel application", "path.channelId", apps,
		func(in *ChannelPath) actors.AppID { return actors.AppID(in.ChannelID) }, appPlace, appView)
	commandRoute(s, http.MethodPatch, "/v1/channels/{channelId}", "rename-channel", "Rename a channel application",
		func(t actors.Target, in *renameChannelInput) actors.Command {
			return &actors.RenameObject{Target: t, Object: actors.RenameApp, ID: in.ChannelID, Name: in.Body.Name}
		})
	deleteRoute(s, "/v1/channels/{channelId}", "delete-channel", "Delete a channel application: its keys stop working; the callbacks it asked for stay",
		func(t actors.Target, in *ChannelPath) actors.Command {
			return &actors.DeleteApp{Target: t, App: actors.AppID(in.ChannelID)}
		})
	huma.Register(s.api, tenantOp(http.MethodPost, "/v1/channels", "create-channel", "Register a channel application bound to a domain", http.StatusCreated),
		func(ctx context.Context, in *channelInput) (*keyOutput, error) {
			// The application and its key in one step: no channel without a key.
			secret, hash := newSecret()
			out, err := s.cmd(ctx, func(t actors.Target) actors.Command {
				return &actors.CreateApp{Target: t, Name: in.Body.Name, Domain: actors.DomainID(in.Body.DomainID), KeyHash: hash}
			})
			if err != nil {
				return nil, err
			}
			res := &keyOutput{Status: http.StatusCreated}
			res.Body.ID, res.Body.APIKey = out.Result.ID, keyOf(callerOf(ctx).tenant, secret)
			return res, nil
		})
	for _, k := range []struct {
		path, id, one, many string
		kind                actors.CodeKind
		rename              actors.Renamable
	}{{"/v1/wrapup-codes", "wrapup-code", "a wrap-up code (a disposition)", "wrap-up codes", actors.WrapUpCode, actors.RenameWrapUpCode},
		{"/v1/away-reasons", "away-reason", "an away reason", "away reasons", actors.AwayReason, actors.RenameAwayReason}} {
		commandRoute(s, http.MethodPatch, k.path+"/{codeId}", "rename-"+k.id, "Rename "+k.one,
			func(t actors.Target, in *renameCodeInput) actors.Command {
				return &actors.RenameObject{Target: t, Object: k.rename, ID: in.CodeID, Name: in.Body.Name}
			})
		huma.Register(s.api, tenantOp(http.MethodPost, k.path, "create-"+k.id, "Create "+k.one, http.StatusCreated),
			func(ctx context.Context, in *codeInput) (*idOutput, error) {
				return s.create(ctx, func(t actors.Target) actors.Command {
					return &actors.CreateCode{Target: t, CodeKind: k.kind, Name: in.Body.Name, Domain: actors.DomainID(in.Body.DomainID)}
				})
			})
		deleteRoute(s, k.path+"/{codeId}", "delete-"+k.id, "Delete "+k.one+"; closed callbacks keep naming it",
			func(t actors.Target, in *CodePath) actors.Command {
				return &actors.DeleteCode{Target: t, CodeKind: k.kind, Code: actors.CodeID(in.CodeID)}
			})
		codes := func(t *actors.Tenant) map[actors.CodeID]*actors.Code { return t.Codes }
		codePlace := func(c *actors.Code) (actors.DomainID, bool) { return c.Domain, c.Kind == k.kind }
		codeView := func(c *actors.Code) CodeView {
			return CodeView{ID: uint32(c.ID), Name: c.Name, DomainID: uint32(c.Domain)}
		}
		huma.Register(s.api, tenantOp(http.MethodGet, k.path, "list-"+k.id+"s", "List the "+k.many+" the caller can see: unassigned ones and those of visible domains", http.StatusOK),
			func(ctx context.Context, _ *struct{}) (*struct{ Body []CodeView }, error) {
				return listVisible(s, ctx, codes, codePlace, codeView)
			})
		getRoute(s, k.path+"/{codeId}", "get-"+k.id, "Get "+k.one, "path.codeId", codes,
			func(in *CodePath) actors.CodeID { return actors.CodeID(in.CodeID) }, codePlace, codeView)
	}

	// Queues.
	huma.Register(s.api, tenantOp(http.MethodPost, "/v1/queues", "create-queue", "Create a virtual queue", http.StatusCreated),
		func(ctx context.Context, in *queueInput) (*idOutput, error) {
			b := in.Body
			st, _ := actors.ParseStrategy(b.Strategy)
			return s.create(ctx, func(t actors.Target) actors.Command {
				return &actors.CreateQueue{Target: t, Name: b.Name, Domain: actors.DomainID(b.DomainID), Folder: actors.FolderID(b.FolderID),
					Strategy: st, ServiceLevel: seconds(b.ServiceLevelSeconds), RevokeRead: ids[actors.GroupID](b.RevokeReadGroupIDs)}
			})
		})
	huma.Register(s.api, tenantOp(http.MethodGet, "/v1/queues", "list-queues", "List the queues the caller can see", http.StatusOK),
		func(ctx context.Context, _ *struct{}) (*struct{ Body []QueueView }, error) {
			out := &struct{ Body []QueueView }{Body: []QueueView{}}
			c := callerOf(ctx)
			err := s.read(ctx, false, func(t *actors.Tenant) error {
				for _, id := range slices.Sorted(maps.Keys(t.Queues)) {
					q := t.Queues[id]
					if t.Allowed(c.p, actors.ActView, []actors.DomainID{q.Domain}, q.ID) == nil {
						out.Body = append(out.Body, queueView(q))
					}
				}
				return nil
			})
			return out, err
		})
	huma.Register(s.api, tenantOp(http.MethodGet, "/v1/queues/{queueId}", "get-queue", "Get a virtual queue", http.StatusOK),
		func(ctx context.Context, in *QueuePath) (*struct{ Body QueueView }, error) {
			return s.queue(ctx, actors.QueueID(in.QueueID))
		})
	huma.Register(s.api, tenantOp(http.MethodPatch, "/v1/queues/{queueId}", "update-queue", "Change a queue's name, strategy, folder, service level or read permissions", http.StatusOK),
		func(ctx context.Context, in *updateQueueInput) (*struct{ Body QueueView }, error) {
			b, id := in.Body, actors.QueueID(in.QueueID)
			strategy := func(name string) actors.Strategy { st, _ := actors.ParseStrategy(name); return st } // the schema checked it
			cmd := &actors.UpdateQueue{Target: callerOf(ctx).target(), Queue: id, Name: b.Name, Strategy: mapPtr(b.Strategy, strategy),
				Folder:       mapPtr(b.FolderID, func(f uint32) actors.FolderID { return actors.FolderID(f) }),
				ServiceLevel: mapPtr(b.ServiceLevelSeconds, seconds), RevokeRead: mapPtr(b.RevokeReadGroupIDs, ids[actors.GroupID])}
			if _, err := s.propose(ctx, cmd); err != nil {
				return nil, err
			}
			return s.queue(ctx, id)
		})
	deleteRoute(s, "/v1/queues/{queueId}", "delete-queue", "Delete a queue that holds no active callback; its members leave it, finished callbacks keep naming it",
		func(t actors.Target, in *QueuePath) actors.Command {
			return &actors.DeleteQueue{Target: t, Queue: actors.QueueID(in.QueueID)}
		})
	setMembers := tenantOp(http.MethodPut, "/v1/queues/{queueId}/members", "set-queue-members", "Replace a queue's members", http.StatusNoContent)
	setMembers.MaxBodyBytes = maxMembersBody
	huma.Register(s.api, setMembers,
		func(ctx context.Context, in *membersInput) (*struct{}, error) {
			ms := make([]actors.Member, len(in.Body))
			for i, m := range in.Body {
				tier := m.Tier
				if tier == 0 {
					tier = 1
				}
				ms[i] = actors.Member{Agent: actors.UserID(m.UserID), Tier: tier}
			}
			return s.done(ctx, func(t actors.Target) actors.Command {
				return &actors.SetQueueMembers{Target: t, Queue: actors.QueueID(in.QueueID), Members: ms}
			})
		})
	huma.Register(s.api, tenantOp(http.MethodGet, "/v1/queues/{queueId}/realtime-statistics", "queue-statistics", "A queue's real-time statistics", http.StatusOK),
		func(ctx context.Context, in *QueuePath) (*struct{ Body QueueStatsView }, error) {
			out := &struct{ Body QueueStatsView }{}
			c := callerOf(ctx)
			err := s.read(ctx, false, func(t *actors.Tenant) error {
				q := t.Queues[actors.QueueID(in.QueueID)]
				if q == nil || t.Allowed(c.p, actors.ActView, []actors.DomainID{q.Domain}, q.ID) != nil {
					return notFoundAt("path.queueId")
				}
				reps, err := t.Reports(c.p, s.o.Clock())
				if err != nil {
					return s.problem(ctx, err)
				}
				var answered, inSL int64
				for _, r := range reps {
					if r.Queue != q.ID {
						continue
					}
					v := &out.Body
					v.Waiting += r.Waiting
					v.LongestWaitSeconds = max(v.LongestWaitSeconds, r.LongestWait.Seconds())
					v.AgentsAvailable += r.AgentsAvailable
					v.Offered += r.Offered
					v.Answered += r.Answered
					v.Completed += r.Completed
					v.Abandoned += r.Abandoned
					answered += r.Answered
					inSL += r.AnsweredInSL
				}
				out.Body.ServiceLevel = 1
				if answered > 0 {
					out.Body.ServiceLevel = float64(inSL) / float64(answered)
				}
				return nil
			})
			return out, err
		})
}

// listVisible lists, in id order, the views of the objects of one kind
// (those place keeps) that the caller may see: those of a domain they can
// view, and those of no domain (0: unassigned), which everyone sees.
func listVisible[K cmp.Ordered, O, V any](s *Server, ctx context.Context, objects func(*actors.Tenant) map[K]*O,
	place func(*O) (domain actors.DomainID, keep bool), view func(*O) V) (*struct{ Body []V }, error) {
	out := &struct{ Body []V }{Body: []V{}}
	c := callerOf(ctx)
	err := s.read(ctx, false, func(t *actors.Tenant) error {
		all := objects(t)
		for _, id := range slices.Sorted(maps.Keys(all)) {
			d, keep := place(all[id])
			if keep && (d == 0 || t.Allowed(c.p, actors.ActView, []actors.DomainID{d}, 0) == nil) {
				out.Body = append(out.Body, view(all[id]))
			}
		}
		return nil
	})
	return out, err
}

// getVisible answers one object if the caller may see it, and otherwise
// exactly what an object that does not exist answers (loc names the path
// parameter): find returns nil for none, and the object's domain and, for
// a queue, its id (access groups may not read some queues).
func getVisible[O, V any](s *Server, ctx context.Context, loc string, find func(*actors.Tenant) (*O, actors.DomainID, actors.QueueID),
	view func(*O) V) (*struct{ Body V }, error) {
	out := &struct{ Body V }{}
	c := callerOf(ctx)
	err := s.read(ctx, false, func(t *actors.Tenant) error {
		o, d, q := find(t)
		var domains []actors.DomainID // none: an unassigned object, seen by everyone
		if d != 0 {
			domains = []actors.DomainID{d}
		}
		if o == nil || t.Allowed(c.p, actors.ActView, domains, q) != nil {
			return notFoundAt(loc)
		}
		out.Body = view(o)
		return nil
	})
	return out, err
}

// getRoute registers GET of one object of a kind the tenant keeps in a
// map (key reads its id from the input I), answering only what the caller
// may see; place says, as for listVisible, the object's domain (0: every
// domain's) and whether it is of the kind.
func getRoute[K comparable, O, V, I any](s *Server, path, id, summary, loc string, objects func(*actors.Tenant) map[K]*O,
	key func(*I) K, place func(*O) (actors.DomainID, bool), view func(*O) V) {
	huma.Register(s.api, operation(http.MethodGet, path, id, summary, http.StatusOK, false),
		func(ctx context.Context, in *I) (*struct{ Body V }, error) {
			return getVisible(s, ctx, loc, func(t *actors.Tenant) (*O, actors.DomainID, actors.QueueID) {
				if o := objects(t)[key(in)]; o != nil {
					if d, keep := place(o); keep {
						return o, d, 0
					}
				}
				return nil, 0, 0
			}, view)
		})
}

func (s *Server) user(ctx context.Context, id actors.UserID) (*struct{ Body UserView }, error) {
	return getVisible(s, ctx, "path.userId", func(t *actors.Tenant) (*actors.User, actors.DomainID, actors.QueueID) {
		if u := t.Users[id]; u != nil {
			return u, u.Home, 0
		}
		return nil, 0, 0
	}, userView)
}

func (s *Server) queue(ctx context.Context, id actors.QueueID) (*struct{ Body QueueView }, error) {
	return getVisible(s, ctx, "path.queueId", func(t *actors.Tenant) (*actors.Queue, actors.DomainID, actors.QueueID) {
		if q := t.Queues[id]; q != nil {
			return q, q.Domain, q.ID
		}
		return nil, 0, 0
	}, queueView)
}

func (s *Server) domain(ctx context.Context, id actors.DomainID) (*struct{ Body DomainView }, error) {
	return getVisible(s, ctx, "path.domainId", func(t *actors.Tenant) (*actors.DomainNode, actors.DomainID, actors.QueueID) {
		return t.Domains[id], id, 0
	}, domainView)
}
