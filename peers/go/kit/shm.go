package kit

// The shm transport of protocols/SHM.md, layout version 2: one POSIX shared-memory segment
// holding two single-producer single-consumer byte rings, ring 0 from the creator (LISTEN) to
// the attacher (CONNECT), ring 1 back. A ring carries the same byte stream as a socket: frames
// back to back, wrapping at the end of the ring; a frame larger than the ring streams through it.
//
// This file has the segment: its layout, its control words, and its lifecycle (create, attach,
// accept, close). shm_ring.go has the rings and shm_wait.go the waiting.
//
// Control words are little-endian in the segment whatever the host (s390x is big-endian): a
// load or store byte-swaps on a big-endian host, a read-modify-write (a seq bump, the closed
// OR) is a compare-and-swap loop on the stored bytes, and a futex compares the stored bytes as
// they are. They are sync/atomic operations on the mapping (the segment holds offsets, never
// pointers); Go's atomics are sequentially consistent, which is at least the release/acquire
// of SHM.md and gives the seq_cst ordering around sleeping (see shm_wait.go).

import (
	"encoding/binary"
	"math/bits"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

const (
	shmMagic           = 0x4d485343 // bytes 43 53 48 4d, "CSHM"
	shmVersion         = 2
	shmEndian          = 0x0102 // bytes 02 01
	shmHeaderSize      = 1152   // offset of ring 0's data
	shmDefaultCapacity = 65536
	shmMinCapacity     = 64
	shmMaxCapacity     = 1 << 30

	offMagic       = 0
	offVersion     = 4
	offEndian      = 6
	offCapacity    = 8
	offHeaderSize  = 12
	offSegmentSize = 16
	offCreatorPID  = 24
	offAttacherPID = 28
	offState       = 32 // 0 creating, 1 ready (creator), 2 attached (attacher); a futex word
	offClosed      = 36 // bit 0: the creator closed, bit 1: the attacher closed

	stateReady    = 1
	stateAttached = 2
	closedCreator = 1
	closedAttach  = 2

	// A ring's control block: four 128-byte lines, each written by one side only. head and
	// tail, written on every frame, sit alone on their lines; the seq and waiting words,
	// written only around a sleep, on lines of their own.
	ctlHead             = 0   // producer: total bytes ever written
	ctlDataSeq          = 128 // producer: bumped to wake a sleeping consumer, which sleeps on it
	ctlProducerWaiting  = 132 // producer: 1 while (about to be) asleep on a full ring
	ctlTail             = 256 // consumer: total bytes ever consumed
	ctlSpaceSeq         = 384 // consumer: bumped to wake a sleeping producer, which sleeps on it
	ctlConsumerWaiting  = 388 // consumer: 1 while (about to be) asleep on an empty ring
	ringControlSize     = 512
	ringControlFirst    = 128
	attachPoll          = time.Millisecond      // CONNECT: between two tries of a name not there yet
	slice               = 50 * time.Millisecond // the longest sleep before looking at the other side
	livenessEvery       = 10 * time.Millisecond // kill(pid, 0) at most this often while waiting
	maxShmName          = 31                    // '/' and 30 more: macOS's limit
	shmNameCharsAllowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"
)

// ringControl is the offset of ring r's control block: ring 0 creator -> attacher, 1 back.
func ringControl(r int) int { return ringControlFirst + ringControlSize*r }

var bigEndianHost = hostBigEndian()

// le32 converts between a control word's stored (little-endian) bytes, read as a native
// number, and its value: a byte swap on a big-endian host, nothing on a little-endian one.
func le32(v uint32) uint32 {
	if bigEndianHost {
		return bits.ReverseBytes32(v)
	}
	return v
}

func le64(v uint64) uint64 {
	if bigEndianHost {
		return bits.ReverseBytes64(v)
	}
	return v
}

// segment is a mapped segment, as its creator or its attacher.
type segment struct {
	mem      []byte // the mapping
	name     string
	creator  bool   // we made it (LISTEN); else we attached (CONNECT)
	linked   bool   // creator: the name still exists (unlinked at ACCEPT)
	joined   bool   // we take part: closing sets our closed bit
	capacity uint64 // bytes of each ring's data area, a power of two
	checked  time.Time
}

// word32 and word64 are the control words at an offset: &mem[off] checks the offset against
// the mapping, and every offset of SHM.md is a multiple of the word's size from a page-aligned
// base (64-bit atomics on 386 need 8-byte alignment).
func (s *segment) word32(off int) *uint32 { return (*uint32)(unsafe.Pointer(&s.mem[off])) }
func (s *segment) word64(off int) *uint64 { return (*uint64)(unsafe.Pointer(&s.mem[off])) }

func (s *segment) load32(off int) uint32     { return le32(atomic.LoadUint32(s.word32(off))) }
func (s *segment) store32(off int, v uint32) { atomic.StoreUint32(s.word32(off), le32(v)) }
func (s *segment) load64(off int) uint64     { return le64(atomic.LoadUint64(s.word64(off))) }
func (s *segment) store64(off int, v uint64) { atomic.StoreUint64(s.word64(off), le64(v)) }

// rmw32 sets *w = (*w + add) | bits atomically: a compare-and-swap loop on the stored bytes.
func (s *segment) rmw32(off int, add, set uint32) {
	w := s.word32(off)
	for {
		old := atomic.LoadUint32(w)
		if atomic.CompareAndSwapUint32(w, old, le32((le32(old)+add)|set)) {
			return
		}
	}
}

// wait sleeps while the word at off still holds stored (its bytes as they are), at most d:
// true when the sleep ended by its time limit (where the wait primitive tells).
func (s *segment) wait(off int, stored uint32, d time.Duration) bool {
	return wordWait(s.word32(off), stored, d)
}
func (s *segment) wake(off int) { wordWake(s.word32(off)) }

// otherBit is the other side's bit in closed; ourBit ours.
func (s *segment) otherBit() uint32 {
	if s.creator {
		return closedAttach
	}
	return closedCreator
}

func (s *segment) ourBit() uint32 { return closedAttach ^ closedCreator ^ s.otherBit() }

// otherPID is the other side's pid from the header (0 while unknown).
func (s *segment) otherPID() uint32 {
	if s.creator {
		return s.load32(offAttacherPID)
	}
	return s.load32(offCreatorPID)
}

// otherClosed is whether the other side set its closed bit (acquire: what it wrote before
// is visible).
func (s *segment) otherClosed() bool { return s.load32(offClosed)&s.otherBit() != 0 }

// otherGone is whether the other side closed its end or died (kill(pid, 0) at most every
// livenessEvery: a sleep on every frame costs no extra system call).
func (s *segment) otherGone() bool {
	if s.otherClosed() {
		return true
	}
	now := time.Now()
	if now.Sub(s.checked) < livenessEvery {
		return false
	}
	s.checked = now
	return !pidAlive(s.otherPID())
}

// pidAlive is false only when kill(pid, 0) says no such process. 0 or a pid beyond pid_t is
// not one we can ask about (kill(0, ..) would mean our process group): assumed alive.
func pidAlive(pid uint32) bool {
	if pid == 0 || pid > 1<<31-1 {
		return true
	}
	return syscall.Kill(int(pid), 0) != syscall.ESRCH // EPERM: alive, someone else's
}

// close: our bit into closed, every futex word woken, the mapping dropped, and the name
// removed if we made it and ACCEPT did not remove it already.
func (s *segment) close() {
	if s.mem == nil {
		return
	}
	if s.joined {
		s.rmw32(offClosed, 0, s.ourBit())
		s.wake(offState)
		for r := 0; r < 2; r++ {
			s.wake(ringControl(r) + ctlDataSeq)
			s.wake(ringControl(r) + ctlSpaceSeq)
		}
	}
	syscall.Munmap(s.mem)
	s.mem = nil
	s.unlink()
}

func (s *segment) unlink() {
	if s.creator && s.linked {
		removing(func() { shmUnlink(s.name) })
	}
	s.linked = false
}

// checkName: '/' and 1 to 30 of [A-Za-z0-9_.-] (SHM.md; macOS allows 31 bytes).
func checkName(name string) error {
	ok := len(name) >= 2 && len(name) <= maxShmName && name[0] == '/'
	for i := 1; ok && i < len(name); i++ {
		ok = strings.IndexByte(shmNameCharsAllowed, name[i]) >= 0
	}
	if !ok {
		return fail("runtime", "shm name %s: '/' and 1 to 30 of [A-Za-z0-9_.-] (SHM.md)", quote(name))
	}
	return nil
}

func capacityOK(c uint64) bool {
	return c >= shmMinCapacity && c <= shmMaxCapacity && c&(c-1) == 0
}

// mapFD maps size bytes of fd shared read-write (fd is closed either way).
func mapFD(fd int, size uint64, name string) ([]byte, error) {
	defer syscall.Close(fd)
	if size > uint64(^uint(0)>>1) {
		return nil, fail("runtime", "mmap %s: %d bytes do not fit this address space", name, size)
	}
	mem, err := syscall.Mmap(fd, 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, fail("runtime", "mmap %s: %s", name, errnoText(err))
	}
	return mem, nil
}

// ------------------------------------------------------------------ creator: LISTEN, ACCEPT

type shmListener struct {
	seg   *segment
	taken bool // ACCEPT handed the segment to a connection
}

// shmListen creates the segment (SHM.md, "Lifecycle" 1): shm_open with O_EXCL, one
// ftruncate (macOS allows no second one), mmap, the header, then state = 1 with release.
func shmListen(name string, capacity uint64) (Listener, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if !capacityOK(capacity) {
		return nil, fail("runtime", "capacity %d: a power of two from 64 to 2^30 (SHM.md)", capacity)
	}
	size := shmHeaderSize + 2*capacity
	fd, err := shmOpen(name, true)
	if err != nil {
		return nil, fail("runtime", "shm_open %s: %s", name, errnoText(err))
	}
	if err := syscall.Ftruncate(fd, int64(size)); err != nil {
		syscall.Close(fd)
		shmUnlink(name)
		return nil, fail("runtime", "ftruncate %s to %d bytes: %s", name, size, errnoText(err))
	}
	mem, err := mapFD(fd, size, name)
	if err != nil {
		shmUnlink(name)
		return nil, err
	}
	s := &segment{mem: mem, name: name, creator: true, linked: true, joined: true, capacity: capacity}
	// the name, removed by the watcher if the harness goes (harness.go)
	created(func() { shmUnlink(name) })
	h := mem[:shmHeaderSize] // fresh pages: the rest is zero
	binary.LittleEndian.PutUint32(h[offMagic:], shmMagic)
	binary.LittleEndian.PutUint16(h[offVersion:], shmVersion)
	binary.LittleEndian.PutUint16(h[offEndian:], shmEndian)
	binary.LittleEndian.PutUint32(h[offCapacity:], uint32(capacity))
	binary.LittleEndian.PutUint32(h[offHeaderSize:], shmHeaderSize)
	binary.LittleEndian.PutUint64(h[offSegmentSize:], size)
	s.store32(offCreatorPID, uint32(os.Getpid()))
	s.store32(offAttacherPID, 0)
	s.store32(offState, stateReady) // release: an attacher that sees 1 sees the header above
	s.wake(offState)
	return &shmListener{seg: s}, nil
}

// Accept waits until the attacher set state = 2 (acquire), then unlinks the name (SHM.md,
// "Lifecycle" 3): from now on only the two mappings keep the segment alive, and nothing is
// left behind if either side dies.
func (l *shmListener) Accept(deadline time.Time) (Conn, error) {
	s := l.seg
	if l.taken {
		return nil, fail("runtime", "segment %s was accepted already: CLOSE first", s.name)
	}
	for {
		stored := atomic.LoadUint32(s.word32(offState))
		if le32(stored) == stateAttached {
			break
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, fail("timeout", "no connection to accept: nobody attached to %s", s.name)
		}
		s.wait(offState, stored, min(left, slice))
	}
	s.unlink()
	l.taken = true
	return newShmConn(s)
}

func (l *shmListener) Close() {
	if !l.taken {
		l.seg.close()
	}
}

// ------------------------------------------------------------------ attacher: CONNECT

// shmConnect attaches (SHM.md, "Lifecycle" 2): opens the name, retrying until it exists or
// the deadline passes; checks the size, maps, waits for state = 1 (acquire), checks the
// header; stores its pid, then state = 2 with release (a compare-and-swap: one attacher
// only), and wakes the creator.
func shmConnect(name string, deadline time.Time) (Conn, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	fd, size, err := openExisting(name, deadline)
	if err != nil {
		return nil, err
	}
	mem, err := mapFD(fd, size, name)
	if err != nil {
		return nil, err
	}
	s := &segment{mem: mem, name: name}
	if err := s.attach(size, deadline); err != nil {
		s.close()
		return nil, err
	}
	return newShmConn(s)
}

// openExisting opens a segment that exists and has been sized, retrying until the deadline.
func openExisting(name string, deadline time.Time) (int, uint64, error) {
	for {
		fd, err := shmOpen(name, false)
		if err == nil {
			var st syscall.Stat_t
			if err := syscall.Fstat(fd, &st); err != nil {
				syscall.Close(fd)
				return -1, 0, fail("runtime", "fstat %s: %s", name, errnoText(err))
			}
			size := uint64(st.Size)
			if size != 0 && (size < shmHeaderSize || size > shmHeaderSize+2*shmMaxCapacity+1<<16) {
				syscall.Close(fd)
				return -1, 0, fail("runtime", "segment %s is %d bytes: not %d + 2 x a capacity of 64 to 2^30",
					name, st.Size, shmHeaderSize)
			}
			if size != 0 {
				return fd, size, nil
			}
			syscall.Close(fd) // created, not sized yet
		} else if err != syscall.ENOENT {
			return -1, 0, fail("runtime", "shm_open %s: %s", name, errnoText(err))
		}
		left := time.Until(deadline)
		if left <= 0 {
			return -1, 0, fail("timeout", "no segment %s", name)
		}
		time.Sleep(min(left, attachPoll))
	}
}

// attach waits for the segment to be ready, checks it and announces us.
func (s *segment) attach(size uint64, deadline time.Time) error {
	for {
		stored := atomic.LoadUint32(s.word32(offState))
		if le32(stored) != 0 {
			break
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fail("timeout", "segment %s never became ready", s.name)
		}
		s.wait(offState, stored, min(left, attachPoll)) // the creator may not wake us: poll too
	}
	if err := s.checkHeader(size); err != nil {
		return err
	}
	if state := s.load32(offState); state != stateReady {
		what := "not a state of SHM.md"
		if state == stateAttached {
			what = "someone else attached already"
		}
		return fail("runtime", "segment %s: state %d (%s)", s.name, state, what)
	}
	if s.load32(offClosed)&closedCreator != 0 {
		return fail("runtime", "segment %s: its creator closed it", s.name)
	}
	if pid := s.load32(offCreatorPID); !pidAlive(pid) {
		return fail("runtime", "segment %s: its creator (pid %d) is gone", s.name, pid)
	}
	s.store32(offAttacherPID, uint32(os.Getpid()))
	if !atomic.CompareAndSwapUint32(s.word32(offState), le32(stateReady), le32(stateAttached)) {
		return fail("runtime", "segment %s: someone else attached first", s.name)
	}
	s.joined = true
	s.wake(offState)
	return nil
}

// checkHeader: the first thing wrong with a ready segment's header, or nil. Plain reads: the
// creator wrote them before its release store of state, which we loaded with acquire.
func (s *segment) checkHeader(size uint64) error {
	h := s.mem[:shmHeaderSize]
	magic := binary.LittleEndian.Uint32(h[offMagic:])
	version := binary.LittleEndian.Uint16(h[offVersion:])
	endian := binary.LittleEndian.Uint16(h[offEndian:])
	capacity := uint64(binary.LittleEndian.Uint32(h[offCapacity:]))
	header := binary.LittleEndian.Uint32(h[offHeaderSize:])
	total := binary.LittleEndian.Uint64(h[offSegmentSize:])
	if pageRounded && total <= size && size-total < uint64(os.Getpagesize()) {
		size = total // macOS rounds a shared-memory object up to whole pages
	}
	switch {
	case magic != shmMagic:
		return fail("runtime", "segment %s: bad magic 0x%08x, expected 0x%08x", s.name, magic, shmMagic)
	case version != shmVersion:
		return fail("runtime", "segment %s: bad version %d, this peer speaks layout version %d", s.name, version, shmVersion)
	case endian != shmEndian:
		return fail("runtime", "segment %s: bad endian word 0x%04x, expected 0x0102 (written with the wrong byte order?)",
			s.name, endian)
	case total != size:
		return fail("runtime", "segment %s: bad segment_size %d, but the segment is %d bytes", s.name, total, size)
	case !capacityOK(capacity) || header != shmHeaderSize || shmHeaderSize+2*capacity != total:
		return fail("runtime", "segment %s: bad capacity %d (header_size %d, segment_size %d)", s.name, capacity, header, total)
	}
	s.capacity = capacity
	return nil
}
