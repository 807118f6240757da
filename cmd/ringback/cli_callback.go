package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ringbackhq/ringback/cmd/ringback/api"
)

// `ringback callback ...`: ask for, list, show, change, cancel and close
// callbacks.

func callbackCommand() *cobra.Command {
	f := &clientFlags{}
	get := getCommand(f, "get", "Show a callback", "CALLBACK_ID", "/v1/callbacks/{id}", printCallback)
	cancel := idAction(f, &cobra.Command{Use: "cancel CALLBACK_ID", Short: "Cancel a callback"}, "CALLBACK_ID",
		http.MethodPost, "/v1/callbacks/{id}/cancel", nil, "Callback %s canceled.")
	return group("callback", "Ask for, list, show, change, cancel and close callbacks (API key)", f,
		callbackCreateCmd(f), callbackListCmd(f), get, callbackUpdateCmd(f), cancel, callbackCompleteCmd(f), callbackFailCmd(f))
}

func callbackCreateCmd(f *clientFlags) *cobra.Command {
	var b struct {
		QueueID               uint32            `json:"queueId"`
		CallbackNumbers       []string          `json:"callbackNumbers"`
		CallbackUserName      string            `json:"callbackUserName"`
		CallbackScheduledTime *time.Time        `json:"callbackScheduledTime,omitempty"`
		Priority              int               `json:"priority,omitempty"`
		DomainID              uint32            `json:"domainId,omitempty"`
		Data                  map[string]string `json:"data,omitempty"`
	}
	var at, key string
	var data []string
	c := &cobra.Command{
		Use:   "create --queue ID --number NUMBER --name CUSTOMER",
		Short: "Ask for a callback",
		Long: "Asks for a callback. With --idempotency-key, running the same command again returns\n" +
			"the first callback instead of making a second one.",
		Args: cobra.NoArgs,
	}
	fs := c.Flags()
	fs.Uint32Var(&b.QueueID, "queue", 0, "the queue id (required)")
	fs.StringSliceVar(&b.CallbackNumbers, "number", nil, "the customer's number(s), repeatable (required)")
	fs.StringVar(&b.CallbackUserName, "name", "", "the customer's name (required)")
	fs.StringVar(&at, "at", "", "call back at this time (RFC 3339), not now")
	fs.IntVar(&b.Priority, "priority", 0, "priority, 0 to 1000; higher goes first")
	fs.Uint32Var(&b.DomainID, "domain", 0, "the callback's domain (default: the queue's)")
	fs.StringArrayVar(&data, "data", nil, "key=value attribute, repeatable")
	fs.StringVar(&key, "idempotency-key", "", "a key that makes retries safe")
	return apiCommand(f, c, func(cmd *cobra.Command, cl *apiClient, _ []string) error {
		var err error
		b.Data = nil
		if b.CallbackScheduledTime, err = timeFlag("at", at); err != nil {
			return err
		}
		for _, kv := range data {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return usageErr("--data %q: want key=value", kv)
			}
			if b.Data == nil {
				b.Data = map[string]string{}
			}
			b.Data[k] = v
		}
		var cb api.CallbackView
		raw, err := cl.send(cmd.Context(), http.MethodPost, "/v1/callbacks", b, &cb, "Idempotency-Key", key)
		if err != nil || f.JSON {
			return jsonOr(cmd, raw, err)
		}
		return printCallback(cmd, cb)
	})
}

