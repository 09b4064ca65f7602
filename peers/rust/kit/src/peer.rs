//! The peer contract (protocols/PEER_CONTRACT.md): one request line on stdin, one reply line
//! on stdout; messages travel in WIRE.md frames over Unix sockets, TCP or the shared-memory
//! rings of SHM.md. Everything the schema decides comes from `P: Protocol`.

use std::io::{self, BufRead, Read, Write};
use std::time::Instant;

use crate::bench;
use crate::codec::{hex, parse_blob};
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::orphan;
use crate::protocol::Protocol;
use crate::shm::{Strategy, DEFAULT_CAPACITY};
use crate::stream::{self, Stream};
use crate::transport::{self, Link, Transport};
use crate::wire::{self, no_frame, Direction, Head};

/// The kit's version, said in HELLO (`kit=2`); harness/kits.py holds the harness's.
pub const KIT_VERSION: u32 = 2;
/// How much of an overlong line is read at a time while it is discarded.
const SKIP: u64 = 1 << 20;
/// The request loop's stdin buffer: larger than std's own (8 KiB), which it then bypasses.
const STDIN_BUFFER: usize = 64 << 10;
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

fn message<P: Protocol>(name: &str) -> Result<usize> {
    P::message_index(name).ok_or_else(|| request(&format!("unknown message {name:?}")))
}

/// A plain header value of SEND: a decimal integer (beyond i128: out of every range).
fn header_value(token: &str) -> Result<i128> {
    let digits = token.strip_prefix('-').unwrap_or(token);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(request(&format!("bad header value {token:?}")));
    }
    Ok(token.parse().unwrap_or(i128::MAX))
}

/// The arguments of RECV and ECHO: `<timeout_ms> [request|response]`.
fn reading<P: Protocol>(args: &[&str], command: &str) -> Result<(Instant, Direction)> {
    let direction = match args {
        [_] => Direction::Any,
        [_, side] => {
            Direction::parse(side).ok_or_else(|| request(&format!("bad direction {side:?}")))?
        }
        _ => {
            return Err(request(&format!(
                "usage: {command} <timeout_ms> [request|response]"
            )))
        }
    };
    let deadline = deadline(args[0])?;
    if !P::HAS_FRAME {
        return Err(no_frame());
    }
    Ok((deadline, direction))
}

/// A count, seed or length of BLAST/DRAIN: a decimal u64.
fn number(token: &str, what: &str) -> Result<u64> {
    digits(token, what)?.ok_or_else(|| request(&format!("bad {what} {token:?}: beyond u64")))
}

/// A count of PING/PONG/FLOOD/SINK: at most `bench::MAX_COUNT`.
fn bench_count(token: &str, what: &str) -> Result<u64> {
    match digits(token, what)? {
        Some(n) if n <= bench::MAX_COUNT => Ok(n),
        _ => Err(request(&format!(
            "bad {what} {token}: at most {}",
            bench::MAX_COUNT
        ))),
    }
}

/// The stream of BLAST/DRAIN from `<seed> <min_len> <max_len>`.
fn stream_of(args: &[&str], layout: &Layout) -> Result<Stream> {
    let seed = number(args[0], "seed")?;
    let min = number(args[1], "min_len")?;
    let max = number(args[2], "max_len")?;
    Stream::new(seed, min, max, layout.max)
}

/// The layout of the last STREAM, which BLAST, DRAIN, PING, FLOOD and SINK need.
fn layout_of<P: Protocol>(layout: &Option<Layout>) -> Result<&Layout> {
    if !P::HAS_FRAME {
        return Err(no_frame());
    }
    layout
        .as_ref()
        .ok_or_else(|| request("no STREAM: send STREAM first"))
}

/// The message name and seq of a frame received.
fn facts<P: Protocol>(head: &Head<P>) -> Vec<String> {
    let name = P::MESSAGES.get(head.message).map_or("-", |m| m.name);
    vec![name.to_owned(), head.seq.to_string()]
}

/// HELLO's facts, the platform measured at run time.
fn hello(name: &str) -> String {
    let order = if u16::to_ne_bytes(1)[0] == 1 {
        "little"
    } else {
        "big"
    };
    let bits = std::mem::size_of::<usize>() * 8;
    let me = format!("name={name} language=rust contract=3 transports=uds,shm,tcp messages=*");
    format!("{me} ptr_bits={bits} byte_order={order} kit={KIT_VERSION}")
}

/// A seq beyond u64, refused like a value out of range.
fn seq_range<P: Protocol>(token: &str) -> Error {
    let value = token.trim_start_matches('0');
    wire::header_range("seq", value, 0, P::SEQ_MAX.into())
}

/// What the peer keeps between requests: the link, the protocol version it speaks and the
/// stream message's layout.
struct Peer {
    link: Link,
    version: u16,
    name: String,
    layout: Option<Layout>,
}

