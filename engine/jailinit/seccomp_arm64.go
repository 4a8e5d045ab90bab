package jailinit

import "golang.org/x/sys/unix"

var seccompArches = []seccompArch{
	{audit: unix.AUDIT_ARCH_AARCH64, keyctl: unix.SYS_KEYCTL, addKey: unix.SYS_ADD_KEY, requestKey: unix.SYS_REQUEST_KEY, io: unix.SYS_IOCTL},
}
