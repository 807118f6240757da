package actors

import (
	"slices"
	"time"
)

// configObject creates or updates the tenant's smaller configuration
// objects: applications, access groups, folders, queues and codes.
func (t *Tenant) configObject(x *opCtx, by Principal, cmd TenantCommand) (uint64, error) {
	switch c := cmd.(type) {
	case *CreateApp:
		if err := t.inDomain(by, "domain", c.Domain); err != nil {
			return 0, err
		}
		if err := validName("name", c.Name, maxNameLen); err != nil {
			return 0, err
		}
		if c.KeyHash != "" {
			if err := validKeyHash(c.KeyHash, "keyHash"); err != nil {
				return 0, err
			}
			if err := t.keyIssuer(by); err != nil {
				return 0, err
			}
		}
		t.Next.App++
		t.Apps[t.Next.App] = &App{ID: t.Next.App, Name: c.Name, Domain: c.Domain}
		id := t.created(x, c.Domain, uint64(t.Next.App))
		if c.KeyHash != "" {
			t.APIKeys[c.KeyHash] = AsApp(t.Next.App)
			t.emit(x, Event{Kind: EvAPIKeyChanged})
		}
		return id, nil
	case *DeleteApp:
		a := t.Apps[c.App]
		if a == nil {
			return 0, notFound("channelId")
		}
		if err := t.administer(by, a.Domain, "channelId"); err != nil {
			return 0, err
		}
		delete(t.Apps, a.ID)
		t.dropKeys(AsApp(a.ID))
		id := t.deleted(x, Event{Domain: a.Domain, Object: uint64(a.ID)})
		t.emit(x, Event{Kind: EvAPIKeyChanged})
		return id, nil
	case *CreateGroup:
		if err := t.administer(by, 0, "domainId"); err != nil {
			return 0, err
		}
		if err := validName("name", c.Name, maxNameLen); err != nil {
			return 0, err
		}
		t.Next.Group++
		t.Groups[t.Next.Group] = &Group{ID: t.Next.Group, Name: c.Name}
		return t.created(x, 0, uint64(t.Next.Group)), nil
	case *DeleteGroup:
		g := t.Groups[c.Group]
		if g == nil {
			return 0, notFound("groupId")
		}
		if err := t.administer(by, 0, "groupId"); err != nil {
			return 0, err
		}
		members := 0
		for _, u := range t.Users {
			if slices.Contains(u.Groups, g.ID) {
				members++
			}
		}
		if members > 0 {
			return 0, refuse(ErrConflict, "groupId", "the group still has %d users; take them out of it first", members)
		}
		isG := func(id GroupID) bool { return id == g.ID }
		for _, q := range t.Queues {
			q.RevokeRead = slices.DeleteFunc(q.RevokeRead, isG)
		}
		for _, f := range t.Folders {
			f.RevokeRead = slices.DeleteFunc(f.RevokeRead, isG)
		}
		delete(t.Groups, g.ID)
		return t.deleted(x, Event{Object: uint64(g.ID)}), nil
	case *DeleteFolder:
		f := t.Folders[c.Folder]
		if f == nil {
			return 0, notFound("folderId")
		}
		if err := t.administer(by, f.Domain, "folderId"); err != nil {
			return 0, err
		}
		queues := 0
		for _, q := range t.Queues {
			if q.Folder == f.ID {
				queues++
			}
		}
		if queues > 0 {
			return 0, refuse(ErrConflict, "folderId", "the folder still holds %d queues; move them out of it first", queues)
		}
		delete(t.Folders, f.ID)
		return t.deleted(x, Event{Domain: f.Domain, Object: uint64(f.ID)}), nil
	case *CreateFolder:
		if err := t.inDomain(by, "domain", c.Domain); err != nil {
			return 0, err
		}
		if err := validName("name", c.Name, maxNameLen); err != nil {
			return 0, err
		}
		if err := t.validGroups("revokeRead", c.RevokeRead); err != nil {
			return 0, err
		}
		t.Next.Folder++
		t.Folders[t.Next.Folder] = &Folder{ID: t.Next.Folder, Name: c.Name, Domain: c.Domain, Propagate: c.Propagate, RevokeRead: slices.Clone(c.RevokeRead)}
		return t.created(x, c.Domain, uint64(t.Next.Folder)), nil
	case *UpdateFolder:
		f := t.Folders[c.Folder]
		if f == nil {
			return 0, notFound("folderId")
		}
		if err := t.administer(by, f.Domain, "folderId"); err != nil {
			return 0, err
		}
		if c.RevokeRead != nil {
			if err := t.validGroups("revokeRead", *c.RevokeRead); err != nil {
				return 0, err
			}
			f.RevokeRead = slices.Clone(*c.RevokeRead)
		}
		if c.Propagate != nil {
			f.Propagate = *c.Propagate
		}
		t.emit(x, Event{Kind: EvObjectUpdated, Domain: f.Domain, Object: uint64(f.ID)})
		return uint64(f.ID), nil
	case *CreateQueue:
		q := &Queue{Name: c.Name, Domain: c.Domain, Folder: c.Folder, Strategy: c.Strategy, ServiceLevel: c.ServiceLevel, RevokeRead: slices.Clone(c.RevokeRead)}
		if q.Strategy == 0 {
			q.Strategy = LongestIdle
		}
		if err := t.provision(by, "domain", c.Domain); err != nil {
			return 0, err
		}
		if err := t.validQueue(q); err != nil {
			return 0, err
		}
		t.Next.Queue++
		q.ID = t.Next.Queue
		t.Queues[q.ID] = q
		t.configureAll(x)
		return t.created(x, c.Domain, uint64(q.ID)), nil
	case *UpdateQueue:
		old := t.Queues[c.Queue]
		if old == nil {
			return 0, notFound("queueId")
		}
		if err := t.provision(by, "queueId", old.Domain); err != nil {
			return 0, err
		}
		q := *old
		if c.Name != nil {
			q.Name = *c.Name
		}
		if c.Folder != nil {
			q.Folder = *c.Folder
		}
		if c.Strategy != nil {
			q.Strategy = *c.Strategy
		}
		if c.ServiceLevel != nil {
			q.ServiceLevel = *c.ServiceLevel
		}
		if c.RevokeRead != nil {
			q.RevokeRead = slices.Clone(*c.RevokeRead)
		}
		if err := t.validQueue(&q); err != nil {
			return 0, err
		}
		*old = q
		t.configureAll(x)
		t.emit(x, Event{Kind: EvObjectUpdated, Domain: q.Domain, Queue: q.ID, Object: uint64(q.ID)})
		return uint64(q.ID), nil
	case *DeleteQueue:
		q := t.Queues[c.Queue]
		if q == nil {
			return 0, notFound("queueId")
		}
		if err := t.provision(by, "queueId", q.Domain); err != nil {
			return 0, err
		}
		active := 0
		for _, s := range t.Callbacks.kept() {
			if s.c != nil && s.c.Queue == q.ID && !s.c.Status.Terminal() {
				active++
			}
		}
		if active > 0 {
			return 0, refuse(ErrConflict, "queueId", "the queue still holds %d active callbacks; cancel or transfer them first", active)
		}
		for _, uid := range sortedKeys(t.Users) {
			u := t.Users[uid]
			if i := slices.IndexFunc(u.Memberships, func(m Membership) bool { return m.Queue == q.ID }); i >= 0 {
				t.setMemberships(x, u, slices.Delete(slices.Clone(u.Memberships), i, i+1))
			}
		}
		delete(t.Queues, q.ID)
		t.configureAll(x)
		return t.deleted(x, Event{Domain: q.Domain, Queue: q.ID, Object: uint64(q.ID)}), nil
	case *CreateCode:
		if c.CodeKind != WrapUpCode && c.CodeKind != AwayReason {
			return 0, invalid("codeKind", "must be a wrap-up code or an away reason")
		}
		if c.Domain == 0 {
			if err := t.administer(by, 0, "domainId"); err != nil {
				return 0, err
			}
		} else if err := t.inDomain(by, "domain", c.Domain); err != nil {
			return 0, err
		}
		if err := validName("name", c.Name, maxCodeNameLen); err != nil {
			return 0, err
		}
		t.Next.Code++
		t.Codes[t.Next.Code] = &Code{ID: t.Next.Code, Kind: c.CodeKind, Name: c.Name, Domain: c.Domain}
		return t.created(x, c.Domain, uint64(t.Next.Code)), nil
	case *RenameObject:
		return t.rename(x, by, c)
	case *DeleteCode:
		code := t.Codes[c.Code]
		if code == nil || code.Kind != c.CodeKind {
			return 0, notFound("codeId")
		}
		if err := t.administer(by, code.Domain, "codeId"); err != nil {
			return 0, err
		}
		delete(t.Codes, code.ID)
		return t.deleted(x, Event{Domain: code.Domain, Object: uint64(code.ID)}), nil
	}
	return 0, invalid("kind", "unknown configuration command %T", cmd)
}

