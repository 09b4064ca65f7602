//! The schema-independent half of the codec: what the generated `schema.rs` calls for each
//! kind of type of WIRE.md ("Types") and each token of PEER_CONTRACT.md ("Values as text").
//! Nothing here knows a message; adding one to the schema changes only the generated file.
//!
//! Floats stay bit patterns (`to_bits`/`from_bits`, never arithmetic) so that signalling NaN
//! payloads survive. Every length read from the wire is checked against its `max` before
//! anything is allocated for it.

pub use crate::error::{Count, Error, Result};
// The generated code names std's types through this module, so that a schema type called
// `Vec` or `String` cannot shadow them.
pub use std::option::Option;
pub use std::string::String;
pub use std::vec::Vec;

/// A schema struct, message or enum: its bytes and its text form, both ways.
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

/// A schema message: a [`Wire`] value that a frame carries.
pub trait Message: Wire {
    const NAME: &'static str;
    const ID: u16;
}

/// The payload of message `M`.
pub fn encode_message<M: Message>(value: &M) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    value.encode(&mut out).map_err(|e| e.at_root(M::NAME))?;
    Ok(out)
}

/// Message `M` from a payload that must be consumed exactly.
pub fn decode_message<M: Message>(payload: &[u8]) -> Result<M> {
    let mut r = Reader::new(payload);
    let value = M::decode(&mut r).map_err(|e| e.at_root(M::NAME))?;
    match r.left() {
        0 => Ok(value),
        left => Err(Error::Trailing {
            path: M::NAME.into(),
            left,
        }),
    }
}

/// Message `M` from all the words of its text form.
pub fn parse_message<M: Message>(words: &[&str]) -> Result<M> {
    let mut t = Tokens::new(words, M::NAME);
    let value = M::parse(&mut t)?;
    t.finish(value)
}

/// The words of the text form of message `M`.
pub fn format_message<M: Message>(value: &M) -> Vec<String> {
    let mut out = Vec::new();
    value.format(&mut out);
    out
}

/// The error for a message id the schema does not have.
pub fn unknown_message(id: u16) -> Error {
    Error::Unsupported(format!("message id {id}"))
}

/// `ENCODE`: text form to payload.
pub fn encode_text<M: Message>(words: &[&str]) -> Result<Vec<u8>> {
    encode_message(&parse_message::<M>(words)?)
}

/// `DECODE`: payload to text form.
pub fn decode_text<M: Message>(payload: &[u8]) -> Result<Vec<String>> {
    Ok(format_message(&decode_message::<M>(payload)?))
}

