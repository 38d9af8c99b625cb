// Command sgpilot runs sgpilot's plans on an account from this machine:
// `sgpilot help` lists what it does (shared/app/cli).
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/sgpilot/sgpilot/shared/app/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	home, _ := os.UserHomeDir()
	// Progress goes to stderr, so stderr is the stream whose terminal-ness
	// decides between a line redrawn in place and plain lines: with stdout
	// sent to a file, a person still watches stderr.
	code := cli.Run(ctx, os.Args[1:], cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Home: home,
		Terminal: cli.IsTerminal(os.Stderr)})
	stop()
	os.Exit(code)
}
