package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
)

// keysForgetCmd is `sluice keys forget KEYID`: the way out when a key that
// processes started with, or that sealed values of waiting runs, is lost
// for good, since every process is refused without it
// (docs/decisions/030-shared-key-ring.md).
func (a *app) keysForgetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "forget KEYID",
		Short: "Declare a master key lost for good, so that processes start without it",
		Long: "Declares a master key lost for good. Processes refuse to start while another process started with a key " +
			"they lack, or while values of waiting runs are sealed with it; once it is declared lost they start, and " +
			"the values it sealed stay masked whole until their runs end. Refused while secrets are written with the " +
			"key (remove them with `sluice secrets delete NAME`) and when this process's key ring holds it.",
		Args: args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, argv []string) error {
			return a.withStore(c.Context(), func(st store.Store) error {
				// No key is generated for this: with none at hand, an
				// in-memory one stands in, holding no stored key.
				svc, err := a.deletionService(st)
				if err != nil {
					return err
				}
				if a.keyPresent() {
					ring, err := a.keyRing()
					if err != nil {
						return err
					}
					svc = secret.NewService(st, ring, secret.WithLogger(a.logger))
				}
				lost, err := svc.ForgetKey(c.Context(), argv[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(a.io.Stdout, "key %s is declared lost: processes without it start; %s\n", argv[0], forgottenLoss(lost))
				return nil
			})
		},
	}
}

// forgottenLoss says what a forgotten key takes with it: the waiting runs
// whose sealed values are masked whole from then on, named (up to the
// limit secret.LostSeals names) and counted, or that there are none.
func forgottenLoss(l secret.LostSeals) string {
	if l.RunCount == 0 {
		return "no waiting run has values sealed with it, so nothing is lost"
	}
	runs := strings.Join(l.Runs, ", ")
	if l.RunCount > len(l.Runs) {
		runs += ", ..."
	}
	return fmt.Sprintf("the values it sealed for %d waiting run(s) (%s) are lost: those runs are masked whole until they end", l.RunCount, runs)
}
