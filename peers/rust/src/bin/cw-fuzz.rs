//! cw-fuzz: a property loop over the Rust peer's codec, standard library only (cargo-fuzz
//! needs a nightly compiler). It mutates seed inputs with a seeded splitmix64 generator and
//! checks each result; `make fuzz` runs it (README.md, "Fuzzing").
//!
//! An input is read as fuzz/c/fuzz_decode.c reads it, so that a regression file means the same
//! to both fuzzers: as frames back to back of the schema's `[frame]` (each header checked, each
//! payload decoded as the message it names), and as a bare payload whose first byte picks the
//! message at index (byte mod count) of the messages sorted by id. For every decode:
//!
//! - no panic (`catch_unwind`);
//! - a failure is a `decode` error, with its path under `frame` (header) or the message name,
//!   and the text form (`decode_text`) fails with the very same error;
//! - a success encodes back to the very same bytes (the frame too, rebuilt by `wire::frame`),
//!   and its text form (`decode_text`, then `encode_text`) gives the very same bytes.
//!
//! A failing input is written to the output folder (fuzz/regressions/rust/) and the loop
//! stops with status 1. Inputs that reach an outcome not seen before (a message and the error
//! code and path, or a success) join the corpus: a coarse feedback, in place of coverage;
//! `--save DIR` writes them out too (tests/test_fuzz.py feeds them to every peer).
//!
//! ```text
//! cw-fuzz [--seed N|time] [--iterations N] [--seconds S] [--out DIR] [--save DIR] [CORPUS_DIR...]
//! cw-fuzz --replay FILE_OR_DIR...
//! ```
#![forbid(unsafe_code)]

use std::collections::HashSet;
use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crosswire::schema::{self, Schema, HEADER_SIZE, NEWEST_VERSION};
use crosswire::wire::{self, Direction};
use crosswire::Error;

/// Inputs grow no longer than this: room for any seed and its mutations, and fast to check.
const MAX_INPUT: usize = 1 << 16;
/// The corpus stops growing at this many inputs.
const MAX_CORPUS: usize = 1 << 14;
/// Decode codes of PEER_CONTRACT.md "Errors".
const CODES: [&str; 14] = [
    "const",
    "type",
    "length",
    "checksum",
    "truncated",
    "trailing",
    "bool",
    "enum",
    "flags",
    "char",
    "utf8",
    "bigint",
    "padding",
    "union",
];
/// Lengths and counts worth trying: small ones, the schema's `max`es and their neighbours
/// (a field may hold nearly `max_payload` bytes, a few header bytes less), and the edges of u32.
const LENGTHS: [u32; 18] = [
    0,
    1,
    2,
    3,
    4,
    15,
    16,
    17,
    63,
    64,
    65,
    schema::MAX_PAYLOAD.saturating_sub(8),
    schema::MAX_PAYLOAD.saturating_sub(7),
    schema::MAX_PAYLOAD,
    schema::MAX_PAYLOAD.saturating_add(1),
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
];
const BYTES: [u8; 8] = [0x00, 0x01, 0x02, 0x7f, 0x80, 0xc0, 0xfe, 0xff];

// ------------------------------------------------------------------ the generator

/// splitmix64 (PEER_CONTRACT.md "Streams" gives the same function).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }

    /// A number in 0..n (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

// ------------------------------------------------------------------ the properties

/// The outcome of one input, for the feedback: which messages decoded or failed where.
type Outcome = String;

/// The schema's messages sorted by id: the selector byte of a bare payload indexes them.
fn message_ids() -> Vec<usize> {
    let mut ids: Vec<usize> = (0..schema::MESSAGE_INFO.len()).collect();
    ids.sort_by_key(|&i| schema::MESSAGE_INFO[i].id);
    ids
}

fn name_of(index: usize) -> &'static str {
    schema::MESSAGE_INFO.get(index).map_or("?", |m| m.name)
}

