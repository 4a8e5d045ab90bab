package jailinit

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// The seccomp filter denies (EPERM) what no jailed program needs and an
// attacker would use:
//   - the kernel keyring syscalls: keys are per uid, not per namespace, so
//     a key of the caller's that is readable by its owner would be readable
//     from the jail (Docker's default profile denies them for the same reason);
//   - ioctl TIOCSTI and TIOCLINUX, which type into a terminal. The jail holds
//     no terminal of the caller's (it gets a pty of its own); this is the
//     second wall.
// Everything else is allowed: the jail's confinement is its namespaces.

// seccompArch describes the syscall numbers of one audit architecture.
type seccompArch struct {
	audit                          uint32
	keyctl, addKey, requestKey, io uint32
}

// seccompProgram assembles the filter for the native architecture and, on
// amd64, the i386 compat syscalls (int 0x80 has numbers of its own).
func seccompProgram() ([]bpf.RawInstruction, error) {
	const (
		offNR   = 0  // seccomp_data.nr
		offArch = 4  // seccomp_data.arch
		offArg1 = 24 // seccomp_data.args[1], low 32 bits (little endian)
	)
	deny := bpf.RetConstant{Val: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)}
	allow := bpf.RetConstant{Val: unix.SECCOMP_RET_ALLOW}

	block := func(a seccompArch) []bpf.Instruction {
		prog := []bpf.Instruction{bpf.LoadAbsolute{Off: offNR, Size: 4}}
		for _, nr := range []uint32{a.keyctl, a.addKey, a.requestKey} {
			prog = append(prog, bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: nr, SkipTrue: 1}, deny)
		}
		return append(prog,
			bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: a.io, SkipTrue: 5},
			bpf.LoadAbsolute{Off: offArg1, Size: 4},
			bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: unix.TIOCSTI, SkipTrue: 1}, deny,
			bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: unix.TIOCLINUX, SkipTrue: 1}, deny,
			allow)
	}
	prog := []bpf.Instruction{bpf.LoadAbsolute{Off: offArch, Size: 4}}
	for _, a := range seccompArches {
		b := block(a)
		prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: a.audit, SkipFalse: uint8(len(b))})
		prog = append(prog, b...)
		prog = append(prog, bpf.LoadAbsolute{Off: offArch, Size: 4})
	}
	prog = append(prog, allow)
	return bpf.Assemble(prog)
}

// installSeccomp applies the filter to the calling thread, which forks the
// command; no_new_privs must be set.
func installSeccomp() error {
	raw, err := seccompProgram()
	if err != nil {
		return fmt.Errorf("seccomp program: %v", err)
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, ins := range raw {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	prog := &unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	// SPEC_ALLOW: without it installing a filter also forces the
	// speculative store bypass (and indirect branch) mitigations on every
	// process of the jail, a slowdown the system's policy did not ask for;
	// runc and Docker pass it too.
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW, uintptr(unsafe.Pointer(prog)))
	runtime.KeepAlive(filter)
	if errno != 0 {
		return fmt.Errorf("seccomp: %v", errno)
	}
	return nil
}
