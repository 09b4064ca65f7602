//! The schema-independent half of the codec: what the generated `schema.rs` calls for each
//! kind of type of WIRE.md ("Types"), for frames ("Frame") and for each token of
//! PEER_CONTRACT.md ("Values as text"). Nothing here knows a message or a frame layout; a new
//! schema changes only the generated file.
//!
//! Floats stay bit patterns (`to_bits`/`from_bits`, never arithmetic) so that signalling NaN
//! payloads survive. Every length read from the wire is checked against its `max` before
//! anything is allocated for it.

use std::fmt::Display;

pub use crate::error::{Count, Error, Result};
// The generated code names std's types through this module, so that a schema type called
// `Vec` or `String` cannot shadow them.
pub use std::option::Option;
pub use std::string::String;
pub use std::vec::Vec;

/// A schema struct: its bytes and its text form, both ways.
pub trait Wire: Sized {
    /// Append the value's bytes; fails on a value the wire cannot carry (too long, NUL in a
    /// `char[N]`), with the path relative to this value.
    fn encode(&self, out: &mut Vec<u8>) -> Result<()>;
    /// Read a value, with the path of any error relative to this value.
    fn decode(r: &mut Reader<'_>) -> Result<Self>;
    /// Take the value's tokens.
    fn parse(t: &mut Tokens<'_>) -> Result<Self>;
    /// Append the value's tokens.
    fn format(&self, out: &mut Vec<String>);
}

/// A schema message: what a frame carries, at a protocol version (WIRE.md, "Versions").
pub trait Message: Sized {
    const NAME: &'static str;
    /// The newest version of its fields (1: no extensions).
    const NEWEST: u16;
    /// Whether trailing zero bytes are left off its payload (WIRE.md, "Trailing zeros").
    const TRIM: bool;
    /// Append the payload as a peer speaking `version` writes it (newer fields left out).
    fn encode(&self, out: &mut Vec<u8>, version: u16) -> Result<()>;
    /// Read the fields of `version` and older; newer ones, and groups the payload ends
    /// before, take their defaults.
    fn decode(r: &mut Reader<'_>, version: u16) -> Result<Self>;
    fn parse(t: &mut Tokens<'_>) -> Result<Self>;
    fn format(&self, out: &mut Vec<String>);
    /// With `TRIM`: the size of its fields of `version` and older (all of a fixed size).
    fn size_at(_version: u16) -> usize {
        0
    }
}

/// The payload of message `M` at `version`.
pub fn encode_message<M: Message>(value: &M, version: u16) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    value
        .encode(&mut out, version)
        .map_err(|e| e.at_root(M::NAME))?;
    if M::TRIM {
        let keep = out.iter().rposition(|&b| b != 0).map_or(1, |at| at + 1);
        out.truncate(keep.max(1));
    }
    Ok(out)
}

/// Message `M` from a payload, at `version`: every byte must be used, but for the bytes of
/// fields newer than `version`.
pub fn decode_message<M: Message>(payload: &[u8], version: u16) -> Result<M> {
    if M::TRIM && payload.len() < M::size_at(version) {
        let mut full = payload.to_vec();
        full.resize(M::size_at(version), 0); // the trailing zeros the sender left off
        return decode_whole(&full, version);
    }
    decode_whole(payload, version)
}

fn decode_whole<M: Message>(payload: &[u8], version: u16) -> Result<M> {
    let mut r = Reader::new(payload);
    let value = M::decode(&mut r, version).map_err(|e| e.at_root(M::NAME))?;
    match r.left() {
        0 => Ok(value),
        _ if M::NEWEST > version => Ok(value),
        left => Err(Error::Trailing {
            path: M::NAME.into(),
            left,
        }),
    }
}

/// Message `M` from all the words of its text form; encode errors of fields newer than
/// `version` are not reported (they are not encoded).
pub fn parse_message<M: Message>(words: &[&str], version: u16) -> Result<M> {
    let mut t = Tokens::new(words, M::NAME, version);
    let value = M::parse(&mut t)?;
    t.finish(value)
}

/// The words of the text form of message `M`.
pub fn format_message<M: Message>(value: &M) -> Vec<String> {
    let mut out = Vec::new();
    value.format(&mut out);
    out
}

/// The error for a message index the schema does not have.
pub fn unknown_message(index: usize) -> Error {
    Error::Unsupported(format!("message #{index}"))
}

/// `ENCODE`: text form to payload.
pub fn encode_text<M: Message>(words: &[&str], version: u16) -> Result<Vec<u8>> {
    encode_message(&parse_message::<M>(words, version)?, version)
}

/// `DECODE`: payload to text form.
pub fn decode_text<M: Message>(payload: &[u8], version: u16) -> Result<Vec<String>> {
    Ok(format_message(&decode_message::<M>(payload, version)?))
}

/// `ECHO`: payload to value and back to payload.
pub fn reencode<M: Message>(payload: &[u8], version: u16) -> Result<Vec<u8>> {
    encode_message(&decode_message::<M>(payload, version)?, version)
}

/// Whether a payload decodes (the value is dropped).
pub fn check<M: Message>(payload: &[u8], version: u16) -> Result<()> {
    decode_message::<M>(payload, version).map(drop)
}

// ------------------------------------------------------------------ integers of any width

/// The unsigned integer of `size` bytes at `at`.
#[inline]
pub fn get_uint(bytes: &[u8], at: usize, size: usize, big: bool) -> u64 {
    let field = &bytes[at..at + size];
    if big {
        field.iter().fold(0, |v, &b| v << 8 | u64::from(b))
    } else {
        field.iter().rev().fold(0, |v, &b| v << 8 | u64::from(b))
    }
}

/// The two's-complement integer of `size` bytes at `at`.
#[inline]
pub fn get_int(bytes: &[u8], at: usize, size: usize, big: bool) -> i64 {
    let shift = 64 - 8 * size as u32;
    ((get_uint(bytes, at, size, big) << shift) as i64) >> shift
}

/// Append the low `size` bytes of `value`.
#[inline]
pub fn put_uint(out: &mut Vec<u8>, value: u64, size: usize, big: bool) {
    let bytes = value.to_le_bytes();
    if big {
        out.extend(bytes[..size].iter().rev());
    } else {
        out.extend_from_slice(&bytes[..size]);
    }
}

// ------------------------------------------------------------------ lengths and counts

/// How a variable-size value says how long it is: a prefix of `size` bytes (1 to 4; 0 when
/// earlier count or size fields carry it), in big- or little-endian order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prefix {
    pub size: usize,
    pub big: bool,
}

/// No prefix: the length is in count or size fields.
pub const COUNTED: Prefix = Prefix {
    size: 0,
    big: false,
};

/// A count of `raw` units of `scale` bytes each (1: elements) as a number of elements, at
/// most `max`.
#[inline(always)]
pub fn elements(raw: u64, scale: usize, max: u32, count: Count) -> Result<usize> {
    let mut n = raw;
    if scale > 1 {
        if n % scale as u64 != 0 {
            return Err(Error::Uneven {
                path: String::new(),
                text: format!("{raw} bytes is not a whole number of {scale}-byte elements"),
            });
        }
        n /= scale as u64;
    }
    if n > u64::from(max) {
        return Err(Error::TooLong {
            path: String::new(),
            len: n,
            max: u64::from(max),
            count,
        });
    }
    usize::try_from(n).map_err(|_| Error::Runtime(format!("a length of {n} does not fit")))
}

/// The number of elements of a field counted by earlier fields: each `(value, scale)` is a
/// count field's value and the bytes one unit of it stands for. Checked in WIRE.md's order:
/// whole elements, the counts agree, at most `max`.
pub fn counted(counts: &[(u64, usize)], max: u32, count: Count) -> Result<usize> {
    let mut first: Option<u64> = None;
    for &(raw, scale) in counts {
        let mut n = raw;
        if scale > 1 {
            if n % scale as u64 != 0 {
                return Err(Error::Uneven {
                    path: String::new(),
                    text: format!("{raw} bytes is not a whole number of {scale}-byte elements"),
                });
            }
            n /= scale as u64;
        }
        match first {
            None => first = Some(n),
            Some(m) if m != n => {
                return Err(Error::Uneven {
                    path: String::new(),
                    text: format!("its count fields disagree: {m} and {n} elements"),
                })
            }
            Some(_) => {}
        }
    }
    elements(first.unwrap_or(0), 1, max, count)
}

/// What a count field holds for a field of `len` elements of `scale` bytes each (1: counts
/// elements), at most `max` (beyond it, the counted field refuses its length itself).
#[inline]
pub fn count_value(len: usize, scale: usize, max: u64) -> u64 {
    (len as u64).saturating_mul(scale as u64).min(max)
}

/// Check a constant field: `decode const` when `got` is not `want`.
#[inline]
pub fn same<T: PartialEq + Display>(got: T, want: T) -> Result<()> {
    if got == want {
        return Ok(());
    }
    Err(Error::Const {
        path: String::new(),
        got: got.to_string(),
        want: want.to_string(),
    })
}

/// A discriminator value `tag` of field `on` that picks no case of union `name` (decoding).
pub fn no_case(on: &str, tag: impl Display, name: &str) -> Error {
    Error::Union {
        path: String::new(),
        text: format!("{on} = {tag} picks no case of union {name}"),
    }
}

/// A union value that is not the case its discriminator picks (encoding).
pub fn wrong_case(on: &str, tag: impl Display, name: &str) -> Error {
    Error::NoCase {
        path: String::new(),
        text: format!("{on} = {tag} does not pick this case (or any case) of union {name}"),
    }
}

// ------------------------------------------------------------------ bytes -> value

/// Bytes being decoded, and how far the decoder has got.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    /// Bytes not read yet.
    #[inline]
    pub fn left(&self) -> usize {
        self.data.len() - self.pos
    }

    /// The next `n` bytes.
    #[inline]
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let left = self.left();
        if n > left {
            return Err(Error::Truncated {
                path: String::new(),
                need: n,
                left,
            });
        }
        let chunk = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(chunk)
    }

