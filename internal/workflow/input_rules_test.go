package workflow

import "testing"

// TestInputNodeRules checks what an INPUT node's config may hold: the
// notification targets (Port's shapes) and no .secrets anywhere, since the
// description, the form and its defaults are shown to responders and
// stored, and notifications carry them.
func TestInputNodeRules(t *testing.T) {
	const trig = `{"identifier":"trigger","config":{"type":"SELF_SERVE_TRIGGER","userInputs":{"properties":{"v":{"type":"string"}}}}}`
	input := func(extra string) string {
		return `{"identifier":"wf","nodes":[` + trig + `,{"identifier":"i","config":{"type":"INPUT",` +
			`"userInputs":{"properties":{"reason":{"type":"string"}},"buttons":[{"identifier":"ok","label":"OK","variant":"PRIMARY"}]},` +
			`"outlets":[{"identifier":"ok"}]` + extra + `}}],"connections":[{"sourceIdentifier":"trigger","targetIdentifier":"i"}]}`
	}
	valid := []struct{ name, extra string }{
		{"email with fields", `,"notifications":[{"target":"email","fields":[{"label":"Version","value":"{{ .outputs.trigger.v }}"}]}]`},
		{"webhook", `,"notifications":[{"target":"webhook","url":"https://hooks.example.com/x","method":"POST","headers":{"X-Team":"web"},"body":{"text":"{{ .outputs.trigger.v }}"}}]`},
		{"type as an alias of target", `,"notifications":[{"type":"webhook","url":"https://hooks.example.com/x"},{"type":"email"}]`},
		{"templated description and default", `,"description":"Deploy {{ .outputs.trigger.v }}?","responders":{"users":["a@example.com"],"roles":["Admin"],"teams":["ops"]}`},
	}
	for _, tc := range valid {
		t.Run(tc.name, func(t *testing.T) {
			if _, probs := Parse([]byte(input(tc.extra))); probs.Err() != nil {
				t.Fatalf("unexpected error: %v", probs.Err())
			}
		})
	}
	invalid := []struct{ name, extra, path, msg string }{
		{"webhook without url", `,"notifications":[{"target":"webhook"}]`, "nodes[1].config.notifications[0].url", "needs the url"},
		{"webhook with fields", `,"notifications":[{"target":"webhook","url":"https://x.io","fields":[]}]`, "nodes[1].config.notifications[0].fields", "only an email"},
		{"no target", `,"notifications":[{"url":"https://x.io"}]`, "nodes[1].config.notifications[0].target", "required"},
		{"target and type", `,"notifications":[{"target":"email","type":"email"}]`, "nodes[1].config.notifications[0].type", "alias of target"},
		{"type webhook without url", `,"notifications":[{"type":"webhook"}]`, "nodes[1].config.notifications[0].url", "needs the url"},
		{"email with url", `,"notifications":[{"target":"email","url":"https://x.io"}]`, "nodes[1].config.notifications[0].url", "only a webhook"},
		{"secret in description", `,"description":"token {{ .secrets.TOKEN }}"`, "nodes[1].config.description", "shown to its responders"},
		{"secret in notification url", `,"notifications":[{"target":"webhook","url":"{{ .secrets.HOOK }}"}]`, "nodes[1].config.notifications[0].url", "shown to its responders"},
		{"secret in email field", `,"notifications":[{"target":"email","fields":[{"label":"x","value":"{{ .secrets.X }}"}]}]`, "nodes[1].config.notifications[0].fields[0].value", "shown to its responders"},
		{"unknown notification member", `,"notifications":[{"target":"email","to":"x"}]`, "nodes[1].config.notifications[0].to", "unknown field"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := Parse([]byte(input(tc.extra)))
			if !find(probs.Errors, tc.path, tc.msg) {
				t.Errorf("no error at %q containing %q; errors:\n%s", tc.path, tc.msg, list(probs.Errors))
			}
		})
	}
	// A default that is a template renders when the run reaches the node;
	// one that reads .secrets is refused at its path.
	def := `{"identifier":"wf","nodes":[` + trig + `,{"identifier":"i","config":{"type":"INPUT",` +
		`"userInputs":{"properties":{"reason":{"type":"string","default":"{{ .secrets.X }}"}},"buttons":[{"identifier":"ok","label":"OK","variant":"PRIMARY"}]},` +
		`"outlets":[{"identifier":"ok"}]}}],"connections":[{"sourceIdentifier":"trigger","targetIdentifier":"i"}]}`
	if _, probs := Parse([]byte(def)); !find(probs.Errors, "nodes[1].config.userInputs.properties.reason.default", "stored") {
		t.Errorf("a secret in a default is not refused at its path; errors:\n%s", list(probs.Errors))
	}
}
