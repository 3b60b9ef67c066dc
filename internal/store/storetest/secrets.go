package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

func secret(name string, i int) store.Secret {
	return store.Secret{
		Name: name, Description: "the " + name + " token", KeyID: "k1", KeyFingerprint: fingerprint("k1"),
		Ciphertext: fmt.Appendf(nil, "\x00\x01sealed-%s-%d\xff", name, i),
		CreatedBy:  "ann", CreatedAt: at(i), UpdatedAt: at(i),
	}
}

func event(action, secretName string, i int) store.AuditEvent {
	return store.AuditEvent{Action: action, Actor: "ann", Secret: secretName, CreatedAt: at(i)}
}

// audit returns every audit event, newest first.
func audit(t *testing.T, s store.Store) []store.AuditEvent {
	t.Helper()
	evs, err := s.ListAudit(ctx(t), 1000, 0)
	must(t, "ListAudit", err)
	return evs
}

func checkAudits(t *testing.T, what string, got, want []store.AuditEvent) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d audit events, want %d", what, len(got), len(want))
	}
	for i := range want {
		checkAudit(t, fmt.Sprintf("%s[%d]", what, i), got[i], want[i])
	}
}

func testSecrets(t *testing.T, open opener) {
	s := open(t)
	var events []store.AuditEvent // newest first

	list, err := s.ListSecrets(ctx(t))
	must(t, "ListSecrets (empty)", err)
	if len(list) != 0 {
		t.Fatalf("ListSecrets on an empty store = %d secrets", len(list))
	}

	// Create, out of name order.
	want := map[string]store.Secret{}
	for i, name := range []string{"SLACK", "API_KEY", "GITHUB"} {
		sec, ev := secret(name, i), event("secret.create", name, i)
		must(t, "CreateSecret "+name, s.CreateSecret(ctx(t), sec, ev))
		want[name] = sec
		events = append([]store.AuditEvent{ev}, events...)
	}
	got, err := s.GetSecret(ctx(t), "GITHUB")
	must(t, "GetSecret", err)
	checkSecret(t, "GetSecret", got, want["GITHUB"])
	_, err = s.GetSecret(ctx(t), "MISSING")
	wantErr(t, "GetSecret(missing)", err, store.ErrNotFound)

	// A taken name changes nothing and records no event.
	err = s.CreateSecret(ctx(t), secret("GITHUB", 9), event("secret.create", "GITHUB", 9))
	wantErr(t, "CreateSecret(duplicate)", err, store.ErrExists)
	got, err = s.GetSecret(ctx(t), "GITHUB")
	must(t, "GetSecret", err)
	checkSecret(t, "GetSecret after duplicate", got, want["GITHUB"])
	checkAudits(t, "ListAudit after duplicate", audit(t, s), events)

	// Update replaces ciphertext, key and description; creation stays. It
	// applies against the UpdatedAt that GetSecret returned.
	read, err := s.GetSecret(ctx(t), "GITHUB")
	must(t, "GetSecret", err)
	upd := store.Secret{Name: "GITHUB", Description: "rotated", KeyID: "k2", KeyFingerprint: fingerprint("k2"), Ciphertext: []byte("new-sealed"), CreatedBy: "bob", CreatedAt: at(50), UpdatedAt: at(10)}
	ev := event("secret.update", "GITHUB", 10)
	must(t, "UpdateSecret", s.UpdateSecret(ctx(t), upd, read.UpdatedAt, ev))
	events = append([]store.AuditEvent{ev}, events...)
	w := want["GITHUB"]
	w.Description, w.KeyID, w.KeyFingerprint, w.Ciphertext, w.UpdatedAt = "rotated", "k2", fingerprint("k2"), []byte("new-sealed"), at(10)
	want["GITHUB"] = w
	got, err = s.GetSecret(ctx(t), "GITHUB")
	must(t, "GetSecret", err)
	checkSecret(t, "GetSecret after update", got, w)
	err = s.UpdateSecret(ctx(t), secret("MISSING", 11), at(11), event("secret.update", "MISSING", 11))
	wantErr(t, "UpdateSecret(missing)", err, store.ErrNotFound)
	checkAudits(t, "ListAudit after update", audit(t, s), events)

	// An update against a stale read (the secret changed since) writes
	// nothing and records no event: the row keeps the newer change.
	for _, tc := range []struct {
		name        string
		ifUpdatedAt time.Time
	}{
		{"the UpdatedAt replaced by the update", read.UpdatedAt},
		{"1ns before the current UpdatedAt", got.UpdatedAt.Add(-time.Nanosecond)},
		{"1ns after the current UpdatedAt", got.UpdatedAt.Add(time.Nanosecond)},
		{"zero", time.Time{}},
	} {
		stale := store.Secret{Name: "GITHUB", Description: "stale", KeyID: "k1", Ciphertext: []byte("old-sealed"), UpdatedAt: at(11)}
		err = s.UpdateSecret(ctx(t), stale, tc.ifUpdatedAt, event("secret.update", "GITHUB", 11))
		wantErr(t, "UpdateSecret(ifUpdatedAt "+tc.name+")", err, store.ErrConflict)
		got, err = s.GetSecret(ctx(t), "GITHUB")
		must(t, "GetSecret", err)
		checkSecret(t, "GetSecret after a conflict on "+tc.name, got, w)
		checkAudits(t, "ListAudit after a conflict on "+tc.name, audit(t, s), events)
	}
	// The UpdatedAt as listed is as good as GetSecret's, in any zone.
	listed, err := s.ListSecrets(ctx(t))
	must(t, "ListSecrets", err)
	idx := slices.IndexFunc(listed, func(sec store.Secret) bool { return sec.Name == "GITHUB" })
	if idx < 0 {
		t.Fatal("ListSecrets lacks GITHUB")
	}
	upd.Description, upd.UpdatedAt = "listed", at(12)
	ev = event("secret.update", "GITHUB", 12)
	must(t, "UpdateSecret after ListSecrets", s.UpdateSecret(ctx(t), upd, listed[idx].UpdatedAt.In(time.FixedZone("X", 3600)), ev))
	events = append([]store.AuditEvent{ev}, events...)
	w.Description, w.UpdatedAt = "listed", at(12)
	want["GITHUB"] = w
	got, err = s.GetSecret(ctx(t), "GITHUB")
	must(t, "GetSecret", err)
	checkSecret(t, "GetSecret after an update from ListSecrets", got, w)
	checkAudits(t, "ListAudit after an update from ListSecrets", audit(t, s), events)

	// List is ordered by name.
	list, err = s.ListSecrets(ctx(t))
	must(t, "ListSecrets", err)
	names := []string{"API_KEY", "GITHUB", "SLACK"}
	if len(list) != len(names) {
		t.Fatalf("ListSecrets = %d secrets, want %d", len(list), len(names))
	}
	for i, name := range names {
		checkSecret(t, fmt.Sprintf("ListSecrets[%d]", i), list[i], want[name])
	}

	// Delete.
	ev = event("secret.delete", "SLACK", 12)
	must(t, "DeleteSecret", s.DeleteSecret(ctx(t), "SLACK", ev))
	events = append([]store.AuditEvent{ev}, events...)
	_, err = s.GetSecret(ctx(t), "SLACK")
	wantErr(t, "GetSecret after delete", err, store.ErrNotFound)
	wantErr(t, "DeleteSecret again", s.DeleteSecret(ctx(t), "SLACK", event("secret.delete", "SLACK", 13)), store.ErrNotFound)
	checkAudits(t, "ListAudit after delete", audit(t, s), events)
	list, err = s.ListSecrets(ctx(t))
	must(t, "ListSecrets", err)
	if len(list) != 2 || list[0].Name != "API_KEY" || list[1].Name != "GITHUB" {
		t.Errorf("ListSecrets after delete = %d secrets, want API_KEY and GITHUB", len(list))
	}

	// A deleted name can be created again.
	must(t, "CreateSecret after delete", s.CreateSecret(ctx(t), secret("SLACK", 14), event("secret.create", "SLACK", 14)))
}