    /// The next `N` bytes, for `from_le_bytes` and `from_be_bytes`.
    #[inline]
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// A `u24`.
    #[inline]
    pub fn u24(&mut self, big: bool) -> Result<u32> {
        let [a, b, c] = self.array::<3>()?;
        Ok(if big {
            u32::from_be_bytes([0, a, b, c])
        } else {
            u32::from_le_bytes([a, b, c, 0])
        })
    }

    /// An `i24`, sign-extended.
    #[inline]
    pub fn i24(&mut self, big: bool) -> Result<i32> {
        Ok(((self.u24(big)? << 8) as i32) >> 8)
    }

    #[inline]
    pub fn bool(&mut self) -> Result<bool> {
        match self.array::<1>()? {
            [0] => Ok(false),
            [1] => Ok(true),
            [byte] => Err(Error::Bool {
                path: String::new(),
                byte,
            }),
        }
    }

    /// `char[n]`: the text before the first NUL; only NULs may follow it.
    pub fn char(&mut self, n: usize) -> Result<Vec<u8>> {
        let raw = self.take(n)?;
        let end = raw.iter().position(|&b| b == 0).unwrap_or(n);
        if raw[end..].iter().any(|&b| b != 0) {
            return Err(Error::Char {
                path: String::new(),
            });
        }
        Ok(raw[..end].to_vec())
    }

