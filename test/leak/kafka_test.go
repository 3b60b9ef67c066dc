package leak_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-run/sluice/internal/api"
	"github.com/sluice-run/sluice/internal/auth"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/kafka"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

// TestKafkaPayload: a KAFKA node publishes a payload made of a vault
// secret and values derived from it (verbose, so the message is logged
// too), and a hostile consumer echoes them back in its logs and its
// completion. The secret is on the wire, and nowhere in the stored run, its
// logs, the API's answers, the database files or the server's log.
func TestKafkaPayload(t *testing.T) {
	const token = "kf-7Qx2Lm9Zp4Rt8Vw1Yb6Nc3Hd5Jg0Ks"
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "sluice.db")
	st, err := sqlitetest.Open(ctx, dbPath, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			st.Close()
		}
	})
	var slogBuf syncBuffer
	logger := slog.New(slog.NewJSONHandler(&slogBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	key, err := secret.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := secret.NewKeyRing(key)
	if err != nil {
		t.Fatal(err)
	}
	svc := secret.NewService(st, ring, secret.WithLogger(logger))
	if _, err := svc.Create(ctx, "usr_leaktest", "SERVICE_TOKEN", token, "leak suite"); err != nil {
		t.Fatal(err)
	}

	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, kafka.DefaultTopic))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()
	kx, err := kafka.New(kafka.Options{Brokers: brokers, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer kx.Close()
	reg := node.NewRegistry()
	kafka.Register(reg, kx)
	srv, err := api.New(api.Options{Store: st, Nodes: reg, Secrets: svc, Auth: auth.New(st, auth.Options{}), Logger: logger, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	defer srv.Shutdown(context.Background()) //nolint:errcheck // the test's end
	var answers bytes.Buffer                 // every API answer, a haystack
	call := func(method, path, tok string, body any) (int, []byte) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, hs.URL+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		answers.Write(raw)
		answers.WriteByte('\n')
		return resp.StatusCode, raw
	}
	login := func(c auth.Credentials) string {
		_, raw := call("POST", "/v1/auth/access_token", "", map[string]string{"clientId": c.ClientID, "clientSecret": c.ClientSecret})
		var out struct{ AccessToken string }
		_ = json.Unmarshal(raw, &out)
		return out.AccessToken
	}
	admin, _, err := auth.Bootstrap(ctx, st, "", "")
	if err != nil {
		t.Fatal(err)
	}
	adminTok := login(admin)
	consumerCred, err := auth.CreateClient(ctx, st, auth.ClientSpec{Name: "consumer", Scopes: []string{"update:runs"}})
	if err != nil {
		t.Fatal(err)
	}

	def := `{"identifier": "kafka-leak", "nodes": [
		{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER"}},
		{"identifier": "publish", "verbose": true, "config": {"type": "KAFKA", "payload": {
			"token": "{{ .secrets.SERVICE_TOKEN }}",
			"b64": "{{ .secrets.SERVICE_TOKEN | @base64 }}",
			"auth": "Bearer {{ .secrets.SERVICE_TOKEN }}",
			"lower": "{{ .secrets.SERVICE_TOKEN | ascii_downcase }}"}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "publish"}]}`
	if code, raw := call("POST", "/v1/workflows", adminTok, json.RawMessage(def)); code != http.StatusCreated {
		t.Fatalf("save: %d %s", code, raw)
	}
	code, raw := call("POST", "/v1/workflows/kafka-leak/runs", adminTok, map[string]any{"inputs": map[string]any{}})
	if code != http.StatusCreated {
		t.Fatalf("start: %d %s", code, raw)
	}
	var started struct{ WorkflowRun struct{ Identifier string } }
	_ = json.Unmarshal(raw, &started)
	runID := started.WorkflowRun.Identifier

	// The hostile consumer: reads the message, then echoes the secret and
	// what was derived from it in log lines and in its completion.
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(kafka.DefaultTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var rec *kgo.Record
	for rec == nil {
		fs := cl.PollFetches(pctx)
		if pctx.Err() != nil {
			t.Fatal("no message before the deadline")
		}
		if rs := fs.Records(); len(rs) > 0 {
			rec = rs[0]
		}
	}
	if !bytes.Contains(rec.Value, []byte(token)) {
		t.Fatalf("the message on the wire does not hold the secret: the case proves nothing: %s", rec.Value)
	}
	var msg kafka.Message
	if err := json.Unmarshal(rec.Value, &msg); err != nil {
		t.Fatal(err)
	}
	nodeRun := msg.Context.WorkflowNodeRunIdentifier
	consumerTok := login(consumerCred)
	b64 := base64.StdEncoding.EncodeToString([]byte(token))
	echo := fmt.Sprintf("got %s (%s), lower %s", token, b64, strings.ToLower(token))
	if code, raw := call("POST", "/v1/workflows/nodes/runs/"+nodeRun+"/logs", consumerTok, map[string]any{"logs": []map[string]any{{"level": "INFO", "message": echo}}}); code/100 != 2 {
		t.Fatalf("logs: %d %s", code, raw)
	}
	if code, raw := call("PATCH", "/v1/workflows/nodes/runs/"+nodeRun, consumerTok, map[string]any{
		"status": "COMPLETED", "result": "SUCCESS", "output": map[string]any{"echo": echo, "payload": msg.Payload},
		"logs": []map[string]any{{"level": "INFO", "message": "Bearer " + token}}}); code != http.StatusOK {
		t.Fatalf("complete: %d %s", code, raw)
	}
	deadline := time.Now().Add(time.Minute)
	var runJSON []byte
	for {
		_, runJSON = call("GET", "/v1/workflows/runs/"+runID+"?wait=30s&include=logs", adminTok, nil)
		if bytes.Contains(runJSON, []byte(`"status":"COMPLETED"`)) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !bytes.Contains(runJSON, []byte(`"result":"SUCCESS"`)) || !bytes.Contains(runJSON, []byte("published to topic")) {
		t.Fatalf("run = %s, want COMPLETED SUCCESS with the publish logged", runJSON)
	}
	call("GET", "/v1/workflows/runs?limit=10", adminTok, nil)
	if code, raw := call("GET", "/v1/workflows/runs/"+runID+"/events", adminTok, nil); code != http.StatusOK || !bytes.Contains(raw, []byte("run.finished")) {
		t.Fatalf("events: %d %s", code, raw)
	}

	// Everything stored or shown.
	hay := []haystack{{"API answers", answers.Bytes()}}
	hay = append(hay, dbFiles(t, dbPath, "before Close")...)
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	closed = true
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	hay = append(hay, dbFiles(t, dbPath, "after Close")...)
	hay = append(hay, haystack{"slog output", slogBuf.Bytes()})
	f := newFinder()
	f.addValue("SERVICE_TOKEN", token, true)
	f.addValue("derived#lower", strings.ToLower(token), false)
	for _, h := range hay {
		for _, m := range f.find(h.data) {
			t.Errorf("LEAK in %s: %s", h.name, m)
		}
	}
}
