package jail

import (
	"errors"
	"strings"
	"testing"
)

func TestSysctlChecks(t *testing.T) {
	sysctls := func(vals map[string]int) func(string) (int, error) {
		return func(path string) (int, error) {
			v, ok := vals[path]
			if !ok {
				return 0, errors.New("no such sysctl")
			}
			return v, nil
		}
	}
	byName := func(rs []CheckResult) map[string]CheckResult {
		m := map[string]CheckResult{}
		for _, r := range rs {
			m[r.Name] = r
		}
		return m
	}

	// Ubuntu 24.04 defaults: the AppArmor restriction is on.
	rs := byName(sysctlChecks(sysctls(map[string]int{
		"/proc/sys/user/max_user_namespaces":                     63000,
		"/proc/sys/kernel/apparmor_restrict_unprivileged_userns": 1,
	}), "/usr/local/bin/runjail", 1000))
	aa := rs["AppArmor user namespace restriction"]
	if aa.OK || !aa.Required {
		t.Errorf("AppArmor restriction on: %+v, want a required failure", aa)
	}
	if fix := strings.Join(aa.Fix, "\n"); !strings.Contains(fix, "profile runjail /usr/local/bin/runjail flags=(unconfined)") ||
		!strings.Contains(fix, "userns,") || !strings.Contains(fix, "apparmor_parser -r /etc/apparmor.d/runjail") {
		t.Errorf("AppArmor fix does not name the profile for this binary: %q", fix)
	}
	if !rs["user.max_user_namespaces"].OK {
		t.Errorf("max_user_namespaces 63000 judged failing")
	}

	// Debian 10-style switch off, namespaces capped at 0.
	rs = byName(sysctlChecks(sysctls(map[string]int{
		"/proc/sys/user/max_user_namespaces":         0,
		"/proc/sys/kernel/unprivileged_userns_clone": 0,
	}), "/usr/bin/runjail", 1000))
	for _, name := range []string{"user.max_user_namespaces", "kernel.unprivileged_userns_clone"} {
		r := rs[name]
		if r.OK || len(r.Fix) == 0 || !strings.HasPrefix(r.Fix[0], "sudo sysctl -w ") {
			t.Errorf("%s: %+v, want a failure with a sysctl fix", name, r)
		}
	}
	if _, ok := rs["AppArmor user namespace restriction"]; ok {
		t.Errorf("AppArmor judged on a host without the sysctl")
	}
}
