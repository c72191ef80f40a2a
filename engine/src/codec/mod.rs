//! The byte format of everything boxoffice writes to disk or sends between
//! nodes: log records, command envelopes and state snapshots.
//!
//! # Frame
//!
//! ```text
//! [len u32 LE][crc32 u32 LE][payload: len bytes]
//! payload = [kind u8][version u16 LE][bincode body]
//! ```
//!
//! The CRC (crc32fast, IEEE) covers the payload, so a torn or corrupted tail
//! of a log file is detected on open and cut off, never applied. `len` is
//! checked against a per-kind limit *before* anything is allocated, and the
//! bincode decoder runs with the same byte limit, so a hostile length prefix
//! cannot make us allocate gigabytes. Every failure is a typed
//! [`CodecError`]; no input makes the decoder panic.
//!
//! # Versions
//!
//! Every payload names its format version. This build reads every version
//! it lists in [`SUPPORTED_VERSIONS`] and writes each kind at
//! [`Kind::write_version`]: a kind moves to a new version only when its own
//! layout changes, so nodes of the previous build still read everything
//! else (Raft messages, log entries) during a rolling upgrade. A format
//! change adds a version and a decoder for the old one that converts to the
//! current types (`domain::compat`); old records decode forever and are
//! never rewritten in place. The golden tests in this module pin the bytes
//! of every version, so a dependency bump or an innocent-looking edit of a
//! domain type that would change them fails the build.
//!
//! | version | what changed |
//! |---|---|
//! | 1 | the first format |
//! | 2 | records and snapshots keep each request id's command digest (`Record::command_digest`) |
//! | 3 | snapshots: orders keep the buyer's contact (`Order::contact`), the state keeps waiting rooms |
//! | 4 | snapshots: items keep variations and order limits, quotas what blocking vouchers hold and their waiting-list offers, holds and orders their voucher and buyer, the state vouchers, per-buyer counts, seating plans (seats, holders, the seats of holds and orders) and waiting-list entries, lines and settings |
//!
//! **Appended enum variants are not a new version.** bincode writes an enum
//! variant as its position, so a variant added at the end of `Command`,
//! `Event`, `Accepted`, `InvalidInput` or `ObjectRef` leaves the bytes of
//! every existing value as they were: old records and envelopes decode
//! unchanged, and nothing is rewritten. Bytes that use a new variant cannot
//! be read by an older build; that is the ordinary upgrade rule (upgrade
//! every node before anyone sends the new commands), the same as for a new
//! command in a log entry. So versions 3 and 4 moved only snapshots (whose
//! layout changed); records stay at version 2 and envelopes, log entries
//! and Raft messages at version 1. (Variations kept `Line` as it was: a
//! variation has an item id of its own, so no command, event or outcome
//! changed its layout.) Keeping records at 2 matters beyond the old
//! build: replicas are compared by a digest of their stored record frames,
//! and each node writes its own frames, so a record version bumped without
//! a layout change would make nodes that applied the same records under
//! different builds (a rolling upgrade) disagree forever.
//!
//! bincode (pinned at 1.3.3) is used only here, so swapping it is local.

use crate::domain::compat::{RecordV1, StateV1, StateV2, StateV3};
use crate::domain::{Envelope, Record, State};
use bincode::Options;
use serde::{Serialize, de::DeserializeOwned};

#[cfg(test)]
mod tests;

/// The newest format version, the one this build writes for kinds whose
/// layout it changed (see [`Kind::write_version`]).
pub const FORMAT_VERSION: u16 = 4;

/// Every format version this build can read.
pub const SUPPORTED_VERSIONS: &[u16] = &[1, 2, 3, 4];

/// Bytes of the frame header: length and CRC.
pub const FRAME_HEADER_BYTES: usize = 8;

/// Bytes of the payload header: kind and version.
pub const PAYLOAD_HEADER_BYTES: usize = 3;

/// Largest payload of a log record or envelope, in bytes. Real ones are a
/// few kilobytes at most (the domain's limits bound them); anything near
/// this is corrupt or hostile.
pub const RECORD_BYTES_MAX: u32 = 4 * 1024 * 1024;

/// Largest payload of one message between Raft nodes, in bytes: a batch of
/// log entries or a snapshot chunk.
pub const RAFT_MESSAGE_BYTES_MAX: u32 = 64 * 1024 * 1024;

/// Largest payload of a state snapshot, in bytes (1 GiB).
pub const SNAPSHOT_BYTES_MAX: u32 = 1024 * 1024 * 1024;

/// What a payload holds. Stored in the payload so that bytes of one kind
/// are never mistaken for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A [`Record`] of the event log.
    Record = 1,
    /// An [`Envelope`]: a command as proposed to Raft.
    Envelope = 2,
    /// A whole [`State`].
    Snapshot = 3,
    /// A Raft log entry (`engine::raft::Entry`).
    LogEntry = 4,
    /// A Raft vote.
    Vote = 5,
    /// Log metadata: the last purged log id.
    LogMeta = 6,
    /// A message between Raft nodes (append entries, vote, snapshot chunk, and replies).
    RaftMessage = 7,
    /// The metadata of a Raft snapshot (last log id, membership, id).
    SnapshotMeta = 8,
    /// A mark in a Raft log segment that opens a group commit: the index of
    /// the group's first entry (see `engine::log`).
    LogMark = 9,
}

