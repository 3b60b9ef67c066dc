package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// buildVersion returns the version this binary was built as: Version when
// -ldflags set it (make dist), else the module version from the build
// information (go install ...@v1.2.3), else the VCS revision the binary was
// built from (with "-dirty" for uncommitted changes), so that a bug report
// always names what was running.
func buildVersion() string {
	if Version != "" && Version != "dev" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel (no build information)"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel (no VCS revision in the build)"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "devel-" + rev
}

// buildDetails returns the commit, its time and the Go version, from
// -ldflags (Commit, BuildDate) or the build information.
func buildDetails() (commit, date, goVersion string) {
	commit, date, goVersion = Commit, BuildDate, runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && commit == "":
				commit = s.Value
			case s.Key == "vcs.time" && date == "":
				date = s.Value
			}
		}
	}
	return commit, date, goVersion
}

// Commit and BuildDate are set by make dist with -ldflags -X; else they
// come from the build information.
var (
	Commit    = ""
	BuildDate = ""
)

// versionLine is what sluice version and --version print.
func versionLine() string {
	commit, date, gov := buildDetails()
	parts := []string{"sluice " + buildVersion()}
	if commit != "" {
		parts = append(parts, "commit "+commit)
	}
	if date != "" {
		parts = append(parts, "built "+date)
	}
	parts = append(parts, gov, runtime.GOOS+"/"+runtime.GOARCH)
	return strings.Join(parts, ", ")
}

// userAgent is the User-Agent of sluice's outgoing requests (WEBHOOK).
func userAgent() string { return "sluice/" + buildVersion() }

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date of this binary",
		Args:  args(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(a.io.Stdout, versionLine())
			return err
		},
	}
}
