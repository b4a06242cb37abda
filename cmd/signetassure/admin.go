package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/signetassure/signetassure/config"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/store"
)

const adminUsage = `usage: signetassure admin <command>

commands:
  bootstrap --email EMAIL [--name NAME] [--valid DURATION]
               make the first administrator and print a sign-in token for them, shown once and valid for
               DURATION (default 24h, at most 168h); with an active administrator already there, change
               nothing and say so (exit 0), so it is safe to run at every deployment
`

// maxBootstrapValidity bounds how long the first administrator's token lives: it is for signing in once
// and setting up, not for keeping.
const maxBootstrapValidity = 7 * 24 * time.Hour

// errAdminUsage: the admin command line is wrong (the usage has been printed).
var errAdminUsage = errors.New("usage")

// runAdmin runs `signetassure admin ...`.
func runAdmin(ctx context.Context, cfg config.Config, args []string) error {
	err := adminCommand(ctx, cfg.DatabaseURL, args, os.Stdout)
	var bad badFlag
	switch {
	case errors.As(err, &bad):
		fmt.Fprintf(os.Stderr, "%s\n\n%s", bad, adminUsage)
		os.Exit(2)
	case errors.Is(err, errAdminUsage):
		fmt.Fprint(os.Stderr, adminUsage)
		os.Exit(2)
	}
	return err
}

// badFlag names a flag whose value is wrong.
type badFlag struct{ flag, problem string }

func (b badFlag) Error() string { return "--" + b.flag + ": " + b.problem }

// adminCommand runs an admin subcommand against the database at databaseURL, writing its result to out.
func adminCommand(ctx context.Context, databaseURL string, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "bootstrap" {
		return errAdminUsage
	}
	flags := flag.NewFlagSet("admin bootstrap", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	email := flags.String("email", "", "")
	name := flags.String("name", "", "")
	valid := flags.Duration("valid", 24*time.Hour, "")
	if err := flags.Parse(args[1:]); err != nil || flags.NArg() > 0 {
		return errAdminUsage
	}
	admin := domain.StaffUser{}
	var err error
	if admin.Email, err = domain.ParseEmail(*email); err != nil {
		return badFlag{"email", "required: the administrator's e-mail address"}
	}
	if admin.DisplayName, err = domain.CleanText(*name, domain.TextLine, 200); err != nil {
		return badFlag{"name", err.Error()}
	}
	if admin.DisplayName == "" {
		admin.DisplayName, _, _ = strings.Cut(admin.Email, "@")
	}
	if *valid <= 0 || *valid > maxBootstrapValidity {
		return badFlag{"valid", fmt.Sprintf("must be more than 0 and at most %s", maxBootstrapValidity)}
	}

	st, err := store.Open(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	expires := time.Now().Add(*valid).UTC().Truncate(time.Second)
	got, token, created, err := st.BootstrapAdmin(ctx, admin, expires)
	if err != nil {
		return err
	}
	if !created {
		fmt.Fprintf(out, "An active administrator exists already (%s): nothing changed.\n", got.Email)
		return nil
	}
	fmt.Fprintf(out, "Administrator %s <%s> created.\n\n", got.DisplayName, got.Email)
	fmt.Fprintf(out, "Sign-in token, shown once, valid until %s:\n\n  %s\n\n", expires.Format(time.RFC3339), token)
	fmt.Fprintf(out, "Use it as the console's token, or in API calls as: Authorization: Bearer <token>\n")
	return nil
}