/// `ECHO`: payload to value and back to payload.
pub fn reencode<M: Message>(payload: &[u8]) -> Result<Vec<u8>> {
    encode_message(&decode_message::<M>(payload)?)
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
    pub fn left(&self) -> usize {
        self.data.len() - self.pos
    }

    /// The next `n` bytes.
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

    /// The next `N` bytes, for `from_le_bytes`.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

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

    /// `pad[n]`: n zero bytes.
    pub fn pad(&mut self, n: usize) -> Result<()> {
        if self.take(n)?.iter().any(|&b| b != 0) {
            return Err(Error::Padding {
                path: String::new(),
            });
        }
        Ok(())
    }

    /// A u32 length or count, refused above `max` before anything is allocated.
    fn length(&mut self, max: u32, count: Count) -> Result<usize> {
        let len = u32::from_le_bytes(self.array()?);
        if len > max {
            let (len, max) = (u64::from(len), u64::from(max));
            return Err(Error::TooLong {
                path: String::new(),
                len,
                max,
                count,
            });
        }
        usize::try_from(len).map_err(|_| Error::Runtime(format!("a length of {len} does not fit")))
    }

    pub fn bytes(&mut self, max: u32) -> Result<Vec<u8>> {
        let len = self.length(max, Count::Bytes)?;
        Ok(self.take(len)?.to_vec())
    }

    /// A `string`: strict UTF-8 (`std::str::from_utf8` refuses overlongs, surrogates and
    /// code points above U+10FFFF).
    pub fn string(&mut self, max: u32) -> Result<String> {
        let len = self.length(max, Count::Bytes)?;
        match std::str::from_utf8(self.take(len)?) {
            Ok(text) => Ok(text.to_owned()),
            Err(_) => Err(Error::Utf8 {
                path: String::new(),
            }),
        }
    }

    /// A `bigint` in its minimal two's-complement form.
    pub fn bigint(&mut self, max: u32) -> Result<Vec<u8>> {
        let len = self.length(max, Count::Bytes)?;
        let raw = self.take(len)?;
        if minimal_len(raw) != raw.len() {
            return Err(Error::Bigint {
                path: String::new(),
            });
        }
        Ok(raw.to_vec())
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

    /// `vec<T>`: a count of at most `max`, then the values, each read by `item`.
    pub fn vec_of<T>(
        &mut self,
        max: u32,
        mut item: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        let count = self.length(max, Count::Items)?;
        // Every value takes at least one byte, so no more than `left` can follow; and no more
        // than about 1 MiB is reserved before the values have actually been read.
        let room = (1 << 20) / std::mem::size_of::<T>().max(1);
        let mut items = Vec::with_capacity(count.min(self.left()).min(room));
        for i in 0..count {
            items.push(item(self).map_err(|e| e.at_index(i))?);
        }
        Ok(items)
    }
}

// ------------------------------------------------------------------ value -> bytes

fn put_length(out: &mut Vec<u8>, len: usize, max: u32, count: Count) -> Result<()> {
    match u32::try_from(len) {
        Ok(n) if n <= max => {
            out.extend_from_slice(&n.to_le_bytes());
            Ok(())
        }
        _ => Err(Error::TooLongToEncode {
            path: String::new(),
            len: len as u64,
            max: u64::from(max),
            count,
        }),
    }
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

pub fn put_bytes(out: &mut Vec<u8>, data: &[u8], max: u32) -> Result<()> {
    put_length(out, data.len(), max, Count::Bytes)?;
    out.extend_from_slice(data);
    Ok(())
}

pub fn put_string(out: &mut Vec<u8>, text: &str, max: u32) -> Result<()> {
    put_bytes(out, text.as_bytes(), max)
}

/// A `bigint` given as two's-complement little-endian bytes, written in its minimal form.
pub fn put_bigint(out: &mut Vec<u8>, value: &[u8], max: u32) -> Result<()> {
    let value = &value[..minimal_len(value)];
    put_length(out, value.len(), max, Count::Needs)?;
    out.extend_from_slice(value);
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

/// `vec<T>`: the count, at most `max`, then each value written by `item`.
pub fn put_vec<T>(
    out: &mut Vec<u8>,
    items: &[T],
    max: u32,
    item: impl FnMut(&mut Vec<u8>, &T) -> Result<()>,
) -> Result<()> {
    put_length(out, items.len(), max, Count::Items)?;
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
pub trait Int: Copy + Default + TryFrom<i128> {
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

/// A decimal token: `-?[0-9]+`, of any size.
struct Decimal {
    /// The value, when it fits an i128 (every schema integer does).
    value: Option<i128>,
    /// The number in canonical decimal, for messages.
    text: String,
}

/// The tokens of a value in text form, taken one at a time.
///
/// Errors that Python's reference peer finds only while encoding (a number out of range, a
/// text too long, ...) are kept aside, the first one only, and reported after the whole line
/// has parsed: a malformed token anywhere in the line wins, as there.
pub struct Tokens<'a> {
    words: &'a [&'a str],
    pos: usize,
    path: String,
    deferred: Option<Error>,
}

impl<'a> Tokens<'a> {
    pub fn new(words: &'a [&'a str], root: &str) -> Self {
        Tokens {
            words,
            pos: 0,
            path: root.into(),
            deferred: None,
        }
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
        if self.deferred.is_none() {
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
        Ok(Decimal { value, text })
    }

    /// A `u8`..`i64` token; out of range is an `encode range` error.
    pub fn int<T: Int>(&mut self) -> Result<T> {
        let number = self.decimal()?;
        match number.value.and_then(|v| T::try_from(v).ok()) {
            Some(v) => Ok(v),
            None => {
                let (min, max) = (T::MIN, T::MAX);
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
        let mut t = Tokens::new(&words, "B");
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
        let mut t = Tokens::new(&words, "M");
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
        let mut t = Tokens::new(&words, "M");
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
    fn strict_utf8() {
        for bad in [
            &[0xc0, 0x80][..],
            &[0xed, 0xa0, 0x80],
            &[0xf4, 0x90, 0x80, 0x80],
            &[0xc3, 0x28],
        ] {
            let mut payload = (bad.len() as u32).to_le_bytes().to_vec();
            payload.extend_from_slice(bad);
            assert!(matches!(
                Reader::new(&payload).string(64),
                Err(Error::Utf8 { .. })
            ));
        }
    }
}
