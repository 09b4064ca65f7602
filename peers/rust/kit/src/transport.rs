//! The transports of PEER_CONTRACT.md behind one [`Link`]: `uds` (a Unix stream socket), `tcp`
//! (a TCP stream, `TCP_NODELAY`) and `shm` (the shared-memory rings of SHM.md, in `shm`). One
//! endpoint and one connection at a time, every blocking step bounded by a deadline, and the
//! bytes read but not used yet kept in one input buffer whatever the transport, so a frame cut
//! by a timeout stays in step.

use std::fs;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::orphan::{self, Left, Watch};
use crate::shm;
use crate::sys;

/// The longest socket path, in bytes (macOS's sun_path is 104 bytes with its NUL).
pub const MAX_ADDRESS: usize = 100;
/// How long an ACCEPT sleeps between two looks at the listener.
const ACCEPT_POLL: Duration = Duration::from_millis(2);
/// The room one read has at least (more when a frame needs more).
const CHUNK: usize = 64 * 1024;
/// The longest a socket read or write blocks before the deadline and the harness are looked
/// at again: the timeout is set once, not before every read or write, and again only in the
/// last slice.
const SOCKET_SLICE: Duration = Duration::from_millis(50);

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

/// A transport of the contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Uds,
    Shm,
    Tcp,
}

impl Transport {
    pub fn parse(name: &str) -> Result<Transport> {
        match name {
            "uds" => Ok(Transport::Uds),
            "shm" => Ok(Transport::Shm),
            "tcp" => Ok(Transport::Tcp),
            _ => Err(Error::Unsupported(format!("transport {name}"))),
        }
    }
}

/// A tcp address of the contract: `<a.b.c.d>:<port>` or `[<IPv6>]:<port>`, no names.
fn tcp_address(address: &str) -> Result<SocketAddr> {
    address.parse().map_err(|_| {
        Error::Runtime(format!(
            "bad tcp address {:?}: <IPv4>:<port> or [<IPv6>]:<port>",
            address.chars().take(60).collect::<String>()
        ))
    })
}

enum Endpoint {
    Uds(UnixListener, PathBuf),
    Tcp(TcpListener),
    Shm(shm::Listener),
}

enum Conn {
    Uds(UnixStream),
    Tcp(TcpStream),
    Shm(shm::Conn),
}

/// What the two stream sockets share: reads and writes with timeouts.
trait Socket: Read + Write {
    fn read_timeout_to(&self, timeout: Option<Duration>) -> io::Result<()>;
    fn write_timeout_to(&self, timeout: Option<Duration>) -> io::Result<()>;
}

impl Socket for UnixStream {
    fn read_timeout_to(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(timeout)
    }
    fn write_timeout_to(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.set_write_timeout(timeout)
    }
}

impl Socket for TcpStream {
    fn read_timeout_to(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(timeout)
    }
    fn write_timeout_to(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.set_write_timeout(timeout)
    }
}

impl Conn {
    /// The stream socket under a `uds` or `tcp` connection.
    fn socket(&mut self) -> Option<&mut dyn Socket> {
        match self {
            Conn::Uds(conn) => Some(conn),
            Conn::Tcp(conn) => Some(conn),
            Conn::Shm(_) => None,
        }
    }
}

/// A connection accepted or made over tcp, made blocking (reads and writes have timeouts)
/// and without Nagle's delay.
fn tcp_conn(conn: TcpStream) -> Result<Conn> {
    conn.set_nonblocking(false)
        .and_then(|()| conn.set_nodelay(true))
        .map_err(|e| failed("connection", e))?;
    Ok(Conn::Tcp(conn))
}

/// The endpoint (after LISTEN) and the connection (after CONNECT or ACCEPT).
#[derive(Default)]
pub struct Link {
    endpoint: Option<Endpoint>,
    conn: Option<Conn>,
    /// Bytes read from the connection: `buf[start..end]` are not used yet; what a timeout
    /// leaves stays here. `buf[end..]` is where the next read lands: reads go straight into
    /// it, and it is kept from one read to the next, so it is zeroed only when it grows.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// The read timeout set on the socket, so it is set again only when it changes.
    read_timeout: Option<Duration>,
    /// How shm rings wait (`WAIT`), for this connection and the next ones.
    strategy: shm::Strategy,
    /// Where writes give up (PING, PONG); `None`: as long as the other side lives.
    write_deadline: Option<Instant>,
    /// The bytes read of the last frame whose header was refused or that a close cut short
    /// (DRAIN's `bad=`): kept only on those paths, which end the connection.
    refused: Vec<u8>,
    /// The sleeps of the shm connections closed already: `sleeps` and `missed` only grow, so
    /// a request's figures (the difference) hold when its connection ends in the middle.
    past: shm::Sleeps,
}

