// Package storetest is the conformance suite for store.Store
// implementations, in the style of River's riverdrivertest: every
// implementation calls Run from its own tests, and the suite checks every
// method and rule documented in package store.
//
// Times are compared with a tolerance: a returned time must be in UTC and
// within one millisecond of the time that was written, so an implementation
// may keep milliseconds, microseconds (PostgreSQL) or nanoseconds. The times
// the suite writes are in a non-UTC zone and carry sub-millisecond digits, so
// a store that forgets to convert or drops precision below a millisecond
// fails.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

// Run runs the conformance suite. open must return a new, empty store for
// each call; the suite closes it (and checks that Close succeeds) when the
// subtest that opened it ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	fresh := func(t *testing.T) store.Store {
		t.Helper()
		s := open(t)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	}
	t.Run("Workflows", func(t *testing.T) { testWorkflows(t, fresh) })
	t.Run("Runs", func(t *testing.T) { testRuns(t, fresh) })
	t.Run("LogTags", func(t *testing.T) { testLogTags(t, fresh) })
	t.Run("ListRuns", func(t *testing.T) { testListRuns(t, fresh) })
	t.Run("ListRunsVisibility", func(t *testing.T) { testListRunsVisibility(t, fresh) })
	t.Run("ListRunsAfter", func(t *testing.T) { testListRunsAfter(t, fresh) })
	t.Run("Secrets", func(t *testing.T) { testSecrets(t, fresh) })
	t.Run("SecretKeys", func(t *testing.T) { testSecretKeys(t, fresh) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, fresh) })
	t.Run("Fingerprints", func(t *testing.T) { testFingerprints(t, fresh) })
	t.Run("Wait", func(t *testing.T) { testWait(t, fresh) })
	t.Run("Attempts", func(t *testing.T) { testAttempts(t, fresh) })
	t.Run("WaitDeadlines", func(t *testing.T) { testWaitDeadlines(t, fresh) })
	t.Run("Inputs", func(t *testing.T) { testInputs(t, fresh) })
	t.Run("Wakes", func(t *testing.T) { testWakes(t, fresh) })
	t.Run("Integrations", func(t *testing.T) { testIntegrations(t, fresh) })
	t.Run("Users", func(t *testing.T) { testUsers(t, fresh) })
	t.Run("Clients", func(t *testing.T) { testClients(t, fresh) })
	t.Run("Tokens", func(t *testing.T) { testTokens(t, fresh) })
	t.Run("DeleteCredentials", func(t *testing.T) { testDeleteCredentials(t, fresh) })
	t.Run("ClientBootstrap", func(t *testing.T) { testClientBootstrap(t, fresh) })
	t.Run("RingKeys", func(t *testing.T) { testRingKeys(t, fresh) })
	t.Run("LatestVersion", func(t *testing.T) { testLatestVersion(t, fresh) })
	t.Run("LatestRuns", func(t *testing.T) { testLatestRuns(t, fresh) })
	t.Run("RunLogs", func(t *testing.T) { testRunLogs(t, fresh) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, fresh) })
	t.Run("ConcurrentResults", func(t *testing.T) { testConcurrentResults(t, fresh) })
	t.Run("Catalog", func(t *testing.T) { testCatalog(t, fresh) })
	t.Run("AIProviders", func(t *testing.T) { testAIProviders(t, fresh) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, fresh) })
	t.Run("Retention", func(t *testing.T) { testRetention(t, fresh) })
	t.Run("Seals", func(t *testing.T) { testSeals(t, fresh) })
	t.Run("Leases", func(t *testing.T) { testLeases(t, fresh) })
	t.Run("ExternalRuns", func(t *testing.T) { testExternalRuns(t, fresh) })
	t.Run("Progress", func(t *testing.T) { testProgress(t, fresh) })
	t.Run("TraceParents", func(t *testing.T) { testTraceParents(t, fresh) })
	t.Run("Creation", func(t *testing.T) { testCreation(t, fresh) })
}

// opener opens a fresh store for one subtest.
type opener func(t *testing.T) store.Store

