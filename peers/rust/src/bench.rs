//! `PING`, `PONG`, `FLOOD` and `SINK` (PEER_CONTRACT.md, "Benchmarks"): they time the
//! transport, not the codec. The bench frame of size `S` carries a `Blob` of `S - 8` data bytes
//! (byte `j` is `j mod 256`) and their CRC-32; it is built once, and only its seq changes from
//! frame to frame. Frames read are checked where they lie in the connection's input buffer,
//! never decoded or copied again, and nothing is allocated or looked up per frame.

use std::time::Instant;

use crate::codec::{self, Message};
use crate::error::{Error, Result};
use crate::schema::{self, Blob};
use crate::stream::crc32;
use crate::transport::Link;
use crate::wire::{self, HEADER_SIZE};

/// The most rounds or frames of one request (and so at most 80 MB of PING samples).
pub const MAX_COUNT: u64 = 10_000_000;
/// The smallest bench payload: a Blob's checksum and data length, no data.
pub const MIN_SIZE: u64 = 8;
/// Where a frame header keeps its seq (WIRE.md, "Frame"), a u64 little-endian.
const SEQ_AT: usize = 16;

/// The bench frame with a payload of `size` bytes, seq 0.
pub fn bench_frame(size: u64) -> Result<Vec<u8>> {
    let max = u64::from(schema::MAX_PAYLOAD);
    if !(MIN_SIZE..=max).contains(&size) {
        return Err(Error::Request(format!(
            "bad size {size}: {MIN_SIZE} to {max}"
        )));
    }
    let data: Vec<u8> = (0..size - MIN_SIZE).map(|j| j as u8).collect();
    let blob = Blob {
        checksum: crc32(&data),
        data,
    };
    let payload = codec::encode_message(&blob)?;
    debug_assert_eq!(payload.len() as u64, size);
    wire::frame(Blob::ID, 0, &payload)
}

#[inline]
fn set_seq(frame: &mut [u8], seq: u64) {
    frame[SEQ_AT..SEQ_AT + 8].copy_from_slice(&seq.to_le_bytes());
}

