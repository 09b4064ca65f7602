package kit

// macOS: compiled, never run here.

import (
	"syscall"
	"time"
	"unsafe"
)

// pollIn waits until fd is readable (or closed, or in error), a signal comes, or d passes:
// poll(2), in milliseconds rounded up.
func pollIn(fd int, d time.Duration) {
	p := struct {
		fd             int32
		events, revent int16
	}{fd: int32(fd), events: 0x1} // POLLIN
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms > 1<<31-1 {
		ms = 1<<31 - 1
	}
	syscall.Syscall(syscall.SYS_POLL, uintptr(unsafe.Pointer(&p)), 1, uintptr(ms))
}
