//! The one place that names the inventory's types.
//!
//! The shop is written against `boxoffice-client` only: the domain
//! vocabulary (commands, outcomes, ids, views) and the wire messages of the
//! client's queries come from its re-exports, and every other module says
//! `crate::inventory::domain` and `crate::inventory::v1`.

pub use boxoffice_client::{
    Client, ClientError, ClientOptions, ReadConsistency as Consistency, Submitted, WaitingListEntryView,
    domain, v1,
};
