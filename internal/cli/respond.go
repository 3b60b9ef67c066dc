package cli

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/sluice-run/sluice/internal/client"
)

// runsCmd groups the commands on runs that are clients of a running server.
func (a *app) runsCmd() *cobra.Command {
	c := &cobra.Command{Use: "runs", Short: "Work on the runs of a running server: start, list, get, watch, cancel, respond"}
	c.AddCommand(a.respondCmd())
	return c
}

// respondCmd is `sluice runs respond WFNR --button B [--input K=V]...`.
func (a *app) respondCmd() *cobra.Command {
	var (
		f                  connFlags
		button, inputsFile string
		kvs                []string
	)
	c := &cobra.Command{
		Use:   "respond WFNR --button B [--input KEY=VALUE]...",
		Short: "Respond to an INPUT node run (an approval) on a running server",
		Long: `Respond posts a response to an INPUT node run of a running server
(POST /v1/workflows/nodes/runs/WFNR/responses): the button pressed and the
form's inputs. It is a client command: the server and the responder's
credentials are found as for every client command (--server, else
SLUICE_SERVER; --token, else SLUICE_TOKEN, else SLUICE_CLIENT_ID and
SLUICE_CLIENT_SECRET, else sluice login's; docs/configuration.md).
--input KEY=VALUE takes VALUE as JSON when it parses, as sluice run does.

It prints the node run's status: COMPLETED when this response made an
outlet reach its count (the run goes on along it), IN_PROGRESS while more
responses are needed. It exits 2 when the response is refused as invalid
(each problem printed as <path>: <message>) and 1 on any other refusal
(not a responder, already responded, the node completed).`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, argv []string) error {
			if button == "" {
				return invalid("--button: required: the identifier of one of the node's buttons")
			}
			inputs, err := parseInputs(inputsFile, kvs)
			if err != nil {
				return err
			}
			cl, err := a.connect(f)
			if err != nil {
				return err
			}
			return a.respond(c, cl, argv[0], button, inputs)
		},
	}
	fl := c.Flags()
	f.add(fl, false)
	fl.StringVar(&button, "button", "", "identifier of the button pressed")
	fl.StringArrayVar(&kvs, "input", nil, "a form input, KEY=VALUE (repeatable)")
	fl.StringVar(&inputsFile, "inputs-file", "", "a JSON file holding the form's inputs")
	return c
}

func (a *app) respond(c *cobra.Command, cl *client.Client, nodeRunID, button string, inputs map[string]any) error {
	var ans struct {
		NodeRun struct {
			Status string  `json:"status"`
			Result *string `json:"result"`
		} `json:"workflowNodeRun"`
	}
	err := cl.Do(c.Context(), http.MethodPost, "/v1/workflows/nodes/runs/"+url.PathEscape(nodeRunID)+"/responses", map[string]any{"button": button, "inputs": inputs}, &ans)
	if err != nil {
		return a.apiError("respond", err)
	}
	if ans.NodeRun.Status == "COMPLETED" {
		fmt.Fprintf(a.io.Stdout, "%s: COMPLETED: the run goes on along %s\n", nodeRunID, button)
		return nil
	}
	fmt.Fprintf(a.io.Stdout, "%s: %s: response recorded; more responses are needed\n", nodeRunID, ans.NodeRun.Status)
	return nil
}
