package kit

// Waiting on a ring (SHM.md, "Waiting" and "Wait strategies"). A side that finds its ring
// empty (consumer) or full (producer) polls it as its strategy says (spin: for ever; futex:
// not at all; spin-futex: spinBudget, or not at all when both sides may run on one CPU only),
// then sleeps by this protocol:
//
//	consumer, ring empty:                     producer, after publishing:
//	  seen = load(data_seq)                     store(head, new_head)
//	  store(consumer_waiting, 1)                if load(consumer_waiting) == 1:
//	  if load(head) != tail: cancel                 data_seq += 1 (compare-and-swap loop)
//	  futex_wait(&data_seq, seen, slice)            futex_wake(&data_seq)
//	  store(consumer_waiting, 0)
//
// (the producer, ring full, is symmetric: space_seq, producer_waiting, tail). SHM.md puts a
// seq_cst fence between each side's store and its load; Go has no fence, but its atomics are
// sequentially consistent (the Go memory model): all of them fall in one total order, each
// load seeing the last store before it. Of the consumer's store of waiting and the producer's
// store of head, one comes first; the other side's load, after its own store, sees it. So
// either the consumer sees the new head and does not sleep, or the producer sees waiting and
// wakes it: no wake-up is lost. The consumer read seen before it stored waiting, and the
// producer bumps data_seq only after it saw that store, so the bump always changes the word
// the consumer sleeps on: the futex refuses to sleep or is woken. Between slices (at most
// 50 ms) the waiter checks the other side's closed bit and pid, and its own deadline.

import (
	"sync/atomic"
	"time"
)

// strategy is how a side waits on an empty or full ring.
type strategy int

const (
	spinFutex strategy = iota // poll for spinBudget, then sleep: the default
	spinOnly                  // never sleep: poll, checking the deadline and the other side
	futexOnly                 // sleep at once
)

// defaultStrategy is what new connections use: WAIT sets it.
var defaultStrategy = spinFutex

func parseStrategy(name string) (strategy, bool) {
	switch name {
	case "spin-futex":
		return spinFutex, true
	case "spin":
		return spinOnly, true
	case "futex":
		return futexOnly, true
	}
	return 0, false
}

const (
	// spinBudget: spin-futex polls this long, longer than a futex wake-up takes (about 40 us
	// on a 2-vCPU virtual machine): shorter budgets make spin-futex bistable (SHM.md).
	spinBudget = 100 * time.Microsecond
	// spinChecks: looks at the ring between two looks at the clock.
	spinChecks = 64
	// spinLiveness: spin checks the deadline and the other side this often.
	spinLiveness = time.Millisecond
)

// waited is how a wait ended.
type waited int

const (
	waitReady   waited = iota // the ring is no longer empty (full)
	waitGone                  // the other side closed or died, and the ring is still empty (full)
	waitExpired               // the deadline passed
)

// ready is whether the ring is no longer empty (consumer) or full (producer), loading the
// other side's index afresh.
func (c *shmConn) ready(consumer bool) bool {
	if consumer {
		return c.readable() != 0
	}
	return c.writable() != 0
}

// pollRing looks at the ring for the strategy's budget: true once it is ready, false when
// the budget is spent. spin (no budget) still ends at the deadline or when the other side
// goes. Go has no pause instruction for a spinning loop: the loop only looks.
func (c *shmConn) pollRing(consumer bool, deadline time.Time) bool {
	budget := spinBudget
	switch {
	case c.strategy == futexOnly, c.strategy == spinFutex && c.oneCPU:
		return false // the other side would need this very CPU to make progress
	}
	var start, checked time.Time
	for {
		for i := 0; i < spinChecks; i++ {
			if c.ready(consumer) {
				return true
			}
		}
		now := time.Now()
		if start.IsZero() {
			start, checked = now, now
		}
		if c.strategy != spinOnly {
			if now.Sub(start) >= budget {
				return false
			}
		} else if now.Sub(checked) >= spinLiveness {
			checked = now
			if (!deadline.IsZero() && !now.Before(deadline)) || c.seg.otherGone() {
				return false
			}
		}
	}
}

// waitRing waits until the ring is not empty (consumer) or not full (producer), the other
// side goes, or the deadline passes (a zero deadline: as long as the other side lives).
func (c *shmConn) waitRing(consumer bool, deadline time.Time) waited {
	if c.pollRing(consumer, deadline) {
		return waitReady
	}
	s := c.seg
	seq, waiting := c.in.ctl+ctlDataSeq, c.in.ctl+ctlConsumerWaiting
	if !consumer {
		seq, waiting = c.out.ctl+ctlSpaceSeq, c.out.ctl+ctlProducerWaiting
	}
	for {
		seen := atomic.LoadUint32(s.word32(seq)) // the stored bytes: what the futex compares
		s.store32(waiting, 1)
		// Our store of waiting, then our load of the other side's index (both seq_cst).
		if c.ready(consumer) {
			s.store32(waiting, 0)
			return waitReady
		}
		if s.otherGone() { // what it wrote before it went is still ours to read
			s.store32(waiting, 0)
			if consumer && c.readable() != 0 {
				return waitReady
			}
			return waitGone
		}
		left := slice
		if !deadline.IsZero() {
			if left = time.Until(deadline); left <= 0 {
				s.store32(waiting, 0)
				return waitExpired
			}
		}
		if c.strategy == spinOnly { // never sleeps: polls again
			s.store32(waiting, 0)
			if c.pollRing(consumer, deadline) {
				return waitReady
			}
			continue
		}
		c.waits++
		if s.wait(seq, seen, min(left, slice)) && c.lostWake(consumer, seq, seen) {
			c.missed++
		}
		s.store32(waiting, 0)
	}
}

// lostWake runs only after a sleep that ended by its time limit, before this side clears its
// waiting word (so a correct other side moving its index now still sees it set and bumps): true
// when the other side's index has moved off the value this side slept on (the ring is no
// longer empty, or full) and the seq word still holds what this side slept on. That is a
// wake-up owed and not given (SHM.md, "A lost wake-up is counted"). The index first, then the
// word: a correct other side bumps after its index store, so only a time-out falling between
// the two counts one.
func (c *shmConn) lostWake(consumer bool, seq int, seen uint32) bool {
	return c.ready(consumer) && atomic.LoadUint32(c.seg.word32(seq)) == seen
}

// wakeOther runs after a publish (consume), whose index store came first: if the other side
// sleeps, or is about to, bump its seq word and wake it. A stale 1 (it woke on its own) only
// costs a bump and a wake for nothing.
func (c *shmConn) wakeOther(waiting, seq int) {
	if c.seg.load32(waiting) == 1 {
		c.seg.rmw32(seq, 1, 0)
		c.seg.wake(seq)
	}
}
