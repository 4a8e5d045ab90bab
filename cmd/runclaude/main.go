// Command runclaude runs Claude Code with --dangerously-skip-permissions in
// a jail with the built-in claude profile.
package main

import (
	"os"

	"github.com/runjail/runjail/cli"
)

func main() { os.Exit(cli.Main("runclaude", os.Args[1:])) }
