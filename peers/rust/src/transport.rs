//! The `uds` transport: one Unix stream socket endpoint and one connection at a time, with
//! every blocking step bounded by a deadline. Standard library only, no `unsafe`.

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// The longest socket path, in bytes (macOS's sun_path is 104 bytes with its NUL).
pub const MAX_ADDRESS: usize = 100;
/// How long an ACCEPT sleeps between two looks at the listener.
const ACCEPT_POLL: Duration = Duration::from_millis(2);
const CHUNK: usize = 64 * 1024;

/// The instant `ms` milliseconds from now (or as far as the clock goes).
pub fn deadline(ms: u64) -> Instant {
    let now = Instant::now();
    let far = || now.checked_add(Duration::from_secs(1 << 30));
    now.checked_add(Duration::from_millis(ms))
        .or_else(far)
        .unwrap_or(now)
}

/// What is left until `deadline`, or a timeout error saying what was awaited.
fn time_left(deadline: Instant, what: impl FnOnce() -> String) -> Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Error::Timeout(what()));
    }
    Ok(left)
}

fn failed(what: &str, err: std::io::Error) -> Error {
    Error::Runtime(format!("{what}: {err}"))
}

/// The endpoint (after LISTEN) and the connection (after CONNECT or ACCEPT).
#[derive(Default)]
pub struct Uds {
    listener: Option<(UnixListener, PathBuf)>,
    conn: Option<UnixStream>,
    /// Bytes read from the connection and not used yet; what a timeout leaves stays here.
    inbuf: Vec<u8>,
}

impl Uds {
    fn check_free(&self, address: &str) -> Result<()> {
        if address.len() > MAX_ADDRESS {
            return Err(Error::Runtime(format!(
                "address longer than {MAX_ADDRESS} bytes"
            )));
        }
        if self.listener.is_some() || self.conn.is_some() {
            let text = "an endpoint or connection is already open: CLOSE first";
            return Err(Error::Runtime(text.into()));
        }
        Ok(())
    }

    /// Create the socket file (it must not exist) and listen on it.
    pub fn listen(&mut self, address: &str) -> Result<()> {
        self.check_free(address)?;
        let listener = UnixListener::bind(address).map_err(|e| failed("bind", e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| failed("listen", e))?;
        self.listener = Some((listener, PathBuf::from(address)));
        Ok(())
    }

    /// Connect to a listening endpoint. std has no connect with a timeout for Unix sockets, so
    /// a helper thread connects; if the deadline passes first, its late result is dropped.
    pub fn connect(&mut self, address: &str, deadline: Instant) -> Result<()> {
        self.check_free(address)?;
        let what = || format!("connecting to {address}");
        let left = time_left(deadline, what)?;
        let (tx, rx) = mpsc::channel();
        let path = address.to_owned();
        thread::Builder::new()
            .name("connect".into())
            .spawn(move || tx.send(UnixStream::connect(path)))
            .map_err(|e| failed("thread", e))?;
        match rx.recv_timeout(left) {
            Ok(Ok(conn)) => self.opened(conn),
            Ok(Err(e)) => Err(failed("connect", e)),
            Err(_) => Err(Error::Timeout(what())),
        }
    }

    /// Accept one connection on the endpoint.
    pub fn accept(&mut self, deadline: Instant) -> Result<()> {
        let listener = match &self.listener {
            Some((listener, _)) => listener,
            None => return Err(Error::Runtime("no endpoint: LISTEN first".into())),
        };
        if self.conn.is_some() {
            return Err(Error::Runtime("a connection is already open".into()));
        }
        let what = || "no connection to accept".to_owned();
        loop {
            let left = time_left(deadline, what)?;
            match listener.accept() {
                Ok((conn, _)) => return self.opened(conn),
                Err(e)
                    if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted =>
                {
                    thread::sleep(left.min(ACCEPT_POLL));
                }
                Err(e) => return Err(failed("accept", e)),
            }
        }
    }

    fn opened(&mut self, conn: UnixStream) -> Result<()> {
        conn.set_nonblocking(false)
            .map_err(|e| failed("connection", e))?;
        self.conn = Some(conn);
        self.inbuf.clear();
        Ok(())
    }

    fn conn(&mut self) -> Result<&mut UnixStream> {
        self.conn
            .as_mut()
            .ok_or_else(|| Error::Runtime("no connection: CONNECT or ACCEPT first".into()))
    }

    /// Write all of `bytes`, however long the other side takes to read them.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        let conn = self.conn()?;
        conn.set_write_timeout(None)
            .map_err(|e| failed("send", e))?;
        conn.write_all(bytes).map_err(|e| failed("send", e))
    }

    /// The first `count` bytes of the stream, read until they are all here or the deadline
    /// passes. A close before the first byte is `runtime closed`; in the middle of a frame it
    /// is `decode truncated frame` and the connection is closed.
    pub fn peek(&mut self, count: usize, deadline: Instant) -> Result<&[u8]> {
        self.conn()?;
        let mut chunk = vec![0; CHUNK];
        while self.inbuf.len() < count {
            let got = self.inbuf.len();
            let what = || format!("waiting for a frame, {got} of {count} bytes read");
            let left = time_left(deadline, what)?;
            let conn = self.conn()?;
            conn.set_read_timeout(Some(left))
                .map_err(|e| failed("recv", e))?;
            match conn.read(&mut chunk) {
                Ok(0) if got == 0 => return Err(Error::Runtime("closed by the other side".into())),
                Ok(0) => {
                    self.close_connection();
                    return Err(Error::FrameCut { got, need: count });
                }
                Ok(n) => self.inbuf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                    return Err(Error::Timeout(what()))
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(failed("recv", e)),
            }
        }
        Ok(&self.inbuf[..count])
    }

    /// Take the first `count` bytes of what `peek` read.
    pub fn consume(&mut self, count: usize) -> Vec<u8> {
        let count = count.min(self.inbuf.len());
        self.inbuf.drain(..count).collect()
    }

    pub fn close_connection(&mut self) {
        self.conn = None;
        self.inbuf.clear();
    }

    /// Close the connection and the endpoint; a listener removes its socket file.
    pub fn close(&mut self) {
        self.close_connection();
        if let Some((listener, path)) = self.listener.take() {
            drop(listener);
            // Gone already is fine; anything else cannot be helped at CLOSE.
            let _ = fs::remove_file(path);
        }
    }
}

impl Drop for Uds {
    fn drop(&mut self) {
        self.close();
    }
}
