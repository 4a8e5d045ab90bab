package jailinit

import "golang.org/x/sys/unix"

var seccompArches = []seccompArch{
	{audit: unix.AUDIT_ARCH_X86_64, keyctl: unix.SYS_KEYCTL, addKey: unix.SYS_ADD_KEY, requestKey: unix.SYS_REQUEST_KEY, io: unix.SYS_IOCTL},
	// i386 compat (arch/x86/entry/syscalls/syscall_32.tbl).
	{audit: unix.AUDIT_ARCH_I386, keyctl: 288, addKey: 286, requestKey: 287, io: 54},
}
