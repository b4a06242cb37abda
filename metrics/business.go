package metrics

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/store"
)

// ScrapeTimeout bounds the database queries of one scrape, so a slow database cannot pile up scrapes.
const ScrapeTimeout = 5 * time.Second

// Operations reads the business gauges (store.Store.OperationsAt).
type Operations interface {
	OperationsAt(ctx context.Context, now time.Time) (store.Operations, error)
}

// Business is a collector of the business gauges, read from the database at each scrape. One process
// registers it (the worker), so that gauges are not reported twice.
type Business struct {
	src Operations
	log *slog.Logger
	now func() time.Time
}

// NewBusiness is a collector of src's gauges; log takes a scrape's failure (the scrape then reports
// signetassure_business_scrape_success 0 and no gauges, rather than stale ones).
func NewBusiness(src Operations, log *slog.Logger) *Business {
	return &Business{src: src, log: log, now: time.Now}
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
}

var (
	casesOpen          = desc("cases_open", "Vetting cases without an outcome, by status.", "status")
	casesOverdue       = desc("cases_overdue", "Open vetting cases past their due time.")
	clearancesExpiring = desc("clearances_expiring", "Active clearances whose validity ends within the days given.", "within_days")
	accessSyncLag      = desc("access_sync_lag_seconds", "Time since the last completed access sync finished (absent: none has).")
	accessFindingsOpen = desc("access_findings_open", "Access findings nobody has resolved.")
	webhookBacklog     = desc("webhook_backlog_events", "Lifecycle events active webhook subscriptions have still to be sent, summed over subscriptions.")
	messagesFailed     = desc("messages_failed_24h", "Messages that failed or were undelivered in the last 24 hours, by channel.", "channel")
	scrapeSuccess      = desc("business_scrape_success", "1 if the business gauges were read from the database at this scrape, 0 if not.")
)

// Describe implements prometheus.Collector.
func (b *Business) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{casesOpen, casesOverdue, clearancesExpiring, accessSyncLag,
		accessFindingsOpen, webhookBacklog, messagesFailed, scrapeSuccess} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: it queries the database, within ScrapeTimeout.
func (b *Business) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), ScrapeTimeout)
	defer cancel()
	now := b.now()
	o, err := b.src.OperationsAt(ctx, now)
	if err != nil {
		b.log.Warn("business metrics not read", "error", err)
		ch <- prometheus.MustNewConstMetric(scrapeSuccess, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(scrapeSuccess, prometheus.GaugeValue, 1)
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	// Every open status and every channel is reported, 0 included, so a series does not vanish when it
	// empties; the database's values outside the vocabulary are not (a label never carries free text).
	for _, s := range domain.CaseStatuses {
		if !s.Closed() {
			gauge(casesOpen, float64(o.CasesOpen[s]), string(s))
		}
	}
	gauge(casesOverdue, float64(o.CasesOverdue))
	for _, days := range store.ExpiryWindows {
		gauge(clearancesExpiring, float64(o.ClearancesExpiring[days]), strconv.Itoa(days))
	}
	if o.LastAccessSync != nil {
		gauge(accessSyncLag, now.Sub(*o.LastAccessSync).Seconds())
	}
	gauge(accessFindingsOpen, float64(o.AccessFindingsOpen))
	gauge(webhookBacklog, float64(o.WebhookBacklog))
	for _, c := range domain.Channels {
		gauge(messagesFailed, float64(o.MessagesFailed[c]), string(c))
	}
}
