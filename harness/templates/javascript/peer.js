// The @NAME@ peer: scaffolded by `python -m harness new-peer`; yours to edit.
//
// It speaks the start of protocols/PEER_CONTRACT.md: HELLO, QUIT, `ERR request` for a line it
// cannot parse, `ERR unsupported` for a request it does not implement yet, and the line-length
// limit. docs/adding-a-peer.md says what to add next; `python -m harness check-peer peers/@NAME@`
// says what is still missing.
"use strict";
const os = require("os");

const NAME = "@NAME@";
const MAX_LINE = @MAX_LINE@; // 8 x max_payload + 65536 bytes (PEER_CONTRACT.md, "Lines")
const TRANSPORTS = []; // keep these two as peer.toml's [supports] says
const MESSAGES = [];
const KNOWN = new Set(["ENCODE", "DECODE", "LISTEN", "CONNECT", "ACCEPT", "SEND", "RECV", "ECHO",
  "CLOSE", "BLAST", "DRAIN", "WAIT", "PING", "PONG", "FLOOD", "SINK"]);

function answer(words) {
  const [command, ...args] = words;
  if (command === "HELLO") {
    if (args.length !== 1 || args[0] !== "1") return `ERR unsupported contract ${args.join(" ")}`;
    const bits = ["x64", "arm64", "ppc64", "s390x", "riscv64", "loong64"].includes(process.arch) ? 64 : 32;
    return `OK name=${NAME} language=javascript contract=1 transports=${TRANSPORTS.join(",")} ` +
      `messages=${MESSAGES.join(",")} ptr_bits=${bits} byte_order=${os.endianness() === "LE" ? "little" : "big"}`;
  }
  if (KNOWN.has(command)) return `ERR unsupported ${command} is not implemented yet`;
  return `ERR request unknown command ${command.slice(0, 40)}`;
}

let pending = [];      // chunks of the line being read
let pendingLength = 0;
let dropping = false;  // inside a line that is already too long

process.stdin.on("data", (chunk) => {
  let start = 0;
  for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
    const tooLong = dropping || pendingLength + (nl - start) > MAX_LINE;
    const line = tooLong ? "" : Buffer.concat([...pending, chunk.subarray(start, nl)]).toString("latin1");
    pending = [];
    pendingLength = 0;
    dropping = false;
    start = nl + 1;
    if (line === "QUIT") {
      process.stdout.write("OK\n", () => process.exit(0));
      process.stdin.pause();
      return;
    }
    process.stdout.write((tooLong ? "ERR request line too long" : answer(line.split(" "))) + "\n");
  }
  const rest = chunk.subarray(start);
  if (dropping || pendingLength + rest.length > MAX_LINE) {
    dropping = true;
    pending = [];
    pendingLength = 0;
  } else {
    pending.push(rest);
    pendingLength += rest.length;
  }
});
