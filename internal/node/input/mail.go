package input

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"strings"
	"time"
)

// Mailer sends plain-text mail through one SMTP server (net/smtp). It
// upgrades the connection with STARTTLS whenever the server offers it, and
// authenticates with PLAIN when Username is set, which net/smtp allows only
// over TLS or to a server on loopback.
type Mailer struct {
	// Addr is the server's host:port.
	Addr string
	// From is the envelope sender and the From header.
	From string
	// Username, when set, authenticates; Password returns its password (a
	// sluice secret resolved by name when the mail is sent).
	Username string
	Password func(ctx context.Context) (string, error)
	// Timeout bounds one whole exchange; 0 means 30 s.
	Timeout time.Duration
	// TLSConfig, when set, is used for STARTTLS (tests trust their own
	// certificate with it); nil verifies the server's name against the
	// system roots.
	TLSConfig *tls.Config
}

// Send mails subject and body to every address of to, in one message.
func (m *Mailer) Send(ctx context.Context, to []string, subject, body string) error {
	if len(to) == 0 {
		return errors.New("smtp: no recipient")
	}
	for _, s := range append([]string{m.From, subject}, to...) {
		if strings.ContainsAny(s, "\r\n") {
			return errors.New("smtp: a line break in the sender, a recipient or the subject")
		}
	}
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	host, _, err := net.SplitHostPort(m.Addr)
	if err != nil {
		return fmt.Errorf("smtp: address %q: %w", m.Addr, err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.Addr)
	if err != nil {
		return fmt.Errorf("smtp: connect: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("smtp: greeting: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := m.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("smtp: STARTTLS: %w", err)
		}
	}
	if m.Username != "" {
		if m.Password == nil {
			return errors.New("smtp: a username without a password")
		}
		pw, err := m.Password(ctx)
		if err != nil {
			return fmt.Errorf("smtp: the password: %w", err)
		}
		if err := c.Auth(smtp.PlainAuth("", m.Username, pw, host)); err != nil {
			return fmt.Errorf("smtp: authentication failed: %w", err)
		}
	}
	if err := c.Mail(m.From); err != nil {
		return fmt.Errorf("smtp: MAIL FROM: %w", err)
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt); err != nil {
			return fmt.Errorf("smtp: RCPT TO <%s>: %w", rcpt, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	if _, err := w.Write(message(m.From, to, subject, body, time.Now())); err != nil {
		return fmt.Errorf("smtp: write the message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp: end of the message: %w", err)
	}
	if err := c.Quit(); err != nil {
		return fmt.Errorf("smtp: QUIT: %w", err)
	}
	return nil
}

// message formats an RFC 5322 plain-text message with CRLF line ends.
func message(from string, to []string, subject, body string, now time.Time) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", from)
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(to, ", "))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.UTC().Format(time.RFC1123Z))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	body = strings.ReplaceAll(body, "\r\n", "\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	return []byte(b.String())
}
