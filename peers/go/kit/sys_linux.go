package kit

// The Linux layer of the shm transport: POSIX shared memory as glibc does it (a file under
// /dev/shm), futex(2) on a shared word, and sched_getaffinity(2). Raw system calls: the
// syscall package has no wrappers for the last two.

import (
	"math/bits"
	"syscall"
	"time"
	"unsafe"
)

const (
	futexWait = 0 // FUTEX_WAIT: not FUTEX_WAIT_PRIVATE, the word is shared between processes
	futexWake = 1 // FUTEX_WAKE
)

// waitKind names how wordWait sleeps here.
const waitKind = "futex"

// shmPath is where glibc's shm_open keeps a name: "/cw12" is /dev/shm/cw12.
func shmPath(name string) string { return "/dev/shm" + name }

// shmOpen opens a segment, as shm_open(3) does: O_NOFOLLOW and O_CLOEXEC always; create:
// O_CREAT|O_EXCL (the name must be free) and mode 0600 (only our uid can attach).
func shmOpen(name string, create bool) (int, error) {
	flags := syscall.O_RDWR | syscall.O_NOFOLLOW | syscall.O_CLOEXEC
	if create {
		flags |= syscall.O_CREAT | syscall.O_EXCL
	}
	return syscall.Open(shmPath(name), flags, 0o600)
}

func shmUnlink(name string) error { return syscall.Unlink(shmPath(name)) }

// pageRounded: Linux reports a segment's size exactly as ftruncate set it.
const pageRounded = false

// wordWait sleeps while *addr holds stored (the bytes as they are in memory, whatever the
// host's byte order), at most timeout, and says whether the sleep ended by its time limit
// (ETIMEDOUT). The kernel compares and sleeps atomically; a mismatch (EAGAIN), a signal and the
// timeout all just return: the caller looks again. Syscall6, not RawSyscall6: the runtime must
// know this thread may block (the garbage collector would otherwise wait for it).
func wordWait(addr *uint32, stored uint32, timeout time.Duration) (timedOut bool) {
	ts := syscall.NsecToTimespec(int64(timeout))
	_, _, errno := syscall.Syscall6(syscall.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWait, uintptr(stored),
		uintptr(unsafe.Pointer(&ts)), 0, 0)
	return errno == syscall.ETIMEDOUT
}

// wordWake wakes every sleeper on addr.
func wordWake(addr *uint32) {
	syscall.Syscall6(syscall.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWake, 1<<31-1, 0, 0, 0)
}

// dieWithParent asks the kernel for SIGKILL when the parent dies: prctl(PR_SET_PDEATHSIG).
// The setting belongs to the calling thread, and the kernel sends it while that thread lives.
// Go ends a thread only when a goroutine locked to it (runtime.LockOSThread) exits without
// unlocking, which nothing in this program does: an idle thread waits for work until the
// process ends. So the call needs no lock held for the life of the process (which would slow
// every wait of the request goroutine in net's poller: a locked thread is handed its goroutine
// back, not just any thread).
func dieWithParent() {
	syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0)
}

// cpuMask is a sched_getaffinity mask: 1024 CPUs, a whole number of the kernel's longs.
type cpuMask [16]uint64

func affinity(pid int) (cpuMask, bool) {
	var m cpuMask
	_, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, uintptr(pid), unsafe.Sizeof(m),
		uintptr(unsafe.Pointer(&m)))
	return m, errno == 0
}

// cpusUsable counts the CPUs that this process and process other may run on, together. 0 for
// other is unknown: then only ours count, and at least 2 (assume apart).
func cpusUsable(other uint32) int {
	ours, ok := affinity(0)
	if !ok {
		return 2
	}
	both := ours
	if theirs, ok := affinity(int(other)); other != 0 && other <= 1<<31-1 && ok {
		for i := range both {
			both[i] |= theirs[i]
		}
	} else if n := countCPUs(ours); n > 1 {
		return n
	} else {
		return 2
	}
	return countCPUs(both)
}

func countCPUs(m cpuMask) int {
	n := 0
	for _, w := range m {
		n += bits.OnesCount64(w)
	}
	return n
}
