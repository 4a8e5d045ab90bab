// Command runjail-init is the init (pid 1) of runjail's jails: runjail
// starts it in the jail's namespaces and hands it the plan. It is the same
// code as runjail's own init, in a small binary that starts faster; runjail
// uses itself when runjail-init is not installed beside it.
package main

import (
	"fmt"
	"os"

	"github.com/runjail/runjail/engine/jailinit"
)

func main() {
	if !jailinit.Is() {
		fmt.Fprintln(os.Stderr, "runjail-init: this is the init of runjail's jails; run runjail instead")
		os.Exit(125)
	}
	os.Exit(jailinit.Main())
}
