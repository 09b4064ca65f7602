//! `PING`, `PONG`, `FLOOD` and `SINK` (PEER_CONTRACT.md, "Benchmarks"): they time the
//! transport, not the codec. The bench frame of size `S` carries P(0, n), the stream message's
//! payload of `S` bytes as `STREAM` laid it out (`layout`); it is built once, and only its seq
//! changes from frame to frame. Frames read are checked where they lie in the connection's
//! input buffer, never decoded or copied again, and nothing is allocated or looked up per frame.
//!
//! They need a frame with a seq field and no checksum, so that the seq is rewritten in place;
//! other schemas get `ERR unsupported`.

use std::time::Instant;

use crate::error::{Error, Result};
use crate::layout::{Data, Layout};
use crate::protocol::Protocol;
use crate::transport::Link;
use crate::wire::{self, get_uint, Direction, Part, Role};

/// The most rounds or frames of one request (and so at most 80 MB of PING samples).
pub const MAX_COUNT: u64 = 10_000_000;

/// The bench frame of one request, and where its seq is.
pub struct Bench {
    pub frame: Vec<u8>,
    seq: Part,
    fields: &'static [Part],
}

impl Bench {
    /// The bench frame with a payload of `size` bytes, seq 0, for seqs up to `rounds`.
    pub fn new<P: Protocol>(layout: &Layout, size: u64, rounds: u64) -> Result<Bench> {
        let n = layout.elements(size).ok_or_else(|| {
            Error::Request(format!(
                "bad size {size}: {} to {} in steps of {}",
                layout.size(0),
                layout.size(layout.max),
                layout.width
            ))
        })?;
        let seq = P::HEADER_FIELDS.iter().find(|h| h.role == Role::Seq);
        let seq = match seq {
            Some(&seq) if P::TRAILER_SIZE == 0 && i128::from(rounds) <= seq.max => seq,
            _ => {
                let why =
                    "the bench needs a frame with a seq field for every round and no checksum";
                return Err(Error::Unsupported(why.into()));
            }
        };
        let mut data = Data::new(layout);
        data.reserve(n);
        let mut payload = Vec::new();
        layout.payload(0, n, &data, &mut payload);
        let frame = wire::frame::<P>(layout.message, 0, P::Plain::default().as_ref(), &payload)?;
        Ok(Bench {
            frame,
            seq,
            fields: P::HEADER_FIELDS,
        })
    }

    #[inline]
    pub fn set_seq(&mut self, seq: u64) {
        let (at, size) = (self.seq.offset, self.seq.size);
        let field = &mut self.frame[at..at + size];
        field.copy_from_slice(&seq.to_le_bytes()[..size]);
        if self.seq.big {
            field.reverse();
        }
    }
}

/// What differs between a frame header read (`got`) and the one expected (`want`):
/// `<what> <i>: <field> <got>, expected <want>`.
pub fn header_differs(fields: &[Part], what: &str, i: u64, got: &[u8], want: &[u8]) -> Error {
    for h in fields {
        let g = get_uint(got, h.offset, h.size, h.big);
        let w = get_uint(want, h.offset, h.size, h.big);
        if g != w {
            return Error::Runtime(format!("{what} {i}: {} {g}, expected {w}", h.name));
        }
    }
    Error::Runtime(format!("{what} {i}: the header differs")) // not reached: all compared
}

/// Where the payload read first differs from the bench frame's.
fn payload_differs(what: &str, i: u64, got: &[u8], want: &[u8]) -> Error {
    let at = got.iter().zip(want).position(|(g, w)| g != w).unwrap_or(0);
    Error::Runtime(format!(
        "{what} {i}: the payload differs from the bench frame's at byte {at}"
    ))
}

fn require(link: &Link) -> Result<()> {
    if !link.connected() {
        let text = "no connection: CONNECT or ACCEPT first";
        return Err(Error::Runtime(text.into()));
    }
    Ok(())
}

