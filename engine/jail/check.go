package jail

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/runjail/runjail/engine/jailinit"
)

// CheckResult is one finding of Check.
type CheckResult struct {
	Name     string
	OK       bool
	Required bool     // runjail cannot run without it
	Detail   string   // what was found
	Fix      []string // exact commands or steps that fix it
}

// Check inspects this host for what jails need: user namespaces (and the
// sysctls and AppArmor policy that restrict them), the mount API, seccomp,
// Landlock and cgroup v2, and tries to create a jail's namespaces for real.
func Check() []CheckResult {
	var rs []CheckResult
	exe, _ := os.Executable()

	// Kernel version: the mount API runjail uses (open_tree, move_mount,
	// mount_setattr) arrived in Linux 5.12.
	var uts unix.Utsname
	unix.Uname(&uts)
	release := unix.ByteSliceToString(uts.Release[:])
	major, minor := kernelVersion(release)
	rs = append(rs, CheckResult{Name: "kernel", Required: true, OK: major > 5 || major == 5 && minor >= 12,
		Detail: "Linux " + release + " (needs 5.12 or later for mount_setattr)",
		Fix:    []string{"upgrade the kernel to Linux 5.12 or later"}})

	rs = append(rs, sysctlChecks(readInt, exe, os.Getuid())...)

	// The real thing: create the namespaces and use the mount API in them.
	probe := exec.Command("/proc/self/exe")
	probe.Args = []string{"runjail"}
	probe.Env = []string{jailinit.Env + "=probe", fmt.Sprintf("%s=%d:%d", jailinit.IDsEnv, os.Getuid(), os.Getgid())}
	var out bytes.Buffer
	probe.Stderr = &out
	probe.SysProcAttr = jailAttr(false)
	probe.SysProcAttr.Pdeathsig = 0
	err := probe.Run()
	detail := "created user, mount, pid, ipc, uts, cgroup and net namespaces and mounted in them"
	if err != nil {
		detail = fmt.Sprintf("failed: %v %s", err, strings.TrimSpace(out.String()))
	}
	rs = append(rs, CheckResult{Name: "namespaces", Required: true, OK: err == nil, Detail: detail,
		Fix: []string{"fix the failures above; inside a container, run it with user namespaces allowed (e.g. docker --security-opt seccomp=unconfined --security-opt apparmor=unconfined)"}})

	seccomp := false
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		seccomp = bytes.Contains(b, []byte("\nSeccomp:"))
	}
	rs = append(rs, CheckResult{Name: "seccomp", OK: seccomp, Detail: map[bool]string{true: "available", false: "not available"}[seccomp],
		Fix: []string{"use a kernel built with CONFIG_SECCOMP_FILTER=y"}})

	abi, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	// ABI 6 scopes abstract unix sockets: with it, a jail on the host's
	// network cannot reach the host's (X11's among them).
	ll := CheckResult{Name: "landlock", OK: errno == 0 && abi >= 6, Detail: fmt.Sprintf("ABI %d: the host's abstract unix sockets are out of the jails' reach", abi),
		Fix: []string{"use Linux 6.12 or later with CONFIG_SECURITY_LANDLOCK=y and landlock in the lsm= boot parameter"}}
	switch {
	case errno != 0:
		ll.Detail = "not available (" + errno.Error() + "): with network.mode = \"host\" a jail reaches the host's abstract unix sockets (X11's among them)"
	case abi < 6:
		ll.Detail = fmt.Sprintf("ABI %d, before 6: with network.mode = \"host\" a jail reaches the host's abstract unix sockets (X11's among them)", abi)
	}
	rs = append(rs, ll)

	var st unix.Statfs_t
	cg2 := unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
	rs = append(rs, CheckResult{Name: "cgroup v2", OK: cg2, Detail: map[bool]string{true: "unified hierarchy at /sys/fs/cgroup", false: "not the unified hierarchy (resource limits unavailable)"}[cg2],
		Fix: []string{"boot with systemd.unified_cgroup_hierarchy=1"}})
	return rs
}

// sysctlChecks judges the sysctls that restrict user namespaces, read with
// read (a /proc/sys path to its integer value), for the user uid running the
// runjail binary at exe.
func sysctlChecks(read func(string) (int, error), exe string, uid int) []CheckResult {
	var rs []CheckResult
	if v, err := read("/proc/sys/user/max_user_namespaces"); err == nil {
		rs = append(rs, CheckResult{Name: "user.max_user_namespaces", Required: true, OK: v > 0,
			Detail: strconv.Itoa(v),
			Fix:    []string{"sudo sysctl -w user.max_user_namespaces=28633", "echo user.max_user_namespaces=28633 | sudo tee /etc/sysctl.d/90-runjail.conf"}})
	}
	if v, err := read("/proc/sys/kernel/unprivileged_userns_clone"); err == nil {
		rs = append(rs, CheckResult{Name: "kernel.unprivileged_userns_clone", Required: true, OK: v == 1,
			Detail: strconv.Itoa(v),
			Fix:    []string{"sudo sysctl -w kernel.unprivileged_userns_clone=1", "echo kernel.unprivileged_userns_clone=1 | sudo tee /etc/sysctl.d/90-runjail.conf"}})
	}
	// Ubuntu 23.10+ lets only programs with an AppArmor profile that grants
	// "userns" create user namespaces.
	if v, err := read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"); err == nil {
		rs = append(rs, CheckResult{Name: "AppArmor user namespace restriction", Required: true, OK: v == 0 || uid == 0,
			Detail: "kernel.apparmor_restrict_unprivileged_userns=" + strconv.Itoa(v),
			Fix: []string{
				"allow runjail alone: write /etc/apparmor.d/runjail containing\n" +
					"        abi <abi/4.0>,\n        include <tunables/global>\n" +
					"        profile runjail " + exe + " flags=(unconfined) {\n          userns,\n        }\n" +
					"      then run: sudo apparmor_parser -r /etc/apparmor.d/runjail",
				"or allow every program: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0",
			}})
	}
	return rs
}

func readInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func kernelVersion(release string) (major, minor int) {
	fmt.Sscanf(release, "%d.%d", &major, &minor)
	return
}