/// The reply tokens after `OK`.
fn handle<P: Protocol>(peer: &mut Peer, words: &[&str]) -> Result<Vec<String>> {
    let (command, args) = words.split_first().ok_or_else(|| request("empty"))?;
    let version = peer.version;
    let link = &mut peer.link;
    let layout = &peer.layout;
    match *command {
        "HELLO" => {
            expect(args, 1, "HELLO <contract>")?;
            if args[0] != "3" {
                return Err(Error::Unsupported(format!("contract {}", args[0])));
            }
            Ok(vec![hello(&peer.name)])
        }
        "STREAM" => {
            peer.layout = None; // a refused STREAM leaves none
            peer.layout = Some(Layout::parse::<P>(args)?);
            Ok(vec![])
        }
        "VERSION" => {
            expect(args, 1, "VERSION <n>")?;
            let newest = P::NEWEST_VERSION;
            peer.version = match digits(args[0], "version")? {
                Some(n) if (1..=u64::from(newest)).contains(&n) => n as u16,
                _ => return Err(request(&format!("bad version {}: 1 to {newest}", args[0]))),
            };
            Ok(vec![])
        }
        "ENCODE" => {
            let (name, value) = args
                .split_first()
                .ok_or_else(|| request("usage: ENCODE <Message> <value>"))?;
            Ok(vec![hex(&P::encode_text(
                message::<P>(name)?,
                value,
                version,
            )?)])
        }
        "DECODE" => {
            expect(args, 2, "DECODE <Message> x<payload>")?;
            let index = message::<P>(args[0])?;
            let payload = parse_blob(args[1]).ok_or_else(|| request("bad blob"))?;
            P::decode_text(index, &payload, version)
        }
        "LISTEN" => {
            if args.first() == Some(&"shm") && args.len() == 3 {
                // The ring capacity: anything but a power of two from 64 to 2^30 is refused
                // by the transport; beyond u64 is refused the same way.
                let capacity = digits(args[2], "capacity")?.unwrap_or(u64::MAX);
                let transport = Transport::parse(args[0])?;
                return link
                    .listen(transport, args[1], capacity)
                    .map(|bound| bound.into_iter().collect());
            }
            expect(args, 2, "LISTEN <transport> <address> (shm: [capacity])")?;
            let transport = Transport::parse(args[0])?;
            link.listen(transport, args[1], DEFAULT_CAPACITY)
                .map(|bound| bound.into_iter().collect()) // tcp: the address really bound
        }
        "CONNECT" => {
            expect(args, 3, "CONNECT <transport> <address> <timeout_ms>")?;
            let transport = Transport::parse(args[0])?;
            link.connect(transport, args[1], deadline(args[2])?)
                .map(|()| vec![])
        }
        "ACCEPT" => {
            let want_uid = match args {
                [_, uid] if uid.starts_with("uid=") => Some(
                    digits(&uid[4..], "uid")?
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| request(&format!("bad uid {uid:?}")))?,
                ),
                _ => {
                    expect(args, 1, "ACCEPT <timeout_ms> [uid=<n>]")?;
                    None
                }
            };
            link.accept(deadline(args[0])?, want_uid).map(|()| vec![])
        }
        "SEND" => {
            let lead = 2 + P::Plain::default().as_ref().len();
            if args.len() < 2 {
                return Err(request(
                    "usage: SEND <Message> <seq> [<header values>] <value>",
                ));
            }
            let index = message::<P>(args[0])?;
            let seq = digits(args[1], "seq")?;
            if !P::HAS_FRAME {
                return Err(no_frame());
            }
            let plain = match args.get(2..lead) {
                Some(tokens) => tokens
                    .iter()
                    .map(|t| header_value(t))
                    .collect::<Result<Vec<_>>>()?,
                None => return Err(request("missing the frame's header values")),
            };
            let seq = match seq {
                Some(seq) => seq,
                None => {
                    P::encode_text(index, &args[lead..], version)?; // the value's errors first
                    return Err(seq_range::<P>(args[1]));
                }
            };
            let frame = P::send_frame(index, seq, &plain, &args[lead..], version)?;
            link.write_all(&frame)?;
            Ok(vec![frame.len().to_string()])
        }
        "RECV" => {
            let (deadline, direction) = reading::<P>(args, "RECV")?;
            let (head, frame) = wire::read_whole::<P>(link, deadline, direction)?;
            let value = P::recv_words(&head, &frame, version)?; // stays connected
            let plain = head.plain.as_ref().iter().map(i128::to_string);
            Ok(facts::<P>(&head)
                .into_iter()
                .chain(plain)
                .chain(value)
                .collect())
        }
        "ECHO" => {
            let (deadline, direction) = reading::<P>(args, "ECHO")?;
            let (head, frame) = wire::read_whole::<P>(link, deadline, direction)?;
            link.write_all(&P::echo_frame(&head, &frame, version)?)?;
            Ok(facts::<P>(&head))
        }
        "BLAST" => {
            expect(args, 4, "BLAST <count> <seed> <min_len> <max_len>")?;
            let count = number(args[0], "count")?;
            let layout = layout_of::<P>(layout)?;
            stream::blast::<P>(link, layout, count, &stream_of(&args[1..], layout)?)
        }
        "DRAIN" => {
            let usage = "DRAIN <count> <seed> <min_len> <max_len> <timeout_ms>";
            expect(args, 5, usage)?;
            let count = number(args[0], "count")?;
            let layout = layout_of::<P>(layout)?;
            let stream = stream_of(&args[1..4], layout)?;
            stream::drain::<P>(link, layout, count, &stream, deadline(args[4])?)
        }
        "WAIT" => {
            expect(args, 1, "WAIT <spin|futex|spin-futex>")?;
            let strategy = Strategy::parse(args[0])
                .ok_or_else(|| request(&format!("unknown wait strategy {:?}", args[0])))?;
            link.set_wait(strategy);
            Ok(vec![])
        }
        "PING" => {
            expect(args, 4, "PING <count> <warmup> <size> <timeout_ms>")?;
            let count = bench_count(args[0], "count")?;
            let warmup = bench_count(args[1], "warmup")?;
            let size = number(args[2], "size")?;
            let layout = layout_of::<P>(layout)?;
            bench::ping::<P>(link, layout, count, warmup, size, deadline(args[3])?)
        }
        "PONG" => {
            expect(args, 2, "PONG <count> <timeout_ms>")?;
            let count = bench_count(args[0], "count")?;
            bench::pong::<P>(link, layout.as_ref(), count, deadline(args[1])?)
        }
        "FLOOD" => {
            expect(args, 2, "FLOOD <count> <size>")?;
            let count = bench_count(args[0], "count")?;
            let size = number(args[1], "size")?;
            bench::flood::<P>(link, layout_of::<P>(layout)?, count, size)
        }
        "SINK" => {
            expect(args, 3, "SINK <count> <size> <timeout_ms>")?;
            let count = bench_count(args[0], "count")?;
            let size = number(args[1], "size")?;
            let layout = layout_of::<P>(layout)?;
            bench::sink::<P>(link, layout, count, size, deadline(args[2])?)
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
fn answer<P: Protocol>(peer: &mut Peer, raw: &[u8]) -> String {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    let line = match std::str::from_utf8(raw) {
        Ok(line) if line.is_ascii() => line,
        _ => return "ERR request the request line is not ASCII".into(),
    };
    let words: Vec<&str> = line.split(' ').collect();
    if words.contains(&"") {
        return "ERR request empty request or an empty token (two spaces?)".into();
    }
    match handle::<P>(peer, &words) {
        Ok(tokens) if tokens.is_empty() => "OK".into(),
        Ok(tokens) => format!("OK {}", tokens.join(" ")),
        Err(err) => format!("ERR {err}").replace(['\r', '\n'], " "),
    }
}

/// Run the peer of protocol `P`, called `name` in HELLO: the request loop on stdin and stdout, on a thread with a
/// large stack (a schema's `T[N]` values live on the stack).
pub fn run<P: Protocol>(_protocol: &P, name: &str) -> io::Result<()> {
    orphan::start(); // before answering anything: the harness may be gone already
    let name = name.to_owned();
    let serve = std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || serve::<P>(name))?;
    serve
        .join()
        .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::Other, "the loop panicked")))
}