    /// A constant `char[N]`: its N bytes must be `want`'s, NUL padding included.
    pub fn constant(&mut self, want: &[u8]) -> Result<()> {
        let raw = self.take(want.len())?;
        if raw == want {
            return Ok(());
        }
        Err(Error::Const {
            path: String::new(),
            got: hex(raw),
            want: hex(want),
        })
    }

    /// `pad[n]`: n zero bytes.
    pub fn pad(&mut self, n: usize) -> Result<()> {
        if self.take(n)?.iter().any(|&b| b != 0) {
            return Err(Error::Padding {
                path: String::new(),
            });
        }
        Ok(())
    }

    /// A length prefix's value.
    #[inline(always)]
    fn prefix(&mut self, p: Prefix) -> Result<u64> {
        Ok(match p.size {
            1 => u64::from(self.array::<1>()?[0]),
            2 => {
                let b = self.array()?;
                u64::from(if p.big {
                    u16::from_be_bytes(b)
                } else {
                    u16::from_le_bytes(b)
                })
            }
            3 => u64::from(self.u24(p.big)?),
            _ => {
                let b = self.array()?;
                u64::from(if p.big {
                    u32::from_be_bytes(b)
                } else {
                    u32::from_le_bytes(b)
                })
            }
        })
    }

    /// A prefixed length of at most `max` units, refused before anything is allocated.
    #[inline(always)]
    fn length(&mut self, p: Prefix, scale: usize, max: u32, count: Count) -> Result<usize> {
        let raw = self.prefix(p)?;
        elements(raw, scale, max, count)
    }

    #[inline]
    pub fn bytes(&mut self, p: Prefix, max: u32) -> Result<Vec<u8>> {
        let n = self.length(p, 1, max, Count::Bytes)?;
        self.bytes_n(n)
    }

    /// `bytes` of a length given by count fields.
    #[inline]
    pub fn bytes_n(&mut self, n: usize) -> Result<Vec<u8>> {
        Ok(self.take(n)?.to_vec())
    }

    /// A `string`: strict UTF-8 (`std::str::from_utf8` refuses overlongs, surrogates and
    /// code points above U+10FFFF).
    #[inline]
    pub fn string(&mut self, p: Prefix, max: u32) -> Result<String> {
        let n = self.length(p, 1, max, Count::Bytes)?;
        self.string_n(n)
    }

    #[inline]
    pub fn string_n(&mut self, n: usize) -> Result<String> {
        match std::str::from_utf8(self.take(n)?) {
            Ok(text) => Ok(text.to_owned()),
            Err(_) => Err(Error::Utf8 {
                path: String::new(),
            }),
        }
    }

