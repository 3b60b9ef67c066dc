package cli

import (
	"time"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/catalog"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/condition"
	"github.com/sluice-run/sluice/internal/node/input"
	"github.com/sluice-run/sluice/internal/node/kafka"
	"github.com/sluice-run/sluice/internal/node/upsert"
	"github.com/sluice-run/sluice/internal/node/webhook"
	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
)

// serverNodes is what a long-running process (serve, worker) needs to
// register every node executor.
type serverNodes struct {
	st         store.Store
	svc        *secret.Service
	procRed    *redact.Redactor
	signingKey []byte
	kafka      *kafkaFlags
	smtp       smtpFlags
	// baseURL is where INPUT notifications link to; empty for a worker,
	// which serves no API.
	baseURL string
}

// serverRegistry registers every node type's executor for serve and
// worker alike, so that the two cannot drift apart. It returns the
// catalog the UPSERT_ENTITY and AI nodes use, whether Kafka brokers are
// configured, and the function that closes the Kafka client.
func (a *app) serverRegistry(o serverNodes) (reg *node.Registry, cat *catalog.Service, kafkaConfigured bool, closeKafka func(), err error) {
	reg = node.NewRegistry()
	webhook.Register(reg, webhook.Options{UserAgent: userAgent(), SigningKey: o.signingKey})
	condition.Register(reg)
	kx, closeKafka, err := a.kafkaExecutor(o.kafka, o.svc)
	if err != nil {
		return nil, nil, false, nil, err
	}
	kafka.Register(reg, kx)
	cat = openCatalog(o.st)
	upsert.Register(reg, cat)
	registerIntegration(reg, o.st, 2*time.Second)
	registerAI(reg, o.st, cat)
	mailer, err := a.mailer(o.smtp, o.svc, o.procRed)
	if err != nil {
		closeKafka()
		return nil, nil, false, nil, err
	}
	// A store without responses leaves Store nil: INPUT nodes then fail
	// saying so. Both stores keep them.
	inputs, _ := o.st.(store.InputStore)
	input.Register(reg, input.Options{Store: inputs, Users: o.st, SigningKey: o.signingKey, Mailer: mailer, BaseURL: o.baseURL, Responders: authz.NewDynamic(cat)})
	return reg, cat, kx.Configured(), closeKafka, nil
}
