//! What the kit needs of a schema: the generated code implements `Protocol` for a unit type
//! (`schema::Schema`) and hands it to `crate::run`. The kit knows no message; every size is an
//! associated constant, so each peer's kit code is compiled for its schema (no table lookups on
//! the hot paths).

use crate::error::Result;
use crate::wire::{self, Direction, Head, Header, Info, Part};

/// A schema's messages, its frame and its codec entry points.
pub trait Protocol: Sized + 'static {
    /// The plain header values of a frame (`[i128; PLAIN_COUNT]`).
    type Plain: Copy + Default + std::fmt::Debug + PartialEq + Eq + AsRef<[i128]> + AsMut<[i128]>;
    /// `format.version`: the newest protocol version, the one spoken by default.
    const NEWEST_VERSION: u16;
    /// `format.max_payload`: the largest payload of a frame, in bytes.
    const MAX_PAYLOAD: u32;
    /// Whether the schema declares a frame.
    const HAS_FRAME: bool;
    /// The header's size, in bytes.
    const HEADER_SIZE: usize;
    /// The checksum's size after the payload (0: none).
    const TRAILER_SIZE: usize;
    /// The largest seq the frame carries (0: it has no seq field).
    const SEQ_MAX: u64;
    /// The messages, by index.
    const MESSAGES: &'static [Info];
    /// The header, field by field.
    const HEADER_FIELDS: &'static [Part];

    /// The index of the message called `name`.
    fn message_index(name: &str) -> Option<usize>;
    /// ENCODE: the payload of message `index` given in text form.
    fn encode_text(index: usize, words: &[&str], version: u16) -> Result<Vec<u8>>;
    /// DECODE: the text form of a payload of message `index`.
    fn decode_text(index: usize, payload: &[u8], version: u16) -> Result<Vec<String>>;
    /// ECHO: a payload of message `index` decoded and encoded again.
    fn reencode(index: usize, payload: &[u8], version: u16) -> Result<Vec<u8>>;
    /// Whether a payload of message `index` decodes.
    fn check(index: usize, payload: &[u8], version: u16) -> Result<()>;
    /// Append the whole frame of message `index` around `payload`.
    fn write_frame(
        out: &mut Vec<u8>,
        index: usize,
        seq: u64,
        plain: &[i128],
        payload: &[u8],
    ) -> Result<()>;
    /// Check a frame header and say how long the whole frame is.
    fn check_head(h: &[u8], direction: Direction) -> Result<Header<Self::Plain>>;
    /// Check a whole frame's checksum.
    fn check_sum(frame: &[u8], head: &Header<Self::Plain>) -> Result<()>;

    /// Whether a library judges the frames RECV and ECHO read (a framing adapter, docs/kits.md
    /// "Framing libraries"): the kit only finds each frame (`find_head`: its id and length)
    /// and hands it whole to the library, checking no constant, checksum or seq itself.
    const LIBRARY_FRAMES: bool = false;
    /// Find a frame header for the library to judge: the message (its id) and the length,
    /// no constant checked. Only called when `LIBRARY_FRAMES`.
    fn find_head(h: &[u8], direction: Direction) -> Result<Header<Self::Plain>> {
        Self::check_head(h, direction)
    }

    /// SEND: the whole frame of message `index` given in text form. A framing adapter
    /// overrides it with the library's frame.
    fn send_frame(
        index: usize,
        seq: u64,
        plain: &[i128],
        words: &[&str],
        version: u16,
    ) -> Result<Vec<u8>> {
        let payload = Self::encode_text(index, words, version)?;
        wire::frame::<Self>(index, seq, plain, &payload)
    }
    /// RECV: the text form of a whole frame received (its header and checksum checked, but
    /// where `LIBRARY_FRAMES`).
    fn recv_words(head: &Head<Self>, frame: &[u8], version: u16) -> Result<Vec<String>> {
        Self::decode_text(head.message, wire::payload::<Self>(frame, head), version)
    }
    /// ECHO: the frame sent back for a whole frame received.
    fn echo_frame(head: &Head<Self>, frame: &[u8], version: u16) -> Result<Vec<u8>> {
        let back = Self::reencode(head.message, wire::payload::<Self>(frame, head), version)?;
        wire::frame::<Self>(head.message, head.seq, head.plain.as_ref(), &back)
    }
}
