//! `BLAST` and `DRAIN` (PEER_CONTRACT.md, "Streams"): frame `i` (seq `i`, from 1) carries a
//! `Blob` whose data is `len_i` bytes of the pattern `(i + j) mod 256`, with
//! `len_i = min_len + splitmix64(seed XOR i) mod (max_len - min_len + 1)`, and whose checksum
//! is the CRC-32 (zlib's) of the data. Both sides compute the same stream, so the receiver
//! checks every frame for loss, duplication, reordering and torn or corrupt bytes.
//!
//! They need a schema with crosswire's `Blob` message (a `u32` checksum, then `bytes` data with
//! a `u32` length, little-endian), which `blob()` finds and checks at run time: the peer builds
//! for any schema, and answers `ERR unsupported` to these requests where there is none.

use std::collections::HashSet;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::protocol::Protocol;
use crate::transport::Link;
use crate::wire::{self, Direction, Head};

/// Where a Blob payload keeps its data: after the checksum and the data's length.
pub const BLOB_DATA_AT: usize = 8;

/// The index of crosswire's `Blob` message in this schema, if it has one and a frame: its
/// payload is the checksum and the data's length (u32, little-endian), then the data.
pub fn blob<P: Protocol>() -> Result<usize> {
    let unsupported = || {
        Error::Unsupported("streams need crosswire's Blob message behind a frame with a seq".into())
    };
    let index = P::message_index("Blob")
        .filter(|_| P::HAS_FRAME && u128::from(P::SEQ_MAX) > 0) // u128: SEQ_MAX may be 0 or u64::MAX
        .ok_or_else(unsupported)?;
    let probe = P::encode_text(index, &["305419896", "xabcd"], P::NEWEST_VERSION);
    if probe.as_deref() != Ok(&blob_payload(0x1234_5678, &[0xab, 0xcd])[..]) {
        return Err(unsupported());
    }
    Ok(index)
}

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

