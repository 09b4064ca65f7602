"""cwkit: crosswire's Python peer kit (docs/kits.md): everything a Python peer does that is not
the protocol.

It answers the harness on the control channel of protocols/PEER_CONTRACT.md: one request
line on standard input, one reply line on standard output. It carries messages over a Unix
stream socket, TCP or shared memory (shm.py) in the frames of protocols/WIRE.md; the
benchmarks are in bench.py. The codec of the project's schema is codec.py, which reads the
schema at run time ($CROSSWIRE_SCHEMA) and uses the plans build_codec.py generated from it.

`run(peer_dir)` is the reference peer; `run(peer_dir, adapter=module)` is an adapter peer: the
module's `encode_<Message>` and `decode_<Message>` (docs/kits.md, "Adapters") do the encoding
and decoding, calling the library under test, and the kit does the rest. Standard library
only, plus the cffi helper that shm.py needs (build_shm.py).

A peer never outlives the harness (PEER_CONTRACT.md, "When the harness goes"): run() notes the
parent first (alive.py), and every wait that can last longer than 100 ms waits in slices with
the harness checked between them; when it is gone, the peer does what QUIT does and exits 0.
"""
import errno
import os
import select
import socket
import struct
import sys
import time
import tomllib
from pathlib import Path

import alive
import bench
import shm
from codec import DecodeError, PeerError, RequestError, Schema
from stream import Layout, Stream, Tally

HERE = Path(__file__).resolve().parent
CONTRACT = "3"
KIT_VERSION = 2
MAX_ADDRESS = 100  # bytes of an address (a uds path; a shm name and a tcp address are shorter)
TRANSPORTS = ("uds", "shm", "tcp")


def f32(bits):
    """The float an f32 bit pattern holds (a signalling NaN comes back quiet: keep the bits)."""
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def f64(bits):
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f64_bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def one_line(text):
    return text.replace("\r", " ").replace("\n", " ")


def expect_args(args, count, usage):
    if len(args) != count:
        raise RequestError(f"usage: {usage}")


def parse_timeout(token):
    """A timeout_ms token, as the deadline it sets on the monotonic clock."""
    if not token.isdigit():
        raise RequestError(f"bad timeout_ms {token!r}")
    return time.monotonic() + int(token) / 1000


def seconds_left(deadline, what):
    left = deadline - time.monotonic()
    if left <= 0:
        raise PeerError("timeout", what)
    return left


def slice_left(deadline, what):
    """The next slice of a wait (seconds): what is left, at most alive.SLICE, after which the
    waiter checks the harness (alive.check) and waits again."""
    return min(seconds_left(deadline, what), alive.SLICE)


def connect_socket(sock, target, deadline, what):
    """sock.connect(target) by the deadline, in slices with the harness checked between them.
    Refused, or a Unix socket's full backlog (EAGAIN), fails at once, as with a timeout set."""
    sock.setblocking(False)
    err = sock.connect_ex(target)
    if err == errno.EINPROGRESS:  # tcp: the handshake is under way
        poller = select.poll()
        poller.register(sock, select.POLLOUT)
        while not poller.poll(max(1, int(slice_left(deadline, what) * 1000 + 0.999))):
            alive.check()
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err:
        raise OSError(err, os.strerror(err))  # its subclass: ConnectionRefusedError, ...
    sock.setblocking(True)


def sender(conn):
    """send(data): all of data on the connection. A socket is left non-blocking, and a full one
    waited on in slices with the harness checked between them (shm: the helper checks it)."""
    if isinstance(conn, shm.ShmConnection):
        return conn.sendall
    conn.settimeout(0.0)
    poller = select.poll()
    poller.register(conn, select.POLLOUT)

    def send(data):
        try:
            sent = conn.send(data)
        except BlockingIOError:
            sent = 0
        if sent < len(data):
            view = memoryview(data)
            while sent < len(view):
                if not poller.poll(alive.SLICE_MS):
                    alive.check()
                try:
                    sent += conn.send(view[sent:])
                except BlockingIOError:
                    pass
    return send


def parse_count(token):
    if not token.isdigit() or not token.isascii() or len(token) > 20:
        raise RequestError(f"bad count {token[:40]!r}")
    return int(token)