// zone is where the suite's times are written from: not UTC, so that a store
// which does not convert is caught.
var zone = time.FixedZone("UTC+02:00", 2*60*60)

// at returns the suite's i-th instant: whole seconds apart, each with the
// same sub-millisecond digits (so rounding to microseconds never crosses a
// millisecond).
func at(i int) time.Time {
	return time.Date(2025, time.March, 14, 15, 9, 26, 535_897_932, zone).Add(time.Duration(i) * time.Second)
}

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }

// ctx returns a context for one subtest.
func ctx(t *testing.T) context.Context { return t.Context() }

// wantErr fails the test unless err matches target (nil means no error).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	switch {
	case target == nil && err != nil:
		t.Fatalf("%s: unexpected error: %v", what, err)
	case target != nil && !errors.Is(err, target):
		t.Fatalf("%s: error = %v, want %v", what, err, target)
	}
}

// must fails the test now when err is not nil.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// checker compares the fields of one value and reports every difference.
type checker struct {
	t    *testing.T
	what string
}

func (c checker) eq(field string, got, want any) {
	c.t.Helper()
	if !reflect.DeepEqual(got, want) {
		c.t.Errorf("%s: %s = %#v, want %#v", c.what, field, got, want)
	}
}

// time checks that got is in UTC and within a millisecond of want.
func (c checker) time(field string, got, want time.Time) {
	c.t.Helper()
	if got.Location() != time.UTC {
		c.t.Errorf("%s: %s is in %v, want UTC", c.what, field, got.Location())
	}
	d := got.Sub(want)
	if d < 0 {
		d = -d
	}
	if d >= time.Millisecond {
		c.t.Errorf("%s: %s = %v, want %v", c.what, field, got, want.UTC())
	}
}

// near reports whether got is in UTC and within a millisecond of want, as
// checker.time checks it, for conditions that need a bool.
func near(got, want time.Time) bool {
	d := got.Sub(want)
	return got.Location() == time.UTC && d < time.Millisecond && d > -time.Millisecond
}

// between checks that got is in UTC and within [lo, hi] (to the
// millisecond): for times the store chose itself.
func (c checker) between(field string, got, lo, hi time.Time) {
	c.t.Helper()
	if got.Location() != time.UTC {
		c.t.Errorf("%s: %s is in %v, want UTC", c.what, field, got.Location())
	}
	if got.Before(lo.Add(-time.Millisecond)) || got.After(hi.Add(time.Millisecond)) {
		c.t.Errorf("%s: %s = %v, want between %v and %v", c.what, field, got, lo.UTC(), hi.UTC())
	}
}

func (c checker) timePtr(field string, got, want *time.Time) {
	c.t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		c.t.Errorf("%s: %s = %v, want %v", c.what, field, got, want)
	default:
		c.time(field, *got, *want)
	}
}

// json compares two JSON documents by meaning (an implementation may
// reformat them); both empty counts as equal.
func (c checker) json(field string, got, want []byte) {
	c.t.Helper()
	if len(got) == 0 || len(want) == 0 {
		if len(got) != len(want) {
			c.t.Errorf("%s: %s = %q, want %q", c.what, field, got, want)
		}
		return
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		c.t.Errorf("%s: %s is not JSON (%v): %q", c.what, field, err, got)
		return
	}
	if err := json.Unmarshal(want, &w); err != nil {
		c.t.Fatalf("%s: %s: bad test data: %v", c.what, field, err)
	}
	if !reflect.DeepEqual(g, w) {
		c.t.Errorf("%s: %s = %s, want %s", c.what, field, got, want)
	}
}

func texts(ts []redact.Text) []string {
	if len(ts) == 0 {
		return nil
	}
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.String()
	}
	return out
}

