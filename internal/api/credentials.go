package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/credscan"
	"github.com/sluice-run/sluice/internal/workflow"
)

// What a save does with a literal credential in a definition
// (Options.LiteralCredentials, serve --literal-credentials).
const (
	// LiteralCredentialsReject refuses the definition: 400
	// literal_credential with the path, kind and fix of each finding.
	LiteralCredentialsReject = "reject"
	// LiteralCredentialsWarn saves it and returns the findings as warnings
	// to callers who may manage secrets.
	LiteralCredentialsWarn = "warn"
	// LiteralCredentialsAllow does not check.
	LiteralCredentialsAllow = "allow"
)

// codeLiteralCredential is the error code of a definition refused for a
// literal credential.
const codeLiteralCredential = "literal_credential"

// ValidLiteralCredentials reports whether mode is a policy New accepts ("" is
// reject).
func ValidLiteralCredentials(mode string) bool {
	switch mode {
	case "", LiteralCredentialsReject, LiteralCredentialsWarn, LiteralCredentialsAllow:
		return true
	}
	return false
}

// literalCredentials checks a parsed definition for literal credentials:
// well-known formats, and the values of organization secrets through their
// fingerprints (no secret is decrypted). Under reject a finding is an
// *Error; under warn the findings are returned as warnings, for callers who
// may read secrets only (as the other secret warnings). An organization
// secret is named only to those callers. Neither the answer nor the log
// ever holds the matched text: findings do not carry it.
func (s *Server) literalCredentials(ctx context.Context, a authz.Actor, wf *workflow.Workflow) ([]workflow.Problem, error) {
	if s.literalCreds == LiteralCredentialsAllow {
		return nil, nil
	}
	var m credscan.SecretMatcher
	if s.secrets != nil {
		x, err := s.secrets.Matcher(ctx)
		if err != nil {
			return nil, fmt.Errorf("check the definition for literal credentials: %w", err)
		}
		m = x
	}
	findings, err := credscan.ScanDefinition(wf.Source, m)
	if err != nil {
		return nil, fmt.Errorf("check the definition for literal credentials: %w", err)
	}
	if len(findings) == 0 {
		return nil, nil
	}
	mayManage := authz.CanManageSecrets(a, authz.Read)
	kinds := make([]string, 0, len(findings))
	for _, f := range findings {
		kinds = append(kinds, string(f.Kind))
	}
	s.log.Warn("literal credentials in a workflow definition", "workflow", wf.Identifier, "actor", a.ID, "count", len(findings), "kinds", kinds, "policy", s.literalCreds)
	if s.literalCreds == LiteralCredentialsWarn {
		if !mayManage {
			return nil, nil
		}
		out := make([]workflow.Problem, len(findings))
		for i, f := range findings {
			out[i] = workflow.Problem{Path: f.Path, Message: f.Message(false), Warning: true}
		}
		return out, nil
	}
	ds := make([]Detail, len(findings))
	for i, f := range findings {
		ds[i] = Detail{Path: f.Path, Message: f.Message(!mayManage)}
	}
	return nil, &Error{
		Status:  http.StatusBadRequest,
		Code:    codeLiteralCredential,
		Message: fmt.Sprintf("the workflow definition holds %d literal credential(s): store each as a secret and reference it as {{ .secrets.NAME }}", len(findings)),
		Details: ds,
	}
}