def bench_count(token):
    count = parse_count(token)
    if count > bench.MAX_COUNT:
        raise RequestError(f"bad count {token[:40]!r} (0 to {bench.MAX_COUNT})")
    return count


def peer_uid(sock):
    """The uid of the process at the other end of a Unix socket (SO_PEERCRED on Linux,
    LOCAL_PEERCRED on macOS: what getpeereid() reads)."""
    if hasattr(socket, "SO_PEERCRED"):
        _pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        return uid
    if sys.platform == "darwin":  # struct xucred { u_int cr_version; uid_t cr_uid; ... }, SOL_LOCAL 0, LOCAL_PEERCRED 1
        return struct.unpack_from("=II", sock.getsockopt(0, 1, 76))[1]
    raise PeerError("unsupported", "peer credentials on this platform")


def tcp_address(address):
    """`<host>:<port>` (IPv4 dotted, or IPv6 in brackets; no names) as (family, sockaddr)."""
    host, sep, port = address.rpartition(":")
    family = socket.AF_INET
    if host.startswith("[") and host.endswith("]"):
        host, family = host[1:-1], socket.AF_INET6
    try:
        if not sep or not port.isdigit() or not port.isascii() or len(port) > 5 or int(port) > 65535:
            raise ValueError
        socket.inet_pton(family, host)
    except (OSError, ValueError):
        raise PeerError("runtime", f"bad tcp address {address[:60]!r}: <IPv4>:<port> or [<IPv6>]:<port>") from None
    return family, (host, int(port))


def tcp_name(sock):
    """The address a tcp socket is bound to, in the contract's form."""
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if sock.family == socket.AF_INET6 else f"{host}:{port}"


def is_tcp(sock):
    return isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6)


def parse_hex(token):
    """An `x<hex>` token's bytes."""
    if len(token) % 2 != 1 or not token.startswith("x"):
        raise RequestError(f"bad hex {token[:40]!r}")
    try:
        return bytes.fromhex(token[1:])
    except ValueError:
        raise RequestError(f"bad hex {token[:40]!r}") from None


class Unimplemented(Exception):
    """Raised by an adapter's stub that is not filled in yet: the message is skipped."""


