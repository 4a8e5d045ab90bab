// Command runproxy runs runjail's egress proxy alone, for Docker and other
// sandboxes.
package main

import (
	"os"

	"github.com/runjail/runjail/cli"
)

func main() { os.Exit(cli.Main("runproxy", os.Args[1:])) }
