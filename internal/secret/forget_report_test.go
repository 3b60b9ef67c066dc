package secret

import (
	"fmt"
	"slices"
	"testing"
)

// TestForgetKeyReportsLoss: `sluice keys forget` must tell the operator
// exactly what the forgotten key takes with it: the waiting runs whose
// sealed values are masked whole from then on (their count, and their
// identifiers up to the named limit), or that none are. It said only
// "declared lost", so an operator who forgot a key still sealing values of
// waiting runs lost their outputs without having been told which.
func TestForgetKeyReportsLoss(t *testing.T) {
	a, b := testKey(1), testKey(2)
	ka := KeyID(a)
	cases := []struct {
		name      string
		sealed    []string // runs with values sealed under A
		wantCount int
		wantRuns  []string
	}{
		{"recorded, sealing nothing", nil, 0, nil},
		{"sealing two runs", []string{"wfr_one", "wfr_two"}, 2, []string{"wfr_one", "wfr_two"}},
		{"sealing more runs than are named", []string{"wfr_a", "wfr_b", "wfr_c", "wfr_d", "wfr_e", "wfr_f", "wfr_g", "wfr_h", "wfr_i", "wfr_j", "wfr_k", "wfr_l"},
			12, []string{"wfr_a", "wfr_b", "wfr_c", "wfr_d", "wfr_e", "wfr_f", "wfr_g", "wfr_h", "wfr_i", "wfr_j"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, dbPath := openStore(t)
			if _, err := OpenAdmitted(t.Context(), st, memRing(t, a)); err != nil {
				t.Fatal(err)
			}
			for _, run := range tc.sealed {
				rawSQL(t, dbPath, fmt.Sprintf(`INSERT INTO run_seals (run_id, origin, key_id, sealed, created_at) VALUES ('%s', 1, '%s', x'00', 1)`, run, ka))
			}
			lost, err := NewService(st, memRing(t, b)).ForgetKey(t.Context(), ka)
			if err != nil {
				t.Fatal(err)
			}
			if lost.KeyID != ka || lost.RunCount != tc.wantCount || !slices.Equal(lost.Runs, tc.wantRuns) {
				t.Fatalf("ForgetKey reported %+v; want key %s, %d run(s) %v", lost, ka, tc.wantCount, tc.wantRuns)
			}
		})
	}
}
