//! The stream message as `STREAM` describes it (PEER_CONTRACT.md, "Streams"): P(i, n), the
//! payload of the stream's frame with seq `i` and `n` data elements, as bytes. The template
//! (the payload with no data) gets `n` elements at byte `at`, element `j` the integer
//! `(i + j) mod 256` in `width` bytes, and each patch writes `mul * n + add` over the template
//! (a length prefix, a count). BLAST, DRAIN and the bench frames write and compare P(i, n) as
//! bytes: no codec in the loop, and no message known but by its index.

use crate::codec::parse_blob;
use crate::error::{Error, Result};
use crate::protocol::Protocol;
use crate::wire::no_frame;

/// The most patches a layout has.
pub const MAX_PATCHES: usize = 8;

fn request(text: String) -> Error {
    Error::Request(text)
}

/// A decimal token that fits a u64.
fn number(token: &str, what: &str) -> Result<u64> {
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) {
        return Err(request(format!("bad {what} {token:?}")));
    }
    token
        .parse()
        .map_err(|_| request(format!("bad {what} {token}: beyond u64")))
}

/// A width of 1 to 8 bytes.
fn bytes_wide(token: &str, what: &str) -> Result<usize> {
    match number(token, what)? {
        n @ 1..=8 => Ok(n as usize),
        n => Err(request(format!("bad {what} {n}: 1 to 8"))),
    }
}

/// `le` or `be`: whether big-endian.
fn order(token: &str) -> Result<bool> {
    match token {
        "le" => Ok(false),
        "be" => Ok(true),
        _ => Err(request(format!("bad byte order {token:?}: le or be"))),
    }
}

/// Write the low `width` bytes of `value` over `out`, in the byte order asked.
#[inline]
fn put(out: &mut [u8], value: u64, big: bool) {
    let width = out.len();
    let bytes = value.to_le_bytes();
    out.copy_from_slice(&bytes[..width]);
    if big {
        out.reverse();
    }
}

/// An integer of the template that changes with `n`: `mul * n + add`, modulo 2^(8 * width).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Patch {
    pub offset: usize,
    pub width: usize,
    pub big: bool,
    pub mul: u64,
    pub add: u64,
}

/// The layout of the stream message, from `STREAM`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The stream message's index in the schema.
    pub message: usize,
    pub template: Vec<u8>,
    pub at: usize,
    pub width: usize,
    pub big: bool,
    /// The most data elements a frame carries.
    pub max: u64,
    pub patches: Vec<Patch>,
}

