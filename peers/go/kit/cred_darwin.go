package kit

// macOS: compiled, never run here (crosswire is tested on Linux).

import (
	"syscall"
	"unsafe"
)

// xucred is macOS's struct xucred (sys/ucred.h): what LOCAL_PEERCRED returns, which is also
// what getpeereid() reads.
type xucred struct {
	version uint32
	uid     uint32
	ngroups int16
	_       int16
	groups  [16]uint32
}

const (
	solLocal      = 0 // SOL_LOCAL
	localPeercred = 1 // LOCAL_PEERCRED
)

// socketPeerUID is the uid of the process at the other end of a Unix socket, as the kernel
// recorded it at connect (getsockopt LOCAL_PEERCRED: the syscall package has no wrapper).
func socketPeerUID(fd int) (uint32, error) {
	var cred xucred
	size := uint32(unsafe.Sizeof(cred))
	_, _, errno := syscall.Syscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), solLocal, localPeercred,
		uintptr(unsafe.Pointer(&cred)), uintptr(unsafe.Pointer(&size)), 0)
	if errno != 0 {
		return 0, errno
	}
	return cred.uid, nil
}
