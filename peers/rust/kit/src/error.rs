//! The one error type of the peer. Each variant carries the numbers that explain it, and
//! `Display` renders it as the contract's reply text after `ERR ` (PEER_CONTRACT.md,
//! "Errors"): `decode <code> <path> <message>`, `encode <code> <path> <message>`, or
//! `<kind> <message>` for the other kinds.
//!
//! A codec error is made where the bad byte or token is found, with the path relative to the
//! value being decoded or encoded; each enclosing struct field, array index and finally the
//! message name is put in front on the way out (`at_field`, `at_index`, `at_root`), so the path
//! ends up as `Track.poses[1].name`. Frame errors name `frame` or `frame.<field>` from the start.

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
    // -- decode, frame (WIRE.md "Frame", "Receiving")
    /// A frame id that names no message of the direction read, or two (`type`).
    Type { path: String, text: String },
    /// A frame length out of range (`length`).
    FrameLength { path: String, text: String },
    /// A frame whose checksum is wrong (`checksum`).
    Checksum { path: String, got: u64, want: u64 },
    /// The connection closed in the middle of a frame, or a buffer ends inside one.
    FrameCut { got: usize, need: usize },
    /// Bytes after the frame in a buffer that holds one frame.
    FrameTrailing { left: usize },

    // -- decode, payload (WIRE.md "Types"), and the header's constants
    /// A constant with another value (`const`): `got` and `want` as text.
    Const {
        path: String,
        got: String,
        want: String,
    },
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
    /// Counts that are not whole elements, or two counts of one field that disagree.
    Uneven { path: String, text: String },
    /// A `bool` byte other than 0 or 1.
    Bool { path: String, byte: u8 },
    /// An integer that is not a value of the enum.
    Enum {
        path: String,
        value: i128,
        name: &'static str,
    },
    /// Bits that the flag set does not name.
    Flags {
        path: String,
        value: u64,
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
    /// A discriminator that picks no case of the union.
    Union { path: String, text: String },

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
    /// Bits that a closed flag set does not name.
    UnknownBits {
        path: String,
        value: u64,
        name: &'static str,
    },
    /// A union value that is not the case its discriminator picks (or it picks none).
    NoCase { path: String, text: String },
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
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The field path of a codec error, for the enclosing levels to extend.
    fn path_mut(&mut self) -> Option<&mut String> {
        match self {
            Error::Const { path, .. }
            | Error::Truncated { path, .. }
            | Error::Trailing { path, .. }
            | Error::TooLong { path, .. }
            | Error::Uneven { path, .. }
            | Error::Bool { path, .. }
            | Error::Enum { path, .. }
            | Error::Flags { path, .. }
            | Error::Char { path }
            | Error::Utf8 { path }
            | Error::Bigint { path }
            | Error::Padding { path }
            | Error::Union { path, .. }
            | Error::Range { path, .. }
            | Error::TooLongToEncode { path, .. }
            | Error::NotInEnum { path, .. }
            | Error::UnknownBits { path, .. }
            | Error::NoCase { path, .. }
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

    /// The kind word of the reply: `decode`, `encode`, `request`, ...
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Request(_) => "request",
            Error::Unsupported(_) => "unsupported",
            Error::Timeout(_) => "timeout",
            Error::Runtime(_) | Error::Closed(_) => "runtime",
            Error::Range { .. }
            | Error::TooLongToEncode { .. }
            | Error::NotInEnum { .. }
            | Error::UnknownBits { .. }
            | Error::NoCase { .. }
            | Error::NulInText { .. }
            | Error::NotUtf8 { .. } => "encode",
            _ => "decode",
        }
    }

    /// The code of a decode or encode error (PEER_CONTRACT.md, "Errors"); "" for the others.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Type { .. } => "type",
            Error::FrameLength { .. }
            | Error::TooLong { .. }
            | Error::Uneven { .. }
            | Error::TooLongToEncode { .. } => "length",
            Error::Checksum { .. } => "checksum",
            Error::FrameCut { .. } | Error::Truncated { .. } => "truncated",
            Error::FrameTrailing { .. } | Error::Trailing { .. } => "trailing",
            Error::Const { .. } => "const",
            Error::Bool { .. } => "bool",
            Error::Enum { .. } | Error::NotInEnum { .. } => "enum",
            Error::Flags { .. } | Error::UnknownBits { .. } => "flags",
            Error::Char { .. } | Error::NulInText { .. } => "char",
            Error::Utf8 { .. } | Error::NotUtf8 { .. } => "utf8",
            Error::Bigint { .. } => "bigint",
            Error::Padding { .. } => "padding",
            Error::Union { .. } | Error::NoCase { .. } => "union",
            Error::Range { .. } => "range",
            _ => "",
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
        let (kind, code) = (self.kind(), self.code());
        match self {
            Error::Type { path, text }
            | Error::FrameLength { path, text }
            | Error::Uneven { path, text }
            | Error::Union { path, text }
            | Error::NoCase { path, text } => write!(f, "{kind} {code} {path} {text}"),
            Error::Checksum { path, got, want } => {
                write!(
                    f,
                    "{kind} {code} {path} {got:#x} is not the frame's {want:#x}"
                )
            }
            Error::FrameCut { got, need } => {
                write!(f, "{kind} {code} frame ends after {got} of {need} bytes")
            }
            Error::FrameTrailing { left } => {
                write!(f, "{kind} {code} frame {left} bytes after the frame")
            }
            Error::Const { path, got, want } => {
                write!(f, "{kind} {code} {path} {got} is not the constant {want}")
            }
            Error::Truncated { path, need, left } => {
                write!(f, "{kind} {code} {path} needs {need} bytes, {left} left")
            }
            Error::Trailing { path, left } => {
                write!(f, "{kind} {code} {path} {left} bytes left over")
            }
            Error::TooLong {
                path,
                len,
                max,
                count,
            } => write!(f, "{kind} {code} {path} {len} {count}, at most {max}"),
            Error::Bool { path, byte } => {
                write!(
                    f,
                    "{kind} {code} {path} byte {byte:#04x} is neither 0 nor 1"
                )
            }
            Error::Enum { path, value, name } => {
                write!(f, "{kind} {code} {path} {value} is not a value of {name}")
            }
            Error::NotInEnum { path, value, name } => {
                write!(f, "{kind} {code} {path} {value} is not a value of {name}")
            }
            Error::Flags { path, value, name } | Error::UnknownBits { path, value, name } => {
                write!(
                    f,
                    "{kind} {code} {path} {value:#x} sets bits {name} does not name"
                )
            }
            Error::Char { path } => {
                write!(f, "{kind} {code} {path} a non-NUL byte after the first NUL")
            }
            Error::Utf8 { path } | Error::NotUtf8 { path } => {
                write!(f, "{kind} {code} {path} not valid UTF-8")
            }
            Error::Bigint { path } => write!(f, "{kind} {code} {path} not the minimal form"),
            Error::Padding { path } => {
                write!(f, "{kind} {code} {path} a non-zero padding byte")
            }
            Error::Range {
                path,
                value,
                min,
                max,
            } => write!(f, "{kind} {code} {path} {value} is outside {min}..{max}"),
            Error::TooLongToEncode {
                path,
                len,
                max,
                count: Count::Needs,
            } => write!(f, "{kind} {code} {path} needs {len} bytes, at most {max}"),
            Error::TooLongToEncode {
                path,
                len,
                max,
                count,
            } => write!(f, "{kind} {code} {path} {len} {count}, at most {max}"),
            Error::NulInText { path } => write!(f, "{kind} {code} {path} NUL inside the text"),
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
