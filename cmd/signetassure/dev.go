package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"filippo.io/age"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"golang.org/x/sync/errgroup"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/config"
	"github.com/signetassure/signetassure/credoid"
	"github.com/signetassure/signetassure/demo"
	"github.com/signetassure/signetassure/metrics"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/sim/adsim"
	"github.com/signetassure/signetassure/sim/credoidsim"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/temporalx"
	"github.com/signetassure/signetassure/workflows"
)

// runDev runs everything on one machine: the pinned Temporal CLI's dev server with its Web UI (state kept
// in the data folder), migrations, the worker, the API and the demo data; it prints where to go.
func runDev(ctx context.Context, cfg config.Config) error {
	dataDir := envOr("SIGNETASSURE_DATA_DIR", ".data")
	cli := envOr("TEMPORAL_CLI", filepath.Join("bin", "temporal"))
	temporalPort := envOr("TEMPORAL_DEV_PORT", "7233")
	uiPort := envOr("TEMPORAL_UI_PORT", "8233")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	// The terminal is kept for what a person reads (the URLs and tokens, last); the logs go to a file.
	logFile, err := os.OpenFile(filepath.Join(dataDir, "signetassure.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	log := cfg.LoggerTo(logFile)
	fmt.Fprintf(os.Stderr, "starting SignetAssure on this machine (logs: %s, %s)\n", logFile.Name(),
		filepath.Join(dataDir, "temporal.log"))
	if _, err := os.Stat(cli); err != nil {
		return fmt.Errorf("temporal CLI not found at %s: run `make bin/temporal` (make run does it)", cli)
	}
	if err := migrate(ctx, cfg, log); err != nil {
		return err
	}
	if err := devSecrets(dataDir, &cfg); err != nil {
		return err
	}

	// The simulators stop with ctx and write their state files; runDev returns only after that.
	var simsStopped sync.WaitGroup
	defer simsStopped.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	simURL := ""
	if cfg.ACS.CredoID == nil && cfg.ACS.RESTConfig == nil {
		var err error
		if simURL, err = startCredoIDSim(ctx, &simsStopped, dataDir, &cfg, log); err != nil {
			return err
		}
	}

	sims, err := startProviderSims(ctx, &simsStopped, dataDir, &cfg, log)
	if err != nil {
		return err
	}
	directories, err := startDirectorySims(ctx, &simsStopped, dataDir, &cfg, log)
	if err != nil {
		return err
	}

	// One process, one registry: the API's, the worker's and the Temporal SDK's metrics.
	reg := metrics.NewRegistry()
	sdkMetrics, err := metrics.Temporal(reg)
	if err != nil {
		return err
	}
	if err := serveMetrics(ctx, cfg, log, reg); err != nil {
		return err
	}
	srv, err := startTemporalDev(ctx, dataDir, cli, temporalPort, uiPort, log, sdkMetrics)
	if err != nil {
		return err
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			log.Warn("temporal dev server stop", "error", err)
		}
	}()
	tc := srv.Client()

	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	users, err := demo.EnsureUsers(ctx, st, filepath.Join(dataDir, "demo-tokens.json"))
	if err != nil {
		return fmt.Errorf("demo users: %w", err)
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return runWorker(gctx, cfg, log, st, tc, reg) })
	g.Go(func() error { return serveAPI(gctx, cfg, log, st, tc, reg) })
	g.Go(func() error {
		base := "http://" + localAddr(cfg.HTTPAddr)
		if err := waitHTTP(gctx, base+"/healthz"); err != nil {
			return err
		}
		if err := demo.Seed(gctx, base, users, time.Now()); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
		if err := demo.SeedAccess(gctx, base, users, time.Now()); err != nil {
			return fmt.Errorf("demo access control: %w", err)
		}
		if err := demo.SeedMessaging(gctx, base, users, time.Now()); err != nil {
			return fmt.Errorf("demo messaging: %w", err)
		}
		if err := demo.SeedTravel(gctx, base, users, time.Now()); err != nil {
			return fmt.Errorf("demo travel: %w", err)
		}
		printWelcome(base, "http://localhost:"+uiPort, simURL, sims, directories, users)
		return nil
	})
	return g.Wait()
}

