package cli

import (
	"fmt"
	"github.com/runjail/runjail/awschain"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"runjail":   func() { os.Exit(Main("runjail", os.Args[1:])) },
		"runclaude": func() { os.Exit(Main("runclaude", os.Args[1:])) },
		"runproxy":  func() { os.Exit(Main("runproxy", os.Args[1:])) },
		// The real runjail-aws is a program of its own; tests link it in.
		"runjail-aws": func() { os.Exit(awschain.Main(os.Args[1:], os.Stdout, os.Stderr)) },
		// runjail starts runjail-init beside it as the jail's init.
		"runjail-init": func() { os.Exit(Main("runjail", os.Args[1:])) },
	})
}

// TestScripts runs the CLI contract in testdata/script: each file is one
// behaviour, run as the user running the tests. Every script starts with
// $HOME at $WORK/home (with XDG dirs under it) and a git project at
// $WORK/proj as the working directory.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				// As root, nested user namespaces that map uid 0 need
				// CAP_SETFCAP, which the jail drops (kernel 5.12+).
				return os.Getuid() == 0, nil
			case "yama":
				// Yama's ptrace_scope >= 1 forbids ptrace of non-children.
				b, err := os.ReadFile("/proc/sys/kernel/yama/ptrace_scope")
				return err == nil && strings.TrimSpace(string(b)) != "0", nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Setup: func(env *testscript.Env) error {
			home := filepath.Join(env.WorkDir, "home")
			proj := filepath.Join(env.WorkDir, "proj")
			for _, d := range []string{home, proj} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					return err
				}
			}
			env.Setenv("HOME", home)
			env.Setenv("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
			env.Setenv("XDG_DATA_HOME", filepath.Join(home, ".local", "share"))
			env.Setenv("USER", os.Getenv("USER"))
			env.Setenv("TERM", "dumb")
			env.Cd = proj
			return nil
		},
	})
}
