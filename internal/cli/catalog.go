package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/sluice-run/sluice/internal/catalog"
	"github.com/sluice-run/sluice/internal/store"
)

// openCatalog returns the catalog over st, or nil when the store keeps
// none.
func openCatalog(st store.Store) *catalog.Service {
	cs, ok := st.(store.CatalogStore)
	if !ok {
		return nil
	}
	return catalog.New(cs, catalog.Options{})
}

// catalogCmd is `sluice catalog`: the catalog of the data dir's store,
// without a server (a running serve picks the changes' events up from the
// store's outbox within its autostart interval).
func (a *app) catalogCmd() *cobra.Command {
	c := &cobra.Command{Use: "catalog", Short: "Apply and read blueprints and entities of the software catalog (docs/catalog.md)"}
	var files []string
	apply := &cobra.Command{
		Use:   "apply -f FILE [-f FILE]...",
		Short: "Create or update blueprints and entities from JSON or YAML files",
		Long: `Apply creates or updates the blueprints and entities of each file, on the
data dir's store. A file is a JSON or YAML object with "blueprints" (Port's
blueprint bodies) and "entities" (entity bodies, each with its "blueprint"
and "identifier"), or one blueprint body. Relation targets are written
first. Everything is validated before anything is written: a problem is
printed with its file and path, and nothing changes (exit 2). Applying a
file again changes nothing and fires no event: items equal to what is
stored are "unchanged". An entity is written whole, as PUT does. Changes
are made by "cli" (createdBy/updatedBy) and fire EVENT_TRIGGER workflows
like changes through the API.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return invalid("-f/--file: at least one file is required")
			}
			var m catalog.Manifest
			for _, f := range files {
				var b []byte
				var err error
				if f == "-" {
					b, err = io.ReadAll(a.io.Stdin)
				} else {
					b, err = os.ReadFile(f)
				}
				if err != nil {
					return invalid("-f: %w", err)
				}
				part, err := catalog.ParseManifest(f, b)
				if err != nil {
					return a.catalogProblems(err)
				}
				m.Join(part)
			}
			return a.withStore(c.Context(), func(st store.Store) error {
				cat := openCatalog(st)
				if cat == nil {
					return errors.New("this store keeps no catalog")
				}
				changes, err := cat.Apply(c.Context(), m, catalog.Origin{Actor: cliActor})
				for _, ch := range changes {
					fmt.Fprintln(a.io.Stdout, ch.String())
				}
				return a.catalogProblems(err)
			})
		},
	}
	apply.Flags().StringArrayVarP(&files, "file", "f", nil, "a JSON or YAML file of blueprints and entities; - for stdin")

	get := &cobra.Command{
		Use:   "get BLUEPRINT [ID]",
		Short: "Show an entity, or every entity of a blueprint, as JSON",
		Long: `Get prints the entity ID of BLUEPRINT as the API shows it, or, without ID,
the list of the blueprint's entities (a JSON array), from the data dir's
store. A missing blueprint or entity exits 1 and says which.`,
		Args: args(cobra.RangeArgs(1, 2)),
		RunE: func(c *cobra.Command, argv []string) error {
			return a.withStore(c.Context(), func(st store.Store) error {
				cat := openCatalog(st)
				if cat == nil {
					return errors.New("this store keeps no catalog")
				}
				var v any
				var err error
				if len(argv) == 2 {
					v, err = cat.GetEntity(c.Context(), argv[0], argv[1])
				} else if _, err = cat.GetBlueprint(c.Context(), argv[0]); err == nil {
					v, err = cat.ListEntities(c.Context(), argv[0])
				}
				if err != nil {
					return err
				}
				enc := json.NewEncoder(a.io.Stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(v)
			})
		},
	}
	c.AddCommand(apply, get)
	return c
}

// catalogProblems prints every problem of a *catalog.ValidationError on
// stderr, one a line, and exits 2; other errors pass through.
func (a *app) catalogProblems(err error) error {
	var ve *catalog.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	for _, p := range ve.Problems {
		fmt.Fprintln(a.io.Stderr, p.String())
	}
	return &exitError{code: ExitInvalid, err: fmt.Errorf("invalid %s: %d problem(s)", ve.What, len(ve.Problems))}
}