/// `decode <code> <path>` of a decode error whose path is `root` or under it, else why not.
fn typed(err: &Error, root: &str) -> Result<String, String> {
    let text = err.to_string();
    let mut words = text.split(' ');
    let (kind, code, path) = (words.next(), words.next(), words.next());
    let (code, path) = match (kind, code, path) {
        (Some("decode"), Some(code), Some(path)) if CODES.contains(&code) => (code, path),
        _ => return Err(format!("not a typed decode error: {text}")),
    };
    let under = path.strip_prefix(root).map_or(false, |rest| {
        rest.is_empty() || rest.starts_with(&['.', '['][..])
    });
    if !under {
        return Err(format!("an error path outside {root}: {text}"));
    }
    Ok(format!("{code} {path}"))
}

/// Whether `again`, the encoding of a decoded payload that differs from it, is allowed to: a
/// message with extensions reads an older version's payload (its newer fields at their
/// defaults) and one whose zeros are trimmed reads them back; either way the value must stay,
/// and `again` must be its own encoding.
fn canonical_again(id: usize, again: &[u8], words: &[String]) -> bool {
    let relaxed = schema::MESSAGE_INFO
        .get(id)
        .map_or(false, |m| m.trim || m.newest > 1);
    relaxed
        && schema::reencode(id, again, NEWEST_VERSION).as_deref() == Ok(again)
        && schema::decode_text(id, again, NEWEST_VERSION).as_deref() == Ok(words)
}

/// Decode `payload` as message `id` every way the peer can, and check the properties.
fn check_payload(id: usize, payload: &[u8]) -> Result<Outcome, String> {
    let name = name_of(id);
    let again = schema::reencode(id, payload, NEWEST_VERSION);
    let text = schema::decode_text(id, payload, NEWEST_VERSION);
    match (again, text) {
        (Ok(again), Ok(words)) => {
            if again != payload && !canonical_again(id, &again, &words) {
                return Err(format!(
                    "{name}: decode then encode changed the bytes: {} -> {}",
                    hex(payload),
                    hex(&again)
                ));
            }
            let payload = &again[..];
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            match schema::encode_text(id, &words, NEWEST_VERSION) {
                Ok(bytes) if bytes == payload => Ok(format!("{name} ok")),
                Ok(bytes) => Err(format!(
                    "{name}: wire -> text -> wire changed the bytes: {} -> {:?} -> {}",
                    hex(payload),
                    words.join(" "),
                    hex(&bytes)
                )),
                Err(err) => Err(format!(
                    "{name}: the text of a decoded value does not encode: {:?}: {err}",
                    words.join(" ")
                )),
            }
        }
        (Err(err), Err(text_err)) => {
            if err != text_err {
                return Err(format!(
                    "{name}: decode_text and reencode disagree: {text_err} / {err}"
                ));
            }
            Ok(format!("{name} {}", typed(&err, name)?))
        }
        (Ok(_), Err(err)) => Err(format!(
            "{name}: decode_text refused what reencode decoded: {err}"
        )),
        (Err(err), Ok(_)) => Err(format!(
            "{name}: reencode refused what decode_text decoded: {err}"
        )),
    }
}

/// Whether `data` is long enough for a frame header (and the schema has a frame).
fn holds_header(data: &[u8]) -> bool {
    schema::HAS_FRAME && data.len().checked_sub(HEADER_SIZE).is_some()
}

/// Read `data` as frames back to back, up to a header error or a frame cut short.
fn check_frames(mut data: &[u8], out: &mut Vec<Outcome>) -> Result<(), String> {
    while holds_header(data) {
        let head = match schema::check_head(data, Direction::Any) {
            Ok(head) => head,
            Err(err) => {
                out.push(format!("frame {}", typed(&err, "frame")?));
                return Ok(());
            }
        };
        if head.size > data.len() {
            out.push("frame cut".into());
            return Ok(());
        }
        let frame = &data[..head.size];
        if let Err(err) = schema::check_sum(frame, &head) {
            out.push(format!("frame {}", typed(&err, "frame")?));
            data = &data[head.size..];
            continue;
        }
        let payload = wire::payload::<Schema>(frame, &head);
        match wire::frame::<Schema>(head.message, head.seq, &head.plain, payload) {
            Ok(rebuilt) if rebuilt == frame => {}
            Ok(rebuilt) => {
                return Err(format!(
                    "a checked frame is not rebuilt as it was: {} -> {}",
                    hex(frame),
                    hex(&rebuilt)
                ))
            }
            Err(err) => return Err(format!("a checked frame does not frame again: {err}")),
        }
        out.push(format!("frame {}", check_payload(head.message, payload)?));
        data = &data[head.size..];
    }
    Ok(())
}