impl Kind {
    /// The version this build writes payloads of this kind at: the last
    /// version that changed the kind's layout.
    pub fn write_version(self) -> u16 {
        match self {
            Kind::Snapshot => 4,
            Kind::Record => 2,
            Kind::Envelope
            | Kind::LogEntry
            | Kind::Vote
            | Kind::LogMeta
            | Kind::RaftMessage
            | Kind::SnapshotMeta
            | Kind::LogMark => 1,
        }
    }

    /// The largest payload of this kind, in bytes.
    pub fn bytes_max(self) -> u32 {
        match self {
            Kind::Record
            | Kind::Envelope
            | Kind::LogEntry
            | Kind::Vote
            | Kind::LogMeta
            | Kind::SnapshotMeta
            | Kind::LogMark => RECORD_BYTES_MAX,
            Kind::RaftMessage => RAFT_MESSAGE_BYTES_MAX,
            Kind::Snapshot => SNAPSHOT_BYTES_MAX,
        }
    }
}

/// Why bytes could not be encoded or decoded. Decoding never panics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Fewer bytes than the frame says: a torn write, or more to read.
    #[error("truncated frame: need {needed} bytes, have {available}")]
    Truncated {
        /// Bytes the frame needs.
        needed: u64,
        /// Bytes there are.
        available: u64,
    },
    /// The frame's length is over the limit for its kind.
    #[error("frame payload of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// The claimed or actual length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// The payload does not match its checksum.
    #[error("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    Checksum {
        /// The CRC in the header.
        stored: u32,
        /// The CRC of the payload.
        computed: u32,
    },
    /// Bytes follow a complete frame where none were expected.
    #[error("{0} trailing bytes after the frame")]
    TrailingBytes(u64),
    /// The payload holds another kind of record.
    #[error("expected a {expected:?} payload, found kind {found}")]
    WrongKind {
        /// The kind asked for.
        expected: Kind,
        /// The kind byte found.
        found: u8,
    },
    /// The payload's format version is unknown to this build.
    #[error("unsupported format version {found} (this build reads {supported:?})")]
    UnsupportedVersion {
        /// The version found.
        found: u16,
        /// The versions this build reads.
        supported: &'static [u16],
    },
    /// The checksum matched but the body does not decode (or encode).
    #[error("malformed payload: {0}")]
    Malformed(String),
}

fn bincode_options(limit_bytes: u32) -> impl Options {
    bincode::DefaultOptions::new()
        .with_varint_encoding()
        .with_little_endian()
        .reject_trailing_bytes()
        .with_limit(u64::from(limit_bytes))
}

