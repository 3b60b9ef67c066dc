package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// proc is one `sluice serve` under load.
type proc struct {
	url  string
	pid  int // 0 when not started here (-url)
	stop func()
}

var (
	credRe   = regexp.MustCompile(`clientId:\s+(\S+)\s+clientSecret:\s+(\S+)`)
	listenRe = regexp.MustCompile(`sluice listening on (\S+)`)
)

// childEnv is the environment of the serve processes: the harness's own,
// without the variables that would point them at another store, key or
// Admin client, and with one master key that every process shares
// (SLUICE_MASTER_KEY, the supported way; docs/operating.md, "Several
// processes").
func childEnv(parent []string, masterKey string) []string {
	var env []string
	for _, kv := range parent {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "SLUICE_MASTER_KEY", "SLUICE_MASTER_KEY_FILE", "SLUICE_DATABASE_URL", "SLUICE_DATA_DIR",
			"SLUICE_ADMIN_CLIENT_ID", "SLUICE_ADMIN_CLIENT_SECRET":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "SLUICE_MASTER_KEY="+masterKey)
}

// newMasterKey returns a fresh key in SLUICE_MASTER_KEY's form (base64 of
// 32 bytes).
func newMasterKey() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b[:]), nil
}

// startSluice starts `sluice serve` on dataDir and a free loopback port
// (on databaseURL when not empty) and waits for its address. With
// wantCreds it also reads the first Admin client's credentials from its
// banner: only the first process on a fresh store creates that client
// (a process that finds a client in the store creates none), so the
// processes are started one after the other and only the first is asked.
func startSluice(bin, dataDir, databaseURL string, env, extra []string, wantCreds bool) (*proc, string, string, error) {
	args := []string{"serve", "--data-dir", dataDir, "--addr", "127.0.0.1:0", "--log-level", "warn"}
	if databaseURL != "" {
		args = append(args, "--database-url", databaseURL)
	}
	cmd := exec.Command(bin, append(args, extra...)...)
	cmd.Env = env
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", "", fmt.Errorf("start %s: %w", bin, err)
	}
	p := &proc{pid: cmd.Process.Pid, stop: func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}}
	sc := bufio.NewScanner(out)
	var banner strings.Builder
	var id, secret string
	for sc.Scan() {
		line := sc.Text()
		banner.WriteString(line + "\n")
		if m := credRe.FindStringSubmatch(banner.String()); m != nil {
			id, secret = m[1], m[2]
		}
		if m := listenRe.FindStringSubmatch(line); m != nil {
			p.url = m[1]
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	if p.url == "" || (wantCreds && id == "") {
		p.stop()
		return nil, "", "", fmt.Errorf("%s serve printed no address or credentials:\n%s", bin, banner.String())
	}
	return p, id, secret, nil
}

// startProcs starts n serve processes, each on its own data dir under a
// new temp dir, all on databaseURL (SQLite in the first data dir when
// empty) with one shared master key, and returns them with the Admin
// credentials the first one created. stop stops them all and removes the
// temp dir.
func startProcs(bin, databaseURL string, n int, extra []string) (procs []*proc, id, secret string, stop func(), err error) {
	dir, err := os.MkdirTemp("", "sluice-load-*")
	if err != nil {
		return nil, "", "", nil, err
	}
	stop = func() {
		for _, p := range procs {
			p.stop()
		}
		os.RemoveAll(dir)
	}
	key, err := newMasterKey()
	if err != nil {
		stop()
		return nil, "", "", nil, err
	}
	env := childEnv(os.Environ(), key)
	for i := range n {
		p, pid, psecret, err := startSluice(bin, filepath.Join(dir, "data"+strconv.Itoa(i)), databaseURL, env, extra, i == 0)
		if err != nil {
			stop()
			return nil, "", "", nil, fmt.Errorf("process %d of %d: %w", i+1, n, err)
		}
		procs = append(procs, p)
		if i == 0 {
			id, secret = pid, psecret
		}
	}
	return procs, id, secret, stop, nil
}

// parseStat returns the user+system CPU time in the text of a
// /proc/<pid>/stat file.
func parseStat(b []byte) (time.Duration, error) {
	// Fields after the command name (which may hold spaces and
	// parentheses) in parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("no command name in /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("utime in /proc stat: %w", err)
	}
	st, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stime in /proc stat: %w", err)
	}
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / clkTck, nil
}

