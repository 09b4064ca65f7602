//! The kit's bench frame on this schema (the kit's own tests know no schema).
use crosswire::bench::{header_differs, Bench};
use crosswire::schema::{self, Schema, HEADER_FIELDS, HEADER_SIZE};
use crosswire::stream::{blob, crc32, BLOB_DATA_AT};
use crosswire::wire::{self, Direction};
use crosswire::Error;

#[test]
fn the_bench_frame() {
    if blob::<Schema>().is_err() || Bench::new::<Schema>(64, 1).is_err() {
        assert!(Bench::new::<Schema>(64, 1).is_err());
        return; // a schema without crosswire's Blob, or a frame with a checksum: no bench
    }
    let bench = Bench::new::<Schema>(64, 1).unwrap();
    let frame = &bench.frame;
    assert_eq!(frame.len(), HEADER_SIZE + 64);
    let (head, payload) = wire::split_frame::<Schema>(frame, Direction::Any).unwrap();
    assert_eq!(
        (head.message, head.payload_len, head.seq),
        (blob::<Schema>().unwrap(), 64, 0)
    );
    assert!(schema::check(head.message, payload, schema::NEWEST_VERSION).is_ok());
    let data = &payload[BLOB_DATA_AT..];
    assert_eq!(data.len(), 56);
    assert!(data.iter().enumerate().all(|(j, &b)| b == j as u8));
    assert_eq!(payload[..4], crc32(data).to_le_bytes());
    assert!(Bench::new::<Schema>(7, 1).is_err());
    let max = u64::from(schema::MAX_PAYLOAD);
    assert!(Bench::new::<Schema>(max, 1).is_ok());
    assert!(Bench::new::<Schema>(max + 1, 1).is_err());
}

#[test]
fn a_wrong_header_is_named() {
    if blob::<Schema>().is_err() || Bench::new::<Schema>(8, 3).is_err() {
        return; // no bench on this schema
    }
    let want = Bench::new::<Schema>(8, 3).unwrap();
    let mut got = Bench::new::<Schema>(8, 3).unwrap();
    got.set_seq(3);
    let text = header_differs(
        &HEADER_FIELDS,
        "round",
        2,
        &got.frame[..HEADER_SIZE],
        &want.frame[..HEADER_SIZE],
    );
    assert_eq!(text, Error::Runtime("round 2: seq 3, expected 0".into()));
}
