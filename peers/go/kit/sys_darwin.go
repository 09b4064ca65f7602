package kit

// The macOS layer of the shm transport: compiled, never run here (crosswire is tested on
// Linux). shm_open and shm_unlink are system calls on macOS (the syscall package has the
// numbers, not wrappers); there is no futex, so a waiting side naps and looks again
// (os_sync_wait_on_address needs libSystem, which the standard library does not offer).

import (
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

const waitKind = "sleep-poll"

func shmOpen(name string, create bool) (int, error) {
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return -1, err
	}
	flags := syscall.O_RDWR | syscall.O_NOFOLLOW | syscall.O_CLOEXEC
	if create {
		flags |= syscall.O_CREAT | syscall.O_EXCL
	}
	fd, _, errno := syscall.Syscall(syscall.SYS_SHM_OPEN, uintptr(unsafe.Pointer(p)), uintptr(flags), 0o600)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

func shmUnlink(name string) error {
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return err
	}
	if _, _, errno := syscall.Syscall(syscall.SYS_SHM_UNLINK, uintptr(unsafe.Pointer(p)), 0, 0); errno != 0 {
		return errno
	}
	return nil
}

// pageRounded: macOS reports a shared-memory object's size rounded up to whole pages.
const pageRounded = true

// wordWait naps (100 us, or less if the timeout is shorter) while *addr holds stored. The
// waker has nothing to do; the sleeper notices within one nap. A nap tells no time-out from a
// wake: never timed out (a lost wake-up is not counted here, SHM.md).
func wordWait(addr *uint32, stored uint32, timeout time.Duration) (timedOut bool) {
	if atomic.LoadUint32(addr) == stored {
		time.Sleep(min(timeout, 100*time.Microsecond))
	}
	return false
}

func wordWake(addr *uint32) {}

// dieWithParent: macOS has no parent-death signal; the watcher (harness.go) looks instead.
func dieWithParent() {}

// cpusUsable: macOS has no affinity masks to ask for; every CPU may run either side.
func cpusUsable(other uint32) int { return runtime.NumCPU() }
