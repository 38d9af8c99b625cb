// Command fc3lint checks s.yaml files against the project's fc3 schema
// (shared/testkit/fc3schema), offline. `make lint` runs it on s.yaml and on
// the output of `s preview -o json`, so the real Serverless Devs CLI's
// rendering is checked too.
//
//	fc3lint [-rendered preview.json ...] [s.yaml ...]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/sgpilot/sgpilot/shared/testkit/fc3schema"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type list []string

func (l *list) String() string     { return fmt.Sprint(*l) }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fc3lint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var rendered list
	fs.Var(&rendered, "rendered", "output of `s preview -o json` to check (repeatable)")
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		// flag stops at the first file name; keep parsing after it so that
		// flags and files may come in any order.
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) == 0 && len(rendered) == 0 {
		fmt.Fprintln(stderr, "usage: fc3lint [-rendered preview.json ...] [s.yaml ...]")
		return 2
	}
	failed := false
	report := func(name string, err error) {
		if err != nil {
			fmt.Fprintln(stderr, err)
			failed = true
			return
		}
		fmt.Fprintf(stdout, "fc3lint: %s ok\n", name)
	}
	for _, p := range files {
		report(p, fc3schema.CheckFile(p))
	}
	for _, p := range rendered {
		report(p, fc3schema.CheckRenderedJSON(p))
	}
	if failed {
		return 1
	}
	return 0
}