    /// A `bigint` in its minimal two's-complement form, as little-endian bytes.
    #[inline]
    pub fn bigint(&mut self, p: Prefix, max: u32, big: bool) -> Result<Vec<u8>> {
        let n = self.length(p, 1, max, Count::Bytes)?;
        self.bigint_n(n, big)
    }

    #[inline]
    pub fn bigint_n(&mut self, n: usize, big: bool) -> Result<Vec<u8>> {
        let raw = self.take(n)?;
        let value = if big {
            raw.iter().rev().copied().collect()
        } else {
            raw.to_vec()
        };
        if minimal_len(&value) != value.len() {
            return Err(Error::Bigint {
                path: String::new(),
            });
        }
        Ok(value)
    }

    /// `T[N]`: N values, each read by `item`.
    pub fn array_of<T, const N: usize>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<[T; N]> {
        let mut items = Vec::with_capacity(N);
        for i in 0..N {
            items.push(item(self).map_err(|e| e.at_index(i))?);
        }
        items
            .try_into()
            .map_err(|_| Error::Runtime("array length mismatch".into()))
    }

    /// `vec<T>` with a prefix counting elements, or bytes (`scale`: an element's size).
    #[inline]
    pub fn vec_of<T>(
        &mut self,
        p: Prefix,
        scale: usize,
        max: u32,
        item: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        let n = self.length(p, scale, max, Count::Items)?;
        self.vec_n(n, item)
    }

    /// `vec<T>` of `n` values, each read by `item`.
    pub fn vec_n<T>(
        &mut self,
        n: usize,
        mut item: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        // Every value takes at least one byte, so no more than `left` can follow; and no more
        // than about 1 MiB is reserved before the values have actually been read.
        let room = (1 << 20) / std::mem::size_of::<T>().max(1);
        let mut items = Vec::with_capacity(n.min(self.left()).min(room));
        for i in 0..n {
            items.push(item(self).map_err(|e| e.at_index(i))?);
        }
        Ok(items)
    }
}

// ------------------------------------------------------------------ value -> bytes

/// Append a length prefix (nothing for a counted field).
#[inline]
fn put_prefix(out: &mut Vec<u8>, n: u64, p: Prefix) {
    if p.size > 0 {
        put_uint(out, n, p.size, p.big);
    }
}

/// A length of at most `max`, or the encode error that it is not.
#[inline]
fn fits(len: usize, max: u32, count: Count) -> Result<()> {
    if len as u64 <= u64::from(max) {
        return Ok(());
    }
    Err(Error::TooLongToEncode {
        path: String::new(),
        len: len as u64,
        max: u64::from(max),
        count,
    })
}

/// A `u24`: at most 2^24 - 1.
#[inline]
pub fn put_u24(out: &mut Vec<u8>, value: u32, big: bool) -> Result<()> {
    if value > 0xff_ffff {
        return Err(Error::Range {
            path: String::new(),
            value: value.to_string(),
            min: 0,
            max: 0xff_ffff,
        });
    }
    put_uint(out, u64::from(value), 3, big);
    Ok(())
}

/// An `i24`: -2^23 to 2^23 - 1.
#[inline]
pub fn put_i24(out: &mut Vec<u8>, value: i32, big: bool) -> Result<()> {
    if !(-0x80_0000..=0x7f_ffff).contains(&value) {
        return Err(Error::Range {
            path: String::new(),
            value: value.to_string(),
            min: -0x80_0000,
            max: 0x7f_ffff,
        });
    }
    put_uint(out, value as u32 as u64, 3, big);
    Ok(())
}

/// `char[n]`: the text, then NULs up to n bytes.
pub fn put_char(out: &mut Vec<u8>, text: &[u8], n: usize) -> Result<()> {
    if text.contains(&0) {
        return Err(Error::NulInText {
            path: String::new(),
        });
    }
    if text.len() > n {
        let (len, max) = (text.len() as u64, n as u64);
        return Err(Error::TooLongToEncode {
            path: String::new(),
            len,
            max,
            count: Count::Bytes,
        });
    }
    out.extend_from_slice(text);
    out.resize(out.len() + n - text.len(), 0);
    Ok(())
}

pub fn put_bytes(out: &mut Vec<u8>, data: &[u8], max: u32, p: Prefix) -> Result<()> {
    fits(data.len(), max, Count::Bytes)?;
    put_prefix(out, data.len() as u64, p);
    out.extend_from_slice(data);
    Ok(())
}

pub fn put_string(out: &mut Vec<u8>, text: &str, max: u32, p: Prefix) -> Result<()> {
    put_bytes(out, text.as_bytes(), max, p)
}

/// A `bigint` given as two's-complement little-endian bytes, written in its minimal form.
pub fn put_bigint(out: &mut Vec<u8>, value: &[u8], max: u32, p: Prefix, big: bool) -> Result<()> {
    let value = &value[..minimal_len(value)];
    fits(value.len(), max, Count::Needs)?;
    put_prefix(out, value.len() as u64, p);
    if big {
        out.extend(value.iter().rev());
    } else {
        out.extend_from_slice(value);
    }
    Ok(())
}