/// What differs between a frame header read (`got`) and the one expected (`want`), both 24
/// bytes: `<what> <i>: <field> <got>, expected <want>`.
fn header_differs(what: &str, i: u64, got: &[u8], want: &[u8]) -> Error {
    let fields: [(&str, usize, usize); 6] = [
        ("magic", 0, 4),
        ("version", 4, 2),
        ("msg_type", 6, 2),
        ("flags", 8, 4),
        ("payload_len", 12, 4),
        ("seq", 16, 8),
    ];
    let value = |bytes: &[u8], at: usize, size: usize| {
        bytes[at..at + size]
            .iter()
            .rev()
            .fold(0u64, |v, &b| v << 8 | u64::from(b))
    };
    for (name, at, size) in fields {
        let (g, w) = (value(got, at, size), value(want, at, size));
        if g != w {
            return Error::Runtime(format!("{what} {i}: {name} {g}, expected {w}"));
        }
    }
    Error::Runtime(format!("{what} {i}: the header differs")) // not reached: 24 bytes compared
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
pub fn ping(
    link: &mut Link,
    count: u64,
    warmup: u64,
    size: u64,
    deadline: Instant,
) -> Result<Vec<String>> {
    let mut frame = bench_frame(size)?;
    require(link)?;
    let mut samples: Vec<u64> = Vec::new();
    samples
        .try_reserve_exact(count as usize)
        .map_err(|_| Error::Runtime(format!("no memory for {count} samples")))?;
    let sleeps = link.sleeps();
    bounded(link, deadline, |link| {
        rounds(link, &mut frame, warmup, count, deadline, &mut samples)
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
fn rounds(
    link: &mut Link,
    frame: &mut [u8],
    warmup: u64,
    count: u64,
    deadline: Instant,
    samples: &mut Vec<u64>,
) -> Result<()> {
    let len = frame.len();
    let total = warmup + count;
    for i in 1..=total {
        set_seq(frame, i);
        let start = Instant::now();
        link.write_all(frame)?;
        let header = link.peek(HEADER_SIZE, deadline)?;
        if header != &frame[..HEADER_SIZE] {
            let err = header_differs("round", i, header, frame);
            link.close_connection(); // the reply's length is not ours: out of step
            return Err(err);
        }
        let reply = link.peek(len, deadline)?;
        let end = Instant::now();
        if i == total && reply[HEADER_SIZE..] != frame[HEADER_SIZE..] {
            let err = payload_differs("round", i, &reply[HEADER_SIZE..], &frame[HEADER_SIZE..]);
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

/// `PONG`: read `count` frames, each whole and its header checked as by RECV, and write each
/// back byte for byte, straight from the input buffer.
pub fn pong(link: &mut Link, count: u64, deadline: Instant) -> Result<Vec<String>> {
    require(link)?;
    let sleeps = link.sleeps();
    bounded(link, deadline, |link| {
        for _ in 0..count {
            let header = wire::peek_frame(link, deadline)?;
            link.echo(HEADER_SIZE + header.payload_len)?;
        }
        Ok(())
    })?;
    let waits = link.sleeps() - sleeps;
    Ok(vec![format!("rounds={count}"), format!("waits={waits}")])
}

/// `FLOOD`: write the bench frame `count` times, seq 1 to `count`, timing the whole.
pub fn flood(link: &mut Link, count: u64, size: u64) -> Result<Vec<String>> {
    let mut frame = bench_frame(size)?;
    require(link)?;
    let sleeps = link.sleeps();
    let start = Instant::now();
    for i in 1..=count {
        set_seq(&mut frame, i);
        link.write_all(&frame)?;
    }
    let ns = nanos(start, Instant::now());
    let waits = link.sleeps() - sleeps;
    Ok(vec![
        format!("sent={count}"),
        format!("bytes={}", count * frame.len() as u64),
        format!("ns={ns}"),
        format!("waits={waits}"),
    ])
}

/// `SINK`: read `count` bench frames, each with the next seq, the first and the last compared
/// whole; `ns` from the end of the first frame to the end of the last.
pub fn sink(link: &mut Link, count: u64, size: u64, deadline: Instant) -> Result<Vec<String>> {
    let mut frame = bench_frame(size)?;
    require(link)?;
    let len = frame.len();
    let sleeps = link.sleeps();
    let (mut first, mut last) = (None, None);
    for i in 1..=count {
        set_seq(&mut frame, i);
        let header = link.peek(HEADER_SIZE, deadline)?;
        if header != &frame[..HEADER_SIZE] {
            let err = header_differs("frame", i, header, &frame);
            link.close_connection(); // out of step
            return Err(err);
        }
        let got = link.peek(len, deadline)?;
        if (i == 1 || i == count) && got[HEADER_SIZE..] != frame[HEADER_SIZE..] {
            let err = payload_differs("frame", i, &got[HEADER_SIZE..], &frame[HEADER_SIZE..]);
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
    fn the_bench_frame() {
        let frame = bench_frame(64).unwrap();
        assert_eq!(frame.len(), HEADER_SIZE + 64);
        let (header, payload) = frame.split_at(HEADER_SIZE);
        let mut raw = [0u8; HEADER_SIZE];
        raw.copy_from_slice(header);
        let h = wire::check_header(&raw).unwrap();
        assert_eq!((h.msg_type, h.payload_len, h.seq), (Blob::ID, 64, 0));
        let blob: Blob = codec::decode_message(payload).unwrap();
        assert_eq!(blob.data.len(), 56);
        assert!(blob.data.iter().enumerate().all(|(j, &b)| b == j as u8));
        assert_eq!(blob.checksum, crc32(&blob.data));
        assert!(bench_frame(7).is_err() && bench_frame(1 << 20).is_ok());
        assert!(bench_frame((1 << 20) + 1).is_err());
    }

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

    #[test]
    fn a_wrong_header_is_named() {
        let want = bench_frame(8).unwrap();
        let mut got = want.clone();
        set_seq(&mut got, 3);
        let text = header_differs("round", 2, &got[..HEADER_SIZE], &want[..HEADER_SIZE]);
        assert_eq!(text, Error::Runtime("round 2: seq 3, expected 0".into()));
    }
}
