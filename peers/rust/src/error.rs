//! The one error type of the peer. Each variant carries the numbers that explain it, and
//! `Display` renders it as the contract's reply text after `ERR ` (PEER_CONTRACT.md,
//! "Errors"): `decode <code> <path> <message>`, `encode <code> <path> <message>`, or
//! `<kind> <message>` for the other kinds.
//!
//! A codec error is made where the bad byte or token is found, with the path relative to the
//! value being decoded or encoded; each enclosing struct field, array index and finally the
//! message name is put in front on the way out (`at_field`, `at_index`, `at_root`), so the path
//! ends up as `Track.poses[1].name`.

use std::fmt;

/// What a length limit counts, for the message of a `length` error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    /// Bytes of a `bytes`, `string` or `char[N]` value, or of a frame's payload.
    Bytes,
    /// Items of a `vec<T>`.
    Items,
    /// Bytes that an integer needs in its minimal `bigint` form (encoding).
    Needs,
}

/// Every way a request can fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    // -- decode, frame header (WIRE.md "Frame"), in the order they are checked
    /// The frame does not start with the magic number.
    Magic { got: u32, want: u32 },
    /// The frame's format version is not ours.
    Version { got: u16, want: u16 },
    /// The reserved flags are not zero.
    Flags { got: u32 },
    /// No message has this id.
    Type { id: u16 },
    /// The frame announces a payload larger than `format.max_payload`.
    FrameTooLong { len: u32, max: u32 },
    /// The connection closed in the middle of a frame.
    FrameCut { got: usize, need: usize },

    // -- decode, payload (WIRE.md "Types")
    /// A value ends before its last byte.
    Truncated {
        path: String,
        need: usize,
        left: usize,
    },
    /// Bytes left over after the message.
    Trailing { path: String, left: usize },
    /// A length or count above the field's `max`.
    TooLong {
        path: String,
        len: u64,
        max: u64,
        count: Count,
    },
    /// A `bool` byte other than 0 or 1.
    Bool { path: String, byte: u8 },
    /// An integer that is not a value of the enum.
    Enum {
        path: String,
        value: i128,
        name: &'static str,
    },
    /// A `char[N]` with a non-NUL byte after its first NUL.
    Char { path: String },
    /// A `string` that is not strict UTF-8.
    Utf8 { path: String },
    /// A `bigint` longer than its minimal form.
    Bigint { path: String },
    /// A non-zero padding byte.
    Padding { path: String },

    // -- encode
    /// An integer outside its type's range (`value` is the decimal text, which may be huge).
    Range {
        path: String,
        value: String,
        min: i128,
        max: i128,
    },
    /// A value longer than its field allows.
    TooLongToEncode {
        path: String,
        len: u64,
        max: u64,
        count: Count,
    },
    /// A number that is not a value of the enum (decimal text, which may be huge).
    NotInEnum {
        path: String,
        value: String,
        name: &'static str,
    },
    /// A NUL inside a `char[N]` text.
    NulInText { path: String },
    /// A `string` whose bytes are not UTF-8.
    NotUtf8 { path: String },

    // -- the other kinds of PEER_CONTRACT.md
    /// The request line could not be parsed.
    Request(String),
    /// A message, transport, contract or request the peer does not implement.
    Unsupported(String),
    /// A blocking request's timeout expired.
    Timeout(String),
    /// Anything else: a system call failed, bad state.
    Runtime(String),
    /// The other side closed the connection or died (kind `runtime`, text `closed ...`).
    Closed(String),
}

