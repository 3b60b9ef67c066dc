package cli

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestAutostartIntervalSetting: --autostart-interval comes from the flag,
// SLUICE_AUTOSTART_INTERVAL or the config file like every serve setting,
// config show lists it, and a bad or out-of-range value stops serve with
// an error naming where it came from, before anything is opened.
func TestAutostartIntervalSetting(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "sluice.yaml", "autostart-interval: 5s\n")
	tomlFile := writeFile(t, "sluice.toml", "autostart-interval = \"250ms\"\n")
	shown := []struct {
		name          string
		env           map[string]string
		args          []string
		value, source string
	}{
		{"default", nil, nil, "1s", "default"},
		{"file", nil, []string{"--config", file}, "5s", file + ": autostart-interval"},
		{"toml file", nil, []string{"--config", tomlFile}, "250ms", tomlFile + ": autostart-interval"},
		{"environment over file", map[string]string{"SLUICE_AUTOSTART_INTERVAL": "200ms"}, []string{"--config", file}, "200ms", "SLUICE_AUTOSTART_INTERVAL"},
		{"flag over environment", map[string]string{"SLUICE_AUTOSTART_INTERVAL": "200ms"}, []string{"--autostart-interval", "2s"}, "2s", "flag --autostart-interval"},
	}
	for _, tc := range shown {
		t.Run(tc.name, func(t *testing.T) {
			r := sluiceEnv(t, tc.env, "", append([]string{"config", "show"}, tc.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			re := regexp.MustCompile(`(?m)^autostart-interval +` + regexp.QuoteMeta(tc.value) + ` +` + regexp.QuoteMeta(tc.source) + `$`)
			if !re.MatchString(r.stdout) {
				t.Errorf("no row autostart-interval %s %s in\n%s", tc.value, tc.source, r.stdout)
			}
		})
	}

	bad := []struct {
		name   string
		env    map[string]string
		args   []string
		file   string
		stderr string
	}{
		{"not a duration (flag)", nil, []string{"--autostart-interval", "soon"}, "", `"--autostart-interval"`},
		{"not a duration (variable)", map[string]string{"SLUICE_AUTOSTART_INTERVAL": "soon"}, nil, "", `SLUICE_AUTOSTART_INTERVAL: "soon" is not a valid duration`},
		{"not a duration (file)", nil, nil, "autostart-interval: soon\n", `: autostart-interval: "soon" is not a valid duration`},
		{"zero", nil, []string{"--autostart-interval", "0s"}, "", "--autostart-interval: must be between 10ms and 30s, got 0s"},
		{"negative", map[string]string{"SLUICE_AUTOSTART_INTERVAL": "-1s"}, nil, "", "--autostart-interval: must be between 10ms and 30s, got -1s"},
		{"too long", nil, nil, "autostart-interval: 1m\n", "--autostart-interval: must be between 10ms and 30s, got 1m0s"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir}, tc.args...)
			if tc.file != "" {
				args = append(args, "--config", writeFile(t, "bad.yaml", tc.file))
			}
			r := sluiceEnv(t, tc.env, "", args...)
			if r.code == 0 || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want a failure holding %q", r.code, r.stderr, tc.stderr)
			}
			if strings.Contains(r.stdout, "clientSecret") {
				t.Errorf("serve created an admin client before it rejected the setting:\n%s", r.stdout)
			}
		})
	}
}

// TestServeStartsRunsOfAnotherProcessesCatalogWrites: a catalog change made
// by another process on the data dir (sluice catalog apply) does not wake
// the server; its loop finds the event at its next look, every
// --autostart-interval, and starts the EVENT_TRIGGER workflow's run, which
// records the deployment (examples/catalog).
func TestServeStartsRunsOfAnotherProcessesCatalogWrites(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if r := sluice(t, "", "catalog", "apply", "--data-dir", dir, "-f", catalogExamples+"/service.blueprint.json", "-f", catalogExamples+"/deployment.blueprint.json"); r.code != 0 {
		t.Fatalf("apply the blueprints: exit %d: %s", r.code, r.stderr)
	}
	srv := startServer(t, "--data-dir", dir, "--autostart-interval", "20ms")
	id, secret := credentials(t, srv.banner)
	tok, code := srv.token(t, id, secret)
	if code != http.StatusOK {
		t.Fatalf("token: %d", code)
	}
	wf, err := os.ReadFile(catalogExamples + "/record-promotion.workflow.json")
	if err != nil {
		t.Fatal(err)
	}
	if code, body := srv.send(t, "POST", "/v1/workflows", tok, json.RawMessage(wf)); code != http.StatusCreated {
		t.Fatalf("create the workflow: %d %s", code, body)
	}
	for _, stage := range []string{"staging", "production"} {
		manifest := "entities:\n  - {blueprint: service, identifier: checkout, properties: {stage: " + stage + `, version: "2.0"}}` + "\n"
		if r := sluice(t, manifest, "catalog", "apply", "--data-dir", dir, "-f", "-"); r.code != 0 {
			t.Fatalf("apply stage %s: exit %d: %s", stage, r.code, r.stderr)
		}
	}
	// Polled with a deadline far past the interval: a hang guard, not a
	// timing assertion.
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := srv.send(t, "GET", "/v1/blueprints/deployment/entities/checkout-2.0-production", tok, nil)
		if code == http.StatusOK {
			var got struct {
				Entity struct {
					CreatedBy string         `json:"createdBy"`
					Relations map[string]any `json:"relations"`
				} `json:"entity"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if got.Entity.Relations["service"] != "checkout" || !strings.HasPrefix(got.Entity.CreatedBy, "wfr_") {
				t.Errorf("deployment = %s", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no deployment recorded after the promotion: %d %s\nserver log:\n%s", code, body, srv.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	code, body := srv.send(t, "GET", "/v1/workflows/runs?workflowIdentifiers=record-promotion", tok, nil)
	var runs struct {
		Total int `json:"total"`
	}
	if err := json.Unmarshal(body, &runs); err != nil || code != http.StatusOK || runs.Total != 1 {
		t.Errorf("runs of record-promotion: %d %s (want exactly 1: the staging write matches no condition)", code, body)
	}
}
