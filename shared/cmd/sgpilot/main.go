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
	code := cli.Run(ctx, os.Args[1:], cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Home: home,
		Terminal: cli.IsTerminal(os.Stderr)})
	stop()
	os.Exit(code)
}