/// A blocked socket write's timeout: a slice, or what is left before `deadline` if less.
fn write_slice(deadline: Option<Instant>) -> Duration {
    let left = deadline.map_or(SOCKET_SLICE, |d| {
        d.saturating_duration_since(Instant::now())
    });
    left.clamp(Duration::from_micros(1), SOCKET_SLICE)
}

/// Write all of `bytes` to `conn`, waiting for space until `deadline` if any. A socket's write
/// times out every slice (its write timeout): then the deadline and the harness are looked at.
fn write_to(conn: &mut Conn, mut bytes: &[u8], deadline: Option<Instant>) -> Result<()> {
    let socket: &mut dyn Socket = match conn {
        Conn::Shm(conn) => return conn.write_all(bytes, deadline),
        Conn::Uds(conn) => conn,
        Conn::Tcp(conn) => conn,
    };
    while !bytes.is_empty() {
        match socket.write(bytes) {
            Ok(0) => return Err(failed("send", io::Error::from(ErrorKind::WriteZero))),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if deadline.map_or(false, |d| Instant::now() >= d) {
                    let text = "sending: the other side did not read in time";
                    return Err(Error::Timeout(text.into()));
                }
                orphan::check(); // a slice passed with the socket full
                let slice = write_slice(deadline);
                if slice < SOCKET_SLICE {
                    socket
                        .write_timeout_to(Some(slice))
                        .map_err(|e| failed("send", e))?;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset) => {
                return Err(Error::Closed(format!("by the other side (send: {e})")));
            }
            Err(e) => return Err(failed("send", e)),
        }
    }
    Ok(())
}

/// Run `work` (a connect) on a helper thread and wait for its result until `deadline`, in
/// slices, looking whether the harness went between two. Past the deadline its late result
/// is dropped.
fn on_thread<T: Send + 'static>(
    deadline: Instant,
    what: impl Fn() -> String,
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> Result<io::Result<T>> {
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name("connect".into())
        .spawn(move || tx.send(work()))
        .map_err(|e| failed("thread", e))?;
    loop {
        let left = time_left(deadline, &what)?;
        match rx.recv_timeout(left.min(SOCKET_SLICE)) {
            Ok(result) => return Ok(result),
            Err(mpsc::RecvTimeoutError::Timeout) => orphan::check(),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(Error::Runtime("the connect thread ended".into()))
            }
        }
    }
}

impl Link {
    fn check_free(&self, transport: Transport, address: &str) -> Result<()> {
        if transport == Transport::Uds && address.len() > MAX_ADDRESS {
            return Err(Error::Runtime(format!(
                "address longer than {MAX_ADDRESS} bytes"
            )));
        }
        if self.endpoint.is_some() || self.conn.is_some() {
            let text = "an endpoint or connection is already open: CLOSE first";
            return Err(Error::Runtime(text.into()));
        }
        Ok(())
    }

    /// Create an endpoint: a socket file (it must not exist), a tcp listener (port 0: the
    /// kernel chooses), or a segment whose rings hold `capacity` bytes each (`shm` only). The
    /// address really bound when LISTEN's reply must name it (tcp).
    pub fn listen(
        &mut self,
        transport: Transport,
        address: &str,
        capacity: u64,
    ) -> Result<Option<String>> {
        self.check_free(transport, address)?;
        let mut bound = None;
        let endpoint = match transport {
            Transport::Uds => {
                let listener = UnixListener::bind(address).map_err(|e| failed("bind", e))?;
                listener
                    .set_nonblocking(true)
                    .map_err(|e| failed("listen", e))?;
                Endpoint::Uds(listener, PathBuf::from(address))
            }
            Transport::Tcp => {
                // std sets SO_REUSEADDR on a listener and listens with a backlog of 128.
                let listener =
                    TcpListener::bind(tcp_address(address)?).map_err(|e| failed("bind", e))?;
                let local = listener
                    .local_addr()
                    .and_then(|local| listener.set_nonblocking(true).map(|()| local))
                    .map_err(|e| failed("listen", e))?;
                bound = Some(local.to_string()); // "127.0.0.1:40321", "[::1]:40321"
                Endpoint::Tcp(listener)
            }
            Transport::Shm => Endpoint::Shm(shm::Listener::create(address, capacity)?),
        };
        match &endpoint {
            Endpoint::Uds(_, path) => orphan::created(Left::Socket(path.clone())),
            Endpoint::Shm(_) => orphan::created(Left::Segment(address.to_owned())),
            Endpoint::Tcp(_) => {}
        }
        self.endpoint = Some(endpoint);
        Ok(bound)
    }