func callbackListCmd(f *clientFlags) *cobra.Command {
	var queue, domain uint32
	var state string
	var size int
	var all bool
	c := &cobra.Command{Use: "list [--queue ID] [--domain ID] [--state S] [--all]", Short: "List the callbacks the key can see", Args: cobra.NoArgs}
	c.Flags().Uint32Var(&queue, "queue", 0, "only this queue")
	c.Flags().Uint32Var(&domain, "domain", 0, "only this domain")
	c.Flags().StringVar(&state, "state", "", "only this state (scheduled, queued, offered, in-progress, completed, failed, canceled, expired)")
	c.Flags().IntVar(&size, "page-size", 100, "callbacks per request")
	c.Flags().BoolVar(&all, "all", false, "follow every page, not just the first")
	return apiCommand(f, c, func(cmd *cobra.Command, cl *apiClient, _ []string) error {
		q := url.Values{}
		if queue != 0 {
			q.Set("queueId", strconv.FormatUint(uint64(queue), 10))
		}
		if domain != 0 {
			q.Set("domainId", strconv.FormatUint(uint64(domain), 10))
		}
		if state != "" {
			q.Set("state", state)
		}
		q.Set("pageSize", strconv.Itoa(size))
		var page struct {
			Entities      []api.CallbackView `json:"entities"`
			NextPageToken string             `json:"nextPageToken,omitempty"`
		}
		var got []api.CallbackView
		var raw []byte
		for {
			var err error
			page.Entities, page.NextPageToken = nil, ""
			if raw, err = cl.get(cmd.Context(), "/v1/callbacks?"+q.Encode(), &page); err != nil {
				return err
			}
			got = append(got, page.Entities...)
			if !all || page.NextPageToken == "" {
				break
			}
			q.Set("pageToken", page.NextPageToken)
		}
		if f.JSON {
			if all { // one document with every page's entities
				if got == nil {
					got = []api.CallbackView{}
				}
				raw, _ = json.Marshal(map[string]any{"entities": got})
			}
			return printJSON(cmd.OutOrStdout(), raw)
		}
		rows := make([][]string, 0, len(got))
		for _, cb := range got {
			rows = append(rows, []string{strconv.FormatUint(cb.ID, 10), cb.State, strconv.FormatUint(uint64(cb.QueueID), 10),
				u32s(cb.DomainIDs), cb.CallbackUserName, strings.Join(cb.CallbackNumbers, ","), strconv.Itoa(cb.Priority),
				cb.CreatedTime.Format(time.RFC3339)})
		}
		if err := table(cmd.OutOrStdout(), []string{"ID", "STATE", "QUEUE", "DOMAINS", "CUSTOMER", "NUMBERS", "PRIORITY", "CREATED"}, rows); err != nil {
			return err
		}
		if page.NextPageToken != "" && !all {
			_, err := cmd.ErrOrStderr().Write([]byte("(more: --all follows every page)\n"))
			return err
		}
		return nil
	})
}

// timeFlag reads the RFC 3339 time of the flag called name; "" is none.
func timeFlag(name, s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, usageErr("--%s %q: want an RFC 3339 time such as 2030-01-02T15:04:05Z", name, s)
	}
	return &t, nil
}

// positiveFlag checks an id given with the flag called name.
func positiveFlag(name string, id uint32) error {
	if id == 0 {
		return usageErr("--%s must be a positive number", name)
	}
	return nil
}

func callbackUpdateCmd(f *clientFlags) *cobra.Command {
	c := &cobra.Command{
		Use:   "update CALLBACK_ID [--scheduled-time RFC3339] [--priority N] [--queue ID]",
		Short: "Reschedule, reprioritise or transfer a waiting callback, all at once or not at all",
		Long:  "Changes what the flags name, and nothing else, while the callback waits.",
		Args:  cobra.ExactArgs(1),
	}
	at, priority := c.Flags().String("scheduled-time", "", "call back at this time (RFC 3339)"), c.Flags().Int("priority", 0, "priority, 0 to 1000; higher goes first")
	queue := c.Flags().Uint32("queue", 0, "move the callback to this queue")
	return apiCommand(f, c, func(cmd *cobra.Command, cl *apiClient, args []string) error {
		id, err := idArg("CALLBACK_ID", args[0])
		if err != nil {
			return err
		}
		var b struct {
			CallbackScheduledTime *time.Time `json:"callbackScheduledTime,omitempty"`
			Priority              *int       `json:"priority,omitempty"`
			QueueID               *uint32    `json:"queueId,omitempty"`
		}
		if b.CallbackScheduledTime, err = timeFlag("scheduled-time", *at); err != nil {
			return err
		}
		if cmd.Flags().Changed("priority") {
			b.Priority = priority
		}
		if cmd.Flags().Changed("queue") {
			if err := positiveFlag("queue", *queue); err != nil {
				return err
			}
			b.QueueID = queue
		}
		if b.CallbackScheduledTime == nil && b.Priority == nil && b.QueueID == nil {
			return usageErr("name something to change: --scheduled-time, --priority or --queue")
		}
		var cb api.CallbackView
		raw, err := cl.send(cmd.Context(), http.MethodPatch, "/v1/callbacks/"+id, b, &cb)
		if err != nil || f.JSON {
			return jsonOr(cmd, raw, err)
		}
		return printCallback(cmd, cb)
	})
}

