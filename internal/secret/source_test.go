package secret

import (
	"context"
	"errors"
	"maps"
	"testing"
)

// plainSource is a Source without ResolveAvailable, to check that Layered
// falls back to asking name by name.
type plainSource struct{ m map[string]string }

func (p plainSource) Resolve(ctx context.Context, ref ResolveRef, names []string) (map[string]string, error) {
	return MapSource(p.m).Resolve(ctx, ref, names)
}

// failingSource fails every resolution with a non-NotDefined error.
type failingSource struct{}

var errBroken = errors.New("source is broken")

func (failingSource) Resolve(context.Context, ResolveRef, []string) (map[string]string, error) {
	return nil, errBroken
}

func TestMapSource(t *testing.T) {
	t.Parallel()
	m := MapSource{"A": "aaaa", "B": "bbbb"}
	got, err := m.Resolve(t.Context(), ResolveRef{}, []string{"A", "B", "A"})
	if err != nil || !maps.Equal(got, map[string]string{"A": "aaaa", "B": "bbbb"}) {
		t.Fatalf("got %v, %v", got, err)
	}
	_, err = m.Resolve(t.Context(), ResolveRef{}, []string{"A", "C"})
	var nd *NotDefinedError
	if !errors.As(err, &nd) || nd.Name != "C" || !errors.Is(err, ErrNotDefined) || err.Error() != "secret C is not defined" {
		t.Fatalf("error %v; want secret C is not defined", err)
	}
}

func TestLayered(t *testing.T) {
	t.Parallel()
	file := MapSource{"A": "from-file-a", "B": "from-file-b"}
	store := plainSource{map[string]string{"B": "from-store-b", "C": "from-store-c"}}
	tests := []struct {
		name    string
		l       Layered
		names   []string
		want    map[string]string
		wantErr error
		missing string
	}{
		{"first source wins", Layered{file, store}, []string{"A", "B", "C"},
			map[string]string{"A": "from-file-a", "B": "from-file-b", "C": "from-store-c"}, nil, ""},
		{"order matters", Layered{store, file}, []string{"B"}, map[string]string{"B": "from-store-b"}, nil, ""},
		{"missing everywhere", Layered{file, store}, []string{"A", "D", "E"}, nil, ErrNotDefined, "D"},
		{"no sources", Layered{}, []string{"A"}, nil, ErrNotDefined, "A"},
		{"no names", Layered{failingSource{}}, nil, map[string]string{}, nil, ""},
		{"a source's failure stops resolution", Layered{file, failingSource{}}, []string{"A", "Z"}, nil, errBroken, ""},
		{"later sources are not asked when all found", Layered{file, failingSource{}}, []string{"A"},
			map[string]string{"A": "from-file-a"}, nil, ""},
		{"nested", Layered{Layered{file}, store}, []string{"C", "A"},
			map[string]string{"A": "from-file-a", "C": "from-store-c"}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.l.Resolve(t.Context(), ResolveRef{RunID: "wfr_1"}, tt.names)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v; want %v", err, tt.wantErr)
				}
				var nd *NotDefinedError
				if tt.missing != "" && (!errors.As(err, &nd) || nd.Name != tt.missing) {
					t.Fatalf("error %v; want %s not defined", err, tt.missing)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Fatalf("got %v; want %v", got, tt.want)
			}
		})
	}
}
