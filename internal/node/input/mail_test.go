package input

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/node/input/smtptest"
)

func TestMailerSend(t *testing.T) {
	srv := smtptest.New(t)
	srv.User, srv.Password = "sluice", "smtp-pass-1234"
	pw := func(p string, err error) func(context.Context) (string, error) {
		return func(context.Context) (string, error) { return p, err }
	}
	tests := []struct {
		name    string
		m       Mailer
		to      []string
		subject string
		wantErr string
	}{
		{"authenticated", Mailer{Addr: srv.Addr, From: "sluice@example.com", Username: "sluice", Password: pw("smtp-pass-1234", nil)}, []string{"a@example.com", "b@example.com"}, "Approve déploiement", ""},
		{"wrong password", Mailer{Addr: srv.Addr, From: "sluice@example.com", Username: "sluice", Password: pw("nope", nil)}, []string{"a@example.com"}, "x", "authentication failed"},
		{"password secret missing", Mailer{Addr: srv.Addr, From: "sluice@example.com", Username: "sluice", Password: pw("", errors.New("secret SMTP_PASSWORD is not defined"))}, []string{"a@example.com"}, "x", "not defined"},
		{"not authenticated", Mailer{Addr: srv.Addr, From: "sluice@example.com"}, []string{"a@example.com"}, "x", "authentication required"},
		{"header injection", Mailer{Addr: srv.Addr, From: "sluice@example.com"}, []string{"a@example.com"}, "x\r\nBcc: evil@example.com", "line break"},
		{"no recipient", Mailer{Addr: srv.Addr, From: "sluice@example.com"}, nil, "x", "no recipient"},
		{"nothing listening", Mailer{Addr: "127.0.0.1:1", From: "sluice@example.com", Timeout: 5 * time.Second}, []string{"a@example.com"}, "x", "connect"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.m.Send(context.Background(), tc.to, tc.subject, "line one\nline two\n.leading dot\n")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Send = %v, want an error containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "smtp-pass-1234") {
					t.Errorf("the error quotes the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			select {
			case msg := <-srv.Messages:
				if msg.Auth != "sluice:smtp-pass-1234" || msg.From != "sluice@example.com" || strings.Join(msg.To, ",") != "a@example.com,b@example.com" {
					t.Errorf("received %+v", msg)
				}
				for _, want := range []string{"Subject: =?utf-8?q?Approve_d=C3=A9ploiement?=\r\n", "line one\r\nline two\r\n.leading dot\r\n"} {
					if !strings.Contains(msg.Data, want) {
						t.Errorf("message lacks %q:\n%s", want, msg.Data)
					}
				}
			case <-time.After(30 * time.Second):
				t.Fatal("no message")
			}
		})
	}
}

// TestMailerSendSTARTTLS checks that the mailer upgrades with STARTTLS when
// the server offers it, authenticates only over the upgraded connection,
// and refuses a server whose certificate it cannot verify.
func TestMailerSendSTARTTLS(t *testing.T) {
	srv, trust := smtptest.NewTLS(t)
	srv.User, srv.Password = "sluice", "smtp-pass-1234"
	pw := func(context.Context) (string, error) { return "smtp-pass-1234", nil }
	tests := []struct {
		name    string
		tls     *tls.Config
		wantErr string
	}{
		{"trusted certificate", trust, ""},
		{"certificate from an unknown authority", nil, "STARTTLS"},
		{"certificate for another name", &tls.Config{RootCAs: trust.RootCAs, ServerName: "mail.example.com", MinVersion: tls.VersionTLS12}, "STARTTLS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := Mailer{Addr: srv.Addr, From: "sluice@example.com", Username: "sluice", Password: pw, TLSConfig: tc.tls, Timeout: 10 * time.Second}
			err := m.Send(context.Background(), []string{"a@example.com"}, "Approve", "body\n")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Send = %v, want an error containing %q", err, tc.wantErr)
				}
				select {
				case msg := <-srv.Messages:
					t.Fatalf("a message was delivered anyway: %+v", msg)
				default:
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			select {
			case msg := <-srv.Messages:
				if !msg.TLS || msg.Auth != "sluice:smtp-pass-1234" {
					t.Errorf("received TLS=%v Auth=%q; want the message and the authentication over STARTTLS", msg.TLS, msg.Auth)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("no message")
			}
		})
	}
}
