//! The adapter of rmodbus (crates.io, pinned in Cargo.lock): every message of the Modbus TCP
//! schema through rmodbus's own frames. Requests are written by its client
//! (`ModbusRequest::generate_*`) and read by its server (`ModbusFrame::parse`); responses and
//! exceptions are written by its server (`ModbusFrame::process_read` / `process_write` /
//! `finalize_response`, with a context holding the values) and read by its client
//! (`ModbusRequest::parse_*`). Each encode returns the library's whole frame, MBAP header
//! included; each decode takes a whole frame, as the kit found it on the stream.
//!
//! The server answers a request, so a response is made by building the request rmodbus's own
//! client would send for it (same transaction id and unit id) and letting the server answer it.

use crosswire_kit::adapter::AdapterError;
use rmodbus::client::ModbusRequest;
use rmodbus::consts::{ModbusErrorCode, ModbusFunction};
use rmodbus::server::context::ModbusContext;
use rmodbus::server::storage::ModbusStorage;
use rmodbus::server::{ModbusFrame, Write};
use rmodbus::{ErrorKind, ModbusProto};

use crate::schema::*;

/// A context with every address (65536 coils and holding registers), so that the server's
/// answers are never limited by the context's size.
type Context = ModbusStorage<65536, 0, 0, 65536>;

/// The library's state: the server's context.
pub struct Library {
    ctx: Box<Context>,
}

impl Default for Library {
    fn default() -> Library {
        Library {
            ctx: Box::new(Context::new()),
        }
    }
}

fn lib(err: ErrorKind) -> AdapterError {
    AdapterError::msg(format!("rmodbus: {err} ({err:?})"))
}

/// The transaction id and unit id of a frame to write (the schema's seq and plain header value).
fn ids(seq: u64, plain: &[i128]) -> Result<(u16, u8), AdapterError> {
    let tr_id =
        u16::try_from(seq).map_err(|_| AdapterError::msg(format!("seq {seq} is not a u16")))?;
    let unit = plain
        .first()
        .and_then(|&u| u8::try_from(u).ok())
        .ok_or_else(|| AdapterError::msg(format!("unit id {plain:?} is not a u8")))?;
    Ok((tr_id, unit))
}

/// The transaction id and unit id of a whole frame read. The kit found the frame by its MBAP
/// length and function code only: the protocol id and the rest are rmodbus's to judge.
fn ids_of(frame: &[u8]) -> Result<(u16, u8), AdapterError> {
    match frame {
        [t0, t1, _, _, _, _, unit, ..] => Ok((u16::from_be_bytes([*t0, *t1]), *unit)),
        _ => Err(AdapterError::msg(
            "the frame is shorter than its MBAP header",
        )),
    }
}

/// A request as rmodbus's client writes it.
fn request(
    seq: u64,
    plain: &[i128],
    generate: impl FnOnce(&mut ModbusRequest, &mut Vec<u8>) -> Result<(), ErrorKind>,
) -> Result<Vec<u8>, AdapterError> {
    let (tr_id, unit) = ids(seq, plain)?;
    let mut req = ModbusRequest::new_tcp_udp(unit, tr_id);
    let mut out = Vec::new();
    generate(&mut req, &mut out).map_err(lib)?;
    Ok(out)
}

/// A request frame parsed by rmodbus's server (every unit id its own, none a broadcast): the
/// frame, ready for `get_external_write` or processing. A request the server answers with an
/// exception is refused with that exception.
fn served<'a>(
    frame: &'a [u8],
    response: &'a mut Vec<u8>,
) -> Result<ModbusFrame<'a, Vec<u8>>, AdapterError> {
    let (_, unit) = ids_of(frame)?;
    let mut server =
        ModbusFrame::new(unit, frame, ModbusProto::TcpUdp, response).with_broadcast_units(&[]);
    server.parse().map_err(lib)?;
    if let Some(code) = server.error {
        return Err(AdapterError::msg(format!(
            "rmodbus's server answers exception {code:?} ({:#04x})",
            code.byte()
        )));
    }
    if !server.processing_required {
        return Err(AdapterError::msg(
            "rmodbus's server does not process this request",
        ));
    }
    Ok(server)
}

