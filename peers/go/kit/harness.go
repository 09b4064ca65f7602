package kit

// A peer never outlives the harness that started it (PEER_CONTRACT.md, "When the harness
// goes"). At start it notes its parent and, on Linux, asks for SIGKILL when that parent dies.
// Then one goroutine, the watcher, looks every watchEvery: the harness is gone when getppid()
// is no longer the pid noted (the peer was re-parented), or stdin hung up with nothing left to
// read. Then it removes the socket file or segment name the peer created and exits with 0.
//
// A goroutine rather than a look inside each wait: it covers every wait at once (ACCEPT,
// CONNECT, RECV, ECHO, the request loop itself, BLAST blocked on a full ring or in net's Write
// on a full socket, DRAIN, PING, PONG, FLOOD, SINK, the ring sleeps), whatever the wait is
// made of (a poll, a futex, net's poller, a sleep), and it costs the data path nothing: no
// look on any frame, two system calls every 50 ms. The one thing it shares with the request
// goroutine is the name to remove, under a mutex taken only at LISTEN, ACCEPT and CLOSE.

import (
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// watchEvery: the contract asks for a look at least every 100 ms.
const watchEvery = 50 * time.Millisecond

// leftover is what the peer created and has not removed yet: the watcher removes it (holding
// the lock until the process has exited, so the request goroutine cannot remove it at the
// same time or create another).
var leftover struct {
	sync.Mutex
	remove func() // unlinks a uds socket file or a shm segment name; nil when there is none
}

// created records the name just made (LISTEN), and how to remove it.
func created(remove func()) {
	leftover.Lock()
	leftover.remove = remove
	leftover.Unlock()
}

// removing removes the recorded name by close (which unlinks it: CLOSE, or ACCEPT on shm), and
// forgets it.
func removing(close func()) {
	leftover.Lock()
	close()
	leftover.remove = nil
	leftover.Unlock()
}

// unread is set while the request loop holds request bytes it has not answered (its reader's
// buffer): stdin hung up does not mean gone while lines sent before are still to be answered.
var unread atomic.Bool

// watchHarness notes the parent, asks for the parent-death signal, leaves at once if the
// parent is gone already, and starts the watcher. Run calls it before it reads a request.
func watchHarness() {
	ppid := syscall.Getppid()
	dieWithParent()
	if syscall.Getppid() != ppid {
		os.Exit(0) // the harness died before the signal was asked for
	}
	go func() {
		for {
			time.Sleep(watchEvery)
			if syscall.Getppid() != ppid || (!unread.Load() && stdinHungUp()) {
				leave()
			}
		}
	}()
}

// leave removes what the peer created and exits with status 0, still holding the lock.
func leave() {
	leftover.Lock()
	if leftover.remove != nil {
		leftover.remove()
	}
	os.Exit(0)
}