class Peer:
    def __init__(self, peer_dir=HERE.parent, adapter=None):
        self.schema = Schema(plans_path=Path(peer_dir) / "build" / "cw_plans.py")
        with open(Path(peer_dir) / "peer.toml", "rb") as f:
            self.manifest = tomllib.load(f)
        self.adapter = adapter
        self.frames = bool(getattr(adapter, "FRAMES", False))
        self.listener = None        # the listening socket after LISTEN
        self.listen_path = None     # its socket file, removed on CLOSE
        self.conn = None            # the connection after CONNECT or ACCEPT
        self.inbuf = bytearray()    # bytes read from conn, not yet used
        self.refused = b""          # the bytes read of the last frame refused or cut short (DRAIN's bad=)
        self.last_frame_size = 0    # of the frame read_frame returned last
        self.layout = None          # the stream message's layout, after STREAM (stream.py)
        self.quitting = False
        self.commands = {
            "HELLO": self.hello, "ENCODE": self.encode, "DECODE": self.decode,
            "LISTEN": self.listen, "CONNECT": self.connect, "ACCEPT": self.accept,
            "SEND": self.send, "RECV": self.recv, "ECHO": self.echo,
            "CLOSE": self.close, "QUIT": self.quit, "VERSION": self.version,
            "STREAM": self.stream, "BLAST": self.blast, "DRAIN": self.drain,
            "WAIT": self.wait, "PING": self.ping, "PONG": self.pong, "FLOOD": self.flood, "SINK": self.sink,
            "RAW": self.raw, "GRAB": self.grab,
        }

    def answer(self, raw):
        """The one reply line to one request line; never raises."""
        try:
            line = raw.decode("ascii").removesuffix("\n")
        except UnicodeDecodeError:
            return "ERR request the request line is not ASCII"
        try:
            return " ".join(["OK", *self.handle(line)])
        except PeerError as e:
            return one_line(f"ERR {e}")
        except Exception as e:
            return one_line(f"ERR runtime {type(e).__name__}: {e}")

    def handle(self, line):
        words = line.split(" ")
        if "" in words:
            raise RequestError("empty request or an empty token (two spaces?)")
        command = self.commands.get(words[0])
        if command is None:
            raise RequestError(f"unknown command {words[0][:40]!r}")
        return command(words[1:])

    def message(self, name):
        if name not in self.schema.message_ids:
            raise RequestError(f"unknown message {name[:40]!r}")
        return name

    # ------------------------------------------------------------ requests

    def hello(self, args):
        expect_args(args, 1, "HELLO <contract>")
        if args[0] != CONTRACT:
            raise PeerError("unsupported", f"contract {args[0]}")
        m = self.manifest
        messages = m["supports"]["messages"]
        if not isinstance(messages, str):
            messages = ",".join(messages)
        return [f"name={m['name']}", f"language={m['language']}", f"contract={m['contract']}",
                f"transports={','.join(m['supports']['transports'])}", f"messages={messages}",
                f"ptr_bits={struct.calcsize('P') * 8}", f"byte_order={sys.byteorder}", f"kit={KIT_VERSION}"]

    # ------------------------------------------------------------ the codec, or the adapter's

    def call(self, what, message, *args):
        """The adapter's `<what>_<message>(*args)`, its failures as the contract's errors."""
        fn = getattr(self.adapter, f"{what}_{message}", None)
        if fn is None:
            raise PeerError("unsupported", f"adapter: {message} is not implemented (no {what}_{message})")
        try:
            return fn(*args)
        except Unimplemented:
            raise PeerError("unsupported", f"adapter: {message} is not implemented") from None
        except PeerError:
            raise
        except Exception as e:
            raise PeerError("runtime", f"adapter {what} {message}: {type(e).__name__}: {str(e)[:200]}") from None

    def to_bytes(self, message, got):
        if not isinstance(got, (bytes, bytearray)):
            raise PeerError("runtime", f"adapter encode {message} returned {type(got).__name__}, not bytes")
        return bytes(got)

    def to_value(self, message, got):
        """A value an adapter's decode returned, checked: the schema's codec must be able to encode it."""
        try:
            self.schema.encode(message, got)
        except PeerError as e:
            raise PeerError("runtime", f"adapter decode {message} returned a value that is not a {message}: {e}") from None
        except Exception as e:
            raise PeerError("runtime", f"adapter decode {message} returned {type(got).__name__}, not a {message} "
                                       f"value ({type(e).__name__}: {str(e)[:100]})") from None
        return got

    def payload_of(self, message, frame):
        """The payload of a frame an adapter wrote, after checking its header and checksum."""
        if len(frame) < self.schema.header_size:
            raise PeerError("runtime", f"adapter encode {message} returned {len(frame)} bytes, less than a frame header")
        direction = self.schema.messages[message][1]
        try:
            got_message, length, _, _, total = self.schema.decode_header(frame[:self.schema.header_size], direction)
            if got_message == message and total == len(frame):
                self.schema.check_checksum(frame, message, length)
        except DecodeError as e:
            raise PeerError("runtime", f"adapter encode {message}: the frame it made breaks the schema's: "
                                       f"{str(e).removeprefix('decode ')}") from None
        if got_message != message or total != len(frame):
            raise PeerError("runtime", f"adapter encode {message} returned a frame of {got_message}, "
                                       f"{len(frame)} bytes where its header says {total}")
        return frame[self.schema.header_size:self.schema.header_size + length]

    def encode_payload(self, message, value):
        if self.adapter is None:
            return self.schema.encode(message, value)
        if self.frames:
            frame = self.to_bytes(message, self.call("encode", message, value, 0, self.zero_header()))
            return self.payload_of(message, frame)
        return self.to_bytes(message, self.call("encode", message, value))

    def decode_payload(self, message, payload):
        if self.adapter is None:
            return self.schema.decode(message, payload)
        if self.frames:
            frame = self.schema.encode_frame(message, 0, payload, self.zero_header())
            return self.to_value(message, self.call("decode", message, frame))
        return self.to_value(message, self.call("decode", message, payload))

    def encode_frame(self, message, seq, value, header):
        if self.adapter is not None and self.frames:
            return self.to_bytes(message, self.call("encode", message, value, seq, list(header)))
        return self.schema.encode_frame(message, seq, self.encode_payload(message, value), header)

    def zero_header(self):
        return [0] * len(self.schema.plain)

    def encode(self, args):
        if not args:
            raise RequestError("usage: ENCODE <Message> <value>")
        message = self.message(args[0])
        value = self.schema.parse_text(message, args[1:])
        return ["x" + self.encode_payload(message, value).hex()]

    def decode(self, args):
        expect_args(args, 2, "DECODE <Message> x<payload>")
        message = self.message(args[0])
        value = self.decode_payload(message, parse_hex(args[1]))
        return self.schema.format_text(message, value)

    def listen(self, args):
        if args[:1] == ["shm"]:
            return self.listen_shm(args)
        expect_args(args, 2, "LISTEN <transport> <address>")
        address = self.check_endpoint(args[0], args[1])
        if args[0] == "tcp":
            return self.listen_tcp(address)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(address)  # fails if the file exists, as the contract wants
            sock.listen(1)
        except OSError:
            sock.close()
            raise
        self.listener, self.listen_path = sock, address
        return []

    def connect(self, args):
        expect_args(args, 3, "CONNECT <transport> <address> <timeout_ms>")
        address = self.check_endpoint(args[0], args[1])
        deadline = parse_timeout(args[2])
        if args[0] == "shm":
            return self.connect_shm(address, deadline)
        seconds_left(deadline, f"connecting to {address}")
        if args[0] == "tcp":
            family, target = tcp_address(address)
        else:
            family, target = socket.AF_UNIX, address
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            # refused (nothing listening) fails at once, as the contract wants
            connect_socket(sock, target, deadline, f"connecting to {address}")
            if family != socket.AF_UNIX:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except BaseException:  # a timeout (PeerError), a refusal (OSError), the harness gone
            sock.close()
            raise
        self.conn = sock
        self.inbuf.clear()
        return []

    def accept(self, args):
        if len(args) == 2 and args[1].startswith("uid="):
            want_uid = parse_count(args[1][4:])
        else:
            expect_args(args, 1, "ACCEPT <timeout_ms> [uid=<n>]")
            want_uid = None
        deadline = parse_timeout(args[0])
        if self.listener is None:
            raise PeerError("runtime", "no endpoint: LISTEN first")
        if self.conn is not None:
            raise PeerError("runtime", "a connection is already open")
        while self.conn is None:
            self.listener.settimeout(slice_left(deadline, "no connection to accept"))
            try:
                self.conn, _ = self.listener.accept()
            except TimeoutError:
                alive.check()
        self.inbuf.clear()
        if is_tcp(self.conn):
            self.conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if want_uid is not None:
            self.check_credentials(want_uid)
        return []

    def check_credentials(self, want_uid):
        """ACCEPT ... uid=<n>: the client's uid as the kernel tells it; refused if it differs."""
        if isinstance(self.conn, shm.ShmConnection):
            # Only our own uid (or root) can open a 0600 segment: the kernel checked already.
            uid = os.getuid()
        elif is_tcp(self.conn):
            self.close_connection()
            raise PeerError("unsupported", "peer credentials over tcp: there are none; closed")
        else:
            uid = peer_uid(self.conn)
        if uid != want_uid:
            self.close_connection()
            raise PeerError("runtime", f"peer credentials: the client runs as uid {uid}, not {want_uid}; closed")

    def version(self, args):
        expect_args(args, 1, "VERSION <n>")
        if not args[0].isdigit() or not 1 <= int(args[0]) <= self.schema.version:
            raise RequestError(f"bad version {args[0][:40]!r} (1 to {self.schema.version})")
        self.schema.speak(int(args[0]))
        return []

    def send(self, args):
        if len(args) < 2:
            raise RequestError("usage: SEND <Message> <seq> [<header values>] <value>")
        message = self.message(args[0])
        if not args[1].isdigit():
            raise RequestError(f"bad seq {args[1]!r}")
        self.schema.require_frame()
        header = self.schema.parse_header_values(args[2:])
        value = self.schema.parse_text(message, args[2 + len(header):])
        frame = self.encode_frame(message, int(args[1]), value, header)
        self.write_frame(frame)
        return [str(len(frame))]

    def recv(self, args):
        message, seq, header, value = self.read_frame(*self.reading(args, "RECV"))
        return [message, str(seq), *map(str, header), *self.schema.format_text(message, value)]

    def echo(self, args):
        message, seq, header, value = self.read_frame(*self.reading(args, "ECHO"))
        self.write_frame(self.encode_frame(message, seq, value, header))
        return [message, str(seq)]

    def reading(self, args, command):
        """RECV's and ECHO's arguments: (deadline, direction)."""
        if len(args) not in (1, 2) or args[1:] not in ([], ["request"], ["response"]):
            raise RequestError(f"usage: {command} <timeout_ms> [request|response]")
        deadline = parse_timeout(args[0])
        self.schema.require_frame()
        return deadline, args[1] if len(args) == 2 else ""

    def stream(self, args):
        """STREAM <Message> <template> <at> <width> <order> <max> <k> [<patch>]...: the stream
        message's layout, for the BLAST, DRAIN and bench requests after it."""
        layout = Layout.parse(args, self.schema, parse_hex)
        self.schema.require_frame()
        if self.schema.seq_field is None:
            raise PeerError("unsupported", "the streams number their frames by seq: this frame has no seq field")
        self.layout = layout
        return []

    def require_layout(self):
        if self.layout is None:
            raise RequestError("no STREAM: describe the stream message first")
        return self.layout

    def blast(self, args):
        expect_args(args, 4, "BLAST <count> <seed> <min_len> <max_len>")
        count, seed, low, high = (parse_count(a) for a in args)
        stream = self.streamed(seed, low, high, count)
        conn = self.require_conn()
        send = sender(conn)
        frame = self.framer(stream.layout.message)
        sleeps, missed, sent = getattr(conn, "sleeps", 0), getattr(conn, "missed", 0), 0
        start = time.monotonic_ns()
        for i in range(1, count + 1):
            data = frame(i, stream.payload(i))
            send(data)
            sent += len(data)
        elapsed = time.monotonic_ns() - start
        return [f"sent={count}", f"bytes={sent}", f"ns={elapsed}", f"waits={getattr(conn, 'sleeps', 0) - sleeps}",
                f"missed={getattr(conn, 'missed', 0) - missed}"]

    def framer(self, message):
        """frame(seq, payload): the stream message's frame, every header value 0 but the id and
        the seq (and the length), its checksum computed (schema.encode_frame, with the header's
        fixed part built once)."""
        schema = self.schema
        size, adjust = schema.header_size, schema.length_adjust
        base = schema.encode_frame(message, 0, b"")[:size]
        lenf, seqf = schema.roles.get("length"), schema.seq_field
        if schema.checksum is not None or lenf is None:
            return lambda seq, payload: schema.encode_frame(message, seq, payload)
        lo, ls, lorder = lenf.offset, lenf.type.size, lenf.type.order
        so, ss, sorder = seqf.offset, seqf.type.size, seqf.type.order

        def frame(seq, payload):
            out = bytearray(base)
            out[lo:lo + ls] = (len(payload) + adjust).to_bytes(ls, lorder)
            out[so:so + ss] = seq.to_bytes(ss, sorder)
            out += payload
            return out
        return frame

    def drain(self, args):
        expect_args(args, 5, "DRAIN <count> <seed> <min_len> <max_len> <timeout_ms>")
        count, seed, low, high = (parse_count(a) for a in args[:4])
        deadline = parse_timeout(args[4])
        stream, tally = self.streamed(seed, low, high, count), Tally(count)
        conn = self.require_conn()
        direction = self.schema.messages[stream.layout.message][1]
        size, check = self.schema.header_size, self.schema.check_checksum
        sleeps, missed, start = getattr(conn, "sleeps", 0), getattr(conn, "missed", 0), None
        while tally.received < count and self.conn is not None:
            frame = b""
            try:
                frame, message, length, seq, _ = self.read_raw(deadline, direction)
                start = start or time.monotonic_ns()
                check(frame, message, length)
            except DecodeError:
                start = start or time.monotonic_ns()
                tally.bad_checksum(frame or self.refused)
                continue  # a frame cut short by a close or a bad header also drops the connection: the loop ends
            except PeerError as e:
                if e.kind == "timeout" or "closed" in str(e):
                    break  # what arrived is reported; the missing frames count as lost
                raise
            tally.add(stream, message, seq, frame, size, length)
        elapsed = time.monotonic_ns() - start if start else 0
        return [f"received={tally.received}", f"lost={tally.lost}", f"duplicated={tally.duplicated}",
                f"reordered={tally.reordered}", f"corrupt={tally.corrupt}", f"bytes={tally.bytes}",
                f"ns={elapsed}", f"waits={getattr(conn, 'sleeps', 0) - sleeps}",
                f"missed={getattr(conn, 'missed', 0) - missed}", *tally.first_bad()]

    def streamed(self, seed, low, high, count):
        """The stream of a BLAST or DRAIN, its numbers checked against the STREAM layout."""
        layout = self.require_layout()
        if count > self.schema.seq_max:
            raise RequestError(f"count {count} is more than the frame's seq holds ({self.schema.seq_max})")
        if low > high:
            raise RequestError(f"min_len {low} is more than max_len {high}")
        if high > layout.max:
            raise RequestError(f"max_len {high} is more than the stream's max, {layout.max} elements")
        return Stream(layout, seed, low, high)

    def close(self, args):
        expect_args(args, 0, "CLOSE")
        self.close_all()
        return []

    def quit(self, args):
        expect_args(args, 0, "QUIT")
        self.quitting = True
        return []

    # ------------------------------------------------------------ benchmarks (bench.py)

    def wait(self, args):
        expect_args(args, 1, "WAIT <spin|futex|spin-futex>")
        if args[0] not in shm.SPIN_NS:
            raise RequestError(f"unknown wait strategy {args[0][:40]!r}")
        shm.wait_strategy = args[0]
        if isinstance(self.conn, shm.ShmConnection):
            self.conn.set_wait(args[0])
        return []

    def ping(self, args):
        expect_args(args, 4, "PING <count> <warmup> <size> <timeout_ms>")
        count, warmup, frame = bench_count(args[0]), bench_count(args[1]), self.bench_frame(args[2])
        link = self.link(parse_timeout(args[3]), len(frame))
        sleeps = link.sleeps
        try:
            samples = bench.ping(link, frame, count, warmup)
        finally:
            link.finish()
        figures = bench.latency(samples)
        return [f"rounds={count}", *(f"{k}={v}" for k, v in figures.items()), f"waits={link.sleeps - sleeps}"]

    def pong(self, args):
        expect_args(args, 2, "PONG <count> <timeout_ms>")
        count = bench_count(args[0])
        link = self.link(parse_timeout(args[1]))
        sleeps = link.sleeps
        try:
            bench.pong(link, count)
        finally:
            link.finish()
        return [f"rounds={count}", f"waits={link.sleeps - sleeps}"]

    def flood(self, args):
        expect_args(args, 2, "FLOOD <count> <size>")
        count, frame = bench_count(args[0]), self.bench_frame(args[1])
        link = self.link(None, len(frame))
        sleeps = link.sleeps
        try:
            ns = bench.flood(link, frame, count)
        finally:
            link.finish()
        return [f"sent={count}", f"bytes={count * len(frame)}", f"ns={ns}", f"waits={link.sleeps - sleeps}"]

    def sink(self, args):
        expect_args(args, 3, "SINK <count> <size> <timeout_ms>")
        count, frame = bench_count(args[0]), self.bench_frame(args[1])
        link = self.link(parse_timeout(args[2]), len(frame))
        sleeps = link.sleeps
        try:
            ns = bench.sink(link, frame, count)
        finally:
            link.finish()
        return [f"received={count}", f"bytes={count * len(frame)}", f"ns={ns}", f"waits={link.sleeps - sleeps}"]

    def raw(self, args):
        """RAW <chunk> x<hex>: the bytes as they are, in writes of at most `chunk` bytes (0: one
        write) 1 ms apart, so the other side sees partial reads (the harness's hostile frames)."""
        expect_args(args, 2, "RAW <chunk> x<hex>")
        chunk, data = parse_count(args[0]), parse_hex(args[1])
        step = chunk or max(len(data), 1)
        for at in range(0, len(data), step):
            if at:
                time.sleep(0.001)
            self.write_frame(data[at:at + step])
        return [str(len(data))]

    def grab(self, args):
        """GRAB <timeout_ms> [request|response]: the next frame's bytes as they arrived, undecoded
        (the harness's capture of a sender's frame, to diagnose it byte by byte): the header,
        then as much as it says; bytes that are no header come back as they are, and the
        connection is closed (a writer still writing is not left blocked)."""
        deadline, direction = self.reading(args, "GRAB")
        self.require_conn()
        size = self.schema.header_size
        try:
            self.fill(size, deadline)
            total = self.schema.decode_header(bytes(self.inbuf[:size]), direction)[4]
            self.fill(total, deadline)
        except PeerError as e:
            if not self.inbuf or (e.kind == "runtime" and "closed" in str(e)):
                raise
            data = bytes(self.inbuf)      # no frame, or a frame cut short: what came, and the
            self.close_connection()       # stream is out of step (a writer blocked on it is released)
            return ["x" + data.hex()]
        data = bytes(self.inbuf[:total])
        del self.inbuf[:total]
        return ["x" + data.hex()]

    def bench_frame(self, token):
        """The bench frame of a payload of `size` bytes: P(0, n), n = (size - template) / width."""
        layout = self.require_layout()
        size = parse_count(token)
        n = layout.elements(size) if size <= self.schema.max_payload else None
        if n is None:
            raise RequestError(f"bad size {token[:40]!r}: the stream's payloads are {len(layout.template)} + "
                               f"n x {layout.width} bytes, n from 0 to {layout.max}")
        if self.schema.checksum is not None:
            raise PeerError("unsupported", "the bench rewrites the seq of one frame in place: this frame has a checksum")
        return bench.bench_frame(self.schema, layout, n)

    def link(self, deadline, size=0):
        conn = self.require_conn()
        if isinstance(conn, shm.ShmConnection):
            return bench.ShmLink(self, deadline)
        return bench.SocketLink(self, deadline, size)

    # ------------------------------------------------------------ transport: shm (shm.py)

    def listen_shm(self, args):
        if len(args) not in (2, 3) or (len(args) == 3 and not args[2].isdigit()):
            raise RequestError("usage: LISTEN shm <name> [capacity]")
        name = self.check_endpoint("shm", args[1])
        try:
            self.listener = shm.ShmListener(name, int(args[2]) if len(args) == 3 else 65536)
        except (ValueError, RuntimeError) as e:
            raise PeerError("runtime", str(e)) from None
        return []

    def connect_shm(self, name, deadline):
        try:
            self.conn = shm.ShmConnection(shm.Segment.attach(name, deadline))
        except TimeoutError as e:
            raise PeerError("timeout", str(e)) from None
        except (ValueError, RuntimeError) as e:
            raise PeerError("runtime", str(e)) from None
        self.inbuf.clear()
        return []

    # ------------------------------------------------------------ transport: tcp

    def listen_tcp(self, address):
        """LISTEN tcp <host>:<port>: the reply names the address really bound (port 0: the
        kernel's choice)."""
        family, target = tcp_address(address)
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(target)
            sock.listen(1)
            bound = tcp_name(sock)
        except OSError:
            sock.close()
            raise
        self.listener, self.listen_path = sock, None
        return [bound]

    # ------------------------------------------------------------ transport: uds (and what sockets share)

    def check_endpoint(self, transport, address):
        if transport not in TRANSPORTS:
            raise PeerError("unsupported", f"transport {transport}")
        if len(address.encode()) > MAX_ADDRESS:
            raise PeerError("runtime", f"address longer than {MAX_ADDRESS} bytes")
        if self.listener is not None or self.conn is not None:
            raise PeerError("runtime", "an endpoint or connection is already open: CLOSE first")
        return address

    def require_conn(self):
        if self.conn is None:
            raise PeerError("runtime", "no connection: CONNECT or ACCEPT first")
        return self.conn

    def write_frame(self, frame):
        sender(self.require_conn())(frame)

    def read_frame(self, deadline, direction=""):
        """Read one whole frame and decode it: (message, seq, plain header values, value). Its
        size comes from its header (WIRE.md, "Receiving"). A framing adapter's library gets the
        whole frame and judges it: the kit reads the header only to find the frame (its length)
        and its message (the id), and checks no constant, no checksum, no seq."""
        framing = self.adapter is not None and self.frames
        frame, message, length, seq, header = self.read_raw(deadline, direction, consts=not framing)
        # A checksum or payload error leaves the stream in step: stay connected.
        if framing:
            return message, seq, header, self.to_value(message, self.call("decode", message, frame))
        self.schema.check_checksum(frame, message, length)
        size = self.schema.header_size
        return message, seq, header, self.decode_payload(message, frame[size:size + length])

    def read_raw(self, deadline, direction="", consts=True):
        """Read one whole frame, undecoded: (frame, message, payload length, seq, plain header
        values), after checking its header (consts=False: only its id and length)."""
        self.require_conn()
        size = self.schema.header_size
        self.fill(size, deadline)
        try:
            message, length, seq, header, total = self.schema.decode_header(bytes(self.inbuf[:size]), direction, consts)
        except DecodeError:
            self.refused = bytes(self.inbuf[:size])     # DRAIN reports it (bad=)
            self.close_connection()  # the stream is out of step
            raise
        self.fill(total, deadline)
        frame = bytes(self.inbuf[:total])
        del self.inbuf[:total]
        self.last_frame_size = total
        return frame, message, length, seq, header

    def fill(self, count, deadline):
        """Read until the input buffer holds count bytes. What a timeout leaves stays there."""
        while len(self.inbuf) < count:
            waiting = f"waiting for a frame, {len(self.inbuf)} of {count} bytes read"
            self.conn.settimeout(slice_left(deadline, waiting))
            try:
                chunk = self.conn.recv(65536)
            except TimeoutError:
                alive.check()
                continue
            except ConnectionResetError:
                chunk = b""  # tcp: the other side closed with bytes of ours unread, or died
            if not chunk and not self.inbuf:
                raise PeerError("runtime", "closed by the other side")
            if not chunk:
                got = len(self.inbuf)
                self.refused = bytes(self.inbuf)
                self.close_connection()
                raise DecodeError("truncated", "frame", f"closed after {got} of {count} bytes")
            self.inbuf += chunk

    def close_connection(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None
        self.inbuf.clear()

    def close_all(self):
        self.close_connection()
        if self.listener is not None:
            self.listener.close()
            if self.listen_path is not None:
                Path(self.listen_path).unlink(missing_ok=True)
        self.listener = self.listen_path = None


def read_requests(stream, limit):
    """Request lines, each at most `limit` bytes; a longer one is discarded up to its newline
    and stands as None, which the contract answers with `ERR request line too long`."""
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = stream.readline(1 << 20)
            yield None
        else:
            yield line


def run(peer_dir, adapter=None):
    """Run a peer on stdin/stdout: the reference peer, or (adapter: a module or object with
    encode_<M>/decode_<M>) an adapter peer. peer_dir holds its peer.toml and build/. It ends at
    QUIT, at the end of stdin, or when the harness is gone (alive.py), always as QUIT does: the
    socket file or segment it made is removed."""
    alive.watch()                      # before anything else: the harness may be gone already
    build = str(Path(peer_dir) / "build")
    if build not in sys.path:
        sys.path.insert(0, build)      # the shm helper (build_shm.py) of this peer
    peer = Peer(peer_dir, adapter)
    limit = 8 * peer.schema.max_payload + 65536
    try:
        for raw in read_requests(sys.stdin.buffer, limit):
            reply = "ERR request line too long" if raw is None else peer.answer(raw)
            sys.stdout.write(reply + "\n")
            sys.stdout.flush()
            if peer.quitting:
                break
    except (alive.HarnessGone, BrokenPipeError):  # nobody reads our replies any more
        devnull = os.open(os.devnull, os.O_WRONLY)  # what stdout still holds goes nowhere at exit
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    finally:
        peer.close_all()
    return 0


def main():
    """The reference peer whose kit this is (the folder above kit/); tests subclass Peer and call it."""
    return run(HERE.parent)