/// The result of everything that can fail with an [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The field path of a codec error, for the enclosing levels to extend.
    fn path_mut(&mut self) -> Option<&mut String> {
        match self {
            Error::Truncated { path, .. }
            | Error::Trailing { path, .. }
            | Error::TooLong { path, .. }
            | Error::Bool { path, .. }
            | Error::Enum { path, .. }
            | Error::Char { path }
            | Error::Utf8 { path }
            | Error::Bigint { path }
            | Error::Padding { path }
            | Error::Range { path, .. }
            | Error::TooLongToEncode { path, .. }
            | Error::NotInEnum { path, .. }
            | Error::NulInText { path }
            | Error::NotUtf8 { path } => Some(path),
            _ => None,
        }
    }

    fn prefixed(mut self, prefix: &str) -> Self {
        if let Some(path) = self.path_mut() {
            path.insert_str(0, prefix);
        }
        self
    }

    /// The error of a value that is the struct field `name` of an enclosing value.
    #[must_use]
    pub fn at_field(self, name: &str) -> Self {
        self.prefixed(&format!(".{name}"))
    }

    /// The error of a value that is item `index` of an enclosing array or vec.
    #[must_use]
    pub fn at_index(self, index: usize) -> Self {
        self.prefixed(&format!("[{index}]"))
    }

    /// The error of a value that is the whole message `name`.
    #[must_use]
    pub fn at_root(self, name: &str) -> Self {
        self.prefixed(name)
    }

    /// Whether the stream is out of step after this error while reading a frame.
    pub fn breaks_stream(&self) -> bool {
        matches!(
            self,
            Error::Magic { .. }
                | Error::Version { .. }
                | Error::Flags { .. }
                | Error::Type { .. }
                | Error::FrameTooLong { .. }
                | Error::FrameCut { .. }
        )
    }

    /// The kind word of the reply: `decode`, `encode`, `request`, ...
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Magic { .. }
            | Error::Version { .. }
            | Error::Flags { .. }
            | Error::Type { .. }
            | Error::FrameTooLong { .. }
            | Error::FrameCut { .. }
            | Error::Truncated { .. }
            | Error::Trailing { .. }
            | Error::TooLong { .. }
            | Error::Bool { .. }
            | Error::Enum { .. }
            | Error::Char { .. }
            | Error::Utf8 { .. }
            | Error::Bigint { .. }
            | Error::Padding { .. } => "decode",
            Error::Range { .. }
            | Error::TooLongToEncode { .. }
            | Error::NotInEnum { .. }
            | Error::NulInText { .. }
            | Error::NotUtf8 { .. } => "encode",
            Error::Request(_) => "request",
            Error::Unsupported(_) => "unsupported",
            Error::Timeout(_) => "timeout",
            Error::Runtime(_) | Error::Closed(_) => "runtime",
        }
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Count::Bytes | Count::Needs => "bytes",
            Count::Items => "items",
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind();
        match self {
            Error::Magic { got, want } => {
                write!(
                    f,
                    "{kind} magic frame.magic {got:#010x} is not {want:#010x}"
                )
            }
            Error::Version { got, want } => {
                write!(f, "{kind} version frame.version {got} is not {want}")
            }
            Error::Flags { got } => write!(f, "{kind} flags frame.flags {got:#x} is not 0"),
            Error::Type { id } => write!(f, "{kind} type frame.msg_type no message has id {id}"),
            Error::FrameTooLong { len, max } => {
                write!(
                    f,
                    "{kind} length frame.payload_len {len} bytes, at most {max}"
                )
            }
            Error::FrameCut { got, need } => {
                write!(
                    f,
                    "{kind} truncated frame closed after {got} of {need} bytes"
                )
            }
            Error::Truncated { path, need, left } => {
                write!(f, "{kind} truncated {path} needs {need} bytes, {left} left")
            }
            Error::Trailing { path, left } => {
                write!(f, "{kind} trailing {path} {left} bytes left over")
            }
            Error::TooLong {
                path,
                len,
                max,
                count,
            } => {
                write!(f, "{kind} length {path} {len} {count}, at most {max}")
            }
            Error::Bool { path, byte } => {
                write!(f, "{kind} bool {path} byte {byte:#04x} is neither 0 nor 1")
            }
            Error::Enum { path, value, name } => {
                write!(f, "{kind} enum {path} {value} is not a value of {name}")
            }
            Error::Char { path } => {
                write!(f, "{kind} char {path} a non-NUL byte after the first NUL")
            }
            Error::Utf8 { path } | Error::NotUtf8 { path } => {
                write!(f, "{kind} utf8 {path} not valid UTF-8")
            }
            Error::Bigint { path } => write!(f, "{kind} bigint {path} not the minimal form"),
            Error::Padding { path } => write!(f, "{kind} padding {path} a non-zero padding byte"),
            Error::Range {
                path,
                value,
                min,
                max,
            } => {
                write!(f, "{kind} range {path} {value} is outside {min}..{max}")
            }
            Error::TooLongToEncode {
                path,
                len,
                max,
                count: Count::Needs,
            } => {
                write!(f, "{kind} length {path} needs {len} bytes, at most {max}")
            }
            Error::TooLongToEncode {
                path,
                len,
                max,
                count,
            } => {
                write!(f, "{kind} length {path} {len} {count}, at most {max}")
            }
            Error::NotInEnum { path, value, name } => {
                write!(f, "{kind} enum {path} {value} is not a value of {name}")
            }
            Error::NulInText { path } => write!(f, "{kind} char {path} NUL inside the text"),
            Error::Request(text)
            | Error::Unsupported(text)
            | Error::Timeout(text)
            | Error::Runtime(text) => write!(f, "{kind} {text}"),
            Error::Closed(text) => write!(f, "{kind} closed {text}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Error {
        Error::Runtime(err.to_string())
    }
}