/// Every property on one input: its outcomes, or the first property it breaks (a panic too).
fn check(input: &[u8], ids: &[usize]) -> Result<Vec<Outcome>, String> {
    let caught = panic::catch_unwind(AssertUnwindSafe(|| {
        let mut out = Vec::new();
        check_frames(input, &mut out)?;
        if let Some((&selector, payload)) = input.split_first() {
            let id = ids[usize::from(selector) % ids.len()];
            out.push(format!("payload {}", check_payload(id, payload)?));
        }
        Ok(out)
    }));
    match caught {
        Ok(result) => result,
        Err(cause) => {
            let what = cause
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| cause.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".into());
            Err(format!("panic: {what}"))
        }
    }
}

// ------------------------------------------------------------------ mutations

/// A little-endian u32 at `at` (which must leave 4 bytes).
fn get_u32(data: &[u8], at: usize) -> u32 {
    let mut b = [0; 4];
    b.copy_from_slice(&data[at..at + 4]);
    u32::from_le_bytes(b)
}

fn put_u32(data: &mut [u8], at: usize, v: u32) {
    data[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// A length or count for the u32 at `at`: a limit, what is left after it, or its value +- 1.
fn length_for(rng: &mut Rng, data: &[u8], at: usize) -> u32 {
    let left = u32::try_from(data.len() - at - 4).unwrap_or(u32::MAX);
    let old = get_u32(data, at);
    match rng.below(6) {
        0 | 1 => LENGTHS[rng.below(LENGTHS.len())],
        2 => left,
        3 => left.wrapping_add(1),
        4 => old.wrapping_add(1),
        _ => old.wrapping_sub(1),
    }
}

/// One mutation of `data`, which may use `other` (another corpus input) for splices.
fn mutate_once(rng: &mut Rng, data: &mut Vec<u8>, other: &[u8], ids: &[usize]) {
    let len = data.len();
    match rng.below(12) {
        0 if len > 0 => {
            let at = rng.below(len);
            data[at] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let at = rng.below(len);
            data[at] = if rng.below(2) == 0 {
                BYTES[rng.below(BYTES.len())]
            } else {
                rng.byte()
            };
        }
        2 if len > 0 => data.truncate(rng.below(len)),
        3 => {
            let n = 1 + rng.below(32);
            for _ in 0..n {
                let b = rng.byte();
                data.push(b);
            }
        }
        4 | 5 if len >= 4 => {
            let at = rng.below(len - 3);
            let v = length_for(rng, data, at);
            put_u32(data, at, v);
        }
        6 if !other.is_empty() => {
            // splice: our head, then the other's tail
            let cut = rng.below(len + 1);
            let from = rng.below(other.len());
            data.truncate(cut);
            data.extend_from_slice(&other[from..]);
        }
        7 => {
            let at = rng.below(len + 1);
            let n = 1 + rng.below(16);
            let fill = if rng.below(2) == 0 {
                Some(rng.byte())
            } else {
                None
            };
            let bytes: Vec<u8> = (0..n).map(|_| fill.unwrap_or_else(|| rng.byte())).collect();
            data.splice(at..at, bytes);
        }
        8 if len > 0 => {
            let at = rng.below(len);
            let n = 1 + rng.below((len - at).min(16));
            data.drain(at..at + n);
        }
        9 if len > 0 => {
            // copy a range of itself somewhere else
            let from = rng.below(len);
            let n = 1 + rng.below((len - from).min(32));
            let chunk = data[from..from + n].to_vec();
            let at = rng.below(len + 1);
            data.splice(at..at, chunk);
        }
        10 if holds_header(data) => {
            // a valid frame around whatever follows the header: another message, its length
            let msg = ids[rng.below(ids.len())];
            let seq = (u128::from(rng.next()) % (u128::from(schema::SEQ_MAX) + 1)) as u64;
            let plain = [0; schema::PLAIN_COUNT];
            if let Ok(frame) = wire::frame::<Schema>(msg, seq, &plain, &data[HEADER_SIZE..]) {
                *data = frame;
            }
        }
        _ if len > 0 => data[0] = rng.byte(), // another message for the bare payload
        _ => data.push(rng.byte()),
    }
    data.truncate(MAX_INPUT);
}

/// Integers worth trying in a decimal token: the edges of every width, and their neighbours.
const INTEGERS: [i128; 20] = [
    0,
    1,
    -1,
    2,
    127,
    128,
    -128,
    -129,
    255,
    256,
    32767,
    -32768,
    65535,
    65536,
    2_147_483_647,
    -2_147_483_648,
    4_294_967_295,
    9_223_372_036_854_775_807,
    -9_223_372_036_854_775_808,
    18_446_744_073_709_551_615,
];
/// Byte lengths worth trying in a blob token: around the schema's `char[N]` and `max`.
const BLOB_LENGTHS: [usize; 12] = [0, 1, 6, 7, 8, 9, 15, 16, 17, 63, 64, 65];

/// Another token of the same kind as `token` (PEER_CONTRACT.md "Values as text"); it may be
/// out of its field's range, which the encoder then refuses.
fn mutate_token(rng: &mut Rng, token: &str) -> String {
    if let Some(digits) = token.strip_prefix('x') {
        // a blob: char[N], bytes or string
        let mut bytes: Vec<u8> = digits
            .as_bytes()
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap_or("00"), 16).unwrap_or(0))
            .collect();
        let ascii = rng.below(4) != 0; // text stays valid UTF-8 without NULs, mostly
        let byte = |rng: &mut Rng| {
            if ascii {
                0x20 + rng.byte() % 0x5f
            } else {
                rng.byte()
            }
        };
        match rng.below(4) {
            0 => {
                let b = byte(rng);
                bytes.push(b);
            }
            1 => {
                bytes.pop();
            }
            2 => {
                let n = BLOB_LENGTHS[rng.below(BLOB_LENGTHS.len())];
                bytes = (0..n).map(|_| byte(rng)).collect();
            }
            _ if !bytes.is_empty() => {
                let at = rng.below(bytes.len());
                bytes[at] = byte(rng);
            }
            _ => {}
        }
        let mut out = String::from("x");
        for b in bytes {
            out.push_str(&format!("{b:02x}"));
        }
        return out;
    }
    if let Some(at) = token.find("0x") {
        // a float's bit pattern (0x and 8 or 16 digits) or a bigint (-?0x and any digits)
        let sign = &token[..at];
        let mut digits: Vec<u8> = token.as_bytes()[at + 2..].to_vec();
        const HEX: &[u8; 16] = b"0123456789abcdef";
        match rng.below(4) {
            0 => {
                let sign = if sign.is_empty() { "-" } else { "" };
                return format!("{sign}0x{}", &token[at + 2..]);
            }
            1 => digits.push(HEX[rng.below(16)]),
            2 if digits.len() > 1 => {
                digits.remove(0);
            }
            _ => {
                for d in &mut digits {
                    if rng.below(2) == 0 {
                        *d = HEX[rng.below(16)];
                    }
                }
            }
        }
        return format!("{sign}0x{}", String::from_utf8_lossy(&digits));
    }
    match token {
        "true" => return "false".into(),
        "false" => return "true".into(),
        _ => {}
    }
    let old: i128 = token.parse().unwrap_or(0);
    match rng.below(3) {
        0 => old.saturating_add(1).to_string(),
        1 => old.saturating_sub(1).to_string(),
        _ => INTEGERS[rng.below(INTEGERS.len())].to_string(),
    }
}

