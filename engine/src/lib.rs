//! boxoffice-engine: the event-sourced inventory engine of boxoffice.
//!
//! - [`domain`]: pure and deterministic; commands in, a [`domain::Record`]
//!   of events and an outcome out. Decides every sale.
//! - [`codec`]: the versioned, CRC-framed byte format of every record that
//!   goes to disk or over the wire, and of state snapshots.
//!
//! Storage (the Raft log, the sled state machine) and replication build on
//! these two and come with the replicated node.

pub mod clock;
pub mod codec;
pub mod disk;
pub mod domain;
pub mod lock;
pub mod log;
pub mod node;
pub mod raft;
pub mod store;