fn serve<P: Protocol>(name: String) -> io::Result<()> {
    // The longest request line, in bytes without its newline (PEER_CONTRACT.md, "Lines"):
    // 8 x max_payload + 65536. A longer one is discarded up to its newline and refused.
    let max_line: u64 = 8 * u64::from(P::MAX_PAYLOAD) + 65536;
    // Our own buffer, at least as large as std's: std's then reads straight into ours and holds
    // nothing, so what is left of stdin after a line is exactly `stdin.buffer()` (a hung-up stdin
    // with lines still buffered is not a gone harness).
    let mut stdin = io::BufReader::with_capacity(STDIN_BUFFER, io::stdin().lock());
    let mut stdout = io::stdout().lock();
    let mut peer = Peer {
        link: Link::default(),
        version: P::NEWEST_VERSION,
        name,
        layout: None,
    };
    let mut raw = Vec::new();
    loop {
        raw.clear();
        if stdin
            .by_ref()
            .take(max_line + 1)
            .read_until(b'\n', &mut raw)?
            == 0
        {
            return Ok(()); // end of input: the link closes on drop
        }
        orphan::set_buffered(!stdin.buffer().is_empty());
        crate::sys::follow_process_cpus(); // a pin may have come after this thread started
        let quit = raw == b"QUIT\n" || raw == b"QUIT";
        let reply = if raw.ends_with(b"\n") || (raw.len() as u64) <= max_line {
            answer::<P>(&mut peer, &raw)
        } else {
            while !raw.ends_with(b"\n") {
                raw.clear(); // drop the rest of the line
                if stdin.by_ref().take(SKIP).read_until(b'\n', &mut raw)? == 0 {
                    break;
                }
            }
            raw = Vec::new(); // do not keep the long line's memory
            "ERR request line too long".to_owned()
        };
        writeln!(stdout, "{reply}")?;
        stdout.flush()?;
        if quit {
            return Ok(());
        }
    }
}
