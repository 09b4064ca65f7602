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

// stdinHungUp is whether stdin has hung up with nothing left to read: poll(2) of fd 0 without
// waiting says POLLHUP and not POLLIN.
func stdinHungUp() bool {
	p := struct {
		fd             int32
		events, revent int16
	}{fd: 0, events: 0x1} // POLLIN
	n, _, errno := syscall.Syscall(syscall.SYS_POLL, uintptr(unsafe.Pointer(&p)), 1, 0)
	return errno == 0 && n == 1 && p.revent&0x10 != 0 && p.revent&0x1 == 0 // POLLHUP, not POLLIN
}
