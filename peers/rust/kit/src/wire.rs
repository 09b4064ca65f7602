//! Frames (WIRE.md "Frame") as the schema declares them. The generated code writes a frame
//! and checks a header and a checksum (`Protocol::write_frame`, `check_head`, `check_sum`) with
//! the pieces below, which know no layout; then whole frames are read from a connection, or
//! taken from a buffer, with them.

use std::fmt::Display;
use std::time::Instant;

pub use crate::codec::{get_int, get_uint, put_uint};
use crate::error::{Count, Error, Result};
use crate::protocol::Protocol;
use crate::transport::Link;

/// Which side's messages a receiver reads (`RECV <ms> request`), or either.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Any,
    Request,
    Response,
}

impl Direction {
    pub fn parse(word: &str) -> Option<Direction> {
        match word {
            "request" => Some(Direction::Request),
            "response" => Some(Direction::Response),
            _ => None,
        }
    }
}

/// A message as the frame knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    pub name: &'static str,
    pub id: u32,
    pub direction: Direction,
    /// The checksum's per-message byte (0 when the checksum has none).
    pub seed: u8,
    /// The newest version of its fields (`Message::NEWEST`).
    pub newest: u16,
    /// Whether trailing zero bytes are left off its payload (`Message::TRIM`).
    pub trim: bool,
}

/// What a header field is for (WIRE.md, "Frame").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Const,
    Id,
    Length,
    Seq,
    Plain,
}

/// A header field: where it is and what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    pub name: &'static str,
    pub offset: usize,
    pub size: usize,
    pub big: bool,
    pub role: Role,
    pub min: i128,
    pub max: i128,
}

/// A checked frame header: the message (its index in the schema), the payload's length, the
/// seq, the plain header values in header order, and the whole frame's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<P> {
    pub message: usize,
    pub payload_len: usize,
    pub seq: u64,
    pub plain: P,
    pub size: usize,
}

/// The error of a schema that declares no frame.
pub fn no_frame() -> Error {
    Error::Unsupported("the schema declares no frame".into())
}

/// A header constant that is not: `decode const frame.<name>`.
pub fn header_const(name: &str, got: u64, want: u64) -> Error {
    Error::Const {
        path: format!("frame.{name}"),
        got: format!("{got:#x}"),
        want: format!("{want:#x}"),
    }
}

fn side(direction: Direction) -> &'static str {
    match direction {
        Direction::Any => "",
        Direction::Request => " sent as a request",
        Direction::Response => " sent as a response",
    }
}

/// An id that names no message (`field` empty: the frame has no id field).
pub fn no_message(field: &str, id: u64, direction: Direction) -> Error {
    let path = if field.is_empty() {
        "frame".to_owned()
    } else {
        format!("frame.{field}")
    };
    let text = if field.is_empty() {
        format!("no message is{}", side(direction))
    } else {
        format!("no message{} has id {id}", side(direction))
    };
    Error::Type { path, text }
}

/// An id two messages share, read without a direction.
pub fn two_messages(field: &str, id: u64, first: &str, second: &str) -> Error {
    if field.is_empty() {
        return Error::Type {
            path: "frame".to_owned(),
            text: format!(
                "the frame has no id and {first} and {second} are both possible: say which direction is read"
            ),
        };
    }
    Error::Type {
        path: format!("frame.{field}"),
        text: format!(
            "id {id} is {first} and {second}: say which direction is read (request|response)"
        ),
    }
}

/// The payload's length from the length field's value `n`, which counts `adjust` bytes
/// besides the payload.
#[inline]
pub fn payload_len(field: &str, n: u64, adjust: u64, max: u32) -> Result<usize> {
    let bad = |text: String| Error::FrameLength {
        path: format!("frame.{field}"),
        text,
    };
    if n < adjust {
        return Err(bad(format!(
            "{n} is less than the {adjust} bytes it counts besides the payload"
        )));
    }
    let len = n - adjust;
    if len > u64::from(max) {
        return Err(bad(format!(
            "{len} payload bytes, more than max_payload {max}"
        )));
    }
    usize::try_from(len).map_err(|_| bad(format!("{len} payload bytes")))
}

/// The length field's value for a payload of `len` bytes (at most `max`).
pub fn frame_length(len: usize, adjust: u64, max: u32, message: &str) -> Result<u64> {
    match u32::try_from(len) {
        Ok(n) if n <= max => Ok(u64::from(n) + adjust),
        _ => Err(Error::TooLongToEncode {
            path: message.into(),
            len: len as u64,
            max: u64::from(max),
            count: Count::Bytes,
        }),
    }
}

/// A seq or plain header value that does not fit its field: `encode range frame.<name>`.
pub fn header_range(name: &str, value: impl Display, min: i128, max: i128) -> Error {
    Error::Range {
        path: format!("frame.{name}"),
        value: value.to_string(),
        min,
        max,
    }
}