impl Library {
    /// The server's whole answer to `request` (a frame of rmodbus's client), the context
    /// prepared by `prepare`.
    fn answer(
        &mut self,
        request: &[u8],
        prepare: impl FnOnce(&mut Context) -> Result<(), ErrorKind>,
    ) -> Result<Vec<u8>, AdapterError> {
        prepare(&mut self.ctx).map_err(lib)?;
        let mut response = Vec::new();
        let (_, unit) = ids_of(request)?;
        let mut server = ModbusFrame::new(unit, request, ModbusProto::TcpUdp, &mut response)
            .with_broadcast_units(&[]);
        server.parse().map_err(lib)?;
        if server.processing_required && server.error.is_none() {
            if server.readonly {
                server.process_read(&*self.ctx).map_err(lib)?;
            } else {
                server.process_write(&mut *self.ctx).map_err(lib)?;
            }
        }
        server.finalize_response().map_err(lib)?;
        Ok(response)
    }

    /// An exception response of the server, with `code`, to the request `request`.
    fn exception(&mut self, request: &[u8], code: u8) -> Result<Vec<u8>, AdapterError> {
        let code = ModbusErrorCode::try_from(code).map_err(|_| {
            AdapterError::msg(format!(
                "rmodbus has no ModbusErrorCode for exception code {code:#04x}"
            ))
        })?;
        let mut response = Vec::new();
        let (_, unit) = ids_of(request)?;
        let mut server = ModbusFrame::new(unit, request, ModbusProto::TcpUdp, &mut response)
            .with_broadcast_units(&[]);
        server.parse().map_err(lib)?;
        server.error = Some(code);
        server.finalize_response().map_err(lib)?;
        Ok(response)
    }
}

/// A client that has sent a `func` request, for reading the response `frame`.
fn client(frame: &[u8], func: ModbusFunction, count: u16) -> Result<ModbusRequest, AdapterError> {
    let (tr_id, unit) = ids_of(frame)?;
    let mut req = ModbusRequest::new_tcp_udp(unit, tr_id);
    req.func = func;
    req.count = count;
    Ok(req)
}

/// The exception code of an exception response, as rmodbus's client reports it.
fn exception_code(frame: &[u8], func: ModbusFunction) -> Result<ExceptionCode, AdapterError> {
    match client(frame, func, 1)?.parse_ok(frame) {
        Ok(()) => Err(AdapterError::msg("rmodbus's client reads no exception")),
        Err(kind) => match kind.to_modbus_error() {
            Ok(code) => Ok(ExceptionCode(code.byte())),
            Err(kind) => Err(AdapterError::msg(format!(
                "rmodbus's client reads exception code {:#04x} as {kind:?} ({kind})",
                frame.get(8).copied().unwrap_or(0)
            ))),
        },
    }
}

/// Two bytes at a time, big-endian.
fn words(data: &[u8]) -> Vec<u16> {
    data.chunks_exact(2)
        .map(|w| u16::from_be_bytes([w[0], w[1]]))
        .collect()
}

