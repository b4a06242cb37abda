package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/signetassure/signetassure/config"
	"github.com/signetassure/signetassure/messaging"
	"github.com/signetassure/signetassure/signicat"
	"github.com/signetassure/signetassure/sim/sendgridsim"
	"github.com/signetassure/signetassure/sim/signicatsim"
	"github.com/signetassure/signetassure/sim/twiliosim"
)

// providerSims are the addresses of the outside-service simulators the dev stack runs ("" when a real
// provider is configured).
type providerSims struct{ twilio, sendgrid, signicat string }

// Senders the dev stack's simulated Twilio account sends from.
const (
	devSMSFrom      = "+447400000000"
	devWhatsAppFrom = "+447400000001"
)

// startProviderSims runs the Twilio, SendGrid and Signicat simulators for the dev stack, unless real
// credentials are configured, and points the configuration at them. They call back into the API at
// PUBLIC_URL, signed or authorised as the real providers do.
func startProviderSims(ctx context.Context, stopped *sync.WaitGroup, dataDir string, cfg *config.Config, log *slog.Logger) (providerSims, error) {
	var sims providerSims
	m := &cfg.Messaging
	if m.Twilio == nil {
		token, err := devSecret(dataDir, "twilio-sim-auth-token", func() (string, error) { return rand.Text(), nil })
		if err != nil {
			return sims, err
		}
		sim := twiliosim.New(twiliosim.Options{AccountSID: twiliosim.DefaultAccountSID, AuthToken: token,
			InboundURL: m.PublicURL + config.TwilioInboundPath, DefaultFrom: devSMSFrom,
			AutoReply: envOr("TWILIO_SIM_AUTO_REPLY", "SAFE"), AutoReplyRate: 0.7})
		if err := sim.KeepState(simStateFile(dataDir, "twilio"), simStateError(log, "twilio")); err != nil {
			sim.Close()
			return sims, fmt.Errorf("the Twilio simulator: %w", err)
		}
		if sims.twilio, err = serveSim(ctx, stopped, "TWILIO_SIM_ADDR", "127.0.0.1:8093", sim.Handler(), sim.Close, log); err != nil {
			return sims, fmt.Errorf("the Twilio simulator: %w", err)
		}
		m.Twilio = &messaging.TwilioConfig{AccountSID: twiliosim.DefaultAccountSID, AuthToken: token, From: devSMSFrom,
			WhatsAppFrom: devWhatsAppFrom, BaseURL: sims.twilio, StatusCallback: m.PublicURL + config.TwilioStatusPath}
		log.Info("Twilio simulator started (no TWILIO_ACCOUNT_SID configured)", "url", sims.twilio)
	}
	if m.SendGrid == nil {
		key, err := devSecret(dataDir, "sendgrid-sim-api-key", func() (string, error) { return "SG." + rand.Text(), nil })
		if err != nil {
			return sims, err
		}
		seed, err := devSecret(dataDir, "sendgrid-sim-webhook-seed", func() (string, error) { return rand.Text(), nil })
		if err != nil {
			return sims, err
		}
		priv, pub := messaging.SendGridWebhookKeyFromSeed([]byte(seed))
		sim := sendgridsim.New(sendgridsim.Options{APIKey: key, EventsURL: m.PublicURL + config.SendGridEventPath,
			SigningKey: priv, DeliveryDelay: time.Second})
		if err := sim.KeepState(simStateFile(dataDir, "sendgrid"), simStateError(log, "sendgrid")); err != nil {
			sim.Close()
			return sims, fmt.Errorf("SendGrid simulator: %w", err)
		}
		if sims.sendgrid, err = serveSim(ctx, stopped, "SENDGRID_SIM_ADDR", "127.0.0.1:8094", sim.Handler(), sim.Close, log); err != nil {
			return sims, fmt.Errorf("SendGrid simulator: %w", err)
		}
		m.SendGrid = &messaging.SendGridConfig{APIKey: key, From: "vetting@signetassure.example", FromName: "SignetAssure",
			BaseURL: sims.sendgrid}
		m.SendGridWebhookKey = pub
		log.Info("SendGrid simulator started (no SENDGRID_API_KEY configured)", "url", sims.sendgrid)
	}
	if cfg.Identity.Provider == nil {
		secret, err := devSecret(dataDir, "signicat-sim-client-secret", func() (string, error) { return rand.Text(), nil })
		if err != nil {
			return sims, err
		}
		sim := signicatsim.New(signicatsim.Options{ClientID: signicatsim.DefaultClientID, ClientSecret: secret})
		if err := sim.KeepState(simStateFile(dataDir, "signicat"), simStateError(log, "signicat")); err != nil {
			sim.Close()
			return sims, fmt.Errorf("the Signicat simulator: %w", err)
		}
		if sims.signicat, err = serveSim(ctx, stopped, "SIGNICAT_SIM_ADDR", "127.0.0.1:8095", sim.Handler(), sim.Close, log); err != nil {
			return sims, fmt.Errorf("the Signicat simulator: %w", err)
		}
		// The capture flow's and staff-attended checks' providers are configured as for the real Assure.
		sc, _ := config.SignicatConfig()
		sc.BaseURL, sc.TokenURL, sc.AuthStyle = sims.signicat, "", ""
		sc.ClientID, sc.ClientSecret = signicatsim.DefaultClientID, secret
		client, err := signicat.New(sc)
		if err != nil {
			return sims, err
		}
		cfg.Identity.Provider = client
		log.Info("Signicat simulator started (no SIGNICAT_CLIENT_ID configured)", "url", sims.signicat)
	}
	return sims, nil
}

// simStateFile is where a simulator of the dev stack keeps its state, so that a second `make run` finds
// the capture links, user ids and message ids the first one stored.
func simStateFile(dataDir, name string) string { return filepath.Join(dataDir, "sim", name+".json") }

// simStateError logs a simulator's failed state write.
func simStateError(log *slog.Logger, name string) func(error) {
	return func(err error) { log.Warn("simulator state not saved", "simulator", name, "error", err) }
}

// serveSim serves a simulator on the address in the environment variable (or def) until ctx ends, then
// closes it (writing its state file) and marks stopped done; it returns the simulator's URL.
func serveSim(ctx context.Context, stopped *sync.WaitGroup, addrVar, def string, h http.Handler, closeSim func(), log *slog.Logger) (string, error) {
	ln, err := net.Listen("tcp", envOr(addrVar, def))
	if err != nil {
		return "", err
	}
	stopped.Add(1)
	go func() {
		defer stopped.Done()
		defer closeSim()
		if err := serveUntil(ctx, &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, ln); err != nil {
			log.Error("simulator stopped", "addr", ln.Addr().String(), "error", err)
		}
	}()
	return "http://" + ln.Addr().String(), nil
}
