//! boxoffice-proto: the gRPC contract of boxoffice.
//!
//! # Why this crate exists
//!
//! The server, the client crate, the CLI, the shop and the fault harness all
//! speak gRPC to the cluster. They must agree on one set of messages, so the
//! `.proto` files (`proto/boxoffice/v1/`) and the Rust code generated from
//! them live here, in one crate that each of them depends on:
//!
//! - [`v1`]: the generated prost messages and tonic clients and servers of
//!   package `boxoffice.v1`: service `Inventory` (the client API: submit
//!   commands, query availability, holds, orders, the catalog, an
//!   organizer's events and an event's waiting room, tail the event log),
//!   service `Admin` (cluster status and membership) and service
//!   `Raft` (the node-to-node transport, whose payloads are opaque bytes),
//!   and service `Faults` (switches for the fault harness, served only by
//!   nodes built with the `fault-injection` feature).
//! - [`FILE_DESCRIPTOR_SET`]: the encoded descriptors of those files, for gRPC
//!   server reflection.
//! - [`convert`]: conversions between the messages and the engine's
//!   [`domain`](boxoffice_engine::domain) types. Decoding from the wire
//!   returns a typed [`convert::ConvertError`] and never panics.
//! - [`door`]: the limits of a request (commands and bytes per batch, bytes
//!   per command) and the checks that refuse a request before anything is
//!   proposed, shared by the server and the client's embedded transport.
//!
//! The code is generated at build time by `protox` (a pure-Rust protobuf
//! compiler) and `tonic-build`: no system `protoc` is needed.
//!
//! # What it must never do
//!
//! Hold business logic. Every rule of the inventory (limits, capacity,
//! statuses, expiry) is decided by `boxoffice_engine::domain`; this crate only
//! moves values between representations. Where a wire value cannot be
//! represented in the domain type at all (a negative quantity, a request id
//! that is not 16 bytes) the conversion fails; a value that fits but breaks a
//! limit (a price of a billion, a zero quantity) is passed through untouched.
//! The [`door`] then refuses it by the domain's own state-free rules
//! (`Command::validate`), before it is proposed; the domain still checks
//! every rule when it decides.
//!
//! # Compatibility
//!
//! Field numbers and enum values in the `.proto` files are a wire format:
//! never renumber or reuse them. Add new fields with new numbers; mark dead
//! ones `reserved`.

pub mod convert;
pub mod door;

/// Generated messages, clients and servers of protobuf package `boxoffice.v1`.
///
/// The documentation of each item is the comment in the `.proto` file.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod v1 {
    tonic::include_proto!("boxoffice.v1");
}

/// The encoded `google.protobuf.FileDescriptorSet` of every `.proto` file of
/// this crate (with source comments), for gRPC server reflection
/// (`tonic_reflection::server::Builder::register_encoded_file_descriptor_set`).
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/boxoffice_v1_descriptor.bin"));
