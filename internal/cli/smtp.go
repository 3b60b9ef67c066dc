package cli

import (
	"context"
	"fmt"
	"net"

	"github.com/spf13/pflag"

	"github.com/sluice-run/sluice/internal/node/input"
	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/secret"
)

// smtpFlags configure the mail INPUT nodes send (notifications of target
// email). Each flag also reads SLUICE_<FLAG> when it is not given.
type smtpFlags struct {
	addr, from, username, passwordSecret string
}

func (f *smtpFlags) add(fl *pflag.FlagSet) {
	fl.StringVar(&f.addr, "smtp-addr", "", "SMTP server (host:port) INPUT nodes mail their responders through; STARTTLS when offered (else SLUICE_SMTP_ADDR)")
	fl.StringVar(&f.from, "smtp-from", "", "sender of that mail (else SLUICE_SMTP_FROM)")
	fl.StringVar(&f.username, "smtp-username", "", "SMTP username, with --smtp-password-secret (else SLUICE_SMTP_USERNAME)")
	fl.StringVar(&f.passwordSecret, "smtp-password-secret", "", "NAME of the org secret holding the SMTP password (else SLUICE_SMTP_PASSWORD_SECRET)")
}

// mailer builds the INPUT nodes' mailer from the flags and the
// environment; nil when no SMTP server is configured. The password is a
// secret of the store, resolved by name each time mail is sent and masked
// in the process log.
func (a *app) mailer(f smtpFlags, svc *secret.Service, procRed *redact.Redactor) (*input.Mailer, error) {
	env := func(v *string, name string) {
		if *v == "" {
			*v = a.io.Getenv(name)
		}
	}
	env(&f.addr, "SLUICE_SMTP_ADDR")
	env(&f.from, "SLUICE_SMTP_FROM")
	env(&f.username, "SLUICE_SMTP_USERNAME")
	env(&f.passwordSecret, "SLUICE_SMTP_PASSWORD_SECRET")
	if f.addr == "" {
		if f.from != "" || f.username != "" || f.passwordSecret != "" {
			return nil, invalid("--smtp-addr: required with --smtp-from, --smtp-username or --smtp-password-secret")
		}
		return nil, nil
	}
	if _, _, err := net.SplitHostPort(f.addr); err != nil {
		return nil, invalid("--smtp-addr %q: want host:port: %w", f.addr, err)
	}
	if f.from == "" {
		return nil, invalid("--smtp-from: required with --smtp-addr")
	}
	if (f.username == "") != (f.passwordSecret == "") {
		return nil, invalid("--smtp-username and --smtp-password-secret go together")
	}
	m := &input.Mailer{Addr: f.addr, From: f.from, Username: f.username}
	if f.passwordSecret != "" {
		name := f.passwordSecret
		m.Password = func(ctx context.Context) (string, error) {
			vals, err := svc.Resolve(ctx, secret.ResolveRef{}, []string{name})
			if err != nil {
				return "", fmt.Errorf("secret %s: %w", name, err)
			}
			procRed.Add(vals[name])
			return vals[name], nil
		}
	}
	return m, nil
}
