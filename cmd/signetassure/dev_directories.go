package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/signetassure/signetassure/config"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/entra"
	"github.com/signetassure/signetassure/internal/devcert"
	"github.com/signetassure/signetassure/ldapdir"
	"github.com/signetassure/signetassure/sim/adsim"
	"github.com/signetassure/signetassure/sim/entrasim"
)

// directorySims are the addresses of the directory simulators the dev stack runs ("" when a real
// directory is configured).
type directorySims struct{ entra, ldap string }

// devEntraRoles and devLDAPRoles map the simulated directories' demo groups to roles.
var (
	devEntraRoles = domain.RoleMap{
		entrasim.GroupCaseWorkers: {domain.RoleCaseWorker}, entrasim.GroupVettingOfficers: {domain.RoleVettingOfficer},
		entrasim.GroupSecurityControllers: {domain.RoleSecurityController}, entrasim.GroupAdministrators: {domain.RoleAdmin},
		entrasim.GroupAuditors: {domain.RoleAuditor},
	}
	devLDAPRoles = domain.RoleMap{
		ldapdir.NormalizeDN(adsim.DemoGroupAdministrators):  {domain.RoleAdmin},
		ldapdir.NormalizeDN(adsim.DemoGroupVettingOfficers): {domain.RoleVettingOfficer},
		ldapdir.NormalizeDN(adsim.DemoGroupSecurityTeam):    {domain.RoleSecurityController},
		ldapdir.NormalizeDN(adsim.DemoGroupReception):       {domain.RoleCaseWorker},
	}
)

// startDirectorySims runs an Entra ID simulator (the console's "Sign in with Microsoft" picks one of its
// demo staff) and an Active Directory simulator over LDAPS (its demo staff sign in with a password),
// unless ENTRA_TENANT_ID or LDAP_URL configure real ones, and points the configuration at them.
func startDirectorySims(ctx context.Context, stopped *sync.WaitGroup, dataDir string, cfg *config.Config, log *slog.Logger) (directorySims, error) {
	var sims directorySims
	staff := &cfg.Staff
	if staff.Entra == nil {
		callback := cfg.Messaging.PublicURL + config.EntraCallbackPath
		sim := entrasim.New(entrasim.Options{RedirectURIs: []string{callback}})
		if err := sim.KeepState(simStateFile(dataDir, "entra"), simStateError(log, "entra")); err != nil {
			sim.Close()
			return sims, fmt.Errorf("the Entra ID simulator: %w", err)
		}
		var err error
		if sims.entra, err = serveSim(ctx, stopped, "ENTRA_SIM_ADDR", "127.0.0.1:8096", sim.Handler(), sim.Close, log); err != nil {
			return sims, fmt.Errorf("the Entra ID simulator: %w", err)
		}
		staff.Entra = &entra.Config{TenantID: entrasim.DefaultTenantID, ClientID: entrasim.DefaultClientID,
			ClientSecret: entrasim.DefaultClientSecret, RedirectURL: callback, Authority: sims.entra, GraphURL: sims.entra}
		staff.EntraRoles = devEntraRoles
		log.Info("Entra ID simulator started (no ENTRA_TENANT_ID configured)", "url", sims.entra)
	}
	if staff.LDAP == nil {
		certs, err := devcert.New("127.0.0.1", "localhost")
		if err != nil {
			return sims, err
		}
		tlsConfig, err := certs.ServerTLS()
		if err != nil {
			return sims, err
		}
		srv, err := adsim.Start(adsim.DemoDirectory(), adsim.Options{Addr: envOr("LDAP_SIM_ADDR", "127.0.0.1:8636"), TLS: tlsConfig, LDAPS: true})
		if err != nil {
			return sims, fmt.Errorf("the Active Directory simulator: %w", err)
		}
		stopped.Add(1)
		go func() {
			defer stopped.Done()
			<-ctx.Done()
			if err := srv.Close(); err != nil {
				log.Warn("the Active Directory simulator did not close cleanly", "error", err)
			}
		}()
		sims.ldap = srv.URL()
		staff.LDAP = &ldapdir.Config{URL: sims.ldap, RootCAs: certs.Pool(), BindDN: adsim.DemoServiceDN,
			BindPassword: adsim.DemoServicePassword, UserBaseDN: adsim.DemoBaseDN, UserAttribute: "sAMAccountName",
			GroupBaseDN: adsim.DemoGroupsDN, SubjectAttribute: "objectGUID"}
		staff.LDAPRoles = devLDAPRoles
		log.Info("Active Directory simulator started (no LDAP_URL configured)", "url", sims.ldap)
	}
	return sims, nil
}
