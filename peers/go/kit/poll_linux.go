package kit

import (
	"syscall"
	"time"
	"unsafe"
)

// pollIn waits until fd is readable (or closed, or in error), a signal comes, or d passes:
// ppoll(2), which every Linux architecture has (poll(2) is missing on some). Syscall6 tells
// the runtime this thread may block.
func pollIn(fd int, d time.Duration) {
	p := struct {
		fd             int32
		events, revent int16
	}{fd: int32(fd), events: 0x1} // POLLIN
	ts := syscall.NsecToTimespec(int64(d))
	syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&p)), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
}

// stdinHungUp is whether stdin has hung up with nothing left to read: ppoll(2) of fd 0 without
// waiting says POLLHUP and not POLLIN (a pipe whose writer is gone, and empty).
func stdinHungUp() bool {
	p := struct {
		fd             int32
		events, revent int16
	}{fd: 0, events: 0x1} // POLLIN
	var ts syscall.Timespec
	n, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&p)), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	return errno == 0 && n == 1 && p.revent&0x10 != 0 && p.revent&0x1 == 0 // POLLHUP, not POLLIN
}