impl Layout {
    /// The layout `STREAM <Message> <template> <at> <width> <order> <max> <k> [<offset> <width>
    /// <order> <mul> <add>]...` gives (`args` without the `STREAM`), checked.
    pub fn parse<P: Protocol>(args: &[&str]) -> Result<Layout> {
        let usage = "usage: STREAM <Message> <template> <at> <width> <order> <max> <k> \
                     [<offset> <width> <order> <mul> <add>]...";
        if args.len() < 7 {
            return Err(request(usage.into()));
        }
        if !P::HAS_FRAME {
            return Err(no_frame());
        }
        if P::SEQ_MAX == 0 {
            let why = "the frame has no seq field, which the streams number their frames by";
            return Err(Error::Unsupported(why.into()));
        }
        let message = P::message_index(args[0])
            .ok_or_else(|| request(format!("unknown message {:?}", args[0])))?;
        let template = parse_blob(args[1]).ok_or_else(|| request("bad template blob".into()))?;
        let room = u64::from(P::MAX_PAYLOAD);
        let len = template.len() as u64;
        if len > room {
            return Err(request(format!(
                "the template's {len} bytes are more than max_payload {room}"
            )));
        }
        let at = number(args[2], "at")?;
        if at > len {
            return Err(request(format!(
                "bad at {at}: 0 to {len}, the template's length"
            )));
        }
        let at = at as usize;
        let width = bytes_wide(args[3], "width")?;
        let big = order(args[4])?;
        let max = number(args[5], "max")?;
        // u128: max * width may be beyond u64
        if u128::from(len) + u128::from(max) * width as u128 > u128::from(room) {
            return Err(request(format!(
                "bad max {max}: the template and {max} elements of {width} bytes are more than max_payload {room}"
            )));
        }
        let k = number(args[6], "k")?;
        if k > MAX_PATCHES as u64 {
            return Err(request(format!("bad k {k}: at most {MAX_PATCHES} patches")));
        }
        let k = k as usize;
        if args.len() != 7 + 5 * k {
            return Err(request(format!(
                "{k} patches are {} words after k, not {}",
                5 * k,
                args.len() - 7
            )));
        }
        let mut patches: Vec<Patch> = Vec::with_capacity(k);
        for words in args[7..].chunks(5) {
            let offset = number(words[0], "patch offset")?;
            let width = bytes_wide(words[1], "patch width")?;
            let big = order(words[2])?;
            let mul = number(words[3], "patch mul")?;
            let add = number(words[4], "patch add")?;
            let end = offset.saturating_add(width as u64);
            if end > len {
                return Err(request(format!(
                    "the patch at {offset} of {width} bytes ends beyond the template's {len} bytes"
                )));
            }
            let (offset, end) = (offset as usize, end as usize);
            if offset < at && at < end {
                return Err(request(format!(
                    "the patch at {offset} of {width} bytes straddles at {at}"
                )));
            }
            if let Some(p) = patches
                .iter()
                .find(|p| offset < p.offset + p.width && p.offset < end)
            {
                return Err(request(format!(
                    "the patch at {offset} of {width} bytes overlaps the one at {}",
                    p.offset
                )));
            }
            patches.push(Patch {
                offset,
                width,
                big,
                mul,
                add,
            });
        }
        Ok(Layout {
            message,
            template,
            at,
            width,
            big,
            max,
            patches,
        })
    }

    /// The payload size of a frame with `n` data elements (`n` at most `max`).
    #[inline]
    pub fn size(&self, n: u64) -> u64 {
        self.template.len() as u64 + n * self.width as u64
    }

    /// The data elements of a payload of `size` bytes; None when no `n` from 0 to `max` gives it.
    pub fn elements(&self, size: u64) -> Option<u64> {
        let extra = size.checked_sub(self.template.len() as u64)?;
        let width = self.width as u64;
        if extra % width != 0 || extra / width > self.max {
            return None;
        }
        Some(extra / width)
    }

    /// The template with its patches for `n` elements, into `out` (the payload with no data).
    pub fn patched(&self, n: u64, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&self.template);
        for p in &self.patches {
            let value = p.mul.wrapping_mul(n).wrapping_add(p.add);
            put(&mut out[p.offset..p.offset + p.width], value, p.big);
        }
    }

    /// P(`seq`, `n`), into `out`; `data` has room for `n` elements (`Data::reserve`).
    pub fn payload(&self, seq: u64, n: u64, data: &Data, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&self.template[..self.at]);
        out.extend_from_slice(data.of(seq, n));
        out.extend_from_slice(&self.template[self.at..]);
        let moved = n as usize * self.width;
        for p in &self.patches {
            let value = p.mul.wrapping_mul(n).wrapping_add(p.add);
            let offset = if p.offset >= self.at {
                p.offset + moved
            } else {
                p.offset
            };
            put(&mut out[offset..offset + p.width], value, p.big);
        }
    }

    /// Whether `payload` is P(`seq`, `n`), byte for byte; `scratch` holds the patched template
    /// of `n` elements, as `patched` wrote it.
    #[inline]
    pub fn matches(&self, seq: u64, n: u64, data: &Data, scratch: &[u8], payload: &[u8]) -> bool {
        let bytes = n as usize * self.width;
        payload.len() == scratch.len() + bytes
            && payload[..self.at] == scratch[..self.at]
            && payload[self.at + bytes..] == scratch[self.at..]
            && payload[self.at..self.at + bytes] == *data.of(seq, n)
    }
}

