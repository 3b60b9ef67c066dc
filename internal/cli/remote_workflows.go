package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/sluice-run/sluice/internal/client"
)

// addWorkflowClientCmds adds the client subcommands of `sluice workflows`.
func (a *app) addWorkflowClientCmds(c *cobra.Command) {
	c.AddGroup(&cobra.Group{ID: groupLocal, Title: "On the data dir (--data-dir, or --database-url):"},
		&cobra.Group{ID: groupClient, Title: "Clients of a running server (--server, sluice login):"})
	for _, sub := range c.Commands() {
		sub.GroupID = groupLocal
	}
	c.AddCommand(a.workflowsApplyCmd(), a.workflowsListCmd(), a.workflowsGetCmd(), a.workflowsDeleteCmd())
}

// workflowAnswer is a workflow as the API returns it, with the fields the
// client commands print.
type workflowAnswer struct {
	Identifier string `json:"identifier"`
	Title      string `json:"title"`
	Version    int    `json:"version"`
	UpdatedBy  string `json:"updatedBy"`
	UpdatedAt  string `json:"updatedAt"`
	Nodes      []struct {
		Identifier string `json:"identifier"`
		Config     struct {
			Type string `json:"type"`
		} `json:"config"`
	} `json:"nodes"`
}

func (a *app) workflowsApplyCmd() *cobra.Command {
	var (
		f     connFlags
		files []string
	)
	c := &cobra.Command{
		Use:     "apply -f FILE...",
		GroupID: groupClient,
		Short:   "Create or replace workflows on a running server and print their versions",
		Long: `Apply sends each definition to the server: a new workflow is created
(POST /v1/workflows, version 1), an existing one gets a new version (PUT).
It prints "<identifier> v<version>" per file, and the server's warnings on
stderr. An invalid definition is refused with every problem printed as
<path>: <message> and exit 2; the files before it stay applied.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return invalid("-f: at least one definition file is required")
			}
			out, err := newOutput(a.io.Stdout, f.output)
			if err != nil {
				return err
			}
			cl, err := a.connect(f)
			if err != nil {
				return err
			}
			type applied struct {
				File       string   `json:"file"`
				Identifier string   `json:"identifier"`
				Version    int      `json:"version"`
				Created    bool     `json:"created"`
				Warnings   []string `json:"warnings,omitempty"`
			}
			var done []applied
			for _, file := range files {
				data, err := a.readDefinition(file)
				if err != nil {
					return err
				}
				id, err := definitionIdentifier(file, data)
				if err != nil {
					return err
				}
				var ans struct {
					Workflow workflowAnswer `json:"workflow"`
					Warnings []struct {
						Path    string `json:"path"`
						Message string `json:"message"`
					} `json:"warnings"`
				}
				created := false
				err = cl.Do(c.Context(), http.MethodPut, "/v1/workflows/"+url.PathEscape(id), json.RawMessage(data), &ans)
				if client.StatusOf(err) == http.StatusNotFound {
					created = true
					err = cl.Do(c.Context(), http.MethodPost, "/v1/workflows", json.RawMessage(data), &ans)
				}
				if err != nil {
					return a.apiError(file, err)
				}
				r := applied{File: file, Identifier: ans.Workflow.Identifier, Version: ans.Workflow.Version, Created: created}
				for _, w := range ans.Warnings {
					r.Warnings = append(r.Warnings, w.Path+": "+w.Message)
					fmt.Fprintf(a.io.Stderr, "%s: warning: %s: %s\n", file, w.Path, w.Message)
				}
				done = append(done, r)
				if !out.JSON() {
					verb := "updated"
					if created {
						verb = "created"
					}
					fmt.Fprintf(a.io.Stdout, "%s v%d (%s)\n", r.Identifier, r.Version, verb)
				}
			}
			if out.JSON() {
				return out.json(done)
			}
			return nil
		},
	}
	f.add(c.Flags(), true)
	c.Flags().StringArrayVarP(&files, "file", "f", nil, "a workflow definition file, - for stdin (repeatable)")
	return c
}

func (a *app) workflowsListCmd() *cobra.Command {
	var f connFlags
	c := &cobra.Command{
		Use:     "list",
		GroupID: groupClient,
		Short:   "List the workflows of a running server",
		Args:    args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			out, err := newOutput(a.io.Stdout, f.output)
			if err != nil {
				return err
			}
			cl, err := a.connect(f)
			if err != nil {
				return err
			}
			var ans struct {
				Workflows []json.RawMessage `json:"workflows"`
			}
			if err := cl.Do(c.Context(), http.MethodGet, "/v1/workflows", nil, &ans); err != nil {
				return a.apiError("list workflows", err)
			}
			if out.JSON() {
				return out.json(ans.Workflows)
			}
			rows := make([][]string, 0, len(ans.Workflows))
			for _, raw := range ans.Workflows {
				var w workflowAnswer
				_ = json.Unmarshal(raw, &w)
				rows = append(rows, []string{w.Identifier, fmt.Sprint(w.Version), w.Title, fmt.Sprint(len(w.Nodes)), w.UpdatedAt})
			}
			return out.table([]string{"IDENTIFIER", "VERSION", "TITLE", "NODES", "UPDATED"}, rows)
		},
	}
	f.add(c.Flags(), true)
	return c
}

func (a *app) workflowsGetCmd() *cobra.Command {
	var f connFlags
	c := &cobra.Command{
		Use:     "get ID",
		GroupID: groupClient,
		Short:   "Print a workflow of a running server (its definition and version, as JSON)",
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, argv []string) error {
			cl, err := a.connect(f)
			if err != nil {
				return err
			}
			var ans struct {
				Workflow json.RawMessage `json:"workflow"`
			}
			if err := cl.Do(c.Context(), http.MethodGet, "/v1/workflows/"+url.PathEscape(argv[0]), nil, &ans); err != nil {
				return a.apiError("get workflow "+argv[0], err)
			}
			out, _ := newOutput(a.io.Stdout, "json")
			return out.json(ans.Workflow)
		},
	}
	f.add(c.Flags(), false)
	return c
}

func (a *app) workflowsDeleteCmd() *cobra.Command {
	var f connFlags
	c := &cobra.Command{
		Use:     "delete ID",
		GroupID: groupClient,
		Short:   "Delete a workflow of a running server (its past runs stay readable)",
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, argv []string) error {
			cl, err := a.connect(f)
			if err != nil {
				return err
			}
			if err := cl.Do(c.Context(), http.MethodDelete, "/v1/workflows/"+url.PathEscape(argv[0]), nil, nil); err != nil {
				return a.apiError("delete workflow "+argv[0], err)
			}
			fmt.Fprintf(a.io.Stdout, "deleted workflow %s\n", argv[0])
			return nil
		},
	}
	f.add(c.Flags(), false)
	return c
}
