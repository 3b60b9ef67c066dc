// Package sqlitetest opens SQLite stores for tests without migrating each
// one from scratch.
//
// A fresh sqlite.Open applies every migration, which costs about 150 ms
// and, under the race detector (the SQLite driver is C translated to Go,
// so every memory access is instrumented), about a second: the most
// expensive step of many tests, repeated for each of them. Open does the
// same once per test process: it migrates one database, keeps its file in
// memory, and writes a copy of it wherever a test opens a new database, so
// sqlite.Open finds every migration applied. The store the test gets is
// the one a fresh sqlite.Open returns (TestTemplateIsAFreshStore compares
// their schemas); sqlite's own tests still migrate from scratch.
package sqlitetest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/sluice-run/sluice/internal/store/sqlite"
)

// template is the file of a freshly migrated database, made once per
// process (the cache a test helper may keep: it never changes once made).
var template = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "sluice-sqlitetest-")
	if err != nil {
		return nil, fmt.Errorf("sqlitetest: template: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "template.db")
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		return nil, fmt.Errorf("sqlitetest: template: %w", err)
	}
	if err := s.Close(); err != nil {
		return nil, fmt.Errorf("sqlitetest: template: close: %w", err)
	}
	// Closing the last connection checkpoints the WAL into the file and
	// removes it; a WAL left behind would hold part of the schema.
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("sqlitetest: template: %s-wal is still there after Close (%v)", path, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sqlitetest: template: %w", err)
	}
	return b, nil
})

// Open is sqlite.Open for tests: when nothing exists at path, it first
// writes a copy of a migrated, empty database there. An existing file is
// opened as it is (and migrated by sqlite.Open if it needs to be).
func Open(ctx context.Context, path string, opts sqlite.Options) (*sqlite.Store, error) {
	if err := Prepare(path); err != nil {
		return nil, err
	}
	return sqlite.Open(ctx, path, opts)
}

// Prepare writes a copy of a migrated, empty database at path unless
// something exists there already, for tests that hand the path to code
// that opens it (sqlite.Open then finds every migration applied).
func Prepare(path string) error {
	if _, err := os.Lstat(path); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sqlitetest: %w", err)
	}
	b, err := template()
	if err != nil {
		return err
	}
	// O_EXCL: never overwrite a file another goroutine created meanwhile.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("sqlitetest: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("sqlitetest: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sqlitetest: write %s: %w", path, err)
	}
	return nil
}