fn nanos(start: Instant, end: Instant) -> u64 {
    end.saturating_duration_since(start).as_nanos() as u64
}

/// Run `body` with the link's writes bounded by `deadline`, then unbound them again.
fn bounded<T>(
    link: &mut Link,
    deadline: Instant,
    body: impl FnOnce(&mut Link) -> Result<T>,
) -> Result<T> {
    link.set_write_deadline(Some(deadline))?;
    let result = body(link);
    let reset = link.set_write_deadline(None);
    let value = result?;
    reset?;
    Ok(value)
}

/// The nearest-rank percentile `per_mille / 10` of sorted samples: the sample at index
/// `ceil(per_mille / 1000 * n) - 1`.
fn rank(sorted: &[u64], per_mille: u64) -> u64 {
    let n = sorted.len() as u64;
    let k = (per_mille * n + 999) / 1000;
    sorted[k.saturating_sub(1) as usize]
}

/// `PING`: `warmup + count` round trips of the bench frame, the last `count` timed.
pub fn ping<P: Protocol>(
    link: &mut Link,
    layout: &Layout,
    count: u64,
    warmup: u64,
    size: u64,
    deadline: Instant,
) -> Result<Vec<String>> {
    let mut bench = Bench::new::<P>(layout, size, warmup + count)?;
    require(link)?;
    let mut samples: Vec<u64> = Vec::new();
    samples
        .try_reserve_exact(count as usize)
        .map_err(|_| Error::Runtime(format!("no memory for {count} samples")))?;
    let sleeps = link.sleeps();
    bounded(link, deadline, |link| {
        rounds::<P>(link, &mut bench, warmup, count, deadline, &mut samples)
    })?;
    let waits = link.sleeps() - sleeps;
    samples.sort_unstable();
    let (mut min, mut max, mut mean) = (0, 0, 0);
    let mut p = [0u64; 4];
    if let (Some(&first), Some(&last)) = (samples.first(), samples.last()) {
        let sum: u128 = samples.iter().map(|&s| u128::from(s)).sum();
        min = first;
        max = last;
        mean = (sum / samples.len() as u128) as u64;
        for (p, per_mille) in p.iter_mut().zip([500, 900, 990, 999]) {
            *p = rank(&samples, per_mille);
        }
    }
    Ok(vec![
        format!("rounds={count}"),
        format!("min={min}"),
        format!("p50={}", p[0]),
        format!("p90={}", p[1]),
        format!("p99={}", p[2]),
        format!("p999={}", p[3]),
        format!("max={max}"),
        format!("mean={mean}"),
        format!("waits={waits}"),
    ])
}

/// The round trips of PING: clock, write, read the whole reply, clock.
fn rounds<P: Protocol>(
    link: &mut Link,
    bench: &mut Bench,
    warmup: u64,
    count: u64,
    deadline: Instant,
    samples: &mut Vec<u64>,
) -> Result<()> {
    let len = bench.frame.len();
    let total = warmup + count;
    for i in 1..=total {
        bench.set_seq(i);
        let frame = &bench.frame;
        let start = Instant::now();
        link.write_all(frame)?;
        let header = link.peek(P::HEADER_SIZE, deadline)?;
        if header != &frame[..P::HEADER_SIZE] {
            let err = header_differs(bench.fields, "round", i, header, frame);
            link.close_connection(); // the reply's length is not ours: out of step
            return Err(err);
        }
        let reply = link.peek(len, deadline)?;
        let end = Instant::now();
        if i == total && reply[P::HEADER_SIZE..] != frame[P::HEADER_SIZE..] {
            let err = payload_differs(
                "round",
                i,
                &reply[P::HEADER_SIZE..],
                &frame[P::HEADER_SIZE..],
            );
            link.skip(len);
            return Err(err);
        }
        link.skip(len);
        if i > warmup {
            samples.push(nanos(start, end));
        }
    }
    Ok(())
}

