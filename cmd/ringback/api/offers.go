package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/sse"
	"github.com/ringbackhq/ringback/actors"
)

// Offer endpoints: an agent's pending offer (TaskRouter's reservation),
// the stream of offers as they are made, accept and reject.

type OfferPath struct {
	OfferID uint64 `path:"offerId" minimum:"1"`
}

// Heartbeat keeps an offer stream open through proxies.
type Heartbeat struct {
	Time time.Time `json:"time"`
}

func (s *Server) currentOffer(ctx context.Context) (actors.Callback, bool, error) {
	c := callerOf(ctx)
	var cb actors.Callback
	var ok bool
	err := s.read(ctx, false, func(t *actors.Tenant) error {
		if c.p.Kind == actors.PrincipalUser {
			cb, ok = t.CurrentOffer(c.p.User)
		}
		return nil
	})
	return cb, ok, err
}

func (s *Server) offerRoutes() {
	op := func(method, path, id, summary string, status int) huma.Operation {
		return operation(method, path, id, summary, status, false)
	}
	huma.Register(s.api, op(http.MethodGet, "/v1/offers", "list-offers", "The caller's pending offers", http.StatusOK),
		func(ctx context.Context, _ *struct{}) (*struct{ Body []OfferEvent }, error) {
			out := &struct{ Body []OfferEvent }{Body: []OfferEvent{}}
			cb, ok, err := s.currentOffer(ctx)
			if ok {
				out.Body = append(out.Body, OfferEvent{Type: "offered", CallbackID: uint64(cb.ID), OfferID: uint64(cb.Offer),
					QueueID: uint32(cb.Queue), DomainID: uint32(cb.Domain)})
			}
			return out, err
		})
	stream := op(http.MethodGet, "/v1/offers/stream", "stream-offers", "Offers to the caller as they are made (server-sent events)", http.StatusOK)
	sse.Register(s.api, stream, map[string]any{"offer": OfferEvent{}, "heartbeat": Heartbeat{}},
		func(ctx context.Context, _ *struct{}, send sse.Sender) {
			c := callerOf(ctx)
			if c.p.Kind != actors.PrincipalUser {
				return
			}
			events, stop := s.o.Hub.Subscribe(c.tenant, c.p.User)
			defer stop()
			// Something is sent at once, the pending offer or a heartbeat:
			// the first event flushes the response headers, so a client
			// knows its stream is subscribed (and may become available)
			// without waiting a heartbeat interval.
			if cb, ok, _ := s.currentOffer(ctx); ok {
				_ = send.Data(OfferEvent{Type: "offered", CallbackID: uint64(cb.ID), OfferID: uint64(cb.Offer), QueueID: uint32(cb.Queue), DomainID: uint32(cb.Domain)})
			} else if send.Data(Heartbeat{Time: s.o.Clock().UTC()}) != nil {
				return
			}
			tick := time.NewTicker(s.o.Heartbeat)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-s.o.Hub.Closing():
					return
				case e := <-events:
					if send.Data(e) != nil {
						return
					}
				case now := <-tick.C:
					if send.Data(Heartbeat{Time: now.UTC()}) != nil {
						return
					}
				}
			}
		})
	for _, a := range []struct {
		path, id, summary string
		accept            bool
	}{{"/v1/offers/{offerId}/accept", "accept-offer", "Accept an offer", true}, {"/v1/offers/{offerId}/reject", "reject-offer", "Reject an offer", false}} {
		huma.Register(s.api, op(http.MethodPost, a.path, a.id, a.summary, http.StatusNoContent),
			func(ctx context.Context, in *OfferPath) (*struct{}, error) {
				cb, ok, err := s.currentOffer(ctx)
				if err != nil {
					return nil, err
				}
				if !ok || uint64(cb.Offer) != in.OfferID {
					return nil, huma.Error409Conflict("conflict", &huma.ErrorDetail{Location: "path.offerId", Message: "this offer is not current for the caller"})
				}
				return s.done(ctx, func(t actors.Target) actors.Command {
					if a.accept {
						return &actors.AcceptOffer{Target: t, Callback: cb.ID, Offer: cb.Offer}
					}
					return &actors.RejectOffer{Target: t, Callback: cb.ID, Offer: cb.Offer}
				})
			})
	}
}
