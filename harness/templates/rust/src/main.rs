//! The @NAME@ peer: scaffolded by `python -m harness new-peer`; yours to edit.
//!
//! It speaks the start of protocols/PEER_CONTRACT.md: HELLO, QUIT, `ERR request` for a line it
//! cannot parse, `ERR unsupported` for a request it does not implement yet, and the line-length
//! limit. docs/adding-a-peer.md says what to add next; `python -m harness check-peer peers/@NAME@`
//! says what is still missing.
use std::io::{self, BufRead, Read, Write};

const NAME: &str = "@NAME@";
/// 8 x max_payload + 65536 bytes (PEER_CONTRACT.md, "Lines").
const MAX_LINE: u64 = @MAX_LINE@;
/// Keep these two as peer.toml's [supports] says.
const TRANSPORTS: &[&str] = &[];
const MESSAGES: &[&str] = &[];
const KNOWN: &[&str] = &[
    "ENCODE", "DECODE", "LISTEN", "CONNECT", "ACCEPT", "SEND", "RECV", "ECHO", "CLOSE", "BLAST",
    "DRAIN", "WAIT", "PING", "PONG", "FLOOD", "SINK",
];

/// One request line without its newline: Ok(None) at the end of input, Err(()) for a line
/// longer than MAX_LINE (read and dropped up to its newline).
fn read_line(input: &mut impl BufRead) -> io::Result<Option<Result<String, ()>>> {
    let mut buf = Vec::new();
    input.by_ref().take(MAX_LINE + 1).read_until(b'\n', &mut buf)?;
    if buf.is_empty() {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        return Ok(Some(Ok(String::from_utf8_lossy(&buf).into_owned())));
    }
    let mut rest = Vec::new();
    input.read_until(b'\n', &mut rest)?; // drop the rest of the over-long line
    Ok(Some(Err(())))
}

fn hello(args: &[&str]) -> String {
    if args != ["1"] {
        return format!("ERR unsupported contract {}", args.join(" "));
    }
    let order = if cfg!(target_endian = "little") { "little" } else { "big" };
    format!(
        "OK name={NAME} language=rust contract=1 transports={} messages={} ptr_bits={} byte_order={order}",
        TRANSPORTS.join(","),
        MESSAGES.join(","),
        usize::BITS
    )
}

fn main() -> io::Result<()> {
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let mut out = io::stdout().lock();
    while let Some(line) = read_line(&mut input)? {
        let reply = match line {
            Err(()) => "ERR request line too long".to_string(),
            Ok(line) if line == "QUIT" => {
                writeln!(out, "OK")?;
                out.flush()?;
                return Ok(());
            }
            Ok(line) => {
                let words: Vec<&str> = line.split(' ').collect();
                match words[0] {
                    "HELLO" => hello(&words[1..]),
                    w if KNOWN.contains(&w) => format!("ERR unsupported {w} is not implemented yet"),
                    w => format!("ERR request unknown command {:.40}", w),
                }
            }
        };
        writeln!(out, "{reply}")?;
        out.flush()?;
    }
    Ok(())
}