/// The payload of a Blob carrying `data`, as crosswire's schema writes it.
pub fn blob_payload(checksum: u32, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(BLOB_DATA_AT + data.len());
    out.extend_from_slice(&checksum.to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    out
}

/// The contract's splitmix64, modulo 2^64.
pub fn splitmix64(x: u64) -> u64 {
    let mut x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The CRC-32 table of IEEE 802.3 (reflected polynomial 0xedb88320), built at compile time.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

/// The CRC-32 of zlib's `crc32` (IEEE 802.3).
pub fn crc32(data: &[u8]) -> u32 {
    !data.iter().fold(!0u32, |c, &b| {
        CRC_TABLE[usize::from((c as u8) ^ b)] ^ (c >> 8)
    })
}

/// The stream of one seed and length range.
pub struct Stream {
    seed: u64,
    min: u64,
    /// `max - min + 1`, which may be 2^64.
    span: u128,
}

impl Stream {
    pub fn new(seed: u64, min: u64, max: u64) -> Result<Stream> {
        if min > max {
            return Err(Error::Request(format!(
                "min_len {min} is more than max_len {max}"
            )));
        }
        let span = u128::from(max - min) + 1;
        Ok(Stream { seed, min, span })
    }

    /// `len_i`.
    pub fn len(&self, i: u64) -> u64 {
        let offset = u128::from(splitmix64(self.seed ^ i)) % self.span;
        self.min + offset as u64 // offset < span, so min + offset <= max
    }

    /// Whether `data` is frame `i`'s data.
    fn matches(&self, i: u64, data: &[u8]) -> bool {
        data.len() as u64 == self.len(i)
            && data
                .iter()
                .enumerate()
                .all(|(j, &got)| got == i.wrapping_add(j as u64) as u8)
    }

    /// Frame `i`'s Blob payload, written into `payload`.
    fn fill(&self, i: u64, payload: &mut Vec<u8>, max_payload: u32) -> Result<()> {
        let len = self.len(i);
        // Longer than a payload holds: refused before `len` bytes are allocated.
        let max = u64::from(max_payload).saturating_sub(BLOB_DATA_AT as u64);
        if len > max {
            let (path, count) = ("Blob.data".into(), crate::error::Count::Bytes);
            return Err(Error::TooLongToEncode {
                path,
                len,
                max,
                count,
            });
        }
        payload.clear();
        payload.resize(BLOB_DATA_AT, 0);
        payload.extend((0..len).map(|j| i.wrapping_add(j) as u8));
        let checksum = crc32(&payload[BLOB_DATA_AT..]);
        payload[..4].copy_from_slice(&checksum.to_le_bytes());
        payload[4..BLOB_DATA_AT].copy_from_slice(&(len as u32).to_le_bytes());
        Ok(())
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
}

impl Tally {
    const MAX_MISSING: u64 = 1 << 20;

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
        }
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

    /// Count a frame (the stream's are message `blob`): a payload that does not decode at
    /// `version` is received and corrupt, its bytes and seq not counted; another message or a
    /// seq outside the stream is corrupt; then a seen seq is a duplicate, and data that is not
    /// frame `seq`'s is corrupt.
    fn add<P: Protocol>(
        &mut self,
        stream: &Stream,
        head: &Head<P>,
        payload: &[u8],
        blob: usize,
        version: u16,
    ) {
        self.received += 1;
        if P::check(head.message, payload, version).is_err() {
            self.corrupt += 1;
            return;
        }
        self.bytes += head.size as u64;
        let seq = head.seq;
        if head.message != blob || !(1..=self.count).contains(&seq) {
            self.corrupt += 1;
            return;
        }
        let data = &payload[BLOB_DATA_AT..];
        let checksum = u32::from_le_bytes([payload[0], payload[1], payload[2], payload[3]]);
        if !self.see(seq) {
            self.duplicated += 1;
        } else if !stream.matches(seq, data) || checksum != crc32(data) {
            self.corrupt += 1;
        }
    }
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
pub fn blast<P: Protocol>(link: &mut Link, count: u64, stream: &Stream) -> Result<Vec<String>> {
    let blob = blob::<P>()?;
    seq_holds::<P>(count)?;
    require(link)?;
    let sleeps = link.sleeps();
    let plain = P::Plain::default(); // every header field holds a 0
    let (mut payload, mut frame) = (Vec::new(), Vec::new());
    let mut bytes = 0u64;
    let start = Instant::now();
    for i in 1..=count {
        stream.fill(i, &mut payload, P::MAX_PAYLOAD)?;
        frame.clear();
        P::write_frame(&mut frame, blob, i, plain.as_ref(), &payload)?;
        link.write_all(&frame)?;
        bytes += frame.len() as u64;
    }
    let ns = nanos(start, Instant::now());
    let waits = link.sleeps() - sleeps;
    Ok(vec![
        format!("sent={count}"),
        format!("bytes={bytes}"),
        format!("ns={ns}"),
        format!("waits={waits}"),
    ])
}

/// `DRAIN`: receive and check frames until `count` arrived, the deadline passed or the other
/// side left; every frame never seen is lost.
pub fn drain<P: Protocol>(
    link: &mut Link,
    count: u64,
    stream: &Stream,
    deadline: Instant,
    version: u16,
) -> Result<Vec<String>> {
    let blob = blob::<P>()?;
    seq_holds::<P>(count)?;
    require(link)?;
    let sleeps = link.sleeps();
    let mut tally = Tally::new(count);
    let mut span: Option<(Instant, Instant)> = None;
    while tally.received < count {
        match wire::read_frame::<P>(link, deadline, Direction::Any) {
            Ok((head, payload)) => {
                let now = Instant::now();
                span = Some((span.map_or(now, |(first, _)| first), now));
                tally.add::<P>(stream, &head, &payload, blob, version);
            }
            // The other side left (maybe in the middle of a frame), or time is up.
            Err(Error::Closed(_) | Error::FrameCut { .. } | Error::Timeout(_)) => break,
            // A bad frame header: the stream is out of step and the link is closed.
            Err(err) if err.kind() == "decode" && !link.connected() => {
                tally.received += 1;
                tally.corrupt += 1;
                break;
            }
            // A bad checksum: the frame was read whole, the stream is in step.
            Err(err) if err.kind() == "decode" => {
                tally.received += 1;
                tally.corrupt += 1;
            }
            Err(err) => return Err(err),
        }
    }
    let ns = span.map_or(0, |(first, last)| nanos(first, last));
    let waits = link.sleeps() - sleeps;
    let t = &tally;
    Ok(vec![
        format!("received={}", t.received),
        format!("lost={}", t.count - t.unique),
        format!("duplicated={}", t.duplicated),
        format!("reordered={}", t.reordered),
        format!("corrupt={}", t.corrupt),
        format!("bytes={}", t.bytes),
        format!("ns={ns}"),
        format!("waits={waits}"),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_zlibs() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

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
        let s = Stream::new(42, 0, 200).unwrap();
        assert!((1..10_000).all(|i| s.len(i) <= 200));
        let all = Stream::new(7, 0, u64::MAX).unwrap();
        assert_eq!(all.len(3), splitmix64(7 ^ 3));
        assert!(Stream::new(1, 5, 4).is_err());
    }
}
