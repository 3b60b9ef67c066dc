// Package smtptest is a small SMTP receiver on loopback for tests: it
// speaks enough of RFC 5321 (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET,
// NOOP, QUIT) and RFC 3207 (STARTTLS, when Server.TLS is set) for net/smtp
// to deliver to it, and hands each message it receives to the test.
// Without TLS, clients send in the clear (net/smtp allows PLAIN
// authentication to a loopback server).
package smtptest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// Message is one message received.
type Message struct {
	From string
	To   []string
	Data string // the message as sent, headers and body, CRLF line ends
	// Auth is "username:password" when the client authenticated.
	Auth string
	// TLS reports whether the message came over a connection upgraded by
	// STARTTLS.
	TLS bool
}

// Server is a running receiver.
type Server struct {
	Addr string
	// Messages receives every message, in order of delivery.
	Messages chan Message
	ln       net.Listener
	wg       sync.WaitGroup
	// User and Password, when User is set, are the only credentials AUTH
	// PLAIN accepts; a client that does not authenticate is refused at MAIL.
	User, Password string
	// TLS, when set, makes EHLO offer STARTTLS with this configuration;
	// NewTLS sets it. RequireTLS refuses MAIL before STARTTLS.
	TLS        *tls.Config
	RequireTLS bool
}

// NewTLS starts a receiver that offers STARTTLS with a certificate for
// 127.0.0.1 from a throwaway CA, and requires it before MAIL. It returns
// the client configuration that trusts that CA.
func NewTLS(t testing.TB) (*Server, *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtptest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	s := New(t)
	s.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	s.RequireTLS = true
	return s, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// New starts a receiver on 127.0.0.1 and stops it when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), Messages: make(chan Message, 64), ln: ln}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.session(c)
		}()
	}
}

func (s *Server) session(c net.Conn) {
	r := bufio.NewReader(c)
	say := func(format string, a ...any) { fmt.Fprintf(c, format+"\r\n", a...) }
	say("220 smtptest ready")
	var m Message
	secure := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			say("250-smtptest")
			if s.TLS != nil && !secure {
				say("250-STARTTLS")
			}
			say("250 AUTH PLAIN")
		case "STARTTLS":
			if s.TLS == nil || secure {
				say("502 not implemented")
				continue
			}
			say("220 go ahead")
			tc := tls.Server(c, s.TLS)
			if err := tc.Handshake(); err != nil {
				return
			}
			// RFC 3207: everything known before the upgrade is forgotten.
			c, r, secure, m = tc, bufio.NewReader(tc), true, Message{}
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			raw, err := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(raw), "\x00")
			if strings.ToUpper(mech) != "PLAIN" || err != nil || len(parts) != 3 || parts[1] != s.User || parts[2] != s.Password {
				say("535 authentication failed")
				continue
			}
			m.Auth = parts[1] + ":" + parts[2]
			say("235 authenticated")
		case "MAIL":
			if s.RequireTLS && !secure {
				say("530 must issue STARTTLS first")
				continue
			}
			if s.User != "" && m.Auth == "" {
				say("530 authentication required")
				continue
			}
			_, from, _ := strings.Cut(arg, ":")
			m.From = strings.Trim(from, "<> ")
			say("250 ok")
		case "RCPT":
			_, to, _ := strings.Cut(arg, ":")
			m.To = append(m.To, strings.Trim(to, "<> "))
			say("250 ok")
		case "DATA":
			say("354 end with .")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			m.Data = b.String()
			m.TLS = secure
			s.Messages <- m
			m = Message{Auth: m.Auth}
			say("250 queued")
		case "RSET":
			m = Message{Auth: m.Auth}
			say("250 ok")
		case "NOOP":
			say("250 ok")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}
