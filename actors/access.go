package actors

import "slices"

// Action is something a principal may be allowed to do.
type Action uint8

const (
	ActView           Action = iota + 1 // read callbacks and configuration
	ActCreateCallback                   // ask for a callback on a customer's behalf
	ActManageCallback                   // cancel, reschedule, transfer
	ActHandleCallback                   // accept, reject, complete, fail an offered callback
	ActSetPresence                      // change another agent's presence
	ActViewReports
	ActExportReports
	ActDeveloper // recent errors, API key test, queue provisioning
	ActAdminister
)

// rolePermits is the one table of what each role may do. A user with
// several grants gets the union: the most permissive role wins.
var rolePermits = map[Role][]Action{
	RoleAdministrator: {ActView, ActCreateCallback, ActManageCallback, ActHandleCallback, ActSetPresence, ActViewReports, ActExportReports, ActDeveloper, ActAdminister},
	RoleSupervisor:    {ActView, ActCreateCallback, ActManageCallback, ActSetPresence, ActViewReports, ActExportReports},
	RoleMonitor:       {ActView, ActViewReports},
	RoleDeveloper:     {ActView, ActDeveloper},
	RoleAgent:         {ActView, ActHandleCallback},
}

// actionFeature names the feature an action needs, if any.
var actionFeature = map[Action]Feature{
	ActExportReports: FeatureReportsExport,
	ActDeveloper:     FeatureDeveloperAPI,
}

// Allowed answers the one access question: may principal p do action a on
// an object that lives in any of domains (nil: an unassigned object) and,
// for callbacks, in queue q (0: not queue-bound)? It returns nil, or
// ErrNotFound when p may not even see the object, or ErrForbidden when p
// sees it but may not do a.
func (t *Tenant) Allowed(p Principal, a Action, domains []DomainID, q QueueID) error {
	if !t.sees(p, domains, q) {
		return notFound("")
	}
	if f, ok := actionFeature[a]; ok && !t.Features[f] {
		return refuse(ErrFeatureDisabled, "feature", "%s is not enabled for this tenant", f)
	}
	if !t.may(p, a, domains) {
		return refuse(ErrForbidden, "role", "no role permits this action here")
	}
	return nil
}

// sees: any grant covers any of the domains (unassigned objects are seen
// by every user) and, for a queue, one of the user's access groups reads it.
func (t *Tenant) sees(p Principal, domains []DomainID, q QueueID) bool {
	switch p.Kind {
	case PrincipalSystem:
		return true
	case PrincipalApp:
		app := t.Apps[p.App]
		if app == nil {
			return false
		}
		if len(domains) == 0 {
			return true
		}
		return slices.Contains(domains, app.Domain) && (q == 0 || t.queueServes(q, app.Domain))
	case PrincipalUser:
		u := t.Users[p.User]
		if u == nil {
			return false
		}
		if len(domains) > 0 && !slices.ContainsFunc(domains, func(d DomainID) bool { return t.userCovers(u, d) }) {
			return false
		}
		return q == 0 || t.groupsRead(u, q)
	}
	return false // the operator never reads tenant data
}

// may: some grant whose scope covers one of the domains permits a.
func (t *Tenant) may(p Principal, a Action, domains []DomainID) bool {
	switch p.Kind {
	case PrincipalSystem:
		return true
	case PrincipalApp:
		return a == ActView || a == ActCreateCallback
	case PrincipalUser:
		u := t.Users[p.User]
		for _, g := range u.Grants {
			if !slices.Contains(rolePermits[g.Role], a) {
				continue
			}
			if len(domains) == 0 || slices.ContainsFunc(domains, func(d DomainID) bool { return t.scopeCovers(g.Scope, d) }) {
				return true
			}
		}
	}
	return false
}

func (t *Tenant) userCovers(u *User, d DomainID) bool {
	for _, g := range u.Grants {
		if t.scopeCovers(g.Scope, d) {
			return true
		}
	}
	return false
}

// scopeCovers: the scope is all domains, or names d or an ancestor of d.
func (t *Tenant) scopeCovers(s Scope, d DomainID) bool {
	if s.All {
		return true
	}
	for cur := d; cur != 0; {
		if slices.Contains(s.Domains, cur) {
			return true
		}
		n := t.Domains[cur]
		if n == nil {
			return false
		}
		cur = n.Parent
	}
	return false
}

// queueServes: a queue serves its own domain and every domain below it.
func (t *Tenant) queueServes(q QueueID, d DomainID) bool {
	qu := t.Queues[q]
	return qu != nil && t.scopeCovers(Scope{Domains: []DomainID{qu.Domain}}, d)
}

// groupsRead: every access group reads every queue until read is revoked,
// on the queue or on a propagating folder that holds it. A user in no
// group is not restricted by groups.
func (t *Tenant) groupsRead(u *User, q QueueID) bool {
	if len(u.Groups) == 0 {
		return true
	}
	qu := t.Queues[q]
	if qu == nil {
		return false
	}
	var folderRevoked []GroupID
	if f := t.Folders[qu.Folder]; f != nil && f.Propagate {
		folderRevoked = f.RevokeRead
	}
	for _, g := range u.Groups {
		if !slices.Contains(qu.RevokeRead, g) && !slices.Contains(folderRevoked, g) {
			return true
		}
	}
	return false
}

// guard checks, inside a domain operation, that the principal may act on a
// callback. The zero guard allows everything (the engine's own work).
type guard struct {
	t   *Tenant
	p   Principal
	act Action
}

func (g guard) check(c *Callback) error {
	if g.t == nil {
		return nil
	}
	if g.act == ActHandleCallback && g.p.Kind == PrincipalUser && c.Agent == g.p.User && c.Agent != 0 {
		return nil // the offer itself is the permission to handle it
	}
	return named(g.t.Allowed(g.p, g.act, c.Domains, c.Queue), "callbackId")
}
