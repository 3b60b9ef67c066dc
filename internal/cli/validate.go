package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) validateCmd() *cobra.Command {
	var file string
	c := &cobra.Command{
		Use:   "validate -f FILE",
		Short: "Check a workflow definition and print every problem",
		Long: `Validate prints one line per problem, "<json path>: <message>" (warnings say
"warning:" after the path), and exits 2 when there is any error. A credential
written as literal text is an error (credentials.go): well-known token
formats always, and with --data-dir or --database-url given, the values of
the org secrets in that store too.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			data, err := a.readDefinition(file)
			if err != nil {
				return err
			}
			wf, err := a.parseDefinition(file, data)
			if err != nil {
				return err
			}
			if err := a.checkCredentials(c, file, data); err != nil {
				return err
			}
			fmt.Fprintf(a.io.Stdout, "%s: workflow %s is valid (%d nodes, %d connections)\n", file, wf.Identifier, len(wf.Nodes), len(wf.Connections))
			return nil
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "workflow definition (JSON); - for stdin")
	return c
}
