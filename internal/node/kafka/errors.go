package kafka

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// PublishError is a publish that failed. Its text names the topic, the
// configured brokers and the reason, never a value of the message or a
// credential. Unwrap gives the franz-go or kerr error (errors.Is(err,
// kerr.TopicAuthorizationFailed)).
type PublishError struct {
	Topic   string
	Brokers string
	Reason  string
	Err     error
}

func (e *PublishError) Error() string {
	return fmt.Sprintf("publish to topic %s on brokers %s failed: %s", e.Topic, e.Brokers, e.Reason)
}

// Unwrap returns the underlying error.
func (e *PublishError) Unwrap() error { return e.Err }

// publishError classifies err, from publishing a size-byte message to topic
// within timeout. seen marks the connection errors that are news.
func (e *Executor) publishError(topic string, size int, timeout time.Duration, err error, seen uint64) error {
	pe := &PublishError{Topic: topic, Brokers: e.brokers, Err: err}
	var ke *kerr.Error
	switch {
	case errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge):
		pe.Reason = fmt.Sprintf("the message is too large (%d bytes): the producer's or the broker's limit (max.message.bytes) is lower", size)
	case errors.Is(err, kerr.UnknownTopicOrPartition):
		pe.Reason = "the topic does not exist: create it (sluice does not create topics)"
	case errors.Is(err, kerr.TopicAuthorizationFailed):
		pe.Reason = "not authorized to write to the topic (TOPIC_AUTHORIZATION_FAILED): grant the client's principal WRITE on it"
	case errors.Is(err, kerr.ClusterAuthorizationFailed):
		pe.Reason = "not authorized on the cluster (CLUSTER_AUTHORIZATION_FAILED): the idempotent producer needs IDEMPOTENT_WRITE"
	case errors.Is(err, kerr.SaslAuthenticationFailed):
		pe.Reason = "SASL authentication failed: check the user and the password secret"
	case errors.As(err, &ke):
		pe.Reason = ke.Message + ": " + ke.Description
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, kgo.ErrRecordTimeout):
		pe.Reason = fmt.Sprintf("no acknowledgement within %s", timeout)
		if why := e.conns.since(seen); why != "" {
			pe.Reason += " (" + why + ")"
		} else if why := e.diagnose(topic); why != "" {
			pe.Reason += " (" + why + ")"
		}
	default:
		pe.Reason = describeConnError(err)
	}
	return pe
}

// describeConnError is the text of a connection error: fixed words for the
// common causes, then the error itself for anything else. franz-go's and
// the net package's errors name hosts and addresses, which come from the
// configuration; none carries a password.
func describeConnError(err error) string {
	var (
		dnsErr *net.DNSError
		uaErr  x509.UnknownAuthorityError
		hErr   x509.HostnameError
	)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &dnsErr):
		return "DNS lookup failed: " + dnsErr.Err
	case errors.As(err, &uaErr):
		return "TLS: certificate signed by an unknown authority"
	case errors.As(err, &hErr):
		return "TLS: certificate is not valid for the broker's host"
	case errors.Is(err, kerr.SaslAuthenticationFailed):
		return "SASL authentication failed"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, kgo.ErrRecordTimeout):
		return "timed out"
	}
	return err.Error()
}

// diagnose asks a broker, within a few seconds, what it knows of topic,
// after a publish that got no acknowledgement without a connection error:
// the client keeps retrying a topic it has already found missing without
// saying so. It returns "" when the broker has nothing to say.
func (e *Executor) diagnose(topic string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, e.client)
	if err != nil || len(resp.Topics) != 1 {
		return ""
	}
	switch err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); {
	case errors.Is(err, kerr.UnknownTopicOrPartition):
		return "the topic does not exist: create it (sluice does not create topics)"
	case errors.Is(err, kerr.TopicAuthorizationFailed):
		return "not authorized to the topic (TOPIC_AUTHORIZATION_FAILED)"
	case err != nil:
		return "the broker says: " + err.Error()
	}
	return ""
}
