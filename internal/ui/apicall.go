package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/sluice-run/sluice/internal/api"
)

// apiError is an error answer of the API (its envelope), or one of the
// UI's own, shown on an error page or beside a form.
type apiError struct {
	Status  int      `json:"-"`
	Code    string   `json:"error"`
	Message string   `json:"message"`
	Details []detail `json:"details"`
}

type detail struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// recorder is a ResponseWriter that keeps the answer in memory.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

// call sends one request to the API as the session's person and decodes a
// 2xx answer into out (when not nil). Any other answer is an *apiError.
func (u *UI) call(r *http.Request, s *session, method, path string, body, out any) error {
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(api.WithActor(r.Context(), s.actor), method, path, rd)
	if err != nil {
		return fmt.Errorf("build %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.RemoteAddr = r.RemoteAddr
	rec := &recorder{header: http.Header{}}
	u.api.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status < 200 || rec.status > 299 {
		e := &apiError{Status: rec.status}
		if err := json.Unmarshal(rec.body.Bytes(), e); err != nil || e.Message == "" {
			e.Message = http.StatusText(rec.status)
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
		return fmt.Errorf("decode the answer to %s %s: %w", method, strings.SplitN(path, "?", 2)[0], err)
	}
	return nil
}

type errorData struct {
	Status  int
	Title   string
	Message string
	// Back and BackText are the page to go on from and its link's text;
	// without them the error page leads back to the workflows.
	Back, BackText string
}

// fail answers a page's error: an API or UI error as its status says,
// anything else as a 500 whose cause goes to the log only.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	var e *apiError
	if !errors.As(err, &e) {
		u.log.LogAttrs(r.Context(), slog.LevelError, "ui request failed", slog.String("method", r.Method), slog.String("route", r.Pattern), slog.String("error", err.Error()))
		e = &apiError{Status: http.StatusInternalServerError, Message: "The server failed to answer; see its log."}
	}
	title := http.StatusText(e.Status)
	if e.Status == http.StatusNotFound {
		title = "Not found"
		e.Message = "There is nothing here, or you may not see it."
	}
	u.renderPage(w, r, s, e.Status, "error", title, errorData{Status: e.Status, Title: title, Message: e.Message})
}