/// Frame a payload: `[len][crc32][payload]`.
fn frame(payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("payload length checked against a u32 limit");
    let mut out = Vec::with_capacity(FRAME_HEADER_BYTES + payload.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Read one frame from the front of `bytes`: its payload and the number of
/// bytes the frame took. For reading a stream (a log file) frame by frame:
/// `Truncated` at the end of a file means a torn tail.
pub fn read_frame(bytes: &[u8], payload_bytes_max: u32) -> Result<(&[u8], usize), CodecError> {
    let available = bytes.len() as u64;
    let Some(header) = bytes.get(..FRAME_HEADER_BYTES) else {
        return Err(CodecError::Truncated { needed: FRAME_HEADER_BYTES as u64, available });
    };
    let len = u32::from_le_bytes(header[0..4].try_into().expect("4 bytes"));
    let stored = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
    if len > payload_bytes_max {
        return Err(CodecError::TooLarge { len: len.into(), max: payload_bytes_max.into() });
    }
    let end = FRAME_HEADER_BYTES + len as usize;
    let Some(payload) = bytes.get(FRAME_HEADER_BYTES..end) else {
        return Err(CodecError::Truncated { needed: end as u64, available });
    };
    let computed = crc32fast::hash(payload);
    if computed != stored {
        return Err(CodecError::Checksum { stored, computed });
    }
    Ok((payload, end))
}

/// Encode any serializable value as one frame of `kind`. For the storage and
/// transport layers, whose types (Raft entries, votes) the codec does not name.
pub fn encode<T: Serialize>(kind: Kind, value: &T) -> Result<Vec<u8>, CodecError> {
    let body_max = kind.bytes_max() - PAYLOAD_HEADER_BYTES as u32;
    let body = bincode_options(body_max).serialize(value).map_err(|e| match *e {
        bincode::ErrorKind::SizeLimit => CodecError::TooLarge { len: u64::MAX, max: kind.bytes_max().into() },
        other => CodecError::Malformed(other.to_string()),
    })?;
    let mut payload = Vec::with_capacity(PAYLOAD_HEADER_BYTES + body.len());
    payload.push(kind as u8);
    payload.extend_from_slice(&kind.write_version().to_le_bytes());
    payload.extend_from_slice(&body);
    let encoded = frame(&payload);
    debug_assert!(read_frame(&encoded, kind.bytes_max()).is_ok(), "a fresh frame must read back");
    Ok(encoded)
}

/// Decode a whole frame holding exactly one payload of `kind`.
pub fn decode<T: DeserializeOwned>(kind: Kind, bytes: &[u8]) -> Result<T, CodecError> {
    decode_whole(kind, bytes, |payload| decode_payload(kind, payload))
}

/// Split a payload of `kind` into its version and body, checking both.
fn versioned(kind: Kind, payload: &[u8]) -> Result<(u16, &[u8]), CodecError> {
    let Some(header) = payload.get(..PAYLOAD_HEADER_BYTES) else {
        return Err(CodecError::Malformed("payload shorter than its header".into()));
    };
    if header[0] != kind as u8 {
        return Err(CodecError::WrongKind { expected: kind, found: header[0] });
    }
    let version = u16::from_le_bytes([header[1], header[2]]);
    if !SUPPORTED_VERSIONS.contains(&version) {
        return Err(CodecError::UnsupportedVersion { found: version, supported: SUPPORTED_VERSIONS });
    }
    Ok((version, &payload[PAYLOAD_HEADER_BYTES..]))
}

fn body<T: DeserializeOwned>(kind: Kind, body: &[u8]) -> Result<T, CodecError> {
    bincode_options(kind.bytes_max()).deserialize(body).map_err(|e| CodecError::Malformed(e.to_string()))
}

/// Decode a payload (kind, version, body) of `kind`, as returned by
/// [`read_frame`], for kinds whose layout is the same in every supported
/// version (everything but records and snapshots, which have their own
/// functions because their older versions convert).
pub fn decode_payload<T: DeserializeOwned>(kind: Kind, payload: &[u8]) -> Result<T, CodecError> {
    let (version, bytes) = versioned(kind, payload)?;
    if matches!(kind, Kind::Record | Kind::Snapshot) && version < kind.write_version() {
        return Err(CodecError::Malformed(format!(
            "a version {version} {kind:?} payload decodes with decode_record_payload or decode_snapshot_payload"
        )));
    }
    body(kind, bytes)
}

/// Decode a record payload of any supported version.
pub fn decode_record_payload(payload: &[u8]) -> Result<Record, CodecError> {
    match versioned(Kind::Record, payload)? {
        (1, bytes) => Ok(body::<RecordV1>(Kind::Record, bytes)?.into()),
        (_, bytes) => body(Kind::Record, bytes),
    }
}

/// Decode a snapshot (state) payload of any supported version.
pub fn decode_snapshot_payload(payload: &[u8]) -> Result<State, CodecError> {
    match versioned(Kind::Snapshot, payload)? {
        (1, bytes) => Ok(body::<StateV1>(Kind::Snapshot, bytes)?.into()),
        (2, bytes) => Ok(body::<StateV2>(Kind::Snapshot, bytes)?.into()),
        (3, bytes) => Ok(body::<StateV3>(Kind::Snapshot, bytes)?.into()),
        (_, bytes) => body(Kind::Snapshot, bytes),
    }
}

/// Decode a whole frame of `kind` with `decode`, checking nothing trails it.
fn decode_whole<T>(
    kind: Kind,
    bytes: &[u8],
    decode: impl FnOnce(&[u8]) -> Result<T, CodecError>,
) -> Result<T, CodecError> {
    let (payload, used) = read_frame(bytes, kind.bytes_max())?;
    if used != bytes.len() {
        return Err(CodecError::TrailingBytes((bytes.len() - used) as u64));
    }
    decode(payload)
}

/// Encode a log record as one frame.
pub fn encode_record(record: &Record) -> Result<Vec<u8>, CodecError> {
    encode(Kind::Record, record)
}

/// Decode one frame holding a log record.
pub fn decode_record(bytes: &[u8]) -> Result<Record, CodecError> {
    decode_whole(Kind::Record, bytes, decode_record_payload)
}

/// Encode a command envelope as one frame.
pub fn encode_envelope(envelope: &Envelope) -> Result<Vec<u8>, CodecError> {
    encode(Kind::Envelope, envelope)
}

/// Decode one frame holding a command envelope.
pub fn decode_envelope(bytes: &[u8]) -> Result<Envelope, CodecError> {
    decode(Kind::Envelope, bytes)
}

/// Encode the whole state as one snapshot frame.
pub fn encode_snapshot(state: &State) -> Result<Vec<u8>, CodecError> {
    encode(Kind::Snapshot, state)
}

/// Decode a snapshot frame into a state.
pub fn decode_snapshot(bytes: &[u8]) -> Result<State, CodecError> {
    decode_whole(Kind::Snapshot, bytes, decode_snapshot_payload)
}