/// `T[N]`: each value written by `item`.
pub fn put_array<T>(
    out: &mut Vec<u8>,
    items: &[T],
    mut item: impl FnMut(&mut Vec<u8>, &T) -> Result<()>,
) -> Result<()> {
    for (i, v) in items.iter().enumerate() {
        item(out, v).map_err(|e| e.at_index(i))?;
    }
    Ok(())
}

/// `vec<T>`: at most `max` values, the prefix (elements, or bytes: `scale`), the values.
pub fn put_vec<T>(
    out: &mut Vec<u8>,
    items: &[T],
    max: u32,
    p: Prefix,
    scale: usize,
    item: impl FnMut(&mut Vec<u8>, &T) -> Result<()>,
) -> Result<()> {
    fits(items.len(), max, Count::Items)?;
    put_prefix(out, (items.len() * scale) as u64, p);
    put_array(out, items, item)
}

// ------------------------------------------------------------------ bigint

/// The length of the minimal form of two's-complement little-endian bytes (WIRE.md
/// "bigint"): redundant sign-extension bytes dropped, zero as no bytes at all.
pub fn minimal_len(raw: &[u8]) -> usize {
    let mut len = raw.len();
    while len >= 2 {
        let (last, before) = (raw[len - 1], raw[len - 2]);
        if (last == 0x00 && before < 0x80) || (last == 0xff && before >= 0x80) {
            len -= 1;
        } else {
            break;
        }
    }
    if len == 1 && raw[0] == 0 {
        len = 0;
    }
    len
}

/// Two's-complement little-endian bytes from a sign and a magnitude (little-endian), minimal.
fn bigint_from_magnitude(negative: bool, mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.push(0); // room for the sign
    if negative {
        let mut carry = true;
        for b in &mut bytes {
            let (sum, overflow) = (!*b).overflowing_add(u8::from(carry));
            *b = sum;
            carry = overflow;
        }
    }
    bytes.truncate(minimal_len(&bytes));
    bytes
}

/// The text form of a bigint: `0x` or `-0x` and the magnitude in hex, no leading zeros.
pub fn bigint_text(value: &[u8]) -> String {
    let negative = matches!(value.last(), Some(&b) if b >= 0x80);
    let mut magnitude = value.to_vec();
    if negative {
        let mut carry = true;
        for b in &mut magnitude {
            let (sum, overflow) = (!*b).overflowing_add(u8::from(carry));
            *b = sum;
            carry = overflow;
        }
    }
    let digits: String = magnitude.iter().rev().map(|b| format!("{b:02x}")).collect();
    let digits = digits.trim_start_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    format!("{}0x{digits}", if negative { "-" } else { "" })
}

// ------------------------------------------------------------------ hex

/// A blob or byte string in text form: `x` and lowercase hex.
pub fn hex(data: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(1 + 2 * data.len());
    out.push('x');
    for &b in data {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The bytes of an even number of hex digits, upper or lower case.
pub fn unhex(digits: &str) -> Option<Vec<u8>> {
    let pairs = digits.as_bytes().chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return None;
    }
    pairs
        .map(|p| Some(hex_digit(p[0])? << 4 | hex_digit(p[1])?))
        .collect()
}

/// A blob token: `x` and hex.
pub fn parse_blob(token: &str) -> Option<Vec<u8>> {
    unhex(token.strip_prefix('x')?)
}

// ------------------------------------------------------------------ text -> value

/// An integer type of the schema, with its range for `range` errors.
pub trait Int: Copy + Default + TryFrom<i128> + Into<i128> {
    const MIN: i128;
    const MAX: i128;
}

macro_rules! int {
    ($($t:ty),*) => {$(
        impl Int for $t {
            const MIN: i128 = <$t>::MIN as i128;
            const MAX: i128 = <$t>::MAX as i128;
        }
    )*};
}
int!(u8, u16, u32, u64, i8, i16, i32, i64);

/// The range of a `u24`, and of an `i24`.
pub const U24: (i128, i128) = (0, 0xff_ffff);
pub const I24: (i128, i128) = (-0x80_0000, 0x7f_ffff);

/// A decimal token: `-?[0-9]+`, of any size.
struct Decimal {
    /// The value, when it fits an i128 (every schema integer does).
    value: Option<i128>,
    /// The number in canonical decimal, for messages.
    text: String,
}

/// The tokens of a value in text form, taken one at a time.
///
/// Errors that the reference codec finds only while encoding (a number out of range, a text
/// too long, ...) are kept aside, the first one only, and reported after the whole line has
/// parsed: a malformed token anywhere in the line wins, as there. Those of fields newer than
/// the version spoken are dropped: such fields are not encoded.
pub struct Tokens<'a> {
    words: &'a [&'a str],
    pos: usize,
    path: String,
    deferred: Option<Error>,
    version: u16,
    /// Inside a field newer than `version`: its encode errors do not count.
    quiet: bool,
    /// The last decimal token taken, for a union's discriminator.
    last: Option<i128>,
}

