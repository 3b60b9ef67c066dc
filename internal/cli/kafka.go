package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sluice-run/sluice/internal/node/kafka"
	"github.com/sluice-run/sluice/internal/secret"
)

// kafkaFlags are the Kafka settings of serve, run and kafka consume. Each
// flag also reads a SLUICE_* environment variable (the flag wins); see
// docs/configuration.md.
type kafkaFlags struct {
	brokers        []string
	topic          string
	clientID       string
	compression    string
	tlsCA          string
	tlsCert        string
	tlsKey         string
	saslMechanism  string
	saslUser       string
	saslSecret     string // the name of the sluice secret holding the password
	devKafka       bool   // serve only
	devKafkaPort   int    // serve only
	maxMessageSize int32
}

// kafkaEnv maps each Kafka flag to its environment variable.
var kafkaEnv = map[string]string{
	"kafka-brokers":              "SLUICE_KAFKA_BROKERS",
	"kafka-topic":                "SLUICE_KAFKA_TOPIC",
	"kafka-client-id":            "SLUICE_KAFKA_CLIENT_ID",
	"kafka-compression":          "SLUICE_KAFKA_COMPRESSION",
	"kafka-tls-ca-file":          "SLUICE_KAFKA_TLS_CA_FILE",
	"kafka-tls-cert-file":        "SLUICE_KAFKA_TLS_CERT_FILE",
	"kafka-tls-key-file":         "SLUICE_KAFKA_TLS_KEY_FILE",
	"kafka-sasl-mechanism":       "SLUICE_KAFKA_SASL_MECHANISM",
	"kafka-sasl-user":            "SLUICE_KAFKA_SASL_USER",
	"kafka-sasl-password-secret": "SLUICE_KAFKA_SASL_PASSWORD_SECRET",
	"kafka-max-message-bytes":    "SLUICE_KAFKA_MAX_MESSAGE_BYTES",
	"dev-kafka":                  "SLUICE_DEV_KAFKA",
	"dev-kafka-port":             "SLUICE_DEV_KAFKA_PORT",
}

// add registers the connection flags; dev adds --dev-kafka, and secret
// --kafka-sasl-password-secret (a client such as kafka consume reads its
// password from SLUICE_KAFKA_SASL_PASSWORD instead).
func (f *kafkaFlags) add(fl *pflag.FlagSet, dev, secretName bool) {
	fl.StringSliceVar(&f.brokers, "kafka-brokers", nil, "Kafka seed brokers, host:port[,host:port] (KAFKA nodes fail without them)")
	fl.StringVar(&f.topic, "kafka-topic", kafka.DefaultTopic, "topic of KAFKA nodes that name none")
	fl.StringVar(&f.clientID, "kafka-client-id", "sluice", "Kafka client id")
	fl.StringVar(&f.compression, "kafka-compression", kafka.DefaultCompression, "compression of published messages: none, gzip, snappy, lz4 or zstd")
	fl.StringVar(&f.tlsCA, "kafka-tls-ca-file", "", "PEM file of the CAs that sign the brokers' certificates (enables TLS)")
	fl.StringVar(&f.tlsCert, "kafka-tls-cert-file", "", "PEM client certificate for mutual TLS (enables TLS; with --kafka-tls-key-file)")
	fl.StringVar(&f.tlsKey, "kafka-tls-key-file", "", "PEM client key for mutual TLS")
	fl.StringVar(&f.saslMechanism, "kafka-sasl-mechanism", "", "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (empty: no SASL)")
	fl.StringVar(&f.saslUser, "kafka-sasl-user", "", "SASL user")
	fl.Int32Var(&f.maxMessageSize, "kafka-max-message-bytes", 0, "largest message published (0: Kafka's default, 1000012)")
	if secretName {
		fl.StringVar(&f.saslSecret, "kafka-sasl-password-secret", "", "name of the sluice secret that holds the SASL password (sluice secrets set NAME)")
	}
	if dev {
		fl.BoolVar(&f.devKafka, "dev-kafka", false, "start an in-process development Kafka broker (kfake, in memory) on loopback and publish to it")
		fl.IntVar(&f.devKafkaPort, "dev-kafka-port", 9092, "port of the --dev-kafka broker on 127.0.0.1 (0 picks a free one)")
	}
}