func testAudit(t *testing.T, open opener) {
	s := open(t)
	evs, err := s.ListAudit(ctx(t), 0, 0)
	must(t, "ListAudit (empty)", err)
	if len(evs) != 0 {
		t.Fatalf("ListAudit on an empty store = %d events", len(evs))
	}
	var added []store.AuditEvent
	for i := range 5 {
		ev := store.AuditEvent{Action: "secret.resolve", Actor: "engine", Secret: fmt.Sprintf("S%d", i), RunID: "wfr_1", NodeRunID: fmt.Sprintf("wfnr_%d", i), CreatedAt: at(i)}
		added = append(added, ev)
	}
	must(t, "AddAudit", s.AddAudit(ctx(t), added[:3]))
	must(t, "AddAudit", s.AddAudit(ctx(t), added[3:]))
	must(t, "AddAudit (none)", s.AddAudit(ctx(t), nil))
	newest := slices.Clone(added)
	slices.Reverse(newest)

	all, err := s.ListAudit(ctx(t), 0, 0)
	must(t, "ListAudit", err)
	checkAudits(t, "ListAudit", all, newest)
	seen := map[int64]bool{}
	for i, ev := range all {
		if ev.ID == 0 || seen[ev.ID] {
			t.Errorf("ListAudit[%d].ID = %d, want a distinct non-zero ID", i, ev.ID)
		}
		seen[ev.ID] = true
	}
	for _, tc := range []struct{ limit, offset, from, to int }{
		{2, 0, 0, 2}, {2, 2, 2, 4}, {2, 4, 4, 5}, {2, 5, 5, 5}, {10, 1, 1, 5},
	} {
		got, err := s.ListAudit(ctx(t), tc.limit, tc.offset)
		must(t, "ListAudit", err)
		checkAudits(t, fmt.Sprintf("ListAudit(%d, %d)", tc.limit, tc.offset), got, newest[tc.from:tc.to])
	}

	// The default limit is 100, the maximum 1000.
	many := make([]store.AuditEvent, 1001)
	for i := range many {
		many[i] = store.AuditEvent{Action: "secret.resolve", Actor: "engine", Secret: "S", CreatedAt: at(10)}
	}
	must(t, "AddAudit (many)", s.AddAudit(ctx(t), many))
	for _, tc := range []struct{ limit, want int }{{0, 100}, {1000, 1000}, {5000, 1000}} {
		got, err := s.ListAudit(ctx(t), tc.limit, 0)
		must(t, "ListAudit", err)
		if len(got) != tc.want {
			t.Errorf("ListAudit(%d, 0) = %d events, want %d", tc.limit, len(got), tc.want)
		}
	}
}
