//! Adapters (docs/kits.md, "Adapters"): a peer whose encode and decode are a library's. The
//! generated code calls the adapter's methods and turns what they return into the contract's
//! replies with `failed`; a framing adapter's frames are checked with `check_frame`.

use std::fmt::Display;

use crate::error::Error;
use crate::protocol::Protocol;
use crate::wire;

/// The longest error text of an adapter kept in a reply.
const MAX_TEXT: usize = 200;

/// Why an adapter's method gave no value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdapterError {
    /// The stub is not filled in: the message is skipped (`ERR unsupported adapter: ...`).
    Unimplemented,
    /// The library failed, in its own words (`ERR runtime adapter encode M: <text>`).
    Failed(String),
    /// A crosswire error (a reference codec's), answered as it is.
    Wire(Error),
}

impl AdapterError {
    /// The library's error, in its own words: `.map_err(AdapterError::msg)?`.
    pub fn msg(err: impl Display) -> AdapterError {
        AdapterError::Failed(err.to_string())
    }
}

impl From<Error> for AdapterError {
    fn from(err: Error) -> AdapterError {
        AdapterError::Wire(err)
    }
}

impl From<String> for AdapterError {
    fn from(text: String) -> AdapterError {
        AdapterError::Failed(text)
    }
}

impl From<&str> for AdapterError {
    fn from(text: &str) -> AdapterError {
        AdapterError::Failed(text.to_owned())
    }
}

/// The reply's error for what the adapter's `side` ("encode" or "decode") of message `name`
/// returned.
pub fn failed(err: AdapterError, side: &str, name: &str) -> Error {
    match err {
        AdapterError::Unimplemented => {
            Error::Unsupported(format!("adapter: {name} is not implemented"))
        }
        AdapterError::Failed(text) => {
            let text: String = text
                .replace(['\r', '\n'], " ")
                .chars()
                .take(MAX_TEXT)
                .collect();
            Error::Runtime(format!("adapter {side} {name}: {text}"))
        }
        AdapterError::Wire(err) => err,
    }
}

/// Check a whole frame a framing adapter made for message `index` with `seq` and `plain`: the
/// header's constants, id and length, the checksum, the seq and the plain values. A frame that
/// is not is the adapter's encode error.
pub fn check_frame<P: Protocol>(
    index: usize,
    frame: &[u8],
    seq: u64,
    plain: &[i128],
) -> Result<(), Error> {
    let info = &P::MESSAGES[index];
    let bad = |text: String| Error::Runtime(format!("adapter encode {}: {text}", info.name));
    let (head, _) = wire::split_frame::<P>(frame, info.direction)
        .map_err(|err| bad(format!("its frame: {err}")))?;
    if head.message != index {
        let other = P::MESSAGES.get(head.message).map_or("?", |m| m.name);
        return Err(bad(format!("its frame is a {other}")));
    }
    if P::SEQ_MAX != 0 && head.seq != seq {
        return Err(bad(format!(
            "its frame has seq {}, expected {seq}",
            head.seq
        )));
    }
    if head.plain.as_ref() != plain {
        return Err(bad(format!(
            "its frame has header values {:?}, expected {plain:?}",
            head.plain.as_ref()
        )));
    }
    Ok(())
}

/// The payload of a whole frame (checked by `check_frame`).
pub fn payload_of<P: Protocol>(frame: &[u8]) -> Vec<u8> {
    frame[P::HEADER_SIZE..frame.len() - P::TRAILER_SIZE].to_vec()
}
