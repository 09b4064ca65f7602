//! The kit's stream layout and bench frame on this schema (the kit's own tests know no schema):
//! the layout of crosswire's stream message as the harness describes it (harness/streams.py),
//! its payloads checked against the generated codec.
use crosswire::bench::{header_differs, Bench};
use crosswire::layout::{Data, Layout};
use crosswire::schema::{self, Schema, HEADER_FIELDS, HEADER_SIZE};
use crosswire::wire::{self, Direction};
use crosswire::Error;

/// `STREAM Blob x0000000000000000 8 1 le 1048568 1 4 4 le 1 0`, if the schema has that Blob.
fn blob_layout() -> Option<Layout> {
    let index = schema::message_index("Blob")?;
    let words = "Blob x0000000000000000 8 1 le 1048568 1 4 4 le 1 0";
    let args: Vec<&str> = words.split(' ').collect();
    let layout = Layout::parse::<Schema>(&args).ok()?;
    assert_eq!(layout.message, index);
    Some(layout)
}

#[test]
fn payloads_are_the_codecs() {
    let layout = match blob_layout() {
        Some(layout) => layout,
        None => return, // another schema: the harness's tests cover it
    };
    let mut data = Data::new(&layout);
    data.reserve(300);
    let mut payload = Vec::new();
    for (seq, n) in [(0u64, 0u64), (1, 1), (255, 3), (300, 300)] {
        layout.payload(seq, n, &data, &mut payload);
        let hex: String = (0..n).map(|j| format!("{:02x}", (seq + j) as u8)).collect();
        let want = schema::encode_text(10, &["0", &format!("x{hex}")], schema::NEWEST_VERSION);
        assert_eq!(Ok(payload.clone()), want, "seq {seq} n {n}");
    }
}

#[test]
fn bad_layouts_are_refused() {
    if blob_layout().is_none() {
        return;
    }
    for words in [
        "Nope x00 0 1 le 1 0",
        "Blob x0000000000000000 9 1 le 10 0",
        "Blob x0000000000000000 8 0 le 10 0",
        "Blob x0000000000000000 8 9 le 10 0",
        "Blob x0000000000000000 8 1 middle 10 0",
        "Blob x0000000000000000 8 1 le 1048569 0",
        "Blob x0000000000000000 8 1 le 10 1 6 4 le 1 0",
        "Blob x0000000000000000 8 1 le 10 1 4 4 le 1",
        "Blob x0000000000000000 8 1 le 10 2 0 4 le 1 0 2 4 le 1 0",
        "Blob x0000000000000000 8 1 le 10 1 6 4 le 1 0",
        "Blob x0000000000000000 8 1 le 10 1 7 2 le 1 0",
        "Blob x0000000000000000 8 1 le 10 9",
        "Blob x00zz 0 1 le 10 0",
        "Blob x0000000000000000 8 1 le 10 1 4 4 le 18446744073709551616 0",
    ] {
        let args: Vec<&str> = words.split(' ').collect();
        let err = Layout::parse::<Schema>(&args).unwrap_err();
        assert_eq!(err.kind(), "request", "{words}: {err}");
    }
    let straddles: Vec<&str> = "Blob x0000000000000000 6 1 le 10 1 4 4 le 1 0"
        .split(' ')
        .collect();
    assert!(Layout::parse::<Schema>(&straddles).is_err());
}

#[test]
fn the_bench_frame() {
    let layout = match blob_layout() {
        Some(layout) => layout,
        None => return,
    };
    if Bench::new::<Schema>(&layout, 64, 1).is_err() {
        return; // a frame with a checksum: no bench
    }
    let bench = Bench::new::<Schema>(&layout, 64, 1).unwrap();
    let frame = &bench.frame;
    assert_eq!(frame.len(), HEADER_SIZE + 64);
    let (head, payload) = wire::split_frame::<Schema>(frame, Direction::Any).unwrap();
    assert_eq!(
        (head.message, head.payload_len, head.seq),
        (layout.message, 64, 0)
    );
    assert!(schema::check(head.message, payload, schema::NEWEST_VERSION).is_ok());
    let data = &payload[8..];
    assert_eq!(data.len(), 56);
    assert!(data.iter().enumerate().all(|(j, &b)| b == j as u8));
    assert_eq!(payload[4..8], 56u32.to_le_bytes());
    let bad = |size| {
        Bench::new::<Schema>(&layout, size, 1)
            .err()
            .map(|e| e.kind())
    };
    assert_eq!(bad(7), Some("request"));
    let max = u64::from(schema::MAX_PAYLOAD);
    assert!(Bench::new::<Schema>(&layout, max, 1).is_ok());
    assert_eq!(bad(max + 1), Some("request"));
}

#[test]
fn a_wrong_header_is_named() {
    let layout = match blob_layout() {
        Some(layout) => layout,
        None => return,
    };
    if Bench::new::<Schema>(&layout, 8, 3).is_err() {
        return; // no bench on this schema
    }
    let want = Bench::new::<Schema>(&layout, 8, 3).unwrap();
    let mut got = Bench::new::<Schema>(&layout, 8, 3).unwrap();
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