    /// Connect to a listening endpoint. `uds` and `tcp`: a helper thread connects (std has no
    /// connect with a timeout for Unix sockets; tcp's has one, refused fails at once) while
    /// this one waits for it in slices, looking whether the harness went between two; if the
    /// deadline passes first, its late result is dropped. `shm`: attach, retrying until the
    /// segment exists or the deadline passes.
    pub fn connect(
        &mut self,
        transport: Transport,
        address: &str,
        deadline: Instant,
    ) -> Result<()> {
        self.check_free(transport, address)?;
        if transport == Transport::Shm {
            let conn = shm::Conn::attach(address, deadline)?;
            return self.opened(Conn::Shm(conn));
        }
        let what = || format!("connecting to {address}");
        if transport == Transport::Tcp {
            let target = tcp_address(address)?;
            let left = time_left(deadline, what)?;
            let conn = on_thread(deadline, what, move || {
                TcpStream::connect_timeout(&target, left)
            })?
            .map_err(|e| match e.kind() {
                ErrorKind::TimedOut | ErrorKind::WouldBlock => Error::Timeout(what()),
                _ => failed("connect", e),
            })?;
            return self.opened(tcp_conn(conn)?);
        }
        let path = address.to_owned();
        let conn = on_thread(deadline, what, move || UnixStream::connect(path))?
            .map_err(|e| failed("connect", e))?;
        conn.set_nonblocking(false)
            .map_err(|e| failed("connection", e))?;
        self.opened(Conn::Uds(conn))
    }

    /// Accept one connection on the endpoint; with `want_uid`, refuse (and close) a client
    /// whose uid, as the kernel vouches for it, is another.
    pub fn accept(&mut self, deadline: Instant, want_uid: Option<u32>) -> Result<()> {
        if self.conn.is_some() {
            return Err(Error::Runtime("a connection is already open".into()));
        }
        let conn = match &mut self.endpoint {
            None => return Err(Error::Runtime("no endpoint: LISTEN first".into())),
            Some(Endpoint::Shm(listener)) => {
                let conn = listener.accept(deadline)?;
                orphan::forget(); // the name is unlinked: nothing is left behind any more
                Conn::Shm(conn)
            }
            Some(Endpoint::Uds(listener, _)) => {
                let what = || "no connection to accept".to_owned();
                let mut watch = Watch::default();
                loop {
                    let left = time_left(deadline, what)?;
                    match listener.accept() {
                        Ok((conn, _)) => {
                            conn.set_nonblocking(false)
                                .map_err(|e| failed("connection", e))?;
                            break Conn::Uds(conn);
                        }
                        Err(e)
                            if e.kind() == ErrorKind::WouldBlock
                                || e.kind() == ErrorKind::Interrupted =>
                        {
                            watch.tick(Instant::now());
                            thread::sleep(left.min(ACCEPT_POLL));
                        }
                        Err(e) => return Err(failed("accept", e)),
                    }
                }
            }
            Some(Endpoint::Tcp(listener)) => {
                let what = || "no connection to accept".to_owned();
                let mut watch = Watch::default();
                loop {
                    let left = time_left(deadline, what)?;
                    match listener.accept() {
                        Ok((conn, _)) => break tcp_conn(conn)?,
                        Err(e)
                            if e.kind() == ErrorKind::WouldBlock
                                || e.kind() == ErrorKind::Interrupted
                                || e.kind() == ErrorKind::ConnectionAborted =>
                        {
                            watch.tick(Instant::now());
                            thread::sleep(left.min(ACCEPT_POLL));
                        }
                        Err(e) => return Err(failed("accept", e)),
                    }
                }
            }
        };
        if let Some(want) = want_uid {
            let uid = match &conn {
                // No credentials travel over TCP: refused, and the connection (dropped) closes.
                Conn::Tcp(_) => {
                    return Err(Error::Unsupported(
                        "peer credentials over tcp: there are none; closed".into(),
                    ))
                }
                Conn::Uds(stream) => {
                    sys::peer_uid(stream).map_err(|e| failed("peer credentials", e))?
                }
                // Only our own uid (or root) can open a 0600 segment: the kernel checked already.
                Conn::Shm(_) => sys::own_uid(),
            };
            if uid != want {
                return Err(Error::Runtime(format!(
                    "peer credentials: the client runs as uid {uid}, not {want}; closed"
                )));
            }
        }
        self.opened(conn)
    }