/// `PONG`: read `count` frames, each whole and its header checked as by RECV (in the stream
/// message's direction after a STREAM), and write each back byte for byte, straight from the
/// input buffer.
pub fn pong<P: Protocol>(
    link: &mut Link,
    layout: Option<&Layout>,
    count: u64,
    deadline: Instant,
) -> Result<Vec<String>> {
    require(link)?;
    // After a STREAM, the bench frames are the stream message's, read in its direction.
    let direction = layout.map_or(Direction::Any, |l| P::MESSAGES[l.message].direction);
    let sleeps = link.sleeps();
    bounded(link, deadline, |link| {
        for _ in 0..count {
            let head = wire::peek_frame::<P>(link, deadline, direction)?;
            link.echo(head.size)?;
        }
        Ok(())
    })?;
    let waits = link.sleeps() - sleeps;
    Ok(vec![format!("rounds={count}"), format!("waits={waits}")])
}

/// `FLOOD`: write the bench frame `count` times, seq 1 to `count`, timing the whole.
pub fn flood<P: Protocol>(
    link: &mut Link,
    layout: &Layout,
    count: u64,
    size: u64,
) -> Result<Vec<String>> {
    let mut bench = Bench::new::<P>(layout, size, count)?;
    require(link)?;
    let sleeps = link.sleeps();
    let start = Instant::now();
    for i in 1..=count {
        bench.set_seq(i);
        link.write_all(&bench.frame)?;
    }
    let ns = nanos(start, Instant::now());
    let waits = link.sleeps() - sleeps;
    Ok(vec![
        format!("sent={count}"),
        format!("bytes={}", count * bench.frame.len() as u64),
        format!("ns={ns}"),
        format!("waits={waits}"),
    ])
}

/// `SINK`: read `count` bench frames, each with the next seq, the first and the last compared
/// whole; `ns` from the end of the first frame to the end of the last.
pub fn sink<P: Protocol>(
    link: &mut Link,
    layout: &Layout,
    count: u64,
    size: u64,
    deadline: Instant,
) -> Result<Vec<String>> {
    let mut bench = Bench::new::<P>(layout, size, count)?;
    require(link)?;
    let len = bench.frame.len();
    let sleeps = link.sleeps();
    let (mut first, mut last) = (None, None);
    for i in 1..=count {
        bench.set_seq(i);
        let frame = &bench.frame;
        let header = link.peek(P::HEADER_SIZE, deadline)?;
        if header != &frame[..P::HEADER_SIZE] {
            let err = header_differs(bench.fields, "frame", i, header, frame);
            link.close_connection(); // out of step
            return Err(err);
        }
        let got = link.peek(len, deadline)?;
        if (i == 1 || i == count) && got[P::HEADER_SIZE..] != frame[P::HEADER_SIZE..] {
            let err = payload_differs("frame", i, &got[P::HEADER_SIZE..], &frame[P::HEADER_SIZE..]);
            link.skip(len);
            return Err(err);
        }
        link.skip(len);
        if i == 1 {
            first = Some(Instant::now());
        }
        if i == count {
            last = Some(Instant::now());
        }
    }
    let ns = match (first, last) {
        (Some(first), Some(last)) => nanos(first, last),
        _ => 0,
    };
    let waits = link.sleeps() - sleeps;
    Ok(vec![
        format!("received={count}"),
        format!("bytes={}", count * len as u64),
        format!("ns={ns}"),
        format!("waits={waits}"),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let s: Vec<u64> = (1..=1000).collect();
        assert_eq!(
            [rank(&s, 500), rank(&s, 900), rank(&s, 990), rank(&s, 999)],
            [500, 900, 990, 999]
        );
        assert_eq!([rank(&[7], 500), rank(&[7], 999)], [7, 7]);
        let two = [1, 2];
        assert_eq!([rank(&two, 500), rank(&two, 900)], [1, 2]);
    }
}
