//! Compiles `proto/boxoffice/v1/*.proto` without a system `protoc`: `protox`
//! (pure Rust) parses them into a `FileDescriptorSet`, which feeds
//! `tonic-build` and is also written to `OUT_DIR` for gRPC reflection.

use prost::Message;
use std::env;
use std::error::Error;
use std::fs;
use std::path::PathBuf;

/// The .proto files, relative to the include root `proto/`.
const PROTOS: &[&str] = &[
    "boxoffice/v1/inventory.proto",
    "boxoffice/v1/admin.proto",
    "boxoffice/v1/raft.proto",
    "boxoffice/v1/faults.proto",
];

/// Name of the encoded descriptor set in `OUT_DIR`, included by `lib.rs`.
const DESCRIPTOR_FILE: &str = "boxoffice_v1_descriptor.bin";

fn main() -> Result<(), Box<dyn Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("proto");
    println!("cargo:rerun-if-changed={}", root.display());
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={}", root.join(proto).display());
    }

    let fds = protox::compile(PROTOS, [&root])?;

    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out_dir.join(DESCRIPTOR_FILE), fds.encode_to_vec())?;

    tonic_build::configure()
        // Deterministic iteration order for maps (replication lag per follower).
        .btree_map(["."])
        .compile_fds(fds)?;
    Ok(())
}
