// Command runjail runs a command in a jail described by a TOML profile.
package main

import (
	"os"

	"github.com/runjail/runjail/cli"
)

func main() { os.Exit(cli.Main("runjail", os.Args[1:])) }
