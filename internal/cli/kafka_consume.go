package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-run/sluice/internal/node/kafka"
)

// consumeFlags are the flags of `sluice kafka consume`.
type consumeFlags struct {
	kafka       kafkaFlags
	group       string
	complete    bool
	output      string
	showPayload bool
	url         string
	clientID    string
	secretFile  string
	max         int
}

func (a *app) kafkaCmd() *cobra.Command {
	c := &cobra.Command{Use: "kafka", Short: "Work with the messages of KAFKA nodes"}
	c.AddCommand(a.kafkaConsumeCmd())
	return c
}

func (a *app) kafkaConsumeCmd() *cobra.Command {
	var f consumeFlags
	c := &cobra.Command{
		Use:   "consume [--topic T] [--complete [--output-json JSON]]",
		Short: "Print the messages of KAFKA nodes as they arrive, and optionally complete their node runs",
		Long: `Consume reads the messages that KAFKA nodes publish and prints one line per
message: topic, partition, offset, the run, node and node run it belongs to,
and the payload with every value masked (--show-payload prints it as it is:
it may hold secrets).

With --complete it also marks each message's node run COMPLETED SUCCESS
through the API of a running server, with --output-json as the node's
output (default {}), so the run goes on. It is the reference consumer:
docs/kafka.md shows the same in a few lines of Go and of Python.

It is a client of the running server: --url (SLUICE_SERVER, or SLUICE_URL) and the
credentials of a client that may update runs: --client-id (SLUICE_CLIENT_ID)
and the secret from SLUICE_CLIENT_SECRET or --client-secret-file (never a
flag). The broker flags are those of serve; a SASL password is read from
SLUICE_KAFKA_SASL_PASSWORD.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := a.kafkaFromEnv(c.Flags()); err != nil {
				return err
			}
			if c.Flags().Changed("output-json") && !f.complete {
				return invalid("--output-json: is the output of the node runs --complete completes; give --complete too")
			}
			// The server as every client command finds it: SLUICE_SERVER,
			// else SLUICE_URL (this command's older name).
			if s := a.serverURL("", nil); !c.Flags().Changed("url") && s != "" {
				f.url = s
			}
			if !c.Flags().Changed("client-id") && a.io.Getenv("SLUICE_CLIENT_ID") != "" {
				f.clientID = a.io.Getenv("SLUICE_CLIENT_ID")
			}
			return a.consume(c.Context(), f)
		},
	}
	fl := c.Flags()
	f.kafka.add(fl, false, false)
	fl.StringVar(&f.kafka.topic, "topic", kafka.DefaultTopic, "topic to read (also --kafka-topic)")
	fl.StringVar(&f.group, "group", "", "consumer group: committed offsets, several consumers share the partitions (default: none, read from the start)")
	fl.BoolVar(&f.complete, "complete", false, "complete each message's node run SUCCESS through the API")
	fl.StringVar(&f.output, "output-json", "{}", "the output that --complete gives each node (a JSON value)")
	fl.BoolVar(&f.showPayload, "show-payload", false, "print payloads as they are (they may hold secrets)")
	fl.StringVar(&f.url, "url", "http://127.0.0.1:7070", "base URL of the sluice server (else SLUICE_SERVER, else SLUICE_URL)")
	fl.StringVar(&f.clientID, "client-id", "", "API client id (SLUICE_CLIENT_ID)")
	fl.StringVar(&f.secretFile, "client-secret-file", "", "file holding the API client secret (else SLUICE_CLIENT_SECRET)")
	fl.IntVar(&f.max, "max-messages", 0, "stop after this many messages (0: run until interrupted)")
	return c
}

func (a *app) consume(ctx context.Context, f consumeFlags) error {
	var output any
	dec := json.NewDecoder(strings.NewReader(f.output))
	dec.UseNumber()
	if err := dec.Decode(&output); err != nil || dec.More() {
		return invalid("--output-json: must be one JSON value")
	}
	var api *apiClient
	if f.complete {
		secret := a.io.Getenv("SLUICE_CLIENT_SECRET")
		if f.secretFile != "" {
			b, err := os.ReadFile(f.secretFile)
			if err != nil {
				return invalid("--client-secret-file: %w", err)
			}
			secret = strings.TrimSpace(string(b))
		}
		if f.clientID == "" || secret == "" {
			return invalid("--complete needs API credentials: --client-id (SLUICE_CLIENT_ID) and SLUICE_CLIENT_SECRET (or --client-secret-file)")
		}
		u, err := url.Parse(f.url)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return invalid("--url: must be an http or https URL")
		}
		api = &apiClient{base: strings.TrimRight(f.url, "/"), clientID: f.clientID, secret: secret, http: &http.Client{Timeout: 30 * time.Second}}
	}
	if len(f.kafka.brokers) == 0 {
		return invalid("--kafka-brokers (SLUICE_KAFKA_BROKERS) is required: the brokers sluice publishes to")
	}
	var password func(context.Context) (string, error)
	if p := a.io.Getenv("SLUICE_KAFKA_SASL_PASSWORD"); p != "" {
		password = func(context.Context) (string, error) { return p, nil }
	}
	opts, err := f.kafka.options(a.logger, password)
	if err != nil {
		return err
	}
	kopts, err := kafka.ConsumerOptions(opts)
	if err != nil {
		return invalid("%w", err)
	}
	kopts = append(kopts, kgo.ConsumeTopics(opts.Topic))
	if f.group != "" {
		// Offsets are committed only once a message was handled (at least
		// once): a consumer that stops in between reads it again.
		kopts = append(kopts, kgo.ConsumerGroup(f.group), kgo.DisableAutoCommit())
	} else {
		kopts = append(kopts, kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	}
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return fmt.Errorf("kafka consumer: %w", err)
	}
	defer cl.Close()
	fmt.Fprintf(a.io.Stderr, "reading topic %s from %s\n", opts.Topic, strings.Join(opts.Brokers, ","))
	seen := 0
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var ferr error
		fs.EachError(func(topic string, p int32, err error) {
			ferr = fmt.Errorf("read topic %s partition %d: %w", topic, p, err)
		})
		if ferr != nil {
			return ferr
		}
		for _, rec := range fs.Records() {
			if err := a.handleMessage(ctx, rec, f, api, output); err != nil {
				return err
			}
			if f.group != "" {
				if err := cl.CommitRecords(ctx, rec); err != nil && ctx.Err() == nil {
					return fmt.Errorf("commit the offset of %s/%d@%d: %w", rec.Topic, rec.Partition, rec.Offset, err)
				}
			}
			seen++
			if f.max > 0 && seen >= f.max {
				return nil
			}
		}
	}
}

// handleMessage prints one message and completes its node run when asked.
func (a *app) handleMessage(ctx context.Context, rec *kgo.Record, f consumeFlags, api *apiClient, output any) error {
	var m kafka.Message
	dec := json.NewDecoder(bytes.NewReader(rec.Value))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m.Context.WorkflowNodeRunIdentifier == "" {
		fmt.Fprintf(a.io.Stdout, "%s/%d@%d: not a sluice message, skipped\n", rec.Topic, rec.Partition, rec.Offset)
		return nil
	}
	payload := m.Payload
	if !f.showPayload {
		payload = maskValues(payload)
	}
	pb, _ := json.Marshal(payload)
	fmt.Fprintf(a.io.Stdout, "%s/%d@%d run %s node %s (node run %s, workflow %s v%d): %s\n", rec.Topic, rec.Partition, rec.Offset,
		m.Context.WorkflowRunIdentifier, m.Context.NodeIdentifier, m.Context.WorkflowNodeRunIdentifier, m.Context.WorkflowIdentifier, m.Context.WorkflowVersion, pb)
	if api == nil {
		return nil
	}
	status, err := api.complete(ctx, m.Context.WorkflowNodeRunIdentifier, output)
	switch {
	case err != nil:
		return err
	case status == http.StatusConflict:
		// Completed already (a redelivery, or another consumer): skip.
		fmt.Fprintf(a.io.Stdout, "  node run %s is no longer in progress; skipped\n", m.Context.WorkflowNodeRunIdentifier)
	default:
		fmt.Fprintf(a.io.Stdout, "  completed node run %s SUCCESS\n", m.Context.WorkflowNodeRunIdentifier)
	}
	return nil
}

// maskValues replaces every scalar in v by "***", keeping the shape.
func maskValues(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = maskValues(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = maskValues(e)
		}
		return out
	case nil:
		return nil
	default:
		return "***"
	}
}

// apiClient is the small client of the sluice API that kafka consume
// needs: an access token from the client credentials, then PATCH.
type apiClient struct {
	base, clientID, secret string
	http                   *http.Client

	mu    sync.Mutex
	token string
}

// login fetches an access token.
func (c *apiClient) login(ctx context.Context) (string, error) {
	body, _ := json.Marshal(map[string]string{"clientId": c.clientID, "clientSecret": c.secret})
	var out struct {
		AccessToken string `json:"accessToken"`
	}
	status, err := c.do(ctx, http.MethodPost, "/v1/auth/access_token", "", body, &out)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK || out.AccessToken == "" {
		return "", fmt.Errorf("log in as client %s: the server answered %d", c.clientID, status)
	}
	return out.AccessToken, nil
}

// complete marks a node run COMPLETED SUCCESS with output and returns the
// status of the answer (200, or 409 when it was no longer in progress).
func (c *apiClient) complete(ctx context.Context, nodeRunID string, output any) (int, error) {
	body, err := json.Marshal(map[string]any{"status": "COMPLETED", "result": "SUCCESS", "output": output})
	if err != nil {
		return 0, fmt.Errorf("encode the completion: %w", err)
	}
	for attempt := 0; attempt < 2; attempt++ {
		c.mu.Lock()
		if c.token == "" {
			t, err := c.login(ctx)
			if err != nil {
				c.mu.Unlock()
				return 0, err
			}
			c.token = t
		}
		token := c.token
		c.mu.Unlock()
		status, err := c.do(ctx, http.MethodPatch, "/v1/workflows/nodes/runs/"+url.PathEscape(nodeRunID), token, body, nil)
		if err != nil {
			return 0, err
		}
		switch status {
		case http.StatusOK, http.StatusConflict:
			return status, nil
		case http.StatusUnauthorized:
			c.mu.Lock()
			c.token = "" // expired: log in again once
			c.mu.Unlock()
			continue
		default:
			return status, fmt.Errorf("complete node run %s: the server answered %d", nodeRunID, status)
		}
	}
	return http.StatusUnauthorized, fmt.Errorf("complete node run %s: the server refused client %s's credentials", nodeRunID, c.clientID)
}

// do sends one request and decodes a JSON answer into out when it is 2xx.
func (c *apiClient) do(ctx context.Context, method, path, token string, body []byte, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, fmt.Errorf("%s %s on %s: %w", method, path, c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(b, out); err != nil {
			return 0, fmt.Errorf("%s %s: decode the answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}
