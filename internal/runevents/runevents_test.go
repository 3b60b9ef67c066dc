package runevents

import (
	"errors"
	"strconv"
	"testing"

	"github.com/sluice-run/sluice/internal/engine"
)

func TestHub(t *testing.T) {
	tests := []struct {
		name         string
		buffer       int
		onlyFinished bool
		publish      []Event
		want         []string // kinds received
		lagged       bool
	}{
		{"every kind in order", 4, false,
			[]Event{{Kind: KindNodeStarted, RunID: "r"}, {Kind: KindNodeFinished, RunID: "r"}, {Kind: KindRunFinished, RunID: "r"}},
			[]string{KindNodeStarted, KindNodeFinished, KindRunFinished}, false},
		{"other runs are not seen", 4, false,
			[]Event{{Kind: KindNodeStarted, RunID: "other"}, {Kind: KindRunFinished, RunID: "r"}},
			[]string{KindRunFinished}, false},
		{"only run.finished, with a buffer of one", 4, true,
			[]Event{{Kind: KindNodeStarted, RunID: "r"}, {Kind: KindNodeWaiting, RunID: "r"}, {Kind: KindNodeFinished, RunID: "r"}, {Kind: KindRunFinished, RunID: "r"}},
			[]string{KindRunFinished}, false},
		{"a slow subscriber lags and gets nothing more", 2, false,
			[]Event{{Kind: KindNodeStarted, RunID: "r"}, {Kind: KindNodeFinished, RunID: "r"}, {Kind: KindNodeStarted, RunID: "r"}, {Kind: KindRunFinished, RunID: "r"}},
			[]string{KindNodeStarted, KindNodeFinished}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHub(Options{Buffer: tc.buffer})
			s, err := h.Subscribe("r", tc.onlyFinished)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range tc.publish {
				h.Publish(ev)
			}
			var got []string
			for len(s.C) > 0 {
				got = append(got, (<-s.C).Kind)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("received %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("received %v, want %v", got, tc.want)
				}
			}
			if s.Lagged() != tc.lagged {
				t.Errorf("Lagged = %v, want %v", s.Lagged(), tc.lagged)
			}
			select {
			case <-s.Lag:
				if !tc.lagged {
					t.Error("Lag closed without lagging")
				}
			default:
				if tc.lagged {
					t.Error("Lag not closed")
				}
			}
			s.Close()
			s.Close()
			if n := h.Watchers(); n != 0 {
				t.Errorf("Watchers = %d after Close", n)
			}
			if len(h.runs) != 0 {
				t.Errorf("runs left: %v", h.runs)
			}
		})
	}
}

func TestHubBoundAndClose(t *testing.T) {
	h := NewHub(Options{MaxSubscribers: 2})
	a, _ := h.Subscribe("r", true)
	b, _ := h.Subscribe("q", false)
	if _, err := h.Subscribe("r", true); !errors.Is(err, ErrFull) {
		t.Fatalf("third Subscribe: %v, want ErrFull", err)
	}
	a.Close()
	c, err := h.Subscribe("r", true)
	if err != nil {
		t.Fatalf("Subscribe after a Close: %v", err)
	}
	h.Close()
	h.Close()
	select {
	case <-h.Done():
	default:
		t.Fatal("Done not closed")
	}
	b.Close()
	c.Close()
}

func TestFromEngine(t *testing.T) {
	for _, tc := range []struct {
		kind engine.EventKind
		want string
	}{
		{engine.NodeStarted, KindNodeStarted},
		{engine.NodeFinished, KindNodeFinished},
		{engine.NodeWaiting, KindNodeWaiting},
		{engine.RunFinished, KindRunFinished},
		{0, ""},
	} {
		got, ok := FromEngine(engine.Event{Kind: tc.kind, RunID: "r", Error: "boom"})
		if ok != (tc.want != "") || got.Kind != tc.want {
			t.Errorf("FromEngine(%d) = %+v, %v; want %q", tc.kind, got, ok, tc.want)
		}
	}
}

// TestHubLive: a subscription made while this process drives its run is
// Live, and its Idle closes when that drive ends; a run.finished ends the
// run's liveness, and a drive that begins after its run finished (a cancel
// between the drive's read and its start) does not make it live again; the
// driving events reach no watcher.
func TestHubLive(t *testing.T) {
	driving := func(id string) engine.Event { return engine.Event{Kind: engine.RunDriving, RunID: id} }
	idle := func(id string) engine.Event { return engine.Event{Kind: engine.RunIdle, RunID: id} }
	finished := func(id string) engine.Event {
		return engine.Event{Kind: engine.RunFinished, RunID: id, Result: "SUCCESS"}
	}
	tests := []struct {
		name     string
		before   []engine.Event // before the subscription
		after    []engine.Event // after it
		live     bool
		idle     bool // Idle closed after the events
		received int  // events in C
	}{
		{name: "not driven", live: false},
		{name: "driven", before: []engine.Event{driving("r")}, live: true},
		{name: "driven then idle", before: []engine.Event{driving("r")}, after: []engine.Event{idle("r")}, live: true, idle: true},
		{name: "driven, finished, idle", before: []engine.Event{driving("r")}, after: []engine.Event{finished("r"), idle("r")}, live: true, idle: true, received: 1},
		{name: "idle before", before: []engine.Event{driving("r"), idle("r")}, live: false},
		{name: "finished while driven", before: []engine.Event{driving("r"), finished("r")}, live: false},
		{name: "a drive after the run finished", before: []engine.Event{finished("r"), driving("r")}, live: false},
		{name: "another run driven", before: []engine.Event{driving("other")}, live: false},
		{name: "two drives, one ends", before: []engine.Event{driving("r"), driving("r"), idle("r")}, live: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHub(Options{})
			for _, ev := range tc.before {
				h.OnEngineEvent(ev)
			}
			s, err := h.Subscribe("r", false)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Live != tc.live {
				t.Errorf("Live = %v, want %v", s.Live, tc.live)
			}
			for _, ev := range tc.after {
				h.OnEngineEvent(ev)
			}
			select {
			case <-s.Idle:
				if !tc.idle {
					t.Error("Idle closed")
				}
			default:
				if tc.idle {
					t.Error("Idle not closed")
				}
			}
			if len(s.C) != tc.received {
				t.Errorf("%d events received, want %d (driving events reach no watcher)", len(s.C), tc.received)
			}
		})
	}
}

// TestHubFinishedBounded: the runs a Hub remembers as finished are
// bounded; the oldest is forgotten first.
func TestHubFinishedBounded(t *testing.T) {
	h := NewHub(Options{})
	for i := range recentFinished + 10 {
		h.Publish(Event{Kind: KindRunFinished, RunID: "r" + strconv.Itoa(i)})
	}
	if n := len(h.finishedSet); n != recentFinished {
		t.Errorf("%d runs remembered, want %d", n, recentFinished)
	}
	h.OnEngineEvent(engine.Event{Kind: engine.RunDriving, RunID: "r0"})
	h.OnEngineEvent(engine.Event{Kind: engine.RunDriving, RunID: "r" + strconv.Itoa(recentFinished+5)})
	if !h.Driving("r0") || h.Driving("r"+strconv.Itoa(recentFinished+5)) {
		t.Errorf("forgotten r0 driving %v (want true), recent run driving %v (want false)", h.Driving("r0"), h.Driving("r"+strconv.Itoa(recentFinished+5)))
	}
}
