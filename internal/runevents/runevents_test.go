package runevents

import (
	"errors"
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
