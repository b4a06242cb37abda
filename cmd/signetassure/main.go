// Command signetassure is SignetAssure in one binary:
//
//	signetassure dev       everything on one machine: Temporal dev server and UI, migrations, worker, API, demo data
//	signetassure api       the REST API
//	signetassure worker    the Temporal worker
//	signetassure migrate   create the database if missing and apply the schema migrations
//	signetassure admin     bootstrap the first administrator
//	signetassure audit     verify the audit log's hash chain and signatures, or sign a checkpoint
//	signetassure secrets   generate the deployment's keys into a folder (SECRETS_DIR)
//
// The api and worker are configured only by environment variables (see README.md).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/config"
	"github.com/signetassure/signetassure/metrics"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/schema"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/temporalx"
	"github.com/signetassure/signetassure/tracing"
	"github.com/signetassure/signetassure/worker"
	"github.com/signetassure/signetassure/workflows"
)

const usage = `usage: signetassure <command>

commands:
  dev       run everything on this machine (Temporal dev server + UI, migrations, worker, API, demo data)
  api       run the REST API
  worker    run the Temporal worker
  migrate   create the database if missing and apply migrations
  admin     admin bootstrap --email EMAIL: the first administrator and a sign-in token for them
  sim       run a simulator of an outside system (sim credoid|gallagher|twilio|sendgrid|signicat|entra)
  audit     the audit log: audit verify [--witness FILE], audit checkpoint, audit public-key [--note]
  evidence  evidence verify PACK.zip --origin ORIGIN --key VKEY: check an evidence pack offline
  secrets   secrets init DIR: generate the deployment's keys into DIR, one file each, keeping those there (SECRETS_DIR)
  help      print this (signetassure sim, signetassure audit and signetassure admin help print theirs)
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "help", "-h", "--help": // before the configuration: help works whatever the environment holds
		fmt.Print(usage)
		return
	case "evidence": // offline: it needs no configuration
		evidenceCommand(os.Args[2:])
		return
	case "secrets": // offline, and before the configuration it makes
		secretsCommand(os.Args[2:])
		return
	}
	cfg, err := config.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, "configuration:", err)
		os.Exit(2)
	}
	log := cfg.Logger()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopTracing := func() {}
	switch os.Args[1] {
	case "dev", "api", "worker":
		stopTracing, err = startTracing(ctx, "signetassure-"+os.Args[1], log)
		if err != nil {
			log.Error("tracing", "error", err)
			os.Exit(2)
		}
	}
	switch os.Args[1] {
	case "dev":
		err = runDev(ctx, cfg)
	case "api":
		err = withServices(ctx, cfg, log, func(st *store.Store, tc client.Client, reg *prometheus.Registry) error {
			return serveAPI(ctx, cfg, log, st, tc, reg)
		})
	case "worker":
		err = withServices(ctx, cfg, log, func(st *store.Store, tc client.Client, reg *prometheus.Registry) error {
			return runWorker(ctx, cfg, log, st, tc, reg)
		})
	case "migrate":
		err = migrate(ctx, cfg, log)
	case "audit":
		err = runAudit(ctx, cfg, os.Args[2:])
	case "admin":
		err = runAdmin(ctx, cfg, os.Args[2:])
	case "sim":
		err = runSim(ctx, log, os.Args[2:])
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	stopTracing()
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error("stopped", "error", err)
		os.Exit(1)
	}
}

// startTracing starts the process's traces as the OTEL_* variables say (tracing.Start); the function it
// returns sends the spans not yet exported, within 5 seconds.
func startTracing(ctx context.Context, service string, log *slog.Logger) (func(), error) {
	stop, err := tracing.Start(ctx, service, log)
	if err != nil {
		return nil, err
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stop(ctx); err != nil {
			log.Warn("tracing: spans not sent at shutdown", "error", err)
		}
	}, nil
}

func migrate(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	if err := schema.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		log.Warn("could not check or create the database; migrating what is there", "error", err)
	}
	if err := schema.Migrate(ctx, cfg.DatabaseURL); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	log.Info("database migrated")
	return nil
}

// readyWithin bounds the database check at start.
const readyWithin = 10 * time.Second

// withServices checks the database (reachable and migrated: schema.Ready, failing at once otherwise),
// opens it, connects to Temporal with the SDK's metrics in the process's registry, serves that registry
// at METRICS_ADDR (and its profiles at PPROF_ADDR), runs fn, and closes both.
func withServices(ctx context.Context, cfg config.Config, log *slog.Logger, fn func(*store.Store, client.Client, *prometheus.Registry) error) error {
	readyCtx, cancel := context.WithTimeout(ctx, readyWithin)
	err := schema.Ready(readyCtx, cfg.DatabaseURL)
	cancel()
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	reg := metrics.NewRegistry()
	sdkMetrics, err := metrics.Temporal(reg)
	if err != nil {
		return err
	}
	tc, err := temporalx.Dial(ctx, log, sdkMetrics)
	if err != nil {
		return err
	}
	defer tc.Close()
	if err := serveMetrics(ctx, cfg, log, reg); err != nil {
		return err
	}
	return fn(st, tc, reg)
}

// serveMetrics serves reg at METRICS_ADDR's /metrics, and Go's profiles at PPROF_ADDR's /debug/pprof/,
// until ctx ends (nothing at an address not set). An address that cannot be listened on stops the
// process at start; a later failure is logged.
func serveMetrics(ctx context.Context, cfg config.Config, log *slog.Logger, reg *prometheus.Registry) error {
	for _, l := range []struct {
		name, addr string
		serve      func(net.Listener) error
	}{
		{"METRICS_ADDR", cfg.MetricsAddr, func(ln net.Listener) error { return metrics.Serve(ctx, ln, reg, log) }},
		{"PPROF_ADDR", cfg.PprofAddr, func(ln net.Listener) error { return metrics.ServeProfiles(ctx, ln, log) }},
	} {
		if l.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			return fmt.Errorf("%s: %w", l.name, err)
		}
		log.Info("listening", "setting", l.name, "addr", l.addr)
		go func() {
			if err := l.serve(ln); err != nil {
				log.Error("stopped serving", "setting", l.name, "error", err)
			}
		}()
	}
	return nil
}

// serveAPI serves the API until ctx ends, then drains requests for up to 10 seconds.
func serveAPI(ctx context.Context, cfg config.Config, log *slog.Logger, st *store.Store, tc client.Client, reg *prometheus.Registry) error {
	acs, err := cfg.ACS.Connector()
	if err != nil {
		return err
	}
	requests, err := metrics.NewHTTP(reg)
	if err != nil {
		return err
	}
	deps := api.Deps{Store: st, Temporal: tc, TaskQueue: cfg.TaskQueue, SLA: cfg.SLA, Log: log,
		Keyring: cfg.Keyring, Partners: partners.Directory{Store: st, Keyring: cfg.Keyring, AllowLoopback: cfg.PartnerAllowLoopback},
		TrustedProxies: cfg.TrustedProxies, Validity: cfg.ClearanceValidity, AllowLoopbackPartners: cfg.PartnerAllowLoopback,
		ACS: acs, Inactivity: cfg.ACS.Inactivity, Messaging: cfg.Messaging.Hooks(), Identity: cfg.Identity.Hooks(),
		TokenMaxValidity: cfg.TokenMaxValidity, Evidence: cfg.Evidence, Webhooks: cfg.Webhooks, Metrics: requests,
		ProfileLabels: cfg.PprofAddr != ""}
	if err := cfg.Staff.APIDeps(&deps); err != nil {
		return err
	}
	srv, err := api.New(deps)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return err
	}
	log.Info("api listening", "addr", cfg.HTTPAddr)
	return serveUntil(ctx, srv.HTTPServer(), ln)
}

// runWorker runs the Temporal worker until ctx ends. It reports the business gauges into reg (the API
// does not: one process reports them, or they would be counted twice).
func runWorker(ctx context.Context, cfg config.Config, log *slog.Logger, st *store.Store, tc client.Client, reg *prometheus.Registry) error {
	acs, err := cfg.ACS.Connector()
	if err != nil {
		return err
	}
	if err := reg.Register(metrics.NewBusiness(st, log)); err != nil {
		return err
	}
	temporalx.EnsureSearchAttributes(ctx, tc, temporalx.Namespace(), log)
	if cfg.Audit.WitnessFile != "" {
		// From now on a missing witness file is one removed; a file that cannot be made stops the worker here.
		if err := (audit.FileSink{Path: cfg.Audit.WitnessFile}).Create(); err != nil {
			return err
		}
	}
	every := worker.Intervals{PartnerHealth: cfg.PartnerHealthEvery}
	if cfg.Audit.Keys.Signing != nil {
		every.AuditCheckpoint = cfg.Audit.CheckpointEvery
	}
	if acs != nil {
		every.AccessSync = cfg.ACS.SyncEvery
		if err := worker.FollowAccessEvents(ctx, tc, cfg.TaskQueue, cfg.ACS.EventPollEvery); err != nil {
			return fmt.Errorf("access events: %w", err)
		}
	}
	if cfg.Messaging.Twilio != nil {
		every.MessageCosts = cfg.Messaging.CostEvery
	}
	if err := worker.EnsureSchedules(ctx, tc, cfg.TaskQueue, worker.DefaultSchedules(every)); err != nil {
		return fmt.Errorf("temporal schedules: %w", err)
	}
	w := worker.New(tc, cfg.TaskQueue, &activities.Activities{Store: st,
		Partners:  partners.Directory{Store: st, Keyring: cfg.Keyring, AllowLoopback: cfg.PartnerAllowLoopback},
		AuditKeys: cfg.Audit.Keys, AuditSinks: cfg.Audit.Sinks(), AuditVerify: cfg.Audit.VerifyOptions(cfg.Audit.WitnessFile),
		Access:    activities.AccessSettings{Connector: acs, Inactivity: cfg.ACS.Inactivity, Concurrency: cfg.ACS.Concurrency},
		Messaging: cfg.Messaging.Settings(), Identity: cfg.Identity.Settings(cfg.Messaging.PublicURL),
		Evidence: activities.EvidenceSettings{Vault: cfg.Evidence, Origin: cfg.Audit.Origin},
		Webhooks: activities.WebhookSettings{Keyring: cfg.Keyring, AllowLoopback: cfg.PartnerAllowLoopback, Timeout: cfg.Webhooks.Timeout},
		Travel:   activities.TravelSettings{PublicURL: cfg.Messaging.PublicURL}}, cfg.Worker)
	if err := w.Start(); err != nil {
		return err
	}
	if err := serveWorkerHealth(ctx, cfg.HealthAddr, st, tc, log); err != nil {
		w.Stop()
		return err
	}
	go worker.SequenceAudit(ctx, st, cfg.Audit.Keys, cfg.Audit.Origin, cfg.Audit.SequenceEvery, log)
	go worker.WakeWebhooks(ctx, st, func(ctx context.Context, id uuid.UUID) error {
		return workflows.WakeWebhook(ctx, tc, cfg.TaskQueue, id, cfg.Webhooks.Policy)
	}, worker.DefaultWaker, log)
	system := "none"
	if acs != nil {
		system = acs.System()
	}
	identity := "none (officers check documents in person)"
	if cfg.Identity.Provider != nil {
		identity = cfg.Identity.Provider.Name()
	}
	log.Info("worker started", "taskQueue", cfg.TaskQueue, "accessControl", system, "identity", identity)
	<-ctx.Done()
	w.Stop()
	return nil
}