// rename renames what RenameObject names, once the caller may see and
// administer it (as for deleting it).
func (t *Tenant) rename(x *opCtx, by Principal, c *RenameObject) (uint64, error) {
	var name *string
	var d DomainID
	var field string
	maxLen := maxNameLen
	switch c.Object {
	case RenameApp:
		field = "channelId"
		if a := t.Apps[AppID(c.ID)]; a != nil {
			name, d = &a.Name, a.Domain
		}
	case RenameGroup:
		field = "groupId"
		if g := t.Groups[GroupID(c.ID)]; g != nil {
			name = &g.Name
		}
	case RenameWrapUpCode, RenameAwayReason:
		field, maxLen = "codeId", maxCodeNameLen
		kind := WrapUpCode
		if c.Object == RenameAwayReason {
			kind = AwayReason
		}
		if code := t.Codes[CodeID(c.ID)]; code != nil && code.Kind == kind {
			name, d = &code.Name, code.Domain
		}
	default:
		return 0, invalid("object", "must be a channel, an access group, a wrap-up code or an away reason")
	}
	if name == nil {
		return 0, notFound(field)
	}
	if err := t.administer(by, d, field); err != nil {
		return 0, err
	}
	if err := validName("name", c.Name, maxLen); err != nil {
		return 0, err
	}
	*name = c.Name
	t.emit(x, Event{Kind: EvObjectUpdated, Domain: d, Object: uint64(c.ID)})
	return uint64(c.ID), nil
}

