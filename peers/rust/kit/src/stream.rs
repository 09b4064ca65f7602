//! `BLAST` and `DRAIN` (PEER_CONTRACT.md, "Streams"): frame `i` (seq `i`, from 1) carries
//! P(i, len_i), the stream message's payload with `len_i` data elements as `STREAM` laid it out
//! (`layout`), with `len_i = min_len + splitmix64(seed XOR i) mod (max_len - min_len + 1)`. Both
//! sides compute the same stream, so the receiver checks every frame for loss, duplication,
//! reordering and torn or corrupt bytes, byte for byte, without decoding it.

use std::collections::HashSet;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::layout::{Data, Layout};
use crate::protocol::Protocol;
use crate::transport::Link;
use crate::wire::{self, Head};

/// A stream of `count` frames numbers them 1..=count: the frame's seq must hold them.
fn seq_holds<P: Protocol>(count: u64) -> Result<()> {
    // u128: with a u64 seq the bound is u64::MAX, which no count exceeds
    if u128::from(count) > u128::from(P::SEQ_MAX) {
        return Err(Error::Request(format!(
            "count {count} is more than the frame's seq holds ({})",
            P::SEQ_MAX
        )));
    }
    Ok(())
}

/// The contract's splitmix64, modulo 2^64.
pub fn splitmix64(x: u64) -> u64 {
    let mut x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The stream of one seed and length range, in data elements.
pub struct Stream {
    seed: u64,
    min: u64,
    /// `max - min + 1`: at most the layout's `max` + 1, which a payload's size bounds.
    span: u64,
    max: u64,
}

impl Stream {
    /// The stream of `seed` with `min..=max` data elements a frame, `max` at most `most` (the
    /// layout's).
    pub fn new(seed: u64, min: u64, max: u64, most: u64) -> Result<Stream> {
        if min > max {
            return Err(Error::Request(format!(
                "min_len {min} is more than max_len {max}"
            )));
        }
        if max > most {
            return Err(Error::Request(format!(
                "max_len {max} is more than the stream message's {most} elements"
            )));
        }
        // most < 2^32: the layout's elements fit a payload, so the span fits a u64
        let span = max - min + 1;
        Ok(Stream {
            seed,
            min,
            span,
            max,
        })
    }

    /// `len_i`.
    #[inline]
    pub fn len(&self, i: u64) -> u64 {
        self.min + splitmix64(self.seed ^ i) % self.span
    }
}

/// What DRAIN saw: every frame checked against the stream, in constant memory while frames
/// arrive in order: only the seqs skipped over are remembered (at most `MAX_MISSING` of them),
/// to tell a late frame (reordered) from a duplicate, as the Python reference peer does.
struct Tally {
    count: u64,
    /// The seq after the highest seen so far.
    next: u64,
    /// Seqs below `next` not seen yet.
    missing: HashSet<u64>,
    unique: u64,
    received: u64,
    duplicated: u64,
    reordered: u64,
    corrupt: u64,
    bytes: u64,
    /// Where the next frame starts in the stream: the sizes of all the frames read before it,
    /// whatever their state.
    offset: u64,
    /// The first corrupt frame: its offset and its bytes as read (at most `MAX_BAD` of them).
    bad: Option<(u64, Vec<u8>)>,
}

impl Tally {
    const MAX_MISSING: u64 = 1 << 20;
    /// How many bytes of the first corrupt frame `bad=` shows.
    const MAX_BAD: usize = 4096;

    fn new(count: u64) -> Tally {
        Tally {
            count,
            next: 1,
            missing: HashSet::new(),
            unique: 0,
            received: 0,
            duplicated: 0,
            reordered: 0,
            corrupt: 0,
            bytes: 0,
            offset: 0,
            bad: None,
        }
    }

    /// Count the frame at `offset` corrupt (`frame`: its bytes as read, or those read of it);
    /// the first one is kept for `bad_at=` and `bad=`.
    #[cold]
    #[inline(never)]
    fn corrupted(&mut self, frame: &[u8]) {
        self.corrupt += 1;
        if self.bad.is_none() {
            let shown = &frame[..frame.len().min(Self::MAX_BAD)];
            self.bad = Some((self.offset, shown.to_vec()));
        }
    }

    /// The optional figures `bad_at=` and `bad=` (PEER_CONTRACT.md, "Streams"): none when no
    /// frame was corrupt.
    fn first_bad(&self) -> Vec<String> {
        let Some((at, bytes)) = &self.bad else {
            return Vec::new();
        };
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        vec![format!("bad_at={at}"), format!("bad={hex}")]
    }

    /// Note `seq` (from 1 to `count`); false when it was seen before.
    fn see(&mut self, seq: u64) -> bool {
        if seq >= self.next {
            let skipped = seq - self.next;
            if self.missing.len() as u64 + skipped <= Self::MAX_MISSING {
                self.missing.extend(self.next..seq);
            }
            self.next = seq + 1;
        } else if self.missing.remove(&seq) {
            self.reordered += 1;
        } else {
            return false;
        }
        self.unique += 1;
        true
    }

    /// Count the frame at `offset` whose checksum (if any) is right: another message or a seq
    /// outside the stream is corrupt; then a seen seq is a duplicate, and a payload that is not
    /// P(seq, len_seq) byte for byte is corrupt (`scratch`: room for a patched template).
    fn add<P: Protocol>(
        &mut self,
        check: &Check,
        head: &Head<P>,
        frame: &[u8],
        scratch: &mut Vec<u8>,
    ) {
        self.received += 1;
        self.bytes += head.size as u64;
        let seq = head.seq;
        if head.message != check.layout.message || !(1..=self.count).contains(&seq) {
            self.corrupted(frame);
            return;
        }
        if !self.see(seq) {
            self.duplicated += 1;
            return;
        }
        let n = check.stream.len(seq);
        check.layout.patched(n, scratch);
        let payload = wire::payload::<P>(frame, head);
        if !check.layout.matches(seq, n, check.data, scratch, payload) {
            self.corrupted(frame);
        }
    }
}

/// What DRAIN checks frames against.
struct Check<'a> {
    layout: &'a Layout,
    stream: &'a Stream,
    data: &'a Data,
}