// cpu returns the user+system CPU time of the processes started here,
// summed; ok is false when there are none (-url) or one could not be read.
func cpu(procs []*proc) (sum time.Duration, ok bool) {
	for _, p := range procs {
		if p.pid == 0 {
			return 0, false
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
		if err != nil {
			return 0, false
		}
		d, err := parseStat(b)
		if err != nil {
			return 0, false
		}
		sum += d
	}
	return sum, len(procs) > 0
}

// pick returns, for the i-th run, the process to start it on (round robin)
// and the one to wait for it on: the same one, or with elsewhere the next
// one, so that the wait sees the run only through LISTEN/NOTIFY.
func pick(i uint64, n int, elsewhere bool) (post, wait int) {
	post = int(i % uint64(n))
	wait = post
	if elsewhere {
		wait = (post + 1) % n
	}
	return post, wait
}

// storeLabel names the store in the report's header.
func storeLabel(databaseURL, url string, n int, server string) string {
	switch {
	case url != "":
		return "the server at -url (store not known here)"
	case databaseURL == "":
		return "sqlite"
	}
	l := fmt.Sprintf("postgres ×%d", n)
	if server != "" {
		l += " (" + server + ")"
	}
	return l
}

// freshDBName returns a new database name for one harness invocation.
func freshDBName(now time.Time) (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "sluice_load_" + now.UTC().Format("20060102_150405") + "_" + hex.EncodeToString(b[:]), nil
}

// withDatabase returns the connection string base pointing at database
// name instead, in base's own form: a postgres:// URL gets its path
// replaced, key=value pairs get a dbname that overrides any earlier one.
func withDatabase(base, name string) (string, error) {
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err != nil {
			return "", errors.New("-database-url is not a valid URL")
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	return strings.TrimSpace(base) + " dbname=" + name, nil
}

// freshDB is the database of one invocation of the harness.
type freshDB struct {
	base   string // the -database-url the harness was given
	name   string
	url    string // base pointing at name
	server string // "PostgreSQL <version>, fsync <on|off>", for the report
}

// freshDatabase creates a new, empty database in the server base points
// at, so that each invocation of the harness starts from empty tables.
// drop removes it (after the processes have stopped).
func freshDatabase(ctx context.Context, base string) (*freshDB, error) {
	name, err := freshDBName(time.Now())
	if err != nil {
		return nil, err
	}
	db := &freshDB{base: base, name: name}
	if db.url, err = withDatabase(base, name); err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return nil, fmt.Errorf("-database-url: connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return nil, fmt.Errorf("-database-url: CREATE DATABASE %s (the harness makes a fresh database per invocation; the user needs CREATEDB): %w", name, err)
	}
	var version, fsync string
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version'), current_setting('fsync')").Scan(&version, &fsync); err == nil {
		db.server = "PostgreSQL " + version + ", fsync " + fsync
	}
	return db, nil
}

// label describes the server for the report; "" without a database.
func (db *freshDB) label() string {
	if db == nil {
		return ""
	}
	return db.server
}

// drop removes the database, closing any connection left to it.
func (db *freshDB) drop() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, db.base)
	if err != nil {
		return fmt.Errorf("drop database %s: connect: %w", db.name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db.name+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("DROP DATABASE %s: %w", db.name, err)
	}
	return nil
}

// backendCPU returns the CPU time of each PostgreSQL backend connected to
// the database now, by pid, when the server runs on this machine (its
// /proc shows them); nil without a database or when it cannot tell.
func (db *freshDB) backendCPU() map[int]time.Duration {
	if db == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db.base)
	if err != nil {
		return nil
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = $1", db.name)
	if err != nil {
		return nil
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil || len(pids) == 0 {
		return nil
	}
	out := make(map[int]time.Duration, len(pids))
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return nil // another machine, or not ours to read
		}
		d, err := parseStat(b)
		if err != nil {
			return nil
		}
		out[int(pid)] = d
	}
	return out
}

// cpuDelta is the CPU the backends in after spent since before: a backend
// absent from before started meanwhile and counts whole. Backends that
// ended meanwhile are lost (the servers keep their pools open, so few do).
func cpuDelta(before, after map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, t := range after {
		d += t - before[pid]
	}
	return d
}
