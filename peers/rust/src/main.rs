//! cw-peer: the Rust peer of crosswire. One request line on stdin, one reply line on stdout
//! (protocols/PEER_CONTRACT.md); messages travel over Unix sockets in WIRE.md frames.
#![forbid(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

use std::io::{self, BufRead, Read, Write};
use std::time::Instant;

use crosswire::codec::{hex, parse_blob};
use crosswire::transport::{self, Uds};
use crosswire::{schema, wire, Error, Result};

/// The longest request line read; a longer one is refused (the driver's reply limit).
const MAX_LINE: u64 = 64 << 20;
/// The stack of the request loop.
const STACK: usize = 256 << 20;

fn request(text: &str) -> Error {
    Error::Request(text.into())
}

fn expect(args: &[&str], count: usize, usage: &str) -> Result<()> {
    if args.len() != count {
        return Err(request(&format!("usage: {usage}")));
    }
    Ok(())
}

/// A decimal token; `None` when it is beyond u64.
fn digits(token: &str, what: &str) -> Result<Option<u64>> {
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) {
        return Err(request(&format!("bad {what} {token:?}")));
    }
    Ok(token.parse().ok()) // all digits: only too many of them fail
}

fn deadline(token: &str) -> Result<Instant> {
    Ok(transport::deadline(
        digits(token, "timeout_ms")?.unwrap_or(u64::MAX),
    ))
}

fn message(name: &str) -> Result<u16> {
    schema::message_id(name).ok_or_else(|| request(&format!("unknown message {name:?}")))
}

fn uds(name: &str) -> Result<()> {
    if name != "uds" {
        return Err(Error::Unsupported(format!("transport {name}")));
    }
    Ok(())
}

/// The message name and seq of a frame received.
fn facts(header: &wire::Header) -> Vec<String> {
    let name = schema::message_name(header.msg_type).unwrap_or("-");
    vec![name.to_owned(), header.seq.to_string()]
}

/// HELLO's facts, the platform measured at run time.
fn hello() -> String {
    let order = if u16::to_ne_bytes(1)[0] == 1 {
        "little"
    } else {
        "big"
    };
    let bits = std::mem::size_of::<usize>() * 8;
    let me = "name=rust language=rust contract=1 transports=uds messages=*";
    format!("{me} ptr_bits={bits} byte_order={order}")
}

/// A seq beyond u64, refused like a value out of range.
fn seq_range(token: &str) -> Error {
    let (path, value) = ("frame.seq".into(), token.trim_start_matches('0').into());
    Error::Range {
        path,
        value,
        min: 0,
        max: u64::MAX.into(),
    }
}

/// The reply tokens after `OK`.
fn handle(link: &mut Uds, words: &[&str]) -> Result<Vec<String>> {
    let (command, args) = words.split_first().ok_or_else(|| request("empty"))?;
    match *command {
        "HELLO" => {
            expect(args, 1, "HELLO <contract>")?;
            if args[0] != "1" {
                return Err(Error::Unsupported(format!("contract {}", args[0])));
            }
            Ok(vec![hello()])
        }
        "ENCODE" => {
            let (name, value) = args
                .split_first()
                .ok_or_else(|| request("usage: ENCODE <Message> <value>"))?;
            Ok(vec![hex(&schema::encode_text(message(name)?, value)?)])
        }
        "DECODE" => {
            expect(args, 2, "DECODE <Message> x<payload>")?;
            let id = message(args[0])?;
            let payload = parse_blob(args[1]).ok_or_else(|| request("bad blob"))?;
            schema::decode_text(id, &payload)
        }
        "LISTEN" => {
            expect(args, 2, "LISTEN <transport> <address>")?;
            uds(args[0])?;
            link.listen(args[1]).map(|()| vec![])
        }
        "CONNECT" => {
            expect(args, 3, "CONNECT <transport> <address> <timeout_ms>")?;
            uds(args[0])?;
            link.connect(args[1], deadline(args[2])?).map(|()| vec![])
        }
        "ACCEPT" => {
            expect(args, 1, "ACCEPT <timeout_ms>")?;
            link.accept(deadline(args[0])?).map(|()| vec![])
        }
        "SEND" => {
            if args.len() < 2 {
                return Err(request("usage: SEND <Message> <seq> <value>"));
            }
            let id = message(args[0])?;
            let seq = digits(args[1], "seq")?;
            let payload = schema::encode_text(id, &args[2..])?;
            let frame = wire::frame(id, seq.ok_or_else(|| seq_range(args[1]))?, &payload)?;
            link.write_all(&frame)?;
            Ok(vec![frame.len().to_string()])
        }
        "RECV" => {
            expect(args, 1, "RECV <timeout_ms>")?;
            let (header, payload) = wire::read_frame(link, deadline(args[0])?)?;
            let value = schema::decode_text(header.msg_type, &payload)?; // stays connected
            Ok([facts(&header), value].concat())
        }
        "ECHO" => {
            expect(args, 1, "ECHO <timeout_ms>")?;
            let (header, payload) = wire::read_frame(link, deadline(args[0])?)?;
            let back = schema::reencode(header.msg_type, &payload)?;
            link.write_all(&wire::frame(header.msg_type, header.seq, &back)?)?;
            Ok(facts(&header))
        }
        "CLOSE" | "QUIT" => {
            expect(args, 0, command)?;
            link.close();
            Ok(vec![])
        }
        _ => Err(request(&format!("unknown command {command:?}"))),
    }
}

/// The one reply line to one request line.
fn answer(link: &mut Uds, raw: &[u8]) -> String {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    let line = match std::str::from_utf8(raw) {
        Ok(line) if line.is_ascii() => line,
        _ => return "ERR request the request line is not ASCII".into(),
    };
    let words: Vec<&str> = line.split(' ').collect();
    if words.contains(&"") {
        return "ERR request empty request or an empty token (two spaces?)".into();
    }
    match handle(link, &words) {
        Ok(tokens) if tokens.is_empty() => "OK".into(),
        Ok(tokens) => format!("OK {}", tokens.join(" ")),
        Err(err) => format!("ERR {err}").replace(['\r', '\n'], " "),
    }
}

fn main() -> io::Result<()> {
    // A schema's T[N] values live on the stack: give large ones room.
    let serve = std::thread::Builder::new().stack_size(STACK).spawn(serve)?;
    serve
        .join()
        .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::Other, "the loop panicked")))
}

fn serve() -> io::Result<()> {
    let (mut stdin, mut stdout) = (io::stdin().lock(), io::stdout().lock());
    let mut link = Uds::default();
    let mut raw = Vec::new();
    loop {
        raw.clear();
        if stdin.by_ref().take(MAX_LINE).read_until(b'\n', &mut raw)? == 0 {
            return Ok(()); // end of input: `link` closes on drop
        }
        let quit = raw == b"QUIT\n" || raw == b"QUIT";
        let reply = if raw.ends_with(b"\n") || (raw.len() as u64) < MAX_LINE {
            answer(&mut link, &raw)
        } else {
            while !raw.ends_with(b"\n") {
                raw.clear(); // drop the rest of the line
                if stdin.by_ref().take(MAX_LINE).read_until(b'\n', &mut raw)? == 0 {
                    break;
                }
            }
            format!("ERR request a request line longer than {MAX_LINE} bytes")
        };
        writeln!(stdout, "{reply}")?;
        stdout.flush()?;
        if quit {
            return Ok(());
        }
    }
}