/// A value-level mutation: decode a payload into its text form, change one token, encode it
/// again. It reaches valid payloads with new lengths, counts and numbers, which byte-level
/// mutations seldom hit. The payload is the first frame's, if `data` starts with a whole
/// frame, else the bare payload after the selector byte. False if nothing changed.
fn mutate_value(rng: &mut Rng, data: &mut Vec<u8>, ids: &[usize]) -> bool {
    let frame = schema::check_head(data, Direction::Any)
        .ok()
        .filter(|h| h.size <= data.len());
    let (id, start, end) = match (frame, data.first()) {
        (Some(h), _) => (h.message, HEADER_SIZE, HEADER_SIZE + h.payload_len),
        (None, Some(&selector)) => (ids[usize::from(selector) % ids.len()], 1, data.len()),
        (None, None) => return false,
    };
    let mut words = match schema::decode_text(id, &data[start..end], NEWEST_VERSION) {
        Ok(words) if !words.is_empty() => words,
        _ => return false,
    };
    let at = rng.below(words.len());
    words[at] = mutate_token(rng, &words[at]);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let payload = match schema::encode_text(id, &words, NEWEST_VERSION) {
        Ok(payload) => payload,
        Err(_) => return false,
    };
    match frame {
        Some(h) => match wire::frame::<Schema>(id, h.seq, &h.plain, &payload) {
            Ok(framed) => {
                data.splice(..h.size, framed);
            }
            Err(_) => return false,
        },
        None => {
            data.splice(1.., payload);
        }
    }
    data.truncate(MAX_INPUT);
    true
}