fn bytes(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

fn word(data: &[u8]) -> Result<u16, AdapterError> {
    match data {
        [a0, a1] => Ok(u16::from_be_bytes([*a0, *a1])),
        _ => Err(AdapterError::msg(format!(
            "rmodbus's server gives {} data bytes, not 2",
            data.len()
        ))),
    }
}

fn pair(data: &[u8]) -> Result<(u16, u16), AdapterError> {
    match data {
        [a0, a1, b0, b1, ..] => Ok((
            u16::from_be_bytes([*a0, *a1]),
            u16::from_be_bytes([*b0, *b1]),
        )),
        _ => Err(AdapterError::msg(format!(
            "rmodbus's client gives {} data bytes, not 4",
            data.len()
        ))),
    }
}

impl Adapter for Library {
    // ---------------------------------------------------------------- 0x01 Read Coils

    fn encode_read_coils_request(
        &mut self,
        v: &ReadCoilsRequest,
        seq: u64,
        plain: &[i128],
    ) -> Result<Vec<u8>, AdapterError> {
        request(seq, plain, |r, out| {
            r.generate_get_coils(v.starting_address, v.quantity, out)
        })
    }

    fn decode_read_coils_request(
        &mut self,
        frame: &[u8],
    ) -> Result<ReadCoilsRequest, AdapterError> {
        let mut response = Vec::new();
        let server = served(frame, &mut response)?;
        Ok(ReadCoilsRequest {
            starting_address: server.reg,
            quantity: server.count,
        })
    }

    fn encode_read_coils_response(
        &mut self,
        v: &ReadCoilsResponse,
        seq: u64,
        plain: &[i128],
    ) -> Result<Vec<u8>, AdapterError> {
        // The server answers a read of N x 8 coils from address 0 with N bytes.
        let count = u16::try_from(v.coil_status.len() * 8)
            .map_err(|_| AdapterError::msg("too many coils"))?;
        let req = request(seq, plain, |r, out| r.generate_get_coils(0, count, out))?;
        self.answer(&req, |ctx| ctx.set_coils_from_u8(0, count, &v.coil_status))
    }

    fn decode_read_coils_response(
        &mut self,
        frame: &[u8],
    ) -> Result<ReadCoilsResponse, AdapterError> {
        let req = client(frame, ModbusFunction::GetCoils, 2000)?;
        Ok(ReadCoilsResponse {
            coil_status: req.parse_slice(frame).map_err(lib)?.to_vec(),
        })
    }

    fn encode_read_coils_exception(
        &mut self,
        v: &ReadCoilsException,
        seq: u64,
        plain: &[i128],
    ) -> Result<Vec<u8>, AdapterError> {
        let req = request(seq, plain, |r, out| r.generate_get_coils(0, 1, out))?;
        self.exception(&req, v.exception_code.0)
    }

    fn decode_read_coils_exception(
        &mut self,
        frame: &[u8],
    ) -> Result<ReadCoilsException, AdapterError> {
        Ok(ReadCoilsException {
            exception_code: exception_code(frame, ModbusFunction::GetCoils)?,
        })
    }

    // ---------------------------------------------------------------- 0x03 Read Holding Registers

    fn encode_read_holding_registers_request(
        &mut self,
        v: &ReadHoldingRegistersRequest,
        seq: u64,
        plain: &[i128],
    ) -> Result<Vec<u8>, AdapterError> {
        request(seq, plain, |r, out| {
            r.generate_get_holdings(v.starting_address, v.quantity, out)
        })
    }

    fn decode_read_holding_registers_request(
        &mut self,
        frame: &[u8],
    ) -> Result<ReadHoldingRegistersRequest, AdapterError> {
        let mut response = Vec::new();
        let server = served(frame, &mut response)?;
        Ok(ReadHoldingRegistersRequest {
            starting_address: server.reg,
            quantity: server.count,
        })
    }

    fn encode_read_holding_registers_response(
        &mut self,
        v: &ReadHoldingRegistersResponse,
        seq: u64,
        plain: &[i128],
    ) -> Result<Vec<u8>, AdapterError> {
        let count = u16::try_from(v.registers.len())
            .map_err(|_| AdapterError::msg("too many registers"))?;
        let req = request(seq, plain, |r, out| r.generate_get_holdings(0, count, out))?;
        self.answer(&req, |ctx| {
            ctx.set_holdings_from_u8(0, &bytes(&v.registers))
        })
    }

    fn decode_read_holding_registers_response(
        &mut self,
        frame: &[u8],
    ) -> Result<ReadHoldingRegistersResponse, AdapterError> {
        let req = client(frame, ModbusFunction::GetHoldings, 125)?;
        let mut registers = Vec::new();
        req.parse_u16(frame, &mut registers).map_err(lib)?;
        Ok(ReadHoldingRegistersResponse { registers })
    }

    fn encode_read_holding_registers_exception(
        &mut self,
        v: &ReadHoldingRegistersException,
        seq: u64,
        plain: &[i128],
    ) -> Result<Vec<u8>, AdapterError> {
        let req = request(seq, plain, |r, out| r.generate_get_holdings(0, 1, out))?;
        self.exception(&req, v.exception_code.0)
    }

    fn decode_read_holding_registers_exception(
        &mut self,
        frame: &[u8],
    ) -> Result<ReadHoldingRegistersException, AdapterError> {
        Ok(ReadHoldingRegistersException {
            exception_code: exception_code(frame, ModbusFunction::GetHoldings)?,
        })
    }

    // ---------------------------------------------------------------- 0x06 Write Single Register

    fn encode_write_single_register_request(
        &mut self,
        v: &WriteSingleRegisterRequest,
        seq: u64,
        plain: &[i128],
    ) -> Result<Vec<u8>, AdapterError> {
        request(seq, plain, |r, out| {
            r.generate_set_holding(v.address, v.value, out)
        })
    }

    fn decode_write_single_register_request(
        &mut self,
        frame: &[u8],
    ) -> Result<WriteSingleRegisterRequest, AdapterError> {
        let mut response = Vec::new();
        let mut server = served(frame, &mut response)?;
        match server.get_external_write().map_err(lib)? {
            Write::Words(w) => Ok(WriteSingleRegisterRequest {
                address: w.address,
                value: word(w.data)?,
            }),
            Write::Bits(_) => Err(AdapterError::msg("rmodbus's server reads a coil write")),
        }
    }

    fn encode_write_single_register_response(
        &mut self,
        v: &WriteSingleRegisterResponse,
        seq: u64,
        plain: &[i128],
    ) -> Result<Vec<u8>, AdapterError> {
        // The server echoes the write it performed.
        let req = request(seq, plain, |r, out| {
            r.generate_set_holding(v.address, v.value, out)
        })?;
        self.answer(&req, |_| Ok(()))
    }

    fn decode_write_single_register_response(
        &mut self,
        frame: &[u8],
    ) -> Result<WriteSingleRegisterResponse, AdapterError> {
        let req = client(frame, ModbusFunction::SetHolding, 1)?;
        let (address, value) = pair(req.parse_slice(frame).map_err(lib)?)?;
        Ok(WriteSingleRegisterResponse { address, value })
    }

    fn encode_write_single_register_exception(
        &mut self,
        v: &WriteSingleRegisterException,
        seq: u64,
        plain: &[i128],
    ) -> Result<Vec<u8>, AdapterError> {
        let req = request(seq, plain, |r, out| r.generate_set_holding(0, 0, out))?;
        self.exception(&req, v.exception_code.0)
    }

    fn decode_write_single_register_exception(
        &mut self,
        frame: &[u8],
    ) -> Result<WriteSingleRegisterException, AdapterError> {
        Ok(WriteSingleRegisterException {
            exception_code: exception_code(frame, ModbusFunction::SetHolding)?,
        })
    }

    // ---------------------------------------------------------------- 0x10 Write Multiple Registers

    fn encode_write_multiple_registers_request(
        &mut self,
        v: &WriteMultipleRegistersRequest,
        seq: u64,
        plain: &[i128],
    ) -> Result<Vec<u8>, AdapterError> {
        request(seq, plain, |r, out| {
            r.generate_set_holdings_bulk(v.starting_address, &v.values, out)
        })
    }

    fn decode_write_multiple_registers_request(
        &mut self,
        frame: &[u8],
    ) -> Result<WriteMultipleRegistersRequest, AdapterError> {
        let mut response = Vec::new();
        let mut server = served(frame, &mut response)?;
        match server.get_external_write().map_err(lib)? {
            Write::Words(w) => Ok(WriteMultipleRegistersRequest {
                starting_address: w.address,
                values: words(w.data),
            }),
            Write::Bits(_) => Err(AdapterError::msg("rmodbus's server reads a coil write")),
        }
    }

    fn encode_write_multiple_registers_response(
        &mut self,
        v: &WriteMultipleRegistersResponse,
        seq: u64,
        plain: &[i128],
    ) -> Result<Vec<u8>, AdapterError> {
        // The server echoes the address and quantity of the write it performed.
        let values = vec![0u16; usize::from(v.quantity)];
        let req = request(seq, plain, |r, out| {
            r.generate_set_holdings_bulk(v.starting_address, &values, out)
        })?;
        self.answer(&req, |_| Ok(()))
    }

    fn decode_write_multiple_registers_response(
        &mut self,
        frame: &[u8],
    ) -> Result<WriteMultipleRegistersResponse, AdapterError> {
        let req = client(frame, ModbusFunction::SetHoldingsBulk, 1)?;
        let (starting_address, quantity) = pair(req.parse_slice(frame).map_err(lib)?)?;
        Ok(WriteMultipleRegistersResponse {
            starting_address,
            quantity,
        })
    }

    fn encode_write_multiple_registers_exception(
        &mut self,
        v: &WriteMultipleRegistersException,
        seq: u64,
        plain: &[i128],
    ) -> Result<Vec<u8>, AdapterError> {
        let req = request(seq, plain, |r, out| {
            r.generate_set_holdings_bulk(0, &[0], out)
        })?;
        self.exception(&req, v.exception_code.0)
    }

    fn decode_write_multiple_registers_exception(
        &mut self,
        frame: &[u8],
    ) -> Result<WriteMultipleRegistersException, AdapterError> {
        Ok(WriteMultipleRegistersException {
            exception_code: exception_code(frame, ModbusFunction::SetHoldingsBulk)?,
        })
    }
}
