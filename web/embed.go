// Package web holds the web UI's templates and static assets (CSS, the
// small JavaScript modules), embedded into the binary: the UI needs no
// network and no build step. Package ui serves them.
package web

import "embed"

// FS holds templates/*.html and static/*.
//
//go:embed templates/*.html static/*
var FS embed.FS