fn mutate(rng: &mut Rng, parent: &[u8], other: &[u8], ids: &[usize]) -> Vec<u8> {
    let mut data = parent.to_vec();
    for _ in 0..1 + rng.below(4) {
        if rng.below(4) != 0 || !mutate_value(rng, &mut data, ids) {
            mutate_once(rng, &mut data, other, ids);
        }
    }
    data
}

// ------------------------------------------------------------------ files

fn hex(data: &[u8]) -> String {
    const SHOWN: usize = 64;
    let mut s: String = data
        .iter()
        .take(SHOWN)
        .map(|b| format!("{b:02x}"))
        .collect();
    if data.len() > SHOWN {
        s.push_str(&format!("...({} bytes)", data.len()));
    }
    s
}

/// FNV-1a: a stable name for an input.
fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The files named, each folder's regular files in name order (hidden ones and *.md skipped).
fn files_of(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .filter(|p| {
                    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    !name.starts_with('.') && !name.ends_with(".md")
                })
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Built-in seeds, so that the loop runs without a corpus: an empty payload of every message,
/// bare and framed.
fn builtin_seeds(ids: &[usize]) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for (i, &id) in ids.iter().enumerate() {
        seeds.push(vec![i as u8]);
        if let Ok(frame) = wire::frame::<Schema>(
            id,
            u64::from(schema::SEQ_MAX != 0),
            &[0; schema::PLAIN_COUNT],
            &[],
        ) {
            seeds.push(frame);
        }
    }
    seeds
}

// ------------------------------------------------------------------ the two modes

struct Options {
    seed: Option<u64>,
    iterations: Option<u64>,
    seconds: Option<f64>,
    out: PathBuf,
    save: Option<PathBuf>,
    corpus: Vec<PathBuf>,
    replay: bool,
}

const USAGE: &str = "usage: cw-fuzz [--seed N|time] [--iterations N] [--seconds S] [--out DIR] [--save DIR] [CORPUS_DIR...]\n       cw-fuzz --replay FILE_OR_DIR...";

fn options(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        seed: None,
        iterations: None,
        seconds: None,
        out: PathBuf::from("fuzz/regressions/rust"),
        corpus: Vec::new(),
        replay: false,
        save: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |what: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs {what}\n{USAGE}"))
        };
        match arg.as_str() {
            "--seed" => {
                let v = value("a number or 'time'")?;
                o.seed = match v.as_str() {
                    "time" => None,
                    n => Some(n.parse().map_err(|_| format!("bad --seed {n:?}"))?),
                };
            }
            "--iterations" => {
                let v = value("a count")?;
                o.iterations = Some(v.parse().map_err(|_| format!("bad --iterations {v:?}"))?);
            }
            "--seconds" => {
                let v = value("a duration")?;
                let s: f64 = v.parse().map_err(|_| format!("bad --seconds {v:?}"))?;
                if !(s >= 0.0 && s.is_finite()) {
                    return Err(format!("bad --seconds {v:?}"));
                }
                o.seconds = Some(s);
            }
            "--out" => o.out = PathBuf::from(value("a folder")?),
            "--save" => o.save = Some(PathBuf::from(value("a folder")?)),
            "--replay" => o.replay = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other if other.starts_with("--") => {
                return Err(format!("unknown option {other}\n{USAGE}"))
            }
            path => o.corpus.push(PathBuf::from(path)),
        }
    }
    Ok(o)
}

