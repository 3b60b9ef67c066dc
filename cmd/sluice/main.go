// Command sluice runs Port-format workflows: a server, a worker and a CLI in
// one binary. See the README and docs/ for how to use it.
package main

import (
	"context"
	"os"

	"github.com/sluice-run/sluice/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], cli.IO{
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Getenv: os.Getenv,
	}))
}