    fn opened(&mut self, mut conn: Conn) -> Result<()> {
        if let Conn::Shm(conn) = &mut conn {
            conn.set_strategy(self.strategy);
        }
        if let Some(socket) = conn.socket() {
            // A blocked write wakes every slice to look at its deadline and the harness.
            socket
                .write_timeout_to(Some(SOCKET_SLICE))
                .map_err(|e| failed("connection", e))?;
        }
        self.conn = Some(conn);
        self.start = 0;
        self.end = 0;
        self.read_timeout = None;
        self.write_deadline = None;
        Ok(())
    }

    /// `WAIT`: how shm rings wait, from now on (this connection too).
    pub fn set_wait(&mut self, strategy: shm::Strategy) {
        self.strategy = strategy;
        if let Some(Conn::Shm(conn)) = &mut self.conn {
            conn.set_strategy(strategy);
        }
    }

    /// Bound the writes that follow by `deadline` (`None`: no bound, as for SEND). A socket
    /// gets it as its write timeout (at most a slice), once, not on every write.
    pub fn set_write_deadline(&mut self, deadline: Option<Instant>) -> Result<()> {
        self.write_deadline = deadline;
        if let Some(conn) = self.conn.as_mut().and_then(Conn::socket) {
            conn.write_timeout_to(Some(write_slice(deadline)))
                .map_err(|e| failed("send", e))?;
        }
        Ok(())
    }

    fn conn(&mut self) -> Result<&mut Conn> {
        self.conn
            .as_mut()
            .ok_or_else(|| Error::Runtime("no connection: CONNECT or ACCEPT first".into()))
    }

    /// Whether a connection is open.
    pub fn connected(&self) -> bool {
        self.conn.is_some()
    }

    /// How often this side has slept on an empty or full ring (0 where the transport does not
    /// tell: sockets), over all its connections.
    pub fn sleeps(&self) -> u64 {
        self.past.slept + self.current().slept
    }

    /// How many of those sleeps ended by their time limit although the other side had moved
    /// its index without the wake-up it owed (0 where the transport does not tell: sockets).
    pub fn missed(&self) -> u64 {
        self.past.missed + self.current().missed
    }

    fn current(&self) -> shm::Sleeps {
        match &self.conn {
            Some(Conn::Shm(conn)) => conn.sleeps,
            _ => shm::Sleeps::default(),
        }
    }