// startTemporalDev starts the pinned Temporal CLI's dev server with its Web UI, its state and its log in
// the data folder.
func startTemporalDev(ctx context.Context, dataDir, cli, port, uiPort string, log *slog.Logger, sdkMetrics client.MetricsHandler) (*testsuite.DevServer, error) {
	temporalLog, err := os.OpenFile(filepath.Join(dataDir, "temporal.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	// The server has its own copy of the file's descriptor.
	defer temporalLog.Close()
	log.Info("starting the Temporal dev server", "port", port, "uiPort", uiPort)
	opts := &client.Options{HostPort: "127.0.0.1:" + port}
	if err := temporalx.Instrument(opts, log, sdkMetrics); err != nil {
		return nil, err
	}
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:     cli,
		ClientOptions:    opts,
		DBFilename:       filepath.Join(dataDir, "temporal.db"),
		EnableUI:         true,
		UIPort:           uiPort,
		LogLevel:         "warn",
		SearchAttributes: workflows.SearchAttributeSchema(),
		Stdout:           temporalLog,
		Stderr:           temporalLog,
	})
	if err != nil {
		return nil, fmt.Errorf("start the Temporal dev server (log: %s): %w", temporalLog.Name(), err)
	}
	return srv, nil
}

// devSecrets fills in what production takes from the environment and a development machine keeps in the
// data folder: the audit signing key and witness file, the partner credential key and the identity
// evidence key, each made once. Partners in development run on this machine (a second `signetassure
// dev`, over http).
func devSecrets(dataDir string, cfg *config.Config) error {
	if cfg.Audit.Keys.Signing == nil {
		key, err := devSecret(dataDir, "audit-signing-key", audit.GenerateKey)
		if err != nil {
			return err
		}
		os.Setenv(audit.EnvSigningKey, key)
		if cfg.Audit.Keys, err = audit.LoadKeys(); err != nil {
			return err
		}
	}
	if cfg.Audit.WitnessFile == "" {
		cfg.Audit.WitnessFile = filepath.Join(dataDir, "audit-witness.jsonl")
	}
	cfg.PartnerAllowLoopback = true
	if len(cfg.Keyring.KeyIDs()) == 0 {
		key, err := devSecret(dataDir, "partner-credential-key", func() (string, error) { return partners.GenerateKey(), nil })
		if err != nil {
			return err
		}
		if cfg.Keyring, err = partners.ParseKeyring("dev:"+key, "dev"); err != nil {
			return err
		}
	}
	if len(cfg.Identity.Evidence.KeyIDs()) == 0 {
		key, err := devSecret(dataDir, "evidence-key", func() (string, error) { return partners.GenerateKey(), nil })
		if err != nil {
			return err
		}
		if cfg.Identity.Evidence, err = config.ParseEvidenceKey(key); err != nil {
			return err
		}
	}
	if cfg.Evidence == nil {
		key, err := devSecret(dataDir, "evidence-pack-key", func() (string, error) {
			id, err := age.GenerateX25519Identity()
			if err != nil {
				return "", err
			}
			return id.String(), nil
		})
		if err != nil {
			return err
		}
		env := map[string]string{config.EnvEvidenceEncryptionKey: key, config.EnvEvidenceDir: filepath.Join(dataDir, "evidence")}
		if cfg.Evidence, err = config.LoadEvidencePacks(func(name string) string {
			if v, ok := env[name]; ok {
				return v
			}
			return os.Getenv(name)
		}); err != nil {
			return err
		}
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// localAddr turns a listen address (":8080") into one to call ("localhost:8080").
func localAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

func waitHTTP(ctx context.Context, url string) error {
	for {
		resp, err := httpGet(ctx, url)
		if err == nil && resp == 200 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// startCredoIDSim runs the CredoID simulator for the dev stack and points the configuration at it.
func startCredoIDSim(ctx context.Context, stopped *sync.WaitGroup, dataDir string, cfg *config.Config, log *slog.Logger) (string, error) {
	password, err := devSecret(dataDir, "credoid-sim-password", func() (string, error) { return rand.Text(), nil })
	if err != nil {
		return "", err
	}
	sim := credoidsim.New(credoidsim.Options{Username: "signetassure", Password: password, Seed: true})
	if err := sim.KeepState(simStateFile(dataDir, "credoid"), simStateError(log, "credoid")); err != nil {
		return "", fmt.Errorf("CredoID simulator: %w", err)
	}
	url, err := serveSim(ctx, stopped, "CREDOID_SIM_ADDR", "127.0.0.1:8090", sim.Handler(), sim.Close, log)
	if err != nil {
		return "", fmt.Errorf("CredoID simulator: %w", err)
	}
	cfg.ACS.CredoID = &credoid.Config{BaseURL: url, Username: "signetassure", Password: password}
	log.Info("CredoID simulator started (no CREDOID_URL configured)", "url", url)
	return url, nil
}

func printWelcome(api, ui, credoidSim string, sims providerSims, directories directorySims, users []demo.User) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nSignetAssure is running.\n\n")
	fmt.Fprintf(&b, "  Console      %s/   (sign in with Microsoft, with a directory password, or with a token below)\n", api)
	fmt.Fprintf(&b, "  API          %s/api/v1   (OpenAPI: %s/api/openapi.json)\n", api, api)
	fmt.Fprintf(&b, "  Temporal UI  %s\n", ui)
	if credoidSim != "" {
		fmt.Fprintf(&b, "  CredoID sim  %s/   (the badge system; faults: %s/sim/faults)\n", credoidSim, credoidSim)
	}
	if sims.twilio != "" {
		fmt.Fprintf(&b, "  Twilio sim   %s/   (SMS and WhatsApp sent, replies; faults: %s/sim/faults)\n", sims.twilio, sims.twilio)
	}
	if sims.sendgrid != "" {
		fmt.Fprintf(&b, "  SendGrid sim %s/   (e-mails sent, unsubscribes; faults: %s/sim/faults)\n", sims.sendgrid, sims.sendgrid)
	}
	if sims.signicat != "" {
		fmt.Fprintf(&b, "  Signicat sim %s/   (identity checks: capture pages, decisions; faults: %s/sim/faults)\n", sims.signicat, sims.signicat)
	}
	if directories.entra != "" {
		fmt.Fprintf(&b, "  Entra ID sim %s/   (\"Sign in with Microsoft\" picks a demo person; key rollover: POST %s/sim/rollover)\n", directories.entra, directories.entra)
	}
	if directories.ldap != "" {
		fmt.Fprintf(&b, "  AD (LDAPS)   %s   (directory sign-in: amara.okafor, ben.hughes or chloe.martin, password %s)\n", directories.ldap, adsim.DemoPassword)
	}
	fmt.Fprintf(&b, "\n")
	fmt.Fprintf(&b, "Demo tokens (Authorization: Bearer <token>):\n")
	for _, u := range users {
		fmt.Fprintf(&b, "  %-20s %-16s %s\n", u.Role, u.Name, u.Token)
	}
	fmt.Fprintf(&b, "\nTry:\n  curl -s -H 'Authorization: Bearer %s' %s/api/v1/cases | head -c 600\n\nCtrl-C stops everything.\n\n",
		demo.TokenFor(users, "case_worker"), api)
	fmt.Print(b.String())
}

func httpGet(ctx context.Context, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// devSecret returns the secret kept in the data folder under name, making it with generate the first time,
// so a restart keeps reading what it sealed or signed before.
func devSecret(dataDir, name string, generate func() (string, error)) (string, error) {
	path := filepath.Join(dataDir, name)
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	secret, err := generate()
	if err != nil {
		return "", err
	}
	return secret, os.WriteFile(path, []byte(secret+"\n"), 0o600)
}
