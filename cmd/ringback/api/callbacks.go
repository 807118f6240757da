package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/ringbackhq/ringback/actors"
)

// Callback endpoints, with Genesys Cloud's field names.

// CallbackView is a callback as its viewers see it.
type CallbackView struct {
	ID                    uint64            `json:"id"`
	State                 string            `json:"state"`
	QueueID               uint32            `json:"queueId"`
	DomainIDs             []uint32          `json:"domainIds"`
	CallbackUserName      string            `json:"callbackUserName"`
	CallbackNumbers       []string          `json:"callbackNumbers"`
	CallbackScheduledTime *time.Time        `json:"callbackScheduledTime,omitempty"`
	Priority              int               `json:"priority"`
	Attempts              int               `json:"attempts"`
	AgentID               uint32            `json:"agentId,omitempty"`
	Data                  map[string]string `json:"data,omitempty"`
	QueuePosition         int               `json:"queuePosition,omitempty"`
	EstimatedWaitSeconds  float64           `json:"estimatedWaitSeconds,omitempty"`
	CreatedTime           time.Time         `json:"createdTime"`
	Disposition           uint32            `json:"disposition,omitempty"`
	Comment               string            `json:"comment,omitempty"`
}

func callbackView(c actors.Callback, pos int, ewt time.Duration) CallbackView {
	v := CallbackView{ID: uint64(c.ID), State: c.Status.String(), QueueID: uint32(c.Queue), CallbackUserName: c.CustomerName,
		CallbackNumbers: c.Numbers, Priority: int(c.Priority), Attempts: int(c.Attempts), AgentID: uint32(c.Agent), Data: c.Data,
		QueuePosition: pos, EstimatedWaitSeconds: ewt.Seconds(), CreatedTime: time.Unix(0, c.Created).UTC(),
		Disposition: uint32(c.Disposition), Comment: c.Comment, DomainIDs: uint32s(c.Domains)}
	if c.Status == actors.Scheduled {
		due := time.Unix(0, c.Due).UTC()
		v.CallbackScheduledTime = &due
	}
	return v
}

type createCallbackBody struct {
	QueueID               uint32            `json:"queueId" minimum:"1"`
	CallbackNumbers       []string          `json:"callbackNumbers" minItems:"1" maxItems:"10"`
	CallbackUserName      string            `json:"callbackUserName" minLength:"1" maxLength:"500"`
	CallbackScheduledTime *time.Time        `json:"callbackScheduledTime,omitempty"`
	Priority              int               `json:"priority,omitempty" minimum:"0" maximum:"1000"`
	DomainID              uint32            `json:"domainId,omitempty"`
	Data                  map[string]string `json:"data,omitempty" maxProperties:"50"`
}

type createCallbackInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200"`
	Body           createCallbackBody
}

type callbackOutput struct {
	Status int
	Body   CallbackView
}

type CallbackPath struct {
	CallbackID uint64 `path:"callbackId" minimum:"1"`
}

type listCallbacksInput struct {
	QueueID   uint32 `query:"queueId"`
	DomainID  uint32 `query:"domainId"`
	State     string `query:"state" enum:"scheduled,queued,offered,in-progress,completed,failed,canceled,expired,"`
	PageSize  int    `query:"pageSize" minimum:"1" maximum:"500" default:"100"`
	PageToken string `query:"pageToken" maxLength:"20"`
}

type callbackPage struct {
	Body struct {
		Entities      []CallbackView `json:"entities"`
		NextPageToken string         `json:"nextPageToken,omitempty"`
	}
}

type patchCallbackInput struct {
	CallbackPath
	Body struct {
		CallbackScheduledTime *time.Time `json:"callbackScheduledTime,omitempty"`
		Priority              *int       `json:"priority,omitempty" minimum:"0" maximum:"1000"`
		QueueID               *uint32    `json:"queueId,omitempty" minimum:"1"`
	}
}

type completeInput struct {
	CallbackPath
	Body struct {
		Disposition uint32 `json:"disposition" minimum:"1" doc:"a wrap-up code id"`
		Comment     string `json:"comment,omitempty" maxLength:"1024"`
	}
}

type failInput struct {
	CallbackPath
	Body struct {
		Reason string `json:"reason,omitempty" maxLength:"200"`
	}
}

const maxScheduleAhead = 366 * 24 * time.Hour