/// The data elements of the stream, `(k mod 256)` for k = 0, 1, ...: the data of frame `i`
/// with `n` elements is the run that starts at element `i mod 256`, one slice, so writing and
/// comparing it are each one copy or compare. It grows to the longest run asked for.
pub struct Data {
    bytes: Vec<u8>,
    width: usize,
    big: bool,
}

impl Data {
    pub fn new(layout: &Layout) -> Data {
        Data {
            bytes: Vec::new(),
            width: layout.width,
            big: layout.big,
        }
    }

    /// Make room for runs of `n` elements (at most the layout's `max`, so that it fits a payload).
    pub fn reserve(&mut self, n: u64) {
        let want = (256 + n as usize) * self.width;
        let have = self.bytes.len() / self.width;
        if self.bytes.len() >= want {
            return;
        }
        self.bytes.reserve(want - self.bytes.len());
        let mut element = [0u8; 8];
        for k in have..256 + n as usize {
            let e = &mut element[..self.width];
            put(e, k as u64 & 0xff, self.big);
            self.bytes.extend_from_slice(e);
        }
    }

    /// The data of frame `seq` with `n` elements (room made for `n`).
    #[inline]
    pub fn of(&self, seq: u64, n: u64) -> &[u8] {
        let start = (seq & 0xff) as usize * self.width;
        &self.bytes[start..start + n as usize * self.width]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(width: usize, big: bool, patches: Vec<Patch>) -> Layout {
        Layout {
            message: 0,
            template: vec![0xaa, 0, 0, 0, 0xbb, 0, 0],
            at: 4,
            width,
            big,
            max: 1000,
            patches,
        }
    }

    fn reference(l: &Layout, seq: u64, n: u64) -> Vec<u8> {
        let mut t = l.template.clone();
        for p in &l.patches {
            let v =
                (u128::from(p.mul) * u128::from(n) + u128::from(p.add)) % (1u128 << (8 * p.width));
            let mut b = (v as u64).to_le_bytes()[..p.width].to_vec();
            if p.big {
                b.reverse();
            }
            t[p.offset..p.offset + p.width].copy_from_slice(&b);
        }
        let mut out = t[..l.at].to_vec();
        for j in 0..n {
            let mut b = ((seq + j) & 0xff).to_le_bytes()[..l.width].to_vec();
            if l.big {
                b.reverse();
            }
            out.extend(b);
        }
        out.extend_from_slice(&t[l.at..]);
        out
    }

    #[test]
    fn payloads_are_the_contracts() {
        let before = Patch {
            offset: 0,
            width: 3,
            big: true,
            mul: 2,
            add: 5,
        };
        let after = Patch {
            offset: 5,
            width: 2,
            big: false,
            mul: u64::MAX,
            add: 7,
        };
        for (width, big) in [(1, false), (2, false), (2, true), (8, true)] {
            let l = layout(width, big, vec![before.clone(), after.clone()]);
            let mut data = Data::new(&l);
            data.reserve(600);
            let (mut got, mut scratch) = (Vec::new(), Vec::new());
            for (seq, n) in [(0, 0), (1, 1), (255, 3), (300, 600), (7, 256)] {
                l.payload(seq, n, &data, &mut got);
                assert_eq!(got, reference(&l, seq, n), "width {width} seq {seq} n {n}");
                assert_eq!(got.len() as u64, l.size(n));
                assert_eq!(l.elements(l.size(n)), Some(n));
                l.patched(n, &mut scratch);
                assert!(l.matches(seq, n, &data, &scratch, &got));
                assert!(!l.matches(seq + 1, n, &data, &scratch, &got) || n == 0);
                let mut bad = got.clone();
                bad[0] ^= 1;
                assert!(!l.matches(seq, n, &data, &scratch, &bad));
            }
        }
    }

    #[test]
    fn sizes_without_a_whole_n_are_none() {
        let l = layout(2, false, vec![]);
        assert_eq!(l.elements(6), None);
        assert_eq!(l.elements(7), Some(0));
        assert_eq!(l.elements(8), None);
        assert_eq!(l.elements(9), Some(1));
        assert_eq!(l.elements(7 + 2000), Some(1000));
        assert_eq!(l.elements(7 + 2002), None);
    }
}
