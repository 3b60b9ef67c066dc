package cli

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// LockFileName is the file in the data dir that `sluice serve` holds an
// exclusive flock(2) on while it runs, and in which it writes its pid and
// address. Two servers on one data dir would both resume the same runs.
//
// The lock belongs to the open file, so it goes away with the process,
// however it ends (a SIGKILLed server leaves no stale lock); the file itself
// stays, and its content is only a hint for the error message. Commands
// other than serve do not take it: they work through the store's
// transactions, which SQLite already serializes.
const LockFileName = "serve.lock"

// dataDirLock is serve's hold on a data dir.
type dataDirLock struct {
	f *os.File
}

// ErrDataDirInUse is matched by the error of lockDataDir when another
// process holds the data dir.
var ErrDataDirInUse = errors.New("data dir in use")

// inUseError says which process holds a data dir.
type inUseError struct {
	dir    string
	holder string // "pid 1234, http://127.0.0.1:7070", or what is known of it
}

func (e *inUseError) Error() string {
	return fmt.Sprintf("data dir %s is in use by another sluice serve (%s)", e.dir, e.holder)
}

func (e *inUseError) Is(target error) bool { return target == ErrDataDirInUse }

// lockDataDir takes the exclusive lock on dir's lock file without waiting,
// and writes this process's pid into it. It fails with an error matching
// ErrDataDirInUse, naming the holder, when another open of the file holds
// it (another process, or another open in this one: flock locks belong to
// open file descriptions).
func lockDataDir(dir string) (*dataDirLock, error) {
	path := filepath.Join(dir, LockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &inUseError{dir: dir, holder: readHolder(f)}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	l := &dataDirLock{f: f}
	if err := l.write(""); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// write replaces the lock file's content with the pid and, when known, the
// address this server listens on.
func (l *dataDirLock) write(url string) error {
	content := fmt.Sprintf("pid %d\n", os.Getpid())
	if url != "" {
		content += "url " + url + "\n"
	}
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("write the lock file: %w", err)
	}
	if _, err := l.f.WriteAt([]byte(content), 0); err != nil {
		return fmt.Errorf("write the lock file: %w", err)
	}
	return nil
}

// Close empties the lock file and releases the lock. The file is not
// removed: a process that opened it just before would lock an unlinked file
// while a third one creates a new one, and both would run.
func (l *dataDirLock) Close() error {
	_ = l.f.Truncate(0)
	return l.f.Close()
}

// readHolder returns what a lock file says of its holder.
func readHolder(f *os.File) string {
	var parts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch k {
		case "pid":
			parts = append([]string{"pid " + v}, parts...)
		case "url":
			parts = append(parts, v)
		}
	}
	if len(parts) == 0 || !strings.HasPrefix(parts[0], "pid ") {
		parts = append([]string{"pid unknown"}, parts...)
	}
	return strings.Join(parts, ", ")
}