// scheduledTime checks a requested time against this node's clock.
func (s *Server) scheduledTime(t *time.Time) (time.Time, error) {
	if t == nil {
		return time.Time{}, nil
	}
	now := s.o.Clock()
	switch {
	case t.Before(now.Add(-time.Minute)):
		return time.Time{}, huma.Error422UnprocessableEntity("invalid input", &huma.ErrorDetail{Location: "body.callbackScheduledTime", Message: "is in the past", Value: t})
	case t.After(now.Add(maxScheduleAhead)):
		return time.Time{}, huma.Error422UnprocessableEntity("invalid input", &huma.ErrorDetail{Location: "body.callbackScheduledTime", Message: "is more than a year ahead", Value: t})
	}
	return *t, nil
}

// viewCallback answers with a callback as the caller sees it.
func (s *Server) viewCallback(ctx context.Context, status int, id actors.CallbackID) (*callbackOutput, error) {
	out := &callbackOutput{Status: status}
	c := callerOf(ctx)
	err := s.read(ctx, false, func(t *actors.Tenant) error {
		cb, pos, ewt, err := t.CallbackPosition(c.p, id)
		if err != nil {
			return err
		}
		out.Body = callbackView(cb, pos, ewt)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// createCallback serves POST /v1/callbacks (through huma, or fastCreate).
func (s *Server) createCallback(ctx context.Context, in *createCallbackInput) (*callbackOutput, error) {
	b := in.Body
	at, err := s.scheduledTime(b.CallbackScheduledTime)
	if err != nil {
		return nil, err
	}
	c := callerOf(ctx)
	hash, end, err := s.flights.start(itoa(uint64(c.tenant)), in.IdempotencyKey, b)
	if err != nil {
		return nil, err
	}
	defer end()
	out, err := s.propose(ctx, &actors.CreateCallback{Target: c.target(), Queue: actors.QueueID(b.QueueID), Domain: actors.DomainID(b.DomainID),
		CustomerName: b.CallbackUserName, Numbers: b.CallbackNumbers, Priority: b.Priority, ScheduledAt: at, Data: b.Data,
		IdempotencyKey: in.IdempotencyKey, RequestHash: hash})
	if err != nil {
		return nil, err
	}
	return s.viewCallback(ctx, http.StatusCreated, actors.CallbackID(out.Result.ID))
}

func (s *Server) callbackRoutes() {
	op := func(method, path, id, summary string, status int) huma.Operation {
		return operation(method, path, id, summary, status, false)
	}
	create := op(http.MethodPost, "/v1/callbacks", "create-callback", "Ask for a callback", http.StatusCreated)
	create.Description = "With an Idempotency-Key header, a retry with the same key and body returns the original callback; the same key with another body answers 422; a retry while the first is still running answers 409."
	huma.Register(s.api, create, s.createCallback)
	s.createOp = s.api.OpenAPI().Paths["/v1/callbacks"].Post
	huma.Register(s.api, op(http.MethodGet, "/v1/callbacks", "list-callbacks", "List the callbacks the caller can see", http.StatusOK),
		func(ctx context.Context, in *listCallbacksInput) (*callbackPage, error) {
			after, _ := strconv.ParseUint(in.PageToken, 10, 64)
			out := &callbackPage{}
			out.Body.Entities = []CallbackView{}
			c := callerOf(ctx)
			err := s.read(ctx, false, func(t *actors.Tenant) error {
				t.EachCallback(c.p, func(cb actors.Callback) {
					switch {
					case uint64(cb.ID) <= after, len(out.Body.Entities) > in.PageSize,
						in.QueueID != 0 && uint32(cb.Queue) != in.QueueID,
						in.DomainID != 0 && uint32(cb.Domain) != in.DomainID,
						in.State != "" && cb.Status.String() != in.State:
						return
					}
					out.Body.Entities = append(out.Body.Entities, callbackView(cb, 0, 0))
				})
				return nil
			})
			if len(out.Body.Entities) > in.PageSize {
				out.Body.Entities = out.Body.Entities[:in.PageSize]
				out.Body.NextPageToken = itoa(out.Body.Entities[in.PageSize-1].ID)
			}
			return out, err
		})
	huma.Register(s.api, op(http.MethodGet, "/v1/callbacks/export", "export-callbacks", "Export callback records as CSV", http.StatusOK),
		func(ctx context.Context, _ *struct{}) (*csvOutput, error) {
			c := callerOf(ctx)
			var buf bytes.Buffer
			w := csv.NewWriter(&buf)
			_ = w.Write([]string{"id", "state", "queueId", "domainIds", "callbackUserName", "callbackNumbers", "priority", "attempts", "agentId", "createdTime", "disposition", "comment"})
			err := s.read(ctx, false, func(t *actors.Tenant) error {
				if err := t.Allowed(c.p, actors.ActExportReports, nil, 0); err != nil {
					return s.problem(ctx, err)
				}
				t.EachCallback(c.p, func(cb actors.Callback) {
					v := callbackView(cb, 0, 0)
					doms, _ := json.Marshal(v.DomainIDs)
					nums, _ := json.Marshal(v.CallbackNumbers)
					_ = w.Write([]string{itoa(v.ID), v.State, itoa(uint64(v.QueueID)), string(doms), v.CallbackUserName, string(nums),
						strconv.Itoa(v.Priority), strconv.Itoa(v.Attempts), itoa(uint64(v.AgentID)), v.CreatedTime.Format(time.RFC3339), itoa(uint64(v.Disposition)), v.Comment})
				})
				return nil
			})
			if err != nil {
				return nil, err
			}
			w.Flush()
			return &csvOutput{ContentType: "text/csv", Body: buf.Bytes()}, nil
		})
	huma.Register(s.api, op(http.MethodGet, "/v1/callbacks/{callbackId}", "get-callback", "Get a callback", http.StatusOK),
		func(ctx context.Context, in *CallbackPath) (*callbackOutput, error) {
			return s.viewCallback(ctx, http.StatusOK, actors.CallbackID(in.CallbackID))
		})
	huma.Register(s.api, op(http.MethodPatch, "/v1/callbacks/{callbackId}", "update-callback", "Reschedule, reprioritise or transfer a waiting callback", http.StatusOK),
		func(ctx context.Context, in *patchCallbackInput) (*callbackOutput, error) {
			id, b := actors.CallbackID(in.CallbackID), in.Body
			// One command: every change named is made, or none is.
			cmd := &actors.UpdateCallback{Target: callerOf(ctx).target(), Callback: id, Priority: b.Priority,
				Queue: mapPtr(b.QueueID, func(q uint32) actors.QueueID { return actors.QueueID(q) })}
			if b.CallbackScheduledTime != nil {
				at, err := s.scheduledTime(b.CallbackScheduledTime)
				if err != nil {
					return nil, err
				}
				cmd.At = &at
			}
			if cmd.At != nil || cmd.Priority != nil || cmd.Queue != nil {
				if _, err := s.propose(ctx, cmd); err != nil {
					return nil, err
				}
			}
			return s.viewCallback(ctx, http.StatusOK, id)
		})
	huma.Register(s.api, op(http.MethodPost, "/v1/callbacks/{callbackId}/cancel", "cancel-callback", "Cancel a callback", http.StatusNoContent),
		func(ctx context.Context, in *CallbackPath) (*struct{}, error) {
			return s.done(ctx, func(t actors.Target) actors.Command {
				return &actors.CancelCallback{Target: t, Callback: actors.CallbackID(in.CallbackID)}
			})
		})
	huma.Register(s.api, op(http.MethodPost, "/v1/callbacks/{callbackId}/complete", "complete-callback", "Close a callback in progress with a disposition", http.StatusNoContent),
		func(ctx context.Context, in *completeInput) (*struct{}, error) {
			return s.done(ctx, func(t actors.Target) actors.Command {
				return &actors.CompleteCallback{Target: t, Callback: actors.CallbackID(in.CallbackID), Disposition: actors.CodeID(in.Body.Disposition), Comment: in.Body.Comment}
			})
		})
	huma.Register(s.api, op(http.MethodPost, "/v1/callbacks/{callbackId}/fail", "fail-attempt", "Record an attempt that did not reach the customer (retried per the tenant's policy)", http.StatusNoContent),
		func(ctx context.Context, in *failInput) (*struct{}, error) {
			return s.done(ctx, func(t actors.Target) actors.Command {
				return &actors.FailAttempt{Target: t, Callback: actors.CallbackID(in.CallbackID), Reason: in.Body.Reason}
			})
		})
}

type csvOutput struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}