impl<'a> Tokens<'a> {
    pub fn new(words: &'a [&'a str], root: &str, version: u16) -> Self {
        Tokens {
            words,
            pos: 0,
            path: root.into(),
            deferred: None,
            version,
            quiet: false,
            last: None,
        }
    }

    /// Parse a field of protocol version `since` with `f`.
    pub fn since<T>(&mut self, since: u16, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let quiet = self.quiet;
        self.quiet |= since > self.version;
        let value = f(self);
        self.quiet = quiet;
        value
    }

    /// The value of the last decimal token taken (`None`: beyond i128, or none yet).
    pub fn last(&self) -> Option<i128> {
        self.last
    }

    /// The value parsed, or the first error: tokens left over, then an encode error.
    pub fn finish<T>(self, value: T) -> Result<T> {
        let left = self.words.len() - self.pos;
        if left > 0 {
            return Err(Error::Request(format!(
                "{left} tokens left over after the value"
            )));
        }
        match self.deferred {
            Some(err) => Err(err),
            None => Ok(value),
        }
    }

    /// Parse the struct field `name` with `f`.
    pub fn field<T>(&mut self, name: &str, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let len = self.path.len();
        self.path.push('.');
        self.path.push_str(name);
        let value = f(self);
        self.path.truncate(len);
        value
    }

    fn index<T>(&mut self, i: u64, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let len = self.path.len();
        self.path.push_str(&format!("[{i}]"));
        let value = f(self);
        self.path.truncate(len);
        value
    }

    fn defer(&mut self, make: impl FnOnce(String) -> Error) {
        if self.deferred.is_none() && !self.quiet {
            self.deferred = Some(make(self.path.clone()));
        }
    }

    fn next(&mut self) -> Result<&'a str> {
        match self.words.get(self.pos) {
            Some(word) => {
                self.pos += 1;
                Ok(word)
            }
            None => Err(Error::Request(format!("missing a token for {}", self.path))),
        }
    }

    fn bad(&self, word: &str) -> Error {
        let shown: String = word.chars().take(40).collect();
        Error::Request(format!("bad token {shown:?} for {}", self.path))
    }

    fn decimal(&mut self) -> Result<Decimal> {
        let word = self.next()?;
        let (negative, digits) = match word.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, word),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.bad(word));
        }
        let digits = digits.trim_start_matches('0');
        let digits = if digits.is_empty() { "0" } else { digits };
        let negative = negative && digits != "0";
        let text = format!("{}{digits}", if negative { "-" } else { "" });
        // 38 digits always fit an i128; longer numbers are out of every range.
        let value = if digits.len() <= 38 {
            text.parse().ok()
        } else {
            None
        };
        self.last = value;
        Ok(Decimal { value, text })
    }

    /// A `u8`..`i64` token; out of range is an `encode range` error.
    pub fn int<T: Int>(&mut self) -> Result<T> {
        self.int_in((T::MIN, T::MAX))
    }

    /// An integer token in `min..=max` (a `u24` or `i24` in a u32 or i32).
    pub fn int_in<T: Int>(&mut self, (min, max): (i128, i128)) -> Result<T> {
        let number = self.decimal()?;
        let fits = number.value.filter(|v| (min..=max).contains(v));
        match fits.and_then(|v| T::try_from(v).ok()) {
            Some(v) => Ok(v),
            None => {
                self.defer(|path| Error::Range {
                    path,
                    value: number.text,
                    min,
                    max,
                });
                Ok(T::default())
            }
        }
    }

    /// An enum token: a number that `value_of` must know, else an `encode enum` error and
    /// `placeholder` as the value.
    pub fn enumeration<E>(
        &mut self,
        name: &'static str,
        placeholder: E,
        value_of: impl FnOnce(i128) -> Option<E>,
    ) -> Result<E> {
        let number = self.decimal()?;
        match number.value.and_then(value_of) {
            Some(v) => Ok(v),
            None => {
                self.defer(|path| Error::NotInEnum {
                    path,
                    value: number.text,
                    name,
                });
                Ok(placeholder)
            }
        }
    }

    /// A flags token: an integer of the range, whose bits outside `mask` are an `encode flags`
    /// error.
    pub fn flags<T: Int>(
        &mut self,
        range: (i128, i128),
        mask: u64,
        name: &'static str,
    ) -> Result<T> {
        let value: T = self.int_in(range)?;
        let bits = value.into() as u64;
        if bits & !mask != 0 {
            self.defer(|path| Error::UnknownBits {
                path,
                value: bits,
                name,
            });
        }
        Ok(value)
    }

    /// A union whose discriminator `on` (its value `tag`) picks no case: an `encode union`
    /// error, once the line has parsed.
    pub fn no_case(&mut self, on: &str, tag: Option<i128>, name: &str) {
        let tag = tag.map_or_else(|| "(out of range)".to_owned(), |t| t.to_string());
        let text = format!("{on} = {tag} picks no case of union {name}");
        self.defer(|path| Error::NoCase { path, text });
    }

    pub fn bool(&mut self) -> Result<bool> {
        match self.next()? {
            "true" => Ok(true),
            "false" => Ok(false),
            word => Err(self.bad(word)),
        }
    }

    /// `0x` and exactly `2 * size` hex digits: a float's bit pattern.
    fn bits(&mut self, size: usize) -> Result<u64> {
        let word = self.next()?;
        match word.strip_prefix("0x").and_then(unhex) {
            Some(bytes) if bytes.len() == size => {
                Ok(bytes.iter().fold(0, |acc, &b| acc << 8 | u64::from(b)))
            }
            _ => Err(self.bad(word)),
        }
    }

    pub fn f32_bits(&mut self) -> Result<u32> {
        let bits = self.bits(4)?;
        u32::try_from(bits).map_err(|_| Error::Runtime("f32 bits".into()))
    }

    pub fn f64_bits(&mut self) -> Result<u64> {
        self.bits(8)
    }

    fn hex(&mut self) -> Result<Vec<u8>> {
        let word = self.next()?;
        parse_blob(word).ok_or_else(|| self.bad(word))
    }

    /// `char[n]`: no NUL inside, at most n bytes.
    pub fn char(&mut self, n: usize) -> Result<Vec<u8>> {
        let text = self.hex()?;
        if text.contains(&0) {
            self.defer(|path| Error::NulInText { path });
        } else if text.len() > n {
            let (len, max) = (text.len() as u64, n as u64);
            self.defer(|path| Error::TooLongToEncode {
                path,
                len,
                max,
                count: Count::Bytes,
            });
        }
        Ok(text)
    }

    pub fn bytes(&mut self, max: u32) -> Result<Vec<u8>> {
        let data = self.hex()?;
        if data.len() as u64 > u64::from(max) {
            let (len, max) = (data.len() as u64, u64::from(max));
            self.defer(|path| Error::TooLongToEncode {
                path,
                len,
                max,
                count: Count::Bytes,
            });
        }
        Ok(data)
    }

    pub fn string(&mut self, max: u32) -> Result<String> {
        let data = self.bytes(max)?;
        match String::from_utf8(data) {
            Ok(text) => Ok(text),
            Err(_) => {
                self.defer(|path| Error::NotUtf8 { path });
                Ok(String::new())
            }
        }
    }

    /// `0x` or `-0x` and hex digits, as minimal two's-complement little-endian bytes.
    pub fn bigint(&mut self, max: u32) -> Result<Vec<u8>> {
        let word = self.next()?;
        let (negative, rest) = match word.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, word),
        };
        let digits = match rest.strip_prefix("0x") {
            Some(d) if !d.is_empty() && d.bytes().all(|b| b.is_ascii_hexdigit()) => d,
            _ => return Err(self.bad(word)),
        };
        let mut magnitude = Vec::with_capacity(digits.len() / 2 + 1);
        for chunk in digits.as_bytes().rchunks(2) {
            let byte = chunk
                .iter()
                .fold(0, |acc, &c| acc << 4 | hex_digit(c).unwrap_or(0));
            magnitude.push(byte);
        }
        let value = bigint_from_magnitude(negative, magnitude);
        if value.len() as u64 > u64::from(max) {
            let (len, max) = (value.len() as u64, u64::from(max));
            self.defer(|path| Error::TooLongToEncode {
                path,
                len,
                max,
                count: Count::Needs,
            });
        }
        Ok(value)
    }

    /// `T[N]`: N values, each taken by `item`.
    pub fn array_of<T, const N: usize>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<[T; N]> {
        let mut items = Vec::with_capacity(N);
        for i in 0..N {
            items.push(self.index(i as u64, &mut item)?);
        }
        items
            .try_into()
            .map_err(|_| Error::Runtime("array length mismatch".into()))
    }

    /// `vec<T>`: a count, then that many values, each taken by `item`. A count above `max`
    /// is an encode error once the values have parsed; no more than `max` are kept.
    pub fn vec_of<T>(
        &mut self,
        max: u32,
        mut item: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        let word = self.next()?;
        if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.bad(word));
        }
        let count = word.parse::<u64>().unwrap_or(u64::MAX); // all digits: only too big fails
        let max = u64::from(max);
        if count > max {
            self.defer(|path| Error::TooLongToEncode {
                path,
                len: count,
                max,
                count: Count::Items,
            });
        }
        let mut items = Vec::new();
        for i in 0..count {
            let before = self.pos;
            let value = self.index(i, &mut item)?;
            if i < max {
                items.push(value);
            } else if self.pos == before {
                break; // a value without tokens (padding only): the rest are the same
            }
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bigint(text: &str) -> Vec<u8> {
        let words = [text];
        let mut t = Tokens::new(&words, "B", 1);
        t.bigint(1000).expect("a bigint token")
    }

    #[test]
    fn bigint_examples_of_wire_md() {
        let cases: [(&str, &[u8]); 10] = [
            ("0x0", &[]),
            ("0x1", &[0x01]),
            ("-0x1", &[0xff]),
            ("0x7f", &[0x7f]),
            ("0x80", &[0x80, 0x00]),
            ("-0x80", &[0x80]),
            ("-0x81", &[0x7f, 0xff]),
            ("0x8000000000000000", &[0, 0, 0, 0, 0, 0, 0, 0x80, 0]),
            ("-0x8000000000000000", &[0, 0, 0, 0, 0, 0, 0, 0x80]),
            ("0x10000000000000000", &[0, 0, 0, 0, 0, 0, 0, 0, 1]),
        ];
        for (text, bytes) in cases {
            assert_eq!(bigint(text), bytes, "{text}");
            assert_eq!(bigint_text(bytes), text);
            assert_eq!(minimal_len(bytes), bytes.len());
        }
        assert_eq!(bigint("-0x0"), Vec::<u8>::new());
        assert_eq!(bigint("0x000ff"), vec![0xff, 0x00]);
    }

    #[test]
    fn integers_out_of_range_wait_for_the_whole_line() {
        let words = ["256", "x"];
        let mut t = Tokens::new(&words, "M", 1);
        let v: u8 = t.field("a", |t| t.int()).expect("deferred");
        assert_eq!(v, 0);
        assert!(matches!(
            t.field("b", |t| t.int::<u8>()),
            Err(Error::Request(_))
        ));
    }

    #[test]
    fn a_vec_of_values_without_tokens_stops_early() {
        let words = ["4000000000"];
        let mut t = Tokens::new(&words, "M", 1);
        let items = t.field("v", |t| t.vec_of(3, |_| Ok(()))).expect("parsed");
        assert_eq!(items.len(), 3);
        assert!(matches!(
            t.finish(items),
            Err(Error::TooLongToEncode {
                len: 4_000_000_000,
                ..
            })
        ));
    }

    #[test]
    fn fields_of_any_width_and_order() {
        let bytes = [0x12, 0x34, 0x56, 0xff];
        assert_eq!(get_uint(&bytes, 0, 3, true), 0x12_3456);
        assert_eq!(get_uint(&bytes, 0, 3, false), 0x56_3412);
        assert_eq!(get_int(&bytes, 1, 3, false), -0xa9cc);
        let mut out = Vec::new();
        put_uint(&mut out, 0x12_3456, 3, true);
        put_i24(&mut out, -2, false).unwrap();
        assert_eq!(out, [0x12, 0x34, 0x56, 0xfe, 0xff, 0xff]);
        let mut r = Reader::new(&out[3..]);
        assert_eq!(r.i24(false), Ok(-2));
        assert!(put_u24(&mut out, 1 << 24, true).is_err());
    }

    #[test]
    fn counts_in_wire_order() {
        assert_eq!(counted(&[(3, 1), (6, 2)], 5, Count::Items), Ok(3));
        assert!(matches!(
            counted(&[(3, 1), (7, 2)], 5, Count::Items),
            Err(Error::Uneven { .. })
        ));
        assert!(matches!(
            counted(&[(3, 1), (8, 2)], 5, Count::Items),
            Err(Error::Uneven { .. })
        ));
        assert!(matches!(
            counted(&[(6, 1)], 5, Count::Items),
            Err(Error::TooLong { .. })
        ));
        assert_eq!(count_value(300, 2, 255), 255);
    }

    #[test]
    fn strict_utf8() {
        for bad in [
            &[0xc0, 0x80][..],
            &[0xed, 0xa0, 0x80],
            &[0xf4, 0x90, 0x80, 0x80],
            &[0xc3, 0x28],
        ] {
            let mut payload = (bad.len() as u32).to_le_bytes().to_vec();
            payload.extend_from_slice(bad);
            let p = Prefix {
                size: 4,
                big: false,
            };
            assert!(matches!(
                Reader::new(&payload).string(p, 64),
                Err(Error::Utf8 { .. })
            ));
        }
    }
}
