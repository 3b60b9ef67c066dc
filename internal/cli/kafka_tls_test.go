package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-run/sluice/internal/node/kafka"
)

// testPKI is a throwaway CA with a broker certificate for 127.0.0.1 and a
// client certificate, written as PEM files.
type testPKI struct {
	caFile, clientCert, clientKey string
	pool                          *x509.CertPool
	server, client                tls.Certificate
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sluice test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, usage x509.ExtKeyUsage) (tls.Certificate, []byte, []byte) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "sluice test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kd, _ := x509.MarshalECPrivateKey(key)
		certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return pair, certPEM, keyPEM
	}
	p := testPKI{pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.server, _, _ = issue(2, x509.ExtKeyUsageServerAuth)
	var certPEM, keyPEM []byte
	p.client, certPEM, keyPEM = issue(3, x509.ExtKeyUsageClientAuth)
	write := func(name string, b []byte) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	p.caFile = write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	p.clientCert = write("client.pem", certPEM)
	p.clientKey = write("client-key.pem", keyPEM)
	return p
}

// TestKafkaTLSFlags publishes from `sluice run` to a broker that requires
// mutual TLS, configured only by the --kafka-tls-* flags, and checks the
// flags' bad values are refused naming the flag.
func TestKafkaTLSFlags(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, kafka.DefaultTopic),
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{pki.server}, ClientCAs: pki.pool,
			ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := strings.Join(cluster.ListenAddrs(), ",")
	wf := writeFile(t, "publish.json", `{"identifier": "publish", "nodes": [
		{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER"}},
		{"identifier": "publish", "config": {"type": "KAFKA", "payload": {"hello": "over TLS"}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "publish"}]}`)
	notPEM := writeFile(t, "not.pem", "not a certificate\n")

	tests := []struct {
		name   string
		flags  []string
		code   int
		stderr string
	}{
		{"mutual TLS", []string{"--kafka-tls-ca-file", pki.caFile, "--kafka-tls-cert-file", pki.clientCert, "--kafka-tls-key-file", pki.clientKey}, ExitWaiting, ""},
		{"CA file missing", []string{"--kafka-tls-ca-file", filepath.Join(t.TempDir(), "none.pem")}, ExitInvalid, "--kafka-tls-ca-file"},
		{"CA file not PEM", []string{"--kafka-tls-ca-file", notPEM}, ExitInvalid, "--kafka-tls-ca-file"},
		{"certificate without key", []string{"--kafka-tls-ca-file", pki.caFile, "--kafka-tls-cert-file", pki.clientCert}, ExitInvalid, "--kafka-tls-key-file"},
		{"key that is not a key", []string{"--kafka-tls-ca-file", pki.caFile, "--kafka-tls-cert-file", pki.clientCert, "--kafka-tls-key-file", notPEM}, ExitInvalid, "--kafka-tls-cert-file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--data-dir", dataDir(t), "run", "-f", wf, "--kafka-brokers", brokers}, tc.flags...)
			r := sluice(t, "", args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q\nstdout: %s", r.code, r.stderr, tc.code, tc.stderr, r.stdout)
			}
		})
	}

	// The message went over TLS: read it back as a TLS client.
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ConsumeTopics(kafka.DefaultTopic),
		kgo.DialTLSConfig(&tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{pki.client}, MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fetches := cl.PollFetches(ctx)
	if err := fetches.Err(); err != nil {
		t.Fatalf("consume: %v", err)
	}
	var got []string
	fetches.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	if len(got) != 1 || !strings.Contains(got[0], `"over TLS"`) {
		t.Fatalf("records on %s = %q, want the one message published over TLS", kafka.DefaultTopic, got)
	}
}
