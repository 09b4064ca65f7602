//! The generated codec against the schema's own vectors (../../protocols/vectors: the checkout's,
//! or a project's through build/reference): every golden case encodes to its bytes, decodes to
//! its text, at every older version too, and frames to its head and tail; every malformed
//! payload is refused with its code and path. The files are read with a small JSON reader of
//! its own (the peer depends on libc only).

use std::path::PathBuf;

use crosswire::schema::{self, Schema, NEWEST_VERSION};
use crosswire::wire::{self, Role};
use crosswire::Error;

// ------------------------------------------------------------------ a small JSON reader

#[derive(Clone, Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(String),
    Text(String),
    List(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn text(&self, key: &str) -> &str {
        match self.get(key) {
            Some(Json::Text(s)) => s,
            other => panic!("{key}: not a string: {other:?}"),
        }
    }

    fn int(&self) -> i128 {
        match self {
            Json::Number(n) => n.parse().unwrap_or_else(|_| panic!("not an integer: {n}")),
            other => panic!("not a number: {other:?}"),
        }
    }
}

struct Parser<'a> {
    text: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.pos < self.text.len() && self.text[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8) {
        self.skip_space();
        assert_eq!(
            self.text.get(self.pos),
            Some(&byte),
            "JSON at byte {}",
            self.pos
        );
        self.pos += 1;
    }

    fn peek(&mut self) -> u8 {
        self.skip_space();
        self.text[self.pos]
    }

    fn value(&mut self) -> Json {
        match self.peek() {
            b'{' => {
                self.eat(b'{');
                let mut pairs = Vec::new();
                while self.peek() != b'}' {
                    if !pairs.is_empty() {
                        self.eat(b',');
                    }
                    let key = self.string();
                    self.eat(b':');
                    pairs.push((key, self.value()));
                }
                self.eat(b'}');
                Json::Object(pairs)
            }
            b'[' => {
                self.eat(b'[');
                let mut items = Vec::new();
                while self.peek() != b']' {
                    if !items.is_empty() {
                        self.eat(b',');
                    }
                    items.push(self.value());
                }
                self.eat(b']');
                Json::List(items)
            }
            b'"' => Json::Text(self.string()),
            b't' | b'f' | b'n' => {
                let word: &[u8] = match self.text[self.pos] {
                    b't' => b"true",
                    b'f' => b"false",
                    _ => b"null",
                };
                assert_eq!(&self.text[self.pos..self.pos + word.len()], word);
                self.pos += word.len();
                match word {
                    b"null" => Json::Null,
                    _ => Json::Bool(word == b"true"),
                }
            }
            _ => {
                let start = self.pos;
                while self.pos < self.text.len()
                    && b"+-.eE0123456789".contains(&self.text[self.pos])
                {
                    self.pos += 1;
                }
                Json::Number(String::from_utf8(self.text[start..self.pos].to_vec()).unwrap())
            }
        }
    }

    fn hex4(&mut self) -> u32 {
        let digits = std::str::from_utf8(&self.text[self.pos..self.pos + 4]).unwrap();
        self.pos += 4;
        u32::from_str_radix(digits, 16).unwrap()
    }

    fn string(&mut self) -> String {
        self.eat(b'"');
        let mut out = Vec::new();
        loop {
            let b = self.text[self.pos];
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let e = self.text[self.pos];
                    self.pos += 1;
                    let ch = match e {
                        b'n' => '\n',
                        b't' => '\t',
                        b'r' => '\r',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'u' => {
                            let mut c = self.hex4();
                            if (0xd800..0xdc00).contains(&c) {
                                self.pos += 2; // \u of the low surrogate
                                c = 0x10000 + ((c - 0xd800) << 10) + (self.hex4() - 0xdc00);
                            }
                            char::from_u32(c).unwrap_or('\u{fffd}')
                        }
                        other => char::from(other),
                    };
                    out.extend_from_slice(ch.to_string().as_bytes());
                }
                _ => out.push(b),
            }
        }
        String::from_utf8(out).unwrap()
    }
}

fn load(name: &str) -> Vec<Json> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../protocols/vectors")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut p = Parser {
        text: text.as_bytes(),
        pos: 0,
    };
    match p.value() {
        Json::List(items) => items,
        other => panic!("{name}: not a list: {other:?}"),
    }
}

fn unhex(text: &str) -> Vec<u8> {
    crosswire::codec::unhex(text).unwrap_or_else(|| panic!("bad hex {text}"))
}

fn words(text: &str) -> Vec<&str> {
    text.split(' ').filter(|w| !w.is_empty()).collect()
}

// ------------------------------------------------------------------ the vectors

