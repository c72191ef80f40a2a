//! The one place that names the inventory's types.
//!
//! The shop is written against `boxoffice-client` only. Until the client
//! re-exports the domain vocabulary and the wire messages of its queries,
//! this module borrows them from the crates the client is built on; every
//! other module says `crate::inventory::domain` and `crate::inventory::v1`,
//! so dropping the two extra dependencies is a change here alone.

pub use boxoffice_client::{Client, ClientError, ClientOptions, ReadConsistency as Consistency, Submitted};
pub use boxoffice_engine::domain;
pub use boxoffice_proto::v1;