fn require(link: &Link) -> Result<()> {
    if !link.connected() {
        let text = "no connection: CONNECT or ACCEPT first";
        return Err(Error::Runtime(text.into()));
    }
    Ok(())
}

fn nanos(start: Instant, end: Instant) -> u128 {
    end.saturating_duration_since(start).as_nanos()
}

/// `BLAST`: send frames 1..=count of the stream, timing the whole.
pub fn blast<P: Protocol>(
    link: &mut Link,
    layout: &Layout,
    count: u64,
    stream: &Stream,
) -> Result<Vec<String>> {
    seq_holds::<P>(count)?;
    require(link)?;
    let mut data = Data::new(layout);
    data.reserve(stream.max);
    let (sleeps, missed) = (link.sleeps(), link.missed());
    let plain = P::Plain::default(); // every header field holds a 0
    let (mut payload, mut frame) = (Vec::new(), Vec::new());
    let mut bytes = 0u64;
    let start = Instant::now();
    for i in 1..=count {
        layout.payload(i, stream.len(i), &data, &mut payload);
        frame.clear();
        P::write_frame(&mut frame, layout.message, i, plain.as_ref(), &payload)?;
        link.write_all(&frame)?;
        bytes += frame.len() as u64;
    }
    let ns = nanos(start, Instant::now());
    let waits = link.sleeps() - sleeps;
    let missed = link.missed() - missed;
    Ok(vec![
        format!("sent={count}"),
        format!("bytes={bytes}"),
        format!("ns={ns}"),
        format!("waits={waits}"),
        format!("missed={missed}"),
    ])
}

