//! cw-peer: the Rust reference peer of crosswire, the kit run with the generated codec.
#![forbid(unsafe_code)]

fn main() -> std::io::Result<()> {
    crosswire_kit::run(&crosswire::schema::Schema, "rust")
}