func callbackCompleteCmd(f *clientFlags) *cobra.Command {
	var b struct {
		Disposition uint32 `json:"disposition"`
		Comment     string `json:"comment,omitempty"`
	}
	c := &cobra.Command{Use: "complete CALLBACK_ID --disposition CODE_ID [--comment TEXT]", Short: "Close the callback you handle, with a wrap-up code (the agent's key)"}
	c.Flags().Uint32Var(&b.Disposition, "disposition", 0, "a wrap-up code id (required)")
	c.Flags().StringVar(&b.Comment, "comment", "", "a closing comment (some tenants require one)")
	_ = c.MarkFlagRequired("disposition")
	return idAction(f, c, "CALLBACK_ID", http.MethodPost, "/v1/callbacks/{id}/complete", func() (any, error) {
		return b, positiveFlag("disposition", b.Disposition)
	}, "Callback %s completed.")
}

func callbackFailCmd(f *clientFlags) *cobra.Command {
	var b struct {
		Reason string `json:"reason,omitempty"`
	}
	c := &cobra.Command{Use: "fail CALLBACK_ID [--reason TEXT]", Short: "Record an attempt that did not reach the customer; the tenant's policy retries it (the agent's key)"}
	c.Flags().StringVar(&b.Reason, "reason", "", "why, such as no-answer or busy")
	return idAction(f, c, "CALLBACK_ID", http.MethodPost, "/v1/callbacks/{id}/fail", func() (any, error) { return b, nil },
		"Attempt on callback %s recorded as failed.")
}

func printCallback(cmd *cobra.Command, cb api.CallbackView) error {
	kv := []string{
		"ID", strconv.FormatUint(cb.ID, 10),
		"State", cb.State,
		"Queue", strconv.FormatUint(uint64(cb.QueueID), 10),
		"Domains", u32s(cb.DomainIDs),
		"Customer", cb.CallbackUserName,
		"Numbers", strings.Join(cb.CallbackNumbers, ", "),
		"Priority", strconv.Itoa(cb.Priority),
		"Attempts", strconv.Itoa(cb.Attempts),
		"Created", cb.CreatedTime.Format(time.RFC3339),
	}
	if cb.CallbackScheduledTime != nil {
		kv = append(kv, "Scheduled", cb.CallbackScheduledTime.Format(time.RFC3339))
	}
	if cb.QueuePosition > 0 {
		kv = append(kv, "Position", strconv.Itoa(cb.QueuePosition), "Estimated wait", (time.Duration(cb.EstimatedWaitSeconds) * time.Second).String())
	}
	if cb.AgentID != 0 {
		kv = append(kv, "Agent", strconv.FormatUint(uint64(cb.AgentID), 10))
	}
	if cb.Disposition != 0 {
		kv = append(kv, "Disposition", itoa(cb.Disposition))
	}
	if cb.Comment != "" {
		kv = append(kv, "Comment", cb.Comment)
	}
	for _, k := range sortedKeys(cb.Data) {
		kv = append(kv, "data."+k, cb.Data[k])
	}
	return fields(cmd.OutOrStdout(), kv...)
}