/// `DRAIN`: receive and check frames until `count` arrived, the deadline passed or the other
/// side left; every frame never seen is lost. Each frame is checked where it lies in the
/// link's input buffer. A frame whose checksum is wrong is received and corrupt, and the
/// stream goes on; so is a refused header or a frame cut short by a close, which end it (the
/// link is closed). The first corrupt frame is reported (`bad_at=`, `bad=`).
pub fn drain<P: Protocol>(
    link: &mut Link,
    layout: &Layout,
    count: u64,
    stream: &Stream,
    deadline: Instant,
) -> Result<Vec<String>> {
    seq_holds::<P>(count)?;
    require(link)?;
    let mut data = Data::new(layout);
    data.reserve(stream.max);
    let check = Check {
        layout,
        stream,
        data: &data,
    };
    let mut scratch = Vec::with_capacity(layout.template.len());
    // The stream message's direction: an id (or a frame without one) that two messages share
    // is read as the stream's.
    let direction = P::MESSAGES[layout.message].direction;
    let (sleeps, missed) = (link.sleeps(), link.missed());
    let mut tally = Tally::new(count);
    let mut span: Option<(Instant, Instant)> = None;
    while tally.received < count {
        let got = wire::peek_frame::<P>(link, deadline, direction).and_then(|head| {
            let frame = link.peek(head.size, deadline)?; // all read already
            let now = Instant::now();
            span = Some((span.map_or(now, |(first, _)| first), now));
            if P::check_sum(frame, &head).is_ok() {
                tally.add::<P>(&check, &head, frame, &mut scratch);
            } else {
                // A bad checksum: the frame was read whole, the stream stays in step.
                tally.received += 1;
                tally.corrupted(frame);
            }
            tally.offset += head.size as u64;
            link.skip(head.size); // taken either way
            Ok(())
        });
        match got {
            Ok(()) => {}
            // The other side left between two frames, or time is up.
            Err(Error::Closed(_) | Error::Timeout(_)) => break,
            // A refused header or a frame cut short by a close: the stream is out of step and
            // the link is closed; what was read of the frame is the link's to give.
            Err(err) if err.kind() == "decode" => {
                tally.received += 1;
                tally.corrupted(&link.take_refused());
                break;
            }
            Err(err) => return Err(err),
        }
    }
    let ns = span.map_or(0, |(first, last)| nanos(first, last));
    let waits = link.sleeps() - sleeps;
    let missed = link.missed() - missed;
    let t = &tally;
    let mut reply = vec![
        format!("received={}", t.received),
        format!("lost={}", t.count - t.unique),
        format!("duplicated={}", t.duplicated),
        format!("reordered={}", t.reordered),
        format!("corrupt={}", t.corrupt),
        format!("bytes={}", t.bytes),
        format!("ns={ns}"),
        format!("waits={waits}"),
        format!("missed={missed}"),
    ];
    reply.extend(t.first_bad());
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_known_value() {
        assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn tally_tells_late_from_duplicate() {
        let mut t = Tally::new(10);
        let seen: Vec<bool> = [1, 2, 5, 3, 3, 4, 10, 1]
            .iter()
            .map(|&s| t.see(s))
            .collect();
        assert_eq!(seen, [true, true, true, true, false, true, true, false]);
        assert_eq!((t.unique, t.reordered, t.missing.len()), (6, 2, 4)); // 6..9 never came
    }

    #[test]
    fn lengths_stay_in_range() {
        let s = Stream::new(42, 0, 200, 200).unwrap();
        assert!((1..10_000).all(|i| s.len(i) <= 200));
        let one = Stream::new(42, 7, 7, 200).unwrap();
        assert!((1..100).all(|i| one.len(i) == 7));
        let all = Stream::new(7, 0, u32::MAX.into(), u32::MAX.into()).unwrap();
        assert_eq!(all.len(3), splitmix64(7 ^ 3) % (1 << 32));
        assert!(Stream::new(1, 5, 4, 200).is_err());
        assert!(Stream::new(1, 0, 201, 200).is_err());
    }
}