#[test]
fn golden_cases_encode_decode_and_frame() {
    let cases = load("golden.json");
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in &cases {
        let id = case.text("id");
        let index = schema::message_index(case.text("message")).expect("a message of the schema");
        let text = words(case.text("text"));
        let payload = unhex(case.text("payload"));
        let mut check = |what: &str, ok: bool, detail: String| {
            if !ok {
                failures.push(format!("{id}: {what}: {detail}"));
            }
        };
        let encoded = schema::encode_text(index, &text, NEWEST_VERSION);
        check(
            "encode",
            encoded.as_ref() == Ok(&payload),
            format!("{encoded:?}"),
        );
        let decoded = schema::decode_text(index, &payload, NEWEST_VERSION);
        let want: Vec<String> = text.iter().map(|w| (*w).to_owned()).collect();
        check(
            "decode",
            decoded.as_ref() == Ok(&want),
            format!("{decoded:?}"),
        );
        if let Some(Json::Object(versions)) = case.get("versions") {
            for (v, hex) in versions {
                let v: u16 = v.parse().unwrap();
                let old = unhex(match hex {
                    Json::Text(h) => h,
                    _ => panic!("versions"),
                });
                let at = schema::encode_text(index, &text, v);
                check(
                    &format!("encode at version {v}"),
                    at.as_ref() == Ok(&old),
                    format!("{at:?}"),
                );
                // an older version reads the newer payload, and the old one, to the same value
                for bytes in [&payload, &old] {
                    let again = schema::reencode(index, bytes, v);
                    check(
                        &format!("reencode at version {v}"),
                        again.as_ref() == Ok(&old),
                        format!("{again:?}"),
                    );
                }
                // the newest version reads an old payload (newer fields at their defaults)
                let newer = schema::reencode(index, &old, NEWEST_VERSION)
                    .and_then(|p| schema::reencode(index, &p, v));
                check(
                    &format!("version {v} read as the newest"),
                    newer.as_ref() == Ok(&old),
                    format!("{newer:?}"),
                );
            }
        }
        if let (true, Some(frame)) = (schema::HAS_FRAME, case.get("frame")) {
            let seq = frame.get("seq").map_or(0, Json::int) as u64;
            let header = frame.get("header");
            let plain: Vec<i128> = schema::HEADER_FIELDS
                .iter()
                .filter(|h| h.role == Role::Plain)
                .map(|h| header.and_then(|j| j.get(h.name)).map_or(0, Json::int))
                .collect();
            let mut whole = unhex(frame.text("head"));
            whole.extend_from_slice(&payload);
            whole.extend_from_slice(&unhex(frame.text("tail")));
            let written = wire::frame::<Schema>(index, seq, &plain, &payload);
            check(
                "frame",
                written.as_ref() == Ok(&whole),
                format!("{written:?}"),
            );
            let direction = schema::MESSAGE_INFO[index].direction;
            match wire::split_frame::<Schema>(&whole, direction) {
                Ok((head, body)) => check(
                    "read frame",
                    head.message == index
                        && head.seq == seq
                        && head.plain[..] == plain[..]
                        && body == payload,
                    format!("{head:?}"),
                ),
                Err(err) => check("read frame", false, err.to_string()),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// `decode <code> <path>` of an error.
fn code_and_path(err: &Error) -> String {
    let text = err.to_string();
    text.split(' ').take(3).collect::<Vec<_>>().join(" ")
}

#[test]
fn malformed_payloads_are_refused_with_their_code_and_path() {
    let vectors = load("malformed.json");
    let mut failures = Vec::new();
    for v in &vectors {
        let index = schema::message_index(v.text("message")).expect("a message of the schema");
        let want = format!("decode {} {}", v.text("code"), v.text("path"));
        let got = match schema::decode_text(index, &unhex(v.text("payload")), NEWEST_VERSION) {
            Ok(words) => format!("OK {}", words.join(" ")),
            Err(err) => code_and_path(&err),
        };
        if got != want {
            failures.push(format!("{}: {got}, expected {want}", v.text("id")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {}:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
}

#[test]
fn broken_frames_are_refused_in_wire_order() {
    if !schema::HAS_FRAME {
        assert!(wire::frame::<Schema>(0, 0, &[], &[]).is_err());
        return;
    }
    let cases = load("golden.json");
    let case = match cases.iter().find(|c| c.get("frame").is_some()) {
        Some(case) => case,
        None => return,
    };
    let frame = case.get("frame").unwrap();
    let mut whole = unhex(frame.text("head"));
    whole.extend_from_slice(&unhex(case.text("payload")));
    whole.extend_from_slice(&unhex(frame.text("tail")));
    let index = schema::message_index(case.text("message")).unwrap();
    let direction = schema::MESSAGE_INFO[index].direction;
    for h in schema::HEADER_FIELDS
        .iter()
        .filter(|h| h.role == Role::Const)
    {
        let mut bad = whole.clone();
        bad[h.offset] ^= 0x5a;
        let err = wire::split_frame::<Schema>(&bad, direction).unwrap_err();
        assert_eq!(
            code_and_path(&err),
            format!("decode const frame.{}", h.name)
        );
    }
    if schema::TRAILER_SIZE != 0 {
        let mut bad = whole.clone();
        *bad.last_mut().unwrap() ^= 1;
        let err = wire::split_frame::<Schema>(&bad, direction).unwrap_err();
        assert_eq!(err.code(), "checksum");
    }
    let err = wire::split_frame::<Schema>(&whole[..whole.len() - 1], direction).unwrap_err();
    assert_eq!(code_and_path(&err), "decode truncated frame");
    let mut longer = whole.clone();
    longer.push(0);
    let err = wire::split_frame::<Schema>(&longer, direction).unwrap_err();
    assert_eq!(code_and_path(&err), "decode trailing frame");
}

/// The decoder's speed on this schema's golden payloads (not a check: run it by hand,
/// `cargo test --release --test vectors -- --ignored --nocapture`, before and after a change
/// to the generator or the runtime).
#[test]
#[ignore]
fn decode_speed() {
    let cases: Vec<(usize, Vec<u8>)> = load("golden.json")
        .iter()
        .map(|c| {
            let index = schema::message_index(c.text("message")).unwrap();
            (index, unhex(c.text("payload")))
        })
        .collect();
    let rounds = 2000;
    let mut best = f64::MAX;
    for _ in 0..7 {
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            for (index, payload) in &cases {
                let ok = schema::check(*index, payload, NEWEST_VERSION);
                assert!(ok.is_ok());
            }
        }
        best = best.min(start.elapsed().as_nanos() as f64 / rounds as f64);
    }
    println!(
        "{} golden payloads, each decoded once: {best:.0} ns (best of 7 runs of {rounds})",
        cases.len()
    );
}