// fromEnv fills every flag of fl that was not given from its SLUICE_*
// variable.
func (a *app) kafkaFromEnv(fl *pflag.FlagSet) error {
	for name, env := range kafkaEnv {
		fg := fl.Lookup(name)
		if fg == nil || fg.Changed {
			continue
		}
		v := a.io.Getenv(env)
		if v == "" {
			continue
		}
		if err := fg.Value.Set(v); err != nil {
			return invalid("%s: %w", env, err)
		}
	}
	return nil
}

// tlsConfig builds the TLS config, nil when no TLS file is given.
func (f *kafkaFlags) tlsConfig() (*tls.Config, error) {
	if f.tlsCA == "" && f.tlsCert == "" && f.tlsKey == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.tlsCA != "" {
		pem, err := os.ReadFile(f.tlsCA)
		if err != nil {
			return nil, invalid("--kafka-tls-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, invalid("--kafka-tls-ca-file %s: no PEM certificate in it", f.tlsCA)
		}
		cfg.RootCAs = pool
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return nil, invalid("--kafka-tls-cert-file and --kafka-tls-key-file go together")
	}
	if f.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			// The error names the files, never the key.
			return nil, invalid("--kafka-tls-cert-file/--kafka-tls-key-file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// options turns the flags into the executor's options. password returns
// the SASL password; nil when the command has no way to get one.
func (f *kafkaFlags) options(logger *slog.Logger, password func(ctx context.Context) (string, error)) (kafka.Options, error) {
	tc, err := f.tlsConfig()
	if err != nil {
		return kafka.Options{}, err
	}
	opts := kafka.Options{Brokers: f.brokers, Topic: f.topic, ClientID: f.clientID, Compression: f.compression, TLS: tc, MaxMessageBytes: f.maxMessageSize, Logger: logger}
	if f.saslMechanism != "" {
		if f.saslUser == "" || password == nil {
			return kafka.Options{}, invalid("--kafka-sasl-mechanism %s needs --kafka-sasl-user and the password (--kafka-sasl-password-secret NAME for serve and run)", f.saslMechanism)
		}
		opts.SASL = &kafka.SASL{Mechanism: strings.ToUpper(f.saslMechanism), User: f.saslUser, Password: password}
	}
	return opts, nil
}

// kafkaExecutor builds the KAFKA executor of serve and run, the password
// read from the sluice secret --kafka-sasl-password-secret through src. It
// starts the development broker first with --dev-kafka, and returns a
// cleanup that closes both.
func (a *app) kafkaExecutor(f *kafkaFlags, src secret.Source) (*kafka.Executor, func(), error) {
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	if f.devKafka {
		if len(f.brokers) > 0 {
			return nil, nil, invalid("--dev-kafka and --kafka-brokers exclude each other")
		}
		c, err := startDevKafka(f.devKafkaPort, f.topic)
		if err != nil {
			return nil, nil, err
		}
		cleanups = append(cleanups, c.Close)
		f.brokers = c.ListenAddrs()
		fmt.Fprintf(a.io.Stdout, "development Kafka broker (in-process, in memory) on %s, topic %s; consume with:\n  sluice kafka consume --kafka-brokers %s --complete\n",
			strings.Join(f.brokers, ","), f.topic, strings.Join(f.brokers, ","))
	}
	var password func(ctx context.Context) (string, error)
	if f.saslSecret != "" {
		if err := secret.ValidateName(f.saslSecret); err != nil {
			cleanup()
			return nil, nil, invalid("--kafka-sasl-password-secret: %w", err)
		}
		name := f.saslSecret
		password = func(ctx context.Context) (string, error) {
			if src == nil {
				return "", fmt.Errorf("secret %s: no secrets are available", name)
			}
			vals, err := src.Resolve(ctx, secret.ResolveRef{}, []string{name})
			if err != nil {
				return "", err
			}
			return vals[name], nil
		}
	}
	opts, err := f.options(a.logger, password)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	e, err := kafka.New(opts)
	if err != nil {
		cleanup()
		return nil, nil, invalid("%w", err)
	}
	cleanups = append(cleanups, e.Close)
	return e, cleanup, nil
}

// startDevKafka starts the development broker on 127.0.0.1:port with the
// default topic; other topics are created on first use.
func startDevKafka(port int, topic string) (*kfake.Cluster, error) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.SeedTopics(1, topic), kfake.AllowAutoTopicCreation())
	if err != nil {
		return nil, invalid("--dev-kafka: cannot listen on 127.0.0.1:%s: %w (pick another with --dev-kafka-port)", strconv.Itoa(port), err)
	}
	return c, nil
}