// provision: queues are set up by administrators, and by developers when
// the tenant has the developer API.
func (t *Tenant) provision(by Principal, field string, d DomainID) error {
	if t.Domains[d] == nil {
		return notFound(field)
	}
	err := t.administer(by, d, field)
	if err != nil && t.Allowed(by, ActDeveloper, []DomainID{d}, 0) == nil {
		return nil
	}
	return err
}

// inDomain checks that the domain exists and the principal administers it.
func (t *Tenant) inDomain(by Principal, field string, d DomainID) error {
	if t.Domains[d] == nil {
		return notFound(field)
	}
	return t.administer(by, d, field)
}

func (t *Tenant) created(x *opCtx, d DomainID, id uint64) uint64 {
	t.emit(x, Event{Kind: EvObjectCreated, Domain: d, Object: id})
	return id
}

// deleted says an object is gone (e names it) and returns its id, the
// audit's object.
func (t *Tenant) deleted(x *opCtx, e Event) uint64 {
	e.Kind = EvObjectDeleted
	t.emit(x, e)
	return e.Object
}

func (t *Tenant) validGroups(field string, gs []GroupID) error {
	for i, g := range gs {
		if t.Groups[g] == nil {
			return notFound(fieldIndex(field, i, ""))
		}
	}
	return nil
}

func (t *Tenant) validQueue(q *Queue) error {
	if err := validName("name", q.Name, maxNameLen); err != nil {
		return err
	}
	if q.Strategy < LongestIdle || q.Strategy > FewestHandled {
		return invalid("strategy", "must be longest-idle, round-robin or fewest-handled")
	}
	if q.ServiceLevel < 0 || q.ServiceLevel > 24*time.Hour {
		return invalid("serviceLevel", "must be between 0 (the tenant's) and 24h")
	}
	if q.Folder != 0 && t.Folders[q.Folder] == nil {
		return notFound("folder")
	}
	return t.validGroups("revokeRead", q.RevokeRead)
}
