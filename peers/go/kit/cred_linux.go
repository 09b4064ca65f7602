package kit

import "syscall"

// socketPeerUID is the uid of the process at the other end of a Unix socket, as the kernel
// recorded it at connect (SO_PEERCRED).
func socketPeerUID(fd int) (uint32, error) {
	cred, err := syscall.GetsockoptUcred(fd, syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	if err != nil {
		return 0, err
	}
	return cred.Uid, nil
}
