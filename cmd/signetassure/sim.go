package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/signetassure/signetassure/messaging"
	"github.com/signetassure/signetassure/sim/credoidsim"
	"github.com/signetassure/signetassure/sim/entrasim"
	"github.com/signetassure/signetassure/sim/gallaghersim"
	"github.com/signetassure/signetassure/sim/sendgridsim"
	"github.com/signetassure/signetassure/sim/signicatsim"
	"github.com/signetassure/signetassure/sim/twiliosim"
)

const simUsage = `usage: signetassure sim credoid|gallagher|twilio|sendgrid|signicat|entra

Runs a local simulator of an outside system (an access control system, Twilio, SendGrid, Signicat,
Entra ID), speaking its
HTTP contract, with fault switches under /sim/ and a page of its state at /.
  SIM_ADDR       where it listens (credoid: 127.0.0.1:8090, gallagher: 127.0.0.1:8091)
  SIM_USERNAME   credoid: the operator it accepts (admin)
  SIM_PASSWORD   credoid: its password (admin)
  SIM_API_KEY    gallagher: the API key it accepts
  SIM_WEBHOOK_URL, SIM_WEBHOOK_SECRET   gallagher: where events are pushed, signed (Standard Webhooks)
  SIM_AUTH_TOKEN   twilio: the auth token it accepts and signs callbacks with (simulatorauthtoken)
  SIM_INBOUND_URL  twilio: where replies are posted, signed (SignetAssure's /api/v1/messaging/twilio/inbound)
  SIM_AUTO_REPLY   twilio: what 70% of SMS recipients reply after delivery ("" : nobody)
  SIM_API_KEY      sendgrid: the API key it accepts
  SIM_EVENTS_URL   sendgrid: where the Event Webhook is posted (SignetAssure's /api/v1/messaging/sendgrid/events)
  SIM_WEBHOOK_KEY_SEED  sendgrid: seed of its signing key; its public key (SENDGRID_WEBHOOK_PUBLIC_KEY) is logged
  SIM_CLIENT_ID      signicat: the API client it accepts (sandbox-sim-client)
  SIM_CLIENT_SECRET  signicat: its secret (sim-client-secret)
  SIM_TOKEN_TTL      signicat: how long a token lives, a Go duration (600s)
  SIM_PUBLIC_URL     signicat, entra: the base of capture URLs, or of the issuer (default: the host called)
                   entra: tenant, client id and secret are entrasim's defaults; its demo people sign in
  SIM_STATE_FILE   any: a JSON file the simulator keeps its state in across restarts ("" : memory only)
`

// runSim serves one simulator until ctx ends.
func runSim(ctx context.Context, log *slog.Logger, args []string) error {
	if len(args) != 1 {
		fmt.Fprint(os.Stderr, simUsage)
		return errors.New("name one simulator")
	}
	var addr string
	var sim interface {
		Handler() http.Handler
		KeepState(path string, onError func(error)) error
		Close()
	}
	switch args[0] {
	case "credoid":
		addr = envOr("SIM_ADDR", "127.0.0.1:8090")
		sim = credoidsim.New(credoidsim.Options{Username: envOr("SIM_USERNAME", "admin"),
			Password: envOr("SIM_PASSWORD", "admin"), Seed: true})
	case "gallagher":
		addr = envOr("SIM_ADDR", "127.0.0.1:8091")
		sim = gallaghersim.New(gallaghersim.Options{APIKey: envOr("SIM_API_KEY", gallaghersim.DefaultAPIKey),
			WebhookURL: os.Getenv("SIM_WEBHOOK_URL"), WebhookSecret: os.Getenv("SIM_WEBHOOK_SECRET"), Seed: true})
	case "twilio":
		addr = envOr("SIM_ADDR", "127.0.0.1:8093")
		sim = twiliosim.New(twiliosim.Options{AccountSID: twiliosim.DefaultAccountSID,
			AuthToken: envOr("SIM_AUTH_TOKEN", twiliosim.DefaultAuthToken), InboundURL: os.Getenv("SIM_INBOUND_URL"),
			AutoReply: os.Getenv("SIM_AUTO_REPLY"), AutoReplyRate: 0.7})
		log.Info("twilio simulator account", "accountSid", twiliosim.DefaultAccountSID)
	case "sendgrid":
		addr = envOr("SIM_ADDR", "127.0.0.1:8094")
		priv, pub := messaging.SendGridWebhookKeyFromSeed([]byte(envOr("SIM_WEBHOOK_KEY_SEED", "signetassure-sendgrid-sim")))
		sim = sendgridsim.New(sendgridsim.Options{APIKey: os.Getenv("SIM_API_KEY"), EventsURL: os.Getenv("SIM_EVENTS_URL"),
			SigningKey: priv, DeliveryDelay: time.Second})
		log.Info("sendgrid simulator event webhook key", "SENDGRID_WEBHOOK_PUBLIC_KEY", pub)
	case "signicat":
		addr = envOr("SIM_ADDR", "127.0.0.1:8095")
		var ttl time.Duration
		if v := os.Getenv("SIM_TOKEN_TTL"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("SIM_TOKEN_TTL %q: want a positive Go duration such as 600s", v)
			}
			ttl = d
		}
		sg := signicatsim.New(signicatsim.Options{ClientID: envOr("SIM_CLIENT_ID", signicatsim.DefaultClientID),
			ClientSecret: envOr("SIM_CLIENT_SECRET", signicatsim.DefaultClientSecret), TokenTTL: ttl,
			PublicURL: os.Getenv("SIM_PUBLIC_URL")})
		sim = sg
		log.Info("signicat simulator API client", "clientId", sg.Options().ClientID, "tokenTTL", sg.Options().TokenTTL.String())
	case "entra":
		addr = envOr("SIM_ADDR", "127.0.0.1:8096")
		es := entrasim.New(entrasim.Options{PublicURL: os.Getenv("SIM_PUBLIC_URL")})
		sim = es
		log.Info("entra simulator tenant", "tenantId", es.Options().TenantID, "clientId", es.Options().ClientID)
	default:
		fmt.Fprint(os.Stderr, simUsage)
		return fmt.Errorf("unknown simulator %q", args[0])
	}
	defer sim.Close()
	if path := os.Getenv("SIM_STATE_FILE"); path != "" {
		if err := sim.KeepState(path, func(err error) { log.Warn("simulator state not saved", "error", err) }); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Info("simulator listening", "system", args[0], "addr", ln.Addr().String())
	return serveUntil(ctx, &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}, ln)
}

// serveUntil serves on ln until ctx ends, then drains requests for up to 10 seconds.
func serveUntil(ctx context.Context, hs *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return hs.Shutdown(shutdown)
}
