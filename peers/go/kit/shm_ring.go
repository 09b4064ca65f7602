package kit

// The two rings of a segment, as one side's connection (SHM.md, "Invariants and ordering").
//
// For each ring of capacity C (a power of two):
//
//  1. head (total bytes ever written) is stored only by the ring's producer, tail (total bytes
//     ever consumed) only by its consumer; tail <= head <= tail + C. The byte at stream
//     position p lives at data offset p mod C. Each side keeps its own index in a local copy
//     (c.head for the ring we produce, c.tail for the ring we consume) and loads the other
//     side's only when its last-seen copy (c.tailSeen, c.headSeen) says the ring is full
//     (empty): each index line then crosses between the cores once per update, not per look.
//  2. Publish (producer): copy the bytes into [head, tail + C), then store head (release).
//     The consumer loads head (acquire) before reading: it sees those bytes.
//  3. Consume (consumer): copy the bytes of [tail, head) out, then store tail (release). The
//     producer loads tail (acquire) before reusing that space: it never overwrites a byte
//     not yet read.
//  4. Never read a byte at or past head, never write one at or past tail + C. Indexes that
//     break 1 (a broken or hostile other side) are an error, never an out-of-bounds copy.
//
// Go's atomic loads and stores are sequentially consistent: stronger than the release and
// acquire these need. After each publish (consume) the waker's protocol of shm_wait.go runs.

import (
	"os"
	"time"
)

// ring is the offsets of one ring's control block and data area in the segment.
type ring struct {
	ctl  int // the control block
	data int // the data area, capacity bytes
}

func ringAt(s *segment, r int) ring {
	return ring{ctl: ringControl(r), data: shmHeaderSize + r*int(s.capacity)}
}

// shmConn is one side's ends of the two rings: we produce out and consume in.
type shmConn struct {
	seg      *segment
	capacity uint64
	mask     uint64
	out, in  ring
	head     uint64 // out's head: ours alone to store
	tail     uint64 // in's tail: ours alone to store
	tailSeen uint64 // out's tail as last loaded: at least capacity - (head - tailSeen) is free
	headSeen uint64 // in's head as last loaded: at least headSeen - tail is readable
	strategy strategy
	oneCPU   bool // both sides may run on one CPU only: spinning cannot help
	waits    uint64
	missed   uint64 // sleeps that timed out on a wake-up the other side owed (shm_wait.go)
}

func newShmConn(s *segment) (Conn, error) {
	c := &shmConn{seg: s, capacity: s.capacity, mask: s.capacity - 1, strategy: defaultStrategy}
	if s.creator {
		c.out, c.in = ringAt(s, 0), ringAt(s, 1)
	} else {
		c.out, c.in = ringAt(s, 1), ringAt(s, 0)
	}
	c.head = s.load64(c.out.ctl + ctlHead)
	c.tail = s.load64(c.in.ctl + ctlTail)
	c.tailSeen = s.load64(c.out.ctl + ctlTail)
	c.headSeen = s.load64(c.in.ctl + ctlHead)
	if c.head-c.tailSeen > c.capacity || c.headSeen-c.tail > c.capacity {
		s.close()
		return nil, fail("runtime", "segment %s: its rings are out of step", s.name)
	}
	// Decided when the connection starts (taskset comes before): see shm_wait.go.
	c.oneCPU = cpusUsable(s.otherPID()) <= 1
	return c, nil
}

// readable loads in's head afresh (acquire) into headSeen: the bytes there for us.
func (c *shmConn) readable() uint64 {
	c.headSeen = c.seg.load64(c.in.ctl + ctlHead)
	return c.headSeen - c.tail
}

// writable loads out's tail afresh (acquire) into tailSeen: the room there for us.
func (c *shmConn) writable() uint64 {
	c.tailSeen = c.seg.load64(c.out.ctl + ctlTail)
	return c.capacity - (c.head - c.tailSeen)
}

func (c *shmConn) broken(which string, head, tail uint64) error {
	return fail("runtime", "ring %s of %s is broken: head %d, tail %d, capacity %d", which, c.seg.name, head,
		tail, c.capacity)
}

func (c *shmConn) Read(buf []byte, deadline time.Time) (int, error) {
	if c.headSeen == c.tail && c.readable() == 0 { // look again only when empty
		switch c.waitRing(true, deadline) {
		case waitGone:
			return 0, nil
		case waitExpired:
			return 0, fail("timeout", "waiting for bytes")
		}
	}
	head := c.headSeen
	if head-c.tail > c.capacity {
		return 0, c.broken("in", head, c.tail)
	}
	n := min(head-c.tail, uint64(len(buf)))
	at := c.tail & c.mask
	first := min(n, c.capacity-at)
	data := c.seg.mem[c.in.data : c.in.data+int(c.capacity)]
	copy(buf[:first], data[at:at+first]) // [tail, head): ours to read
	copy(buf[first:n], data[:n-first])
	c.tail += n
	c.seg.store64(c.in.ctl+ctlTail, c.tail) // then hand the space back (release)
	c.wakeOther(c.in.ctl+ctlProducerWaiting, c.in.ctl+ctlSpaceSeq)
	return int(n), nil
}

func (c *shmConn) Write(buf []byte) error {
	if c.seg.otherClosed() { // like EPIPE: do not fill a ring nobody reads
		return fail("runtime", "write: closed by the other side")
	}
	data := c.seg.mem[c.out.data : c.out.data+int(c.capacity)]
	for done := uint64(0); done < uint64(len(buf)); {
		left := uint64(len(buf)) - done
		if c.head-c.tailSeen > c.capacity-min(left, c.capacity) {
			c.writable() // look again only when short of room
		}
		if c.head-c.tailSeen > c.capacity {
			return c.broken("out", c.head, c.tailSeen)
		}
		room := c.capacity - (c.head - c.tailSeen)
		if room == 0 {
			if c.waitRing(false, time.Time{}) == waitGone {
				return fail("runtime", "write: the other side closed or died after %d of %d bytes", done, len(buf))
			}
			continue
		}
		n := min(left, room)
		at := c.head & c.mask
		first := min(n, c.capacity-at)
		copy(data[at:at+first], buf[done:done+first]) // [head, tail + C): free
		copy(data[:n-first], buf[done+first:done+n])
		c.head += n
		done += n
		c.seg.store64(c.out.ctl+ctlHead, c.head) // then publish (release)
		c.wakeOther(c.out.ctl+ctlConsumerWaiting, c.out.ctl+ctlDataSeq)
	}
	return nil
}

func (c *shmConn) Close() { c.seg.close() }

// PeerUID: only our own uid (or root) can open a 0600 segment; the kernel checked already.
func (c *shmConn) PeerUID() (uint32, error) { return uint32(os.Getuid()), nil }

func (c *shmConn) Waits() uint64  { return c.waits }
func (c *shmConn) Missed() uint64 { return c.missed }
