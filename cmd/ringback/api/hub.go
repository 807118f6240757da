package api

import (
	"sync"

	"github.com/ringbackhq/ringback/actors"
)

// Hub delivers offer events to the agents' open streams on this node. Every
// node applies every command, so a stream works on any node. Publish is
// called on the apply path and never blocks: a stream that does not keep
// up loses events and can resynchronise with GET /v1/offers.
type Hub struct {
	mu       sync.Mutex
	subs     map[agentKey]map[chan OfferEvent]struct{} // guarded by mu
	observer func([]actors.Event)                      // guarded by mu
	closing  chan struct{}                             // closed by Close
	close    sync.Once
}

type agentKey struct {
	tenant actors.TenantID
	agent  actors.UserID
}

// OfferEvent is what an agent's stream carries.
type OfferEvent struct {
	Type       string `json:"type" enum:"offered,revoked"`
	CallbackID uint64 `json:"callbackId"`
	OfferID    uint64 `json:"offerId"`
	QueueID    uint32 `json:"queueId"`
	DomainID   uint32 `json:"domainId"`
	Reason     string `json:"reason,omitempty"`
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{subs: map[agentKey]map[chan OfferEvent]struct{}{}, closing: make(chan struct{})}
}

// Close ends every open stream, now and later (Server.Shutdown calls it).
func (h *Hub) Close() { h.close.Do(func() { close(h.closing) }) }

// Closing is closed once Close was called.
func (h *Hub) Closing() <-chan struct{} { return h.closing }

// Subscribe opens a stream for an agent; call the returned function to
// close it.
func (h *Hub) Subscribe(t actors.TenantID, a actors.UserID) (<-chan OfferEvent, func()) {
	ch := make(chan OfferEvent, 64)
	k := agentKey{t, a}
	h.mu.Lock()
	if h.subs[k] == nil {
		h.subs[k] = map[chan OfferEvent]struct{}{}
	}
	h.subs[k][ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs[k], ch)
		if len(h.subs[k]) == 0 {
			delete(h.subs, k)
		}
		h.mu.Unlock()
	}
}

// Publish hands applied events to the streams (and to the metrics).
func (h *Hub) Publish(events []actors.Event) {
	h.mu.Lock()
	observe := h.observer
	h.mu.Unlock()
	if observe != nil {
		observe(events)
	}
	for _, e := range events {
		var oe OfferEvent
		switch e.Kind {
		case actors.EvCallbackOffered:
			oe.Type = "offered"
		case actors.EvOfferTimedOut:
			oe.Type, oe.Reason = "revoked", "timed out"
		case actors.EvCallbackCanceled:
			if e.Agent == 0 {
				continue
			}
			oe.Type, oe.Reason = "revoked", "canceled"
		default:
			continue
		}
		oe.CallbackID, oe.OfferID, oe.QueueID, oe.DomainID = uint64(e.Callback), uint64(e.Offer), uint32(e.Queue), uint32(e.Domain)
		h.mu.Lock()
		for ch := range h.subs[agentKey{e.Tenant, e.Agent}] {
			select {
			case ch <- oe:
			default:
			}
		}
		h.mu.Unlock()
	}
}

// observe makes fn see every published batch of events.
func (h *Hub) observe(fn func([]actors.Event)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.observer = fn
}
