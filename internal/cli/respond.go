package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// runsCmd groups the commands on runs that are clients of a running server.
func (a *app) runsCmd() *cobra.Command {
	c := &cobra.Command{Use: "runs", Short: "Work on the runs of a running server (a client: --server and --token)"}
	c.AddCommand(a.respondCmd())
	return c
}

// respondCmd is `sluice runs respond WFNR --button B [--input K=V]...`.
func (a *app) respondCmd() *cobra.Command {
	var (
		server, token, button, inputsFile string
		kvs                               []string
	)
	c := &cobra.Command{
		Use:   "respond WFNR --button B [--input KEY=VALUE]...",
		Short: "Respond to an INPUT node run (an approval) on a running server",
		Long: `Respond posts a response to an INPUT node run of a running server
(POST /v1/workflows/nodes/runs/WFNR/responses): the button pressed and the
form's inputs. It is a client command: --server (else SLUICE_SERVER) is the
server's URL and --token (else SLUICE_TOKEN) a bearer access token of the
responder (POST /v1/auth/access_token with their clientId and clientSecret).
--input KEY=VALUE takes VALUE as JSON when it parses, as sluice run does.

It prints the node run's status: COMPLETED when this response made an
outlet reach its count (the run goes on along it), IN_PROGRESS while more
responses are needed. It exits 2 when the response is refused as invalid
(each problem printed as <path>: <message>) and 1 on any other refusal
(not a responder, already responded, the node completed).`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, argv []string) error {
			if server == "" {
				server = a.io.Getenv("SLUICE_SERVER")
			}
			if token == "" {
				token = a.io.Getenv("SLUICE_TOKEN")
			}
			switch {
			case server == "":
				return invalid("--server: required (or SLUICE_SERVER): the URL of the running server")
			case token == "":
				return invalid("--token: required (or SLUICE_TOKEN): an access token of the responder")
			case button == "":
				return invalid("--button: required: the identifier of one of the node's buttons")
			}
			inputs, err := parseInputs(inputsFile, kvs)
			if err != nil {
				return err
			}
			return a.respond(c, strings.TrimRight(server, "/"), token, argv[0], button, inputs)
		},
	}
	fl := c.Flags()
	fl.StringVar(&server, "server", "", "URL of the running server (else SLUICE_SERVER)")
	fl.StringVar(&token, "token", "", "bearer access token (else SLUICE_TOKEN)")
	fl.StringVar(&button, "button", "", "identifier of the button pressed")
	fl.StringArrayVar(&kvs, "input", nil, "a form input, KEY=VALUE (repeatable)")
	fl.StringVar(&inputsFile, "inputs-file", "", "a JSON file holding the form's inputs")
	return c
}

func (a *app) respond(c *cobra.Command, server, token, nodeRunID, button string, inputs map[string]any) error {
	body, err := json.Marshal(map[string]any{"button": button, "inputs": inputs})
	if err != nil {
		return invalid("--input: %w", err)
	}
	req, err := http.NewRequestWithContext(c.Context(), http.MethodPost, server+"/v1/workflows/nodes/runs/"+nodeRunID+"/responses", bytes.NewReader(body))
	if err != nil {
		return invalid("--server: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		return fmt.Errorf("respond: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("respond: read the answer: %w", err)
	}
	var ans struct {
		Message string `json:"message"`
		Details []struct {
			Path    string `json:"path"`
			Message string `json:"message"`
		} `json:"details"`
		NodeRun struct {
			Status string  `json:"status"`
			Result *string `json:"result"`
		} `json:"workflowNodeRun"`
	}
	_ = json.Unmarshal(raw, &ans)
	if resp.StatusCode != http.StatusOK {
		msg := ans.Message
		if msg == "" {
			msg = strings.TrimSpace(string(raw))
		}
		if resp.StatusCode == http.StatusBadRequest && len(ans.Details) > 0 {
			for _, d := range ans.Details {
				fmt.Fprintf(a.io.Stderr, "%s: %s\n", d.Path, d.Message)
			}
			return &exitError{code: ExitInvalid, err: fmt.Errorf("respond: the response was refused (%d problem(s))", len(ans.Details))}
		}
		return &exitError{code: ExitFailed, err: fmt.Errorf("respond: %s: %s", resp.Status, msg)}
	}
	if ans.NodeRun.Status == "COMPLETED" {
		fmt.Fprintf(a.io.Stdout, "%s: COMPLETED: the run goes on along %s\n", nodeRunID, button)
		return nil
	}
	fmt.Fprintf(a.io.Stdout, "%s: %s: response recorded; more responses are needed\n", nodeRunID, ans.NodeRun.Status)
	return nil
}
