package main

import (
	"net/http"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ringbackhq/ringback/cmd/ringback/api"
)

// `ringback channel|wrapup-code|away-reason|folder|access-group ...`: the
// rest of a tenant's configuration (API key): channel applications, the
// codes agents close and go away with, queue folders and access groups.

func channelCommand() *cobra.Command {
	f := &clientFlags{}
	list := listCommand(f, "list", "List the channel applications the key can see", "/v1/channels", []string{"ID", "NAME", "DOMAIN"},
		func(c api.ChannelView) []string { return []string{itoa(c.ID), c.Name, itoa(c.DomainID)} })
	var b struct {
		Name     string `json:"name"`
		DomainID uint32 `json:"domainId"`
	}
	create := &cobra.Command{
		Use:   "create NAME --domain ID",
		Short: "Register a channel application; prints its API key (shown once)",
		Long:  "Registers an application (a web form, an IVR) that asks for callbacks in one domain, with its own API key.",
		Args:  cobra.ExactArgs(1),
	}
	create.Flags().Uint32Var(&b.DomainID, "domain", 1, "the domain its callbacks go to (1 is Home)")
	apiCommand(f, create, func(cmd *cobra.Command, cl *apiClient, args []string) error {
		b.Name = args[0]
		if err := positiveFlag("domain", b.DomainID); err != nil {
			return err
		}
		return createObject(cmd, f, cl, "/v1/channels", b, "Channel")
	})
	rename := renameCommand(f, "Channel", "/v1/channels/", "Rename a channel application")
	del := deleteCommand(f, "Channel", "/v1/channels/", "Delete a channel application: its key stops working; its callbacks stay")
	return group("channel", "Manage a tenant's channel applications (API key)", f, list, create, rename, del)
}

// codeCommand is the group for wrap-up codes or away reasons (noun, as in
// "Wrap-up code"), which the API keeps at path with the same shape.
func codeCommand(use, noun, path, short string) *cobra.Command {
	f := &clientFlags{}
	list := listCommand(f, "list", "List the "+use+"s the key can see: unassigned ones and those of visible domains", path,
		[]string{"ID", "NAME", "DOMAIN"}, func(c api.CodeView) []string { return []string{itoa(c.ID), c.Name, idOrDash(c.DomainID)} })
	var b struct {
		Name     string `json:"name"`
		DomainID uint32 `json:"domainId,omitempty"`
	}
	create := &cobra.Command{Use: "create NAME [--domain ID]", Short: "Create a " + use + "; without --domain, everyone sees it", Args: cobra.ExactArgs(1)}
	create.Flags().Uint32Var(&b.DomainID, "domain", 0, "only this domain's people see it (default: everyone)")
	apiCommand(f, create, func(cmd *cobra.Command, cl *apiClient, args []string) error {
		b.Name = args[0]
		return createObject(cmd, f, cl, path, b, noun)
	})
	rename := renameCommand(f, noun, path+"/", "Rename a "+use)
	del := deleteCommand(f, noun, path+"/", "Delete a "+use+"; closed callbacks keep naming it")
	return group(use, short, f, list, create, rename, del)
}

func folderCommand() *cobra.Command {
	f := &clientFlags{}
	list := listCommand(f, "list", "List the queue folders the key can see", "/v1/queue-folders", []string{"ID", "NAME", "DOMAIN", "PROPAGATE", "NOT READ BY"},
		func(v api.FolderView) []string {
			return []string{itoa(v.ID), v.Name, itoa(v.DomainID), strconv.FormatBool(v.Propagate), u32s(v.RevokeReadGroupIDs)}
		})
	var b struct {
		Name               string   `json:"name"`
		DomainID           uint32   `json:"domainId"`
		Propagate          bool     `json:"propagate,omitempty"`
		RevokeReadGroupIDs []uint32 `json:"revokeReadGroupIds,omitempty"`
	}
	var revoke []string
	create := &cobra.Command{Use: "create NAME [--domain ID] [--propagate] [--revoke-read GROUP_ID,...]", Short: "Create a queue folder", Args: cobra.ExactArgs(1)}
	create.Flags().Uint32Var(&b.DomainID, "domain", 1, "the folder's domain id (1 is Home)")
	create.Flags().BoolVar(&b.Propagate, "propagate", false, "its permissions apply to the queues in it")
	create.Flags().StringSliceVar(&revoke, "revoke-read", nil, "access groups that may not read its queues")
	apiCommand(f, create, func(cmd *cobra.Command, cl *apiClient, args []string) error {
		b.Name = args[0]
		var err error
		if b.RevokeReadGroupIDs, err = groupIDs(revoke); err != nil {
			return err
		}
		return createObject(cmd, f, cl, "/v1/queue-folders", b, "Folder")
	})
	del := deleteCommand(f, "Folder", "/v1/queue-folders/", "Delete a queue folder that holds no queue")
	return group("folder", "Manage a tenant's queue folders (API key)", f, list, create, folderUpdateCmd(f), del)
}

func folderUpdateCmd(f *clientFlags) *cobra.Command {
	c := &cobra.Command{
		Use:   "update FOLDER_ID [--propagate=true|false] [--revoke-read GROUP_ID,...]",
		Short: "Change whether a folder's permissions propagate, and which access groups may not read its queues",
		Long:  "Changes what the flags name, and nothing else; --revoke-read \"\" lets every group read again.",
	}
	propagate := c.Flags().Bool("propagate", false, "its permissions apply to the queues in it")
	revoke := c.Flags().StringSlice("revoke-read", nil, "access groups that may not read its queues (replaces the list)")
	return idAction(f, c, "FOLDER_ID", http.MethodPatch, "/v1/queue-folders/{id}", func() (any, error) {
		var b struct {
			Propagate          *bool     `json:"propagate,omitempty"`
			RevokeReadGroupIDs *[]uint32 `json:"revokeReadGroupIds,omitempty"`
		}
		if c.Flags().Changed("propagate") {
			b.Propagate = propagate
		}
		if c.Flags().Changed("revoke-read") {
			ids, err := groupIDs(*revoke)
			if err != nil {
				return nil, err
			}
			b.RevokeReadGroupIDs = &ids
		}
		if b.Propagate == nil && b.RevokeReadGroupIDs == nil {
			return nil, usageErr("name something to change: --propagate or --revoke-read")
		}
		return b, nil
	}, "Folder %s updated.")
}

// groupIDs reads --revoke-read's access group ids.
func groupIDs(vs []string) ([]uint32, error) {
	ids := []uint32{}
	for _, v := range vs {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return nil, usageErr("--revoke-read %q: want access group ids, such as 1,2", v)
		}
		ids = append(ids, uint32(n))
	}
	return ids, nil
}

func accessGroupCommand() *cobra.Command {
	f := &clientFlags{}
	list := listCommand(f, "list", "List the tenant's access groups", "/v1/access-groups", []string{"ID", "NAME"},
		func(g api.GroupView) []string { return []string{itoa(g.ID), g.Name} })
	create := &cobra.Command{Use: "create NAME", Short: "Create an access group (a line of business)", Args: cobra.ExactArgs(1)}
	apiCommand(f, create, func(cmd *cobra.Command, cl *apiClient, args []string) error {
		return createObject(cmd, f, cl, "/v1/access-groups", map[string]string{"name": args[0]}, "Access group")
	})
	rename := renameCommand(f, "Access group", "/v1/access-groups/", "Rename an access group")
	del := deleteCommand(f, "Access group", "/v1/access-groups/", "Delete an access group no user is in")
	return group("access-group", "Manage a tenant's access groups (API key)", f, list, create, rename, del)
}