func checkWorkflow(t *testing.T, what string, got, want store.Workflow) {
	t.Helper()
	c := checker{t, what}
	c.eq("Identifier", got.Identifier, want.Identifier)
	c.eq("Version", got.Version, want.Version)
	c.json("Definition", got.Definition, want.Definition)
	c.eq("CreatedBy", got.CreatedBy, want.CreatedBy)
	c.eq("UpdatedBy", got.UpdatedBy, want.UpdatedBy)
	c.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	c.time("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	c.eq("Deleted", got.Deleted, want.Deleted)
}

func checkRun(t *testing.T, what string, got, want store.Run) {
	t.Helper()
	c := checker{t, what}
	c.eq("Identifier", got.Identifier, want.Identifier)
	c.eq("WorkflowID", got.WorkflowID, want.WorkflowID)
	c.eq("WorkflowVersion", got.WorkflowVersion, want.WorkflowVersion)
	c.eq("Status", got.Status, want.Status)
	c.eq("Result", got.Result, want.Result)
	c.eq("CreatedBy", got.CreatedBy, want.CreatedBy)
	c.eq("TriggerNode", got.TriggerNode, want.TriggerNode)
	c.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	c.time("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	c.timePtr("CompletedAt", got.CompletedAt, want.CompletedAt)
}

func checkNodeRun(t *testing.T, what string, got, want store.NodeRun) {
	t.Helper()
	c := checker{t, what}
	c.eq("Identifier", got.Identifier, want.Identifier)
	c.eq("RunID", got.RunID, want.RunID)
	c.eq("NodeID", got.NodeID, want.NodeID)
	c.eq("Seq", got.Seq, want.Seq)
	c.eq("Status", got.Status, want.Status)
	c.eq("Result", got.Result, want.Result)
	c.eq("Output.IsZero", got.Output.IsZero(), want.Output.IsZero())
	c.json("Output", got.Output.Bytes(), want.Output.Bytes())
	c.eq("Links", texts(got.Links), texts(want.Links))
	c.eq("Waiting", got.Waiting, want.Waiting)
	c.eq("Attempts", got.Attempts, want.Attempts)
	c.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	c.time("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	c.timePtr("CompletedAt", got.CompletedAt, want.CompletedAt)
}

func checkLogs(t *testing.T, what string, got, want []store.Log) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d logs, want %d: %s", what, len(got), len(want), logMessages(got))
		return
	}
	for i := range want {
		c := checker{t, fmt.Sprintf("%s[%d]", what, i)}
		c.eq("NodeRunID", got[i].NodeRunID, want[i].NodeRunID)
		c.eq("Level", got[i].Level, want[i].Level)
		c.eq("Message", got[i].Message.String(), want[i].Message.String())
		g, w := got[i].Tags, want[i].Tags
		if len(g) != 0 || len(w) != 0 {
			c.eq("Tags", g, w)
		}
		c.eq("TagList", store.TagListStrings(got[i].TagList), store.TagListStrings(want[i].TagList))
		c.time("CreatedAt", got[i].CreatedAt, want[i].CreatedAt)
	}
}

func logMessages(ls []store.Log) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Message.String()
	}
	return out
}

func checkSecret(t *testing.T, what string, got, want store.Secret) {
	t.Helper()
	c := checker{t, what}
	c.eq("Name", got.Name, want.Name)
	c.eq("Description", got.Description, want.Description)
	c.eq("KeyID", got.KeyID, want.KeyID)
	if !bytes.Equal(got.KeyFingerprint, want.KeyFingerprint) {
		c.t.Errorf("%s: KeyFingerprint = %x, want %x", what, got.KeyFingerprint, want.KeyFingerprint)
	}
	if !bytes.Equal(got.Ciphertext, want.Ciphertext) {
		c.t.Errorf("%s: Ciphertext = %x, want %x", what, got.Ciphertext, want.Ciphertext)
	}
	c.eq("CreatedBy", got.CreatedBy, want.CreatedBy)
	c.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	c.time("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
}

func checkAudit(t *testing.T, what string, got, want store.AuditEvent) {
	t.Helper()
	c := checker{t, what}
	c.eq("Action", got.Action, want.Action)
	c.eq("Actor", got.Actor, want.Actor)
	c.eq("Secret", got.Secret, want.Secret)
	c.eq("RunID", got.RunID, want.RunID)
	c.eq("NodeRunID", got.NodeRunID, want.NodeRunID)
	c.time("CreatedAt", got.CreatedAt, want.CreatedAt)
}
