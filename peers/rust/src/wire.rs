//! Frames (WIRE.md "Frame"): the 24-byte header, written and checked in the order WIRE.md
//! gives, and whole frames read from a connection.

use std::time::Instant;

use crate::error::{Error, Result};
use crate::schema;
use crate::transport::Link;

pub const HEADER_SIZE: usize = 24;

/// A checked frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub msg_type: u16,
    pub payload_len: usize,
    pub seq: u64,
}

/// The frame of message `msg_type` carrying `payload`.
pub fn frame(msg_type: u16, seq: u64, payload: &[u8]) -> Result<Vec<u8>> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&n| n <= schema::MAX_PAYLOAD)
        .ok_or_else(|| Error::Runtime(format!("a payload of {} bytes", payload.len())))?;
    let mut out = Vec::with_capacity(HEADER_SIZE + payload.len());
    out.extend_from_slice(&schema::MAGIC.to_le_bytes());
    out.extend_from_slice(&schema::VERSION.to_le_bytes());
    out.extend_from_slice(&msg_type.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // flags
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(payload);
    Ok(out)
}

fn field<const N: usize>(header: &[u8; HEADER_SIZE], at: usize) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&header[at..at + N]);
    out
}

/// Check a header: magic, version, flags, msg_type known, payload_len within the limit.
pub fn check_header(h: &[u8; HEADER_SIZE]) -> Result<Header> {
    let magic = u32::from_le_bytes(field(h, 0));
    let version = u16::from_le_bytes(field(h, 4));
    let msg_type = u16::from_le_bytes(field(h, 6));
    let flags = u32::from_le_bytes(field(h, 8));
    let payload_len = u32::from_le_bytes(field(h, 12));
    let seq = u64::from_le_bytes(field(h, 16));
    if magic != schema::MAGIC {
        return Err(Error::Magic {
            got: magic,
            want: schema::MAGIC,
        });
    }
    if version != schema::VERSION {
        return Err(Error::Version {
            got: version,
            want: schema::VERSION,
        });
    }
    if flags != 0 {
        return Err(Error::Flags { got: flags });
    }
    if schema::message_name(msg_type).is_none() {
        return Err(Error::Type { id: msg_type });
    }
    if payload_len > schema::MAX_PAYLOAD {
        return Err(Error::FrameTooLong {
            len: payload_len,
            max: schema::MAX_PAYLOAD,
        });
    }
    let payload_len = usize::try_from(payload_len)
        .map_err(|_| Error::Runtime(format!("a payload of {payload_len} bytes")))?;
    Ok(Header {
        msg_type,
        payload_len,
        seq,
    })
}

/// Read one whole frame into the link's input buffer, its header checked, and leave it there
/// (`peek` gives it, `skip` or `echo` take it). After an error in the header the stream is
/// out of step and the connection is closed; the payload is not decoded here.
pub fn peek_frame(link: &mut Link, deadline: Instant) -> Result<Header> {
    let mut raw = [0; HEADER_SIZE];
    raw.copy_from_slice(link.peek(HEADER_SIZE, deadline)?);
    let header = check_header(&raw).map_err(|err| {
        link.close_connection(); // the stream is out of step
        err
    })?;
    link.peek(HEADER_SIZE + header.payload_len, deadline)?;
    Ok(header)
}

/// Read one whole frame: its header and payload (see `peek_frame`).
pub fn read_frame(link: &mut Link, deadline: Instant) -> Result<(Header, Vec<u8>)> {
    let header = peek_frame(link, deadline)?;
    let len = HEADER_SIZE + header.payload_len;
    let payload = link.peek(len, deadline)?[HEADER_SIZE..].to_vec(); // all read already
    link.skip(len);
    Ok((header, payload))
}
