package storetest

import (
	"testing"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

// testLogTags checks that log tags come back in the shape they were given:
// an object as Tags, a list (Ocean's ["workflow_completion"]) as TagList,
// an empty list as an empty list, and none as none; through CreateRun and
// through AppendLogs.
func testLogTags(t *testing.T, open opener) {
	tx := redact.TrustedText
	cases := []struct {
		name string
		log  store.Log
	}{
		{"none", store.Log{}},
		{"object", store.Log{Tags: map[redact.Text]redact.Text{tx("step"): tx("build"), tx("odd key"): tx("")}}},
		{"list", store.Log{TagList: []redact.Text{tx("workflow_completion"), tx("***"), tx("")}}},
		{"empty list", store.Log{TagList: []redact.Text{}}},
		{"unicode list", store.Log{TagList: []redact.Text{tx("déploiement ✓"), tx(`quote " and \ backslash`)}}},
	}
	s := open(t)
	r := newRun("wfr_tags", "deploy", "ann", 0)
	first := newNodeRun("wfnr_tags", "wfr_tags", "trigger", 0, 0)
	var want []store.Log
	for i, c := range cases {
		l := c.log
		l.NodeRunID, l.Level, l.Message, l.CreatedAt = first.Identifier, "INFO", tx(c.name), at(i)
		want = append(want, l)
	}
	must(t, "CreateRun", s.CreateRun(ctx(t), r, first, want))
	var appended []store.Log
	for i, l := range want {
		l.CreatedAt = at(len(want) + i)
		appended = append(appended, l)
	}
	must(t, "AppendLogs", s.AppendLogs(ctx(t), appended))
	got, err := s.Logs(ctx(t), first.Identifier)
	must(t, "Logs", err)
	checkLogs(t, "Logs", got, append(want, appended...))
}