    /// Write all of `bytes`, however long the other side takes to read them (or until the
    /// write deadline, if one is set: then the stream is out of step and the connection is
    /// closed).
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        let deadline = self.write_deadline;
        let result = write_to(self.conn()?, bytes, deadline);
        self.after_write(result)
    }

    /// Write the first `count` bytes that `peek` read back to the other side, then take them.
    pub fn echo(&mut self, count: usize) -> Result<()> {
        let count = count.min(self.end - self.start);
        let conn = self
            .conn
            .as_mut()
            .ok_or_else(|| Error::Runtime("no connection: CONNECT or ACCEPT first".into()))?;
        let bytes = &self.buf[self.start..self.start + count];
        let result = write_to(conn, bytes, self.write_deadline);
        self.skip(count);
        self.after_write(result)
    }

    fn after_write(&mut self, result: Result<()>) -> Result<()> {
        if let Err(Error::Timeout(_)) = result {
            self.close_connection(); // part of a frame may be out: the stream is out of step
        }
        result
    }

    /// The first `count` bytes of the stream, read until they are all here or the deadline
    /// passes. A close before the first byte is `runtime closed`; in the middle of a frame it
    /// is `decode truncated frame` and the connection is closed.
    #[inline]
    pub fn peek(&mut self, count: usize, deadline: Instant) -> Result<&[u8]> {
        self.conn()?;
        while self.end - self.start < count {
            self.fill(count, deadline)?;
        }
        Ok(&self.buf[self.start..self.start + count])
    }

    /// One read from the connection towards `count` bytes: as many as there are, in one
    /// go (a ring is consumed once for all it holds, whole frames and all).
    fn fill(&mut self, count: usize, deadline: Instant) -> Result<()> {
        let got = self.end - self.start;
        let need = count - got;
        let room = need.max(CHUNK);
        if self.buf.len() - self.end < room {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0); // at most one partial frame
                self.start = 0;
                self.end = got;
            }
            if self.buf.len() - self.end < room {
                self.buf.resize(self.end + room, 0);
            }
        }
        let what = || format!("waiting for a frame, {got} of {count} bytes read");
        let spare = &mut self.buf[self.end..];
        let read = match self.conn.as_mut() {
            Some(Conn::Shm(conn)) => conn.read(spare, need, deadline)?,
            Some(conn) => {
                let conn = conn
                    .socket()
                    .ok_or_else(|| Error::Runtime("no socket".into()))?;
                let left = time_left(deadline, what)?;
                let slice = left.min(SOCKET_SLICE);
                if self.read_timeout != Some(slice) {
                    conn.read_timeout_to(Some(slice))
                        .map_err(|e| failed("recv", e))?;
                    self.read_timeout = Some(slice);
                }
                match conn.read(spare) {
                    Ok(n) => shm::Got::Bytes(n),
                    // tcp: the other side went with bytes of ours unread, or died
                    Err(e) if e.kind() == ErrorKind::ConnectionReset => shm::Got::Bytes(0),
                    Err(e)
                        if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut =>
                    {
                        if Instant::now() < deadline {
                            orphan::check();
                            return Ok(()); // a slice passed: look at the deadline again
                        }
                        shm::Got::TimedOut
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => return Ok(()),
                    Err(e) => return Err(failed("recv", e)),
                }
            }
            None => return Err(Error::Runtime("no connection".into())),
        };
        match read {
            shm::Got::Bytes(0) | shm::Got::Closed if got == 0 => {
                Err(Error::Closed("by the other side".into()))
            }
            shm::Got::Bytes(0) | shm::Got::Closed => {
                self.refuse(got);
                Err(Error::FrameCut { got, need: count })
            }
            shm::Got::Bytes(n) => {
                self.end += n;
                Ok(())
            }
            shm::Got::TimedOut => Err(Error::Timeout(what())),
        }
    }

    /// Drop the first `count` bytes of what `peek` read.
    #[inline]
    pub fn skip(&mut self, count: usize) {
        self.start += count.min(self.end - self.start);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Keep the first `count` bytes read as those of a frame refused or cut short (`refused`),
    /// then drop the connection: the stream is out of step.
    pub fn refuse(&mut self, count: usize) {
        let end = self.start + count.min(self.end - self.start);
        self.refused.clear();
        self.refused.extend_from_slice(&self.buf[self.start..end]);
        self.close_connection();
    }

    /// The bytes `refuse` kept (once: they are taken).
    pub fn take_refused(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.refused)
    }

    /// Drop the connection: a socket closes; a segment gets our closed bit, its sleepers are
    /// woken and it is unmapped.
    pub fn close_connection(&mut self) {
        let ended = self.current();
        self.past.slept += ended.slept;
        self.past.missed += ended.missed;
        self.conn = None;
        self.start = 0;
        self.end = 0;
    }

    /// Close the connection and the endpoint; a listener removes its socket file, a segment
    /// creator its name (if ACCEPT did not already).
    pub fn close(&mut self) {
        self.close_connection();
        if self.endpoint.is_some() {
            orphan::forget();
        }
        match self.endpoint.take() {
            Some(Endpoint::Uds(listener, path)) => {
                drop(listener);
                // Gone already is fine; anything else cannot be helped at CLOSE.
                let _ = fs::remove_file(path);
            }
            Some(Endpoint::Tcp(listener)) => drop(listener),
            Some(Endpoint::Shm(listener)) => drop(listener),
            None => {}
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.close();
    }
}