/// Check each file once: the regression replay.
fn replay(o: &Options, ids: &[usize]) -> Result<bool, String> {
    let files = files_of(&o.corpus)?;
    let mut failed = 0;
    for path in &files {
        match check(&read(path)?, ids) {
            Ok(outcomes) => println!("ok {}: {}", path.display(), outcomes.join("; ")),
            Err(why) => {
                failed += 1;
                println!("FAIL {}: {why}", path.display());
            }
        }
    }
    println!("cw-fuzz replay: {} inputs, {failed} failed", files.len());
    Ok(failed == 0)
}

/// Mutate and check until the iterations or the time run out, or an input breaks a property.
fn fuzz(o: &Options, ids: &[usize]) -> Result<bool, String> {
    let seed = o.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let mut rng = Rng(seed);
    let mut corpus: Vec<Vec<u8>> = Vec::new();
    for path in files_of(&o.corpus)? {
        let data = read(&path)?;
        if data.len() <= MAX_INPUT {
            corpus.push(data);
        }
    }
    let seeds = corpus.len();
    corpus.extend(builtin_seeds(ids));
    let mut seen: HashSet<Outcome> = HashSet::new();
    for (i, input) in corpus.iter().enumerate() {
        match check(input, ids) {
            Ok(outcomes) => seen.extend(outcomes),
            Err(why) => return found(o, seed, i as u64, input, &why),
        }
    }
    let start = Instant::now();
    let limit = o.iterations.unwrap_or(u64::MAX);
    let (mut execs, mut grew) = (0u64, 0u64);
    while execs < limit {
        if execs % 256 == 0 {
            if let Some(s) = o.seconds {
                if start.elapsed().as_secs_f64() >= s {
                    break;
                }
            }
        }
        let parent = &corpus[rng.below(corpus.len())];
        let other = &corpus[rng.below(corpus.len())];
        let input = mutate(&mut rng, parent, other, ids);
        execs += 1;
        match check(&input, ids) {
            Ok(outcomes) => {
                let before = seen.len();
                seen.extend(outcomes);
                if seen.len() > before && corpus.len() < MAX_CORPUS {
                    if let Some(dir) = &o.save {
                        save(dir, &input)?;
                    }
                    corpus.push(input);
                    grew += 1;
                }
            }
            Err(why) => return found(o, seed, execs, &input, &why),
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "cw-fuzz: seed={seed} execs={execs} secs={secs:.1} execs/s={:.0} seeds={seeds} corpus={} (+{grew}) outcomes={} failures=0",
        execs as f64 / secs.max(1e-9),
        corpus.len(),
        seen.len()
    );
    Ok(true)
}

/// Write an input that joined the corpus to `dir` (`--save`), named by its hash.
fn save(dir: &Path, input: &[u8]) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(format!("{:016x}", fnv(input)));
    fs::write(&path, input).map_err(|e| format!("{}: {e}", path.display()))
}

/// Keep a failing input in the output folder and say how to replay it.
fn found(o: &Options, seed: u64, exec: u64, input: &[u8], why: &str) -> Result<bool, String> {
    fs::create_dir_all(&o.out).map_err(|e| format!("{}: {e}", o.out.display()))?;
    let path = o.out.join(format!("crash-{:016x}", fnv(input)));
    fs::write(&path, input).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("cw-fuzz: seed={seed} exec {exec}: {why}");
    println!("cw-fuzz: input ({} bytes) {}", input.len(), hex(input));
    println!(
        "cw-fuzz: failures=1, kept as {} (replay: cw-fuzz --replay {})",
        path.display(),
        path.display()
    );
    Ok(false)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ids = message_ids();
    let result = options(&args).and_then(|o| {
        if o.replay {
            replay(&o, &ids)
        } else {
            fuzz(&o, &ids)
        }
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(why) => {
            eprintln!("cw-fuzz: {why}");
            ExitCode::from(2)
        }
    }
}