/// Plain header value `i` of `values`, checked against its field's range.
pub fn plain_value(values: &[i128], i: usize, name: &str, min: i128, max: i128) -> Result<i128> {
    match values.get(i) {
        Some(&v) if (min..=max).contains(&v) => Ok(v),
        Some(&v) => Err(header_range(name, v, min, max)),
        None => Err(header_range(name, "(missing)", min, max)),
    }
}

/// A checksum that is not the frame's: `decode checksum frame.<name>`.
pub fn bad_checksum(name: &str, got: u64, want: u64) -> Error {
    Error::Checksum {
        path: format!("frame.{name}"),
        got,
        want,
    }
}

// ------------------------------------------------------------------ frames of this schema

/// A checked frame header of this schema.
pub type Head<P> = Header<<P as Protocol>::Plain>;

/// The frame of message `index` carrying `payload`, with `seq` and the plain header values.
pub fn frame<P: Protocol>(
    index: usize,
    seq: u64,
    plain: &[i128],
    payload: &[u8],
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    P::write_frame(&mut out, index, seq, plain, payload)?;
    Ok(out)
}

/// The payload of a whole frame.
pub fn payload<'a, P: Protocol>(frame: &'a [u8], head: &Head<P>) -> &'a [u8] {
    &frame[P::HEADER_SIZE..P::HEADER_SIZE + head.payload_len]
}

/// Read one whole frame into the link's input buffer, its header checked (not its checksum),
/// and leave it there (`peek` gives it, `skip` or `echo` take it). After an error in the
/// header the stream is out of step and the connection is closed.
pub fn peek_frame<P: Protocol>(
    link: &mut Link,
    deadline: Instant,
    direction: Direction,
) -> Result<Head<P>> {
    peek_with::<P>(link, deadline, direction, P::check_head)
}

/// `peek_frame` for a library that judges the frame itself: the header read only for the
/// message and the length (`Protocol::find_head`).
pub fn find_frame<P: Protocol>(
    link: &mut Link,
    deadline: Instant,
    direction: Direction,
) -> Result<Head<P>> {
    peek_with::<P>(link, deadline, direction, P::find_head)
}

#[inline]
fn peek_with<P: Protocol>(
    link: &mut Link,
    deadline: Instant,
    direction: Direction,
    read_head: fn(&[u8], Direction) -> Result<Head<P>>,
) -> Result<Head<P>> {
    if !P::HAS_FRAME {
        return Err(no_frame());
    }
    let checked = read_head(link.peek(P::HEADER_SIZE, deadline)?, direction);
    let head = checked.map_err(|err| {
        link.refuse(P::HEADER_SIZE); // the stream is out of step
        err
    })?;
    link.peek(head.size, deadline)?;
    Ok(head)
}

/// Read one whole frame, its checksum checked, and take it: the header and the payload. A
/// frame whose checksum is wrong is taken too (the stream stays in step).
pub fn read_frame<P: Protocol>(
    link: &mut Link,
    deadline: Instant,
    direction: Direction,
) -> Result<(Head<P>, Vec<u8>)> {
    let head = peek_frame::<P>(link, deadline, direction)?;
    let frame = link.peek(head.size, deadline)?; // all read already
    let checked = P::check_sum(frame, &head);
    let body = payload::<P>(frame, &head).to_vec();
    link.skip(head.size);
    checked.map(|()| (head, body))
}

/// Read one whole frame, its checksum checked, and take it: the header and the whole frame's
/// bytes (RECV and ECHO). A frame whose checksum is wrong is taken too (the stream stays in
/// step). Where a library judges the frames (`Protocol::LIBRARY_FRAMES`), the frame is only
/// found, by its id and length: no constant, checksum or seq is checked here.
pub fn read_whole<P: Protocol>(
    link: &mut Link,
    deadline: Instant,
    direction: Direction,
) -> Result<(Head<P>, Vec<u8>)> {
    let head = if P::LIBRARY_FRAMES {
        find_frame::<P>(link, deadline, direction)?
    } else {
        peek_frame::<P>(link, deadline, direction)?
    };
    let frame = link.peek(head.size, deadline)?; // all read already
    let checked = if P::LIBRARY_FRAMES {
        Ok(())
    } else {
        P::check_sum(frame, &head)
    };
    let whole = frame.to_vec();
    link.skip(head.size);
    checked.map(|()| (head, whole))
}

/// The frame that `buf` holds, whole and alone: its header and its payload (WIRE.md,
/// "Receiving": the header, a frame cut short, bytes after it, the checksum).
pub fn split_frame<P: Protocol>(buf: &[u8], direction: Direction) -> Result<(Head<P>, &[u8])> {
    if !P::HAS_FRAME {
        return Err(no_frame());
    }
    let head = P::check_head(buf, direction)?;
    if buf.len() < head.size {
        let (got, need) = (buf.len(), head.size);
        return Err(Error::FrameCut { got, need });
    }
    if buf.len() > head.size {
        let left = buf.len() - head.size;
        return Err(Error::FrameTrailing { left });
    }
    P::check_sum(buf, &head)?;
    Ok((head, payload::<P>(buf, &head)))
}
