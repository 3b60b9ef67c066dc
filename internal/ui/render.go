package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/web"
)

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return ""
			}
			return v.UTC().Format("2006-01-02 15:04:05Z")
		case *time.Time:
			if v == nil {
				return ""
			}
			return v.UTC().Format("2006-01-02 15:04:05Z")
		}
		return ""
	},
	"deref": func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	},
	"lower": strings.ToLower,
	"add":   func(a, b int) int { return a + b },
	"sub":   func(a, b int) int { return a - b },
	// present reports whether raw holds a value: a node run that has
	// reported no output (null) shows no Output section.
	"present": func(raw json.RawMessage) bool {
		v := bytes.TrimSpace(raw)
		return len(v) > 0 && !bytes.Equal(v, []byte("null"))
	},
	"pretty": func(raw json.RawMessage) string {
		var b bytes.Buffer
		if len(raw) == 0 {
			return "null"
		}
		if err := json.Indent(&b, raw, "", "  "); err != nil {
			return string(raw)
		}
		return b.String()
	},
}

// parsePages parses each page template of web/templates with the layout.
func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(web.FS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, fmt.Errorf("ui: parse layout: %w", err)
	}
	names, err := fs.Glob(web.FS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("ui: list templates: %w", err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" || name == "parts" {
			continue
		}
		t, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("ui: clone layout: %w", err)
		}
		if _, err := t.ParseFS(web.FS, n); err != nil {
			return nil, fmt.Errorf("ui: parse %s: %w", n, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// layoutData is what the layout shows around a page.
type layoutData struct {
	Title      string
	Nav        string // the page's section: workflows, runs, secrets
	Email      string
	Role       string
	CSRF       string
	CanSecrets bool
	Data       any
}

func (u *UI) renderPage(w http.ResponseWriter, r *http.Request, s *session, status int, name, title string, data any) {
	d := layoutData{Title: title, Data: data, Nav: strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)[0]}
	if s != nil {
		d.Email, d.Role, d.CSRF = s.user.Email, s.user.Role, s.csrf
		d.CanSecrets = authz.CanManageSecrets(s.actor, authz.Read)
	}
	u.execute(w, status, name, "layout.html", d)
}

// render executes a page's own template (no layout): the sign-in page and
// fragments.
func (u *UI) render(w http.ResponseWriter, status int, name string, data any) {
	u.execute(w, status, name, name, data)
}

func (u *UI) execute(w http.ResponseWriter, status int, page, tmpl string, data any) {
	t, ok := u.pages[page]
	if !ok {
		http.Error(w, "no such page template: "+page, http.StatusInternalServerError)
		return
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, tmpl, data); err != nil {
		u.log.Error("render page", "page", page, "error", err.Error())
		http.Error(w, "the page could not be rendered; see the server's log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}
