package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/ringbackhq/ringback/actors"
)

// Metrics are the API's and the core's Prometheus metrics. Labels never
// carry agent, callback or user identifiers; tenant labels appear only when
// asked for.
type Metrics struct {
	tenantLabels bool
	callbacks    *prometheus.CounterVec   // by outcome
	offers       *prometheus.CounterVec   // by result
	wait         *prometheus.HistogramVec // customer wait until an agent accepted
	http         *prometheus.HistogramVec
	httpBy       readMostly[httpLabels, prometheus.Observer] // http's children, resolved once
}

type httpLabels struct {
	method string
	code   int
}

func newMetrics(reg prometheus.Registerer, tenantLabels bool) *Metrics {
	labels := func(ls ...string) []string {
		if tenantLabels {
			return append([]string{"tenant"}, ls...)
		}
		return ls
	}
	m := &Metrics{
		tenantLabels: tenantLabels,
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringback_callbacks_total", Help: "Callbacks by lifecycle event: created, completed, canceled, expired, failed.",
		}, labels("event")),
		offers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringback_offers_total", Help: "Offers by result: offered, accepted, rejected, timed_out.",
		}, labels("result")),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ringback_callback_wait_seconds", Help: "Customer wait from due time until an agent accepted.",
			Buckets: []float64{10, 20, 30, 60, 120, 300},
		}, labels()),
		http: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ringback_http_request_duration_seconds", Help: "HTTP request duration by method and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "code"}),
		httpBy: readMostly[httpLabels, prometheus.Observer]{max: 256},
	}
	reg.MustRegister(m.callbacks, m.offers, m.wait, m.http)
	return m
}

func (m *Metrics) vals(e actors.Event, ls ...string) []string {
	if m.tenantLabels {
		return append([]string{strconv.FormatUint(uint64(e.Tenant), 10)}, ls...)
	}
	return ls
}

// observe counts applied events.
func (m *Metrics) observe(events []actors.Event) {
	for _, e := range events {
		switch e.Kind {
		case actors.EvCallbackCreated:
			m.callbacks.WithLabelValues(m.vals(e, "created")...).Inc()
		case actors.EvCallbackCompleted:
			m.callbacks.WithLabelValues(m.vals(e, "completed")...).Inc()
		case actors.EvCallbackCanceled:
			m.callbacks.WithLabelValues(m.vals(e, "canceled")...).Inc()
		case actors.EvCallbackExpired:
			m.callbacks.WithLabelValues(m.vals(e, "expired")...).Inc()
		case actors.EvCallbackFailed:
			m.callbacks.WithLabelValues(m.vals(e, "failed")...).Inc()
		case actors.EvCallbackOffered:
			m.offers.WithLabelValues(m.vals(e, "offered")...).Inc()
		case actors.EvOfferAccepted:
			m.offers.WithLabelValues(m.vals(e, "accepted")...).Inc()
			m.wait.WithLabelValues(m.vals(e)...).Observe(time.Duration(e.Object).Seconds())
		case actors.EvOfferRejected:
			m.offers.WithLabelValues(m.vals(e, "rejected")...).Inc()
		case actors.EvOfferTimedOut:
			m.offers.WithLabelValues(m.vals(e, "timed_out")...).Inc()
		}
	}
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(c int) { r.code = c; r.ResponseWriter.WriteHeader(c) }

// Flush lets server-sent events through the recorder.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap exposes the writer to http.ResponseController.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (m *Metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		m.httpObserver(r.Method, rec.code).Observe(time.Since(start).Seconds())
	})
}

// methodLabel is a request method as the duration metric labels it: the
// standard methods as they are, anything else as "other", so that no
// client can create series at will.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

func (m *Metrics) httpObserver(method string, code int) prometheus.Observer {
	method = methodLabel(method)
	k := httpLabels{method, code}
	o, ok := m.httpBy.get(k)
	if !ok {
		o = m.http.WithLabelValues(method, strconv.Itoa(code))
		m.httpBy.add(k, o)
	}
	return o
}
