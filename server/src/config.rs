//! Node configuration: command-line flags, optionally on top of a TOML file.
//!
//! Every setting has a flag; `--config FILE` loads the same settings from
//! TOML (keys are the flag names with `_` for `-`), and flags given on the
//! command line win over the file. Defaults suit a local three-node cluster.

use boxoffice_engine::disk::DISK_FREE_MIN_BYTES;
#[cfg(feature = "fault-injection")]
use boxoffice_engine::node::PlantedBug;
use boxoffice_engine::raft::{NodeId, NodeInfo};
use clap::Parser;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Default size of one log file before it rolls over, in bytes (16 MiB).
pub const LOG_FILE_BYTES_DEFAULT: u64 = 16 * 1024 * 1024;
/// Default number of rolled-over log files kept.
pub const LOG_FILES_KEPT_DEFAULT: usize = 5;
/// Default of `--proposals-in-flight` (the engine's default).
pub const PROPOSALS_IN_FLIGHT_DEFAULT: usize = 8;
/// Largest `--proposals-in-flight`.
pub const PROPOSALS_IN_FLIGHT_MAX: usize = 64;
/// Default leader heartbeat, in milliseconds.
pub const HEARTBEAT_MS_DEFAULT: u64 = 40;
/// Default minimum election timeout, in milliseconds.
pub const ELECTION_TIMEOUT_MS_DEFAULT: u64 = 160;
/// Default maximum election timeout (and leader lease), as a share of the
/// minimum, in percent: 160 ms gives 200 ms. A follower stands for election
/// after a lease plus its own timeout without a heartbeat, so a crashed
/// leader costs 360 to 400 ms plus the vote and the first commit; a wider
/// spread only lengthens that, a narrower one makes split votes likelier.
pub const ELECTION_TIMEOUT_MAX_PERCENT_DEFAULT: u64 = 125;

/// Command line of `boxoffice-server`.
#[derive(Parser, Debug, Default)]
#[command(
    name = "boxoffice-server",
    version,
    about = "Run one boxoffice node: a replica of the ticket inventory, one per data center.",
    long_about = "Run one boxoffice node: a replica of the ticket inventory, one per data center.\n\n\
        Three nodes form a cluster. Start each with its own --id, --listen, --http, --data-dir and \
        --zone. Start the first with --bootstrap listing all three, and the others with --join \
        naming the first: the first node forms the cluster once every listed node answers with an \
        empty data directory, then adds the others as learners and promotes them once they have \
        caught up. The node serves the client API, cluster admin and the Raft transport on --listen \
        (gRPC, with health and reflection), and Prometheus metrics, /health and /ready on --http.\n\n\
        A node whose data directory is empty while the cluster counts it as a voter (a lost disk) \
        refuses to start: it lost its log and its vote, and voting could elect a leader that lacks \
        acknowledged writes. Start it with --rejoin to rejoin safely: it is removed as a voter, \
        added back as a learner, and promoted once it has caught up.\n\n\
        Example:\n  boxoffice-server --id 1 --listen 127.0.0.11:7000 --http 127.0.0.11:9000 \\\n    \
        --data-dir data/n1 --zone dc1 \\\n    \
        --bootstrap 1=127.0.0.11:7000/dc1,2=127.0.0.12:7000/dc2,3=127.0.0.13:7000/dc3\n  \
        boxoffice-server --id 2 --listen 127.0.0.12:7000 --http 127.0.0.12:9000 \\\n    \
        --data-dir data/n2 --zone dc2 --join 127.0.0.11:7000"
)]
pub struct Args {
    /// TOML file with any of the settings below; flags override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// This node's id: a positive integer, unique in the cluster, never reused.
    #[arg(long)]
    pub id: Option<NodeId>,
    /// Address to serve gRPC on (client API, admin, Raft).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Address other nodes and clients use to reach this node (default: --listen).
    #[arg(long, value_name = "HOST:PORT")]
    pub advertise: Option<String>,
    /// Address to serve /metrics, /health and /ready on.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
    /// Directory for the Raft log and the state machine.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Zone (data center) label of this node, shown in status.
    #[arg(long)]
    pub zone: Option<String>,
    /// Form a new cluster with these members, once: `ID=HOST:PORT/ZONE,...`.
    /// Ignored if this node's data directory already belongs to a cluster.
    /// The cluster is formed only when every other member answers with an
    /// empty data directory; if one already belongs to a cluster, this node
    /// joins it instead (as with --join).
    #[arg(long, value_name = "MEMBERS")]
    pub bootstrap: Option<String>,
    /// gRPC addresses of members of an existing cluster (`HOST:PORT,...`),
    /// asked for the cluster's membership when this node starts with an
    /// empty data directory. Such a node takes no part in Raft until it
    /// knows it is not a voter that lost its disk (see --rejoin).
    #[arg(long, value_name = "ADDRS", value_delimiter = ',')]
    pub join: Vec<String>,
    /// Make sure this node is a voter, through the safe path: if its data
    /// directory is empty while the cluster counts it as a voter, have the
    /// leader remove it, add it back as a learner and promote it once caught
    /// up; if it is a learner or not a member, add and promote it. Needs
    /// --join (or --bootstrap) to find the cluster.
    #[arg(long)]
    pub rejoin: bool,
    /// Directory for log files (rolled by size); without it, logs go to stderr only.
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// Size at which a log file rolls over, in bytes.
    #[arg(long, value_name = "BYTES")]
    pub log_file_bytes: Option<u64>,
    /// Rolled-over log files to keep; older ones are deleted.
    #[arg(long, value_name = "N")]
    pub log_files_kept: Option<usize>,
    /// Log filter (tracing `EnvFilter` syntax), e.g. `info` or `boxoffice=debug`.
    #[arg(long, value_name = "FILTER")]
    pub log_level: Option<String>,
    /// Leader heartbeat interval, in milliseconds [default: 40].
    #[arg(long, value_name = "MS")]
    pub heartbeat_ms: Option<u64>,
    /// Minimum election timeout, in milliseconds [default: 160].
    #[arg(long, value_name = "MS")]
    pub election_timeout_ms: Option<u64>,
    /// Maximum election timeout, in milliseconds; also the leader lease, during
    /// which a follower refuses to vote for anyone else, so a crashed leader is
    /// replaced after about this plus a timeout [default: 5/4 of the minimum].
    #[arg(long, value_name = "MS")]
    pub election_timeout_max_ms: Option<u64>,
    /// Build a snapshot (and purge the log) every this many Raft entries.
    #[arg(long, value_name = "N")]
    pub snapshot_every: Option<u64>,
    /// Most Raft entries the leader has proposed and not yet applied (1 to
    /// 64). Fewer means larger entries under load (commands queue while
    /// entries are in flight and go together into the next one).
    #[arg(long, value_name = "N")]
    pub proposals_in_flight: Option<usize>,
    /// Reach node ID at HOST:PORT instead of its advertised address
    /// (`ID=HOST:PORT`, repeatable): for NAT, or a proxy per link as the
    /// fault-injection harness uses.
    #[arg(long = "peer-route", value_name = "ID=HOST:PORT")]
    pub peer_routes: Vec<String>,
    /// Least free space on the data filesystem, in MiB: below it the node
    /// refuses to start and stops appending to its Raft log (and exits), so
    /// its stores never hit a full disk [default: 64].
    #[arg(long, value_name = "MIB")]
    pub disk_free_min_mib: Option<u64>,
    /// FOR FAULT TESTS ONLY (builds with the `fault-injection` feature):
    /// break a promise on purpose so the Jepsen harness can show its
    /// checkers catch it. `ack-before-commit` answers writes before they are
    /// committed; `oversell` skips the capacity check; `forget-requests`
    /// applies retried request ids again; `double-seat` sells a taken seat
    /// again; `skip-the-line` serves each waiting list from its back;
    /// `diverge` makes every node but
    /// node 1 skip some log entries; `truncate-on-corruption` cuts the Raft
    /// log at a corrupt frame instead of refusing to start.
    #[cfg(feature = "fault-injection")]
    #[arg(long, value_name = "BUG")]
    pub planted_bug: Option<String>,
}

/// The same settings, as read from a TOML file.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    id: Option<NodeId>,
    listen: Option<SocketAddr>,
    advertise: Option<String>,
    http: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    zone: Option<String>,
    bootstrap: Option<String>,
    #[serde(default)]
    join: Vec<String>,
    #[serde(default)]
    rejoin: bool,
    log_dir: Option<PathBuf>,
    log_file_bytes: Option<u64>,
    log_files_kept: Option<usize>,
    log_level: Option<String>,
    heartbeat_ms: Option<u64>,
    election_timeout_ms: Option<u64>,
    election_timeout_max_ms: Option<u64>,
    snapshot_every: Option<u64>,
    proposals_in_flight: Option<usize>,
    disk_free_min_mib: Option<u64>,
    #[serde(default)]
    peer_routes: Vec<String>,
}

/// A complete, checked configuration.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// This node's id.
    pub id: NodeId,
    /// gRPC listen address.
    pub listen: SocketAddr,
    /// Address others use.
    pub advertise: String,
    /// HTTP (metrics, health) listen address.
    pub http: SocketAddr,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Zone label.
    pub zone: String,
    /// Members to bootstrap with, if any.
    pub bootstrap: Option<BTreeMap<NodeId, NodeInfo>>,
    /// Log file directory.
    pub log_dir: Option<PathBuf>,
    /// Log file roll-over size, in bytes.
    pub log_file_bytes: u64,
    /// Rolled log files kept.
    pub log_files_kept: usize,
    /// Log filter.
    pub log_level: String,
    /// Heartbeat, in milliseconds.
    pub heartbeat_ms: u64,
    /// Minimum election timeout, in milliseconds.
    pub election_timeout_ms: u64,
    /// Maximum election timeout and leader lease, in milliseconds.
    pub election_timeout_max_ms: u64,
    /// Snapshot interval, in Raft entries.
    pub snapshot_every: u64,
    /// Most Raft entries proposed and not yet applied.
    pub proposals_in_flight: usize,
    /// Addresses to reach peers at instead of their advertised ones.
    pub peer_routes: BTreeMap<NodeId, String>,
    /// gRPC addresses of existing members, for a node with an empty data directory.
    pub join: Vec<String>,
    /// Rejoin as a voter through the membership path (see `--rejoin`).
    pub rejoin: bool,
    /// A bug planted on purpose (fault tests only).
    #[cfg(feature = "fault-injection")]
    pub planted_bug: Option<PlantedBug>,
    /// Least free space on the data filesystem, in MiB.
    pub disk_free_min_mib: u64,
}

/// A configuration mistake, said so the user can fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required setting is missing.
    #[error("missing setting --{0} (give it as a flag or in the --config file)")]
    Missing(&'static str),
    /// The config file cannot be read or parsed.
    #[error("config file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A value is out of range or malformed.
    #[error("invalid --{setting}: {message}")]
    Invalid {
        /// The setting.
        setting: &'static str,
        /// What is wrong.
        message: String,
    },
}

pub use boxoffice_engine::raft::parse_members;

/// Parse `ID=HOST:PORT` peer routes.
fn parse_routes(routes: &[String]) -> Result<BTreeMap<NodeId, String>, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid { setting: "peer-route", message };
    let mut parsed = BTreeMap::new();
    for route in routes {
        let (id, addr) =
            route.split_once('=').ok_or_else(|| invalid(format!("`{route}`: expected ID=HOST:PORT")))?;
        let id: NodeId = id.trim().parse().map_err(|_| invalid(format!("`{id}` is not a node id")))?;
        if addr.rsplit_once(':').and_then(|(_, port)| port.parse::<u16>().ok()).is_none() {
            return Err(invalid(format!("`{addr}` is not HOST:PORT")));
        }
        parsed.insert(id, addr.trim().to_owned());
    }
    Ok(parsed)
}

impl ServerConfig {
    /// Merge flags over the optional file and check the result.
    pub fn from_args(args: Args) -> Result<ServerConfig, ConfigError> {
        let file = match &args.config {
            None => FileConfig::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::File { path: path.clone(), message: e.to_string() })?;
                toml::from_str(&text)
                    .map_err(|e| ConfigError::File { path: path.clone(), message: e.to_string() })?
            }
        };
        let id = args.id.or(file.id).ok_or(ConfigError::Missing("id"))?;
        if id == 0 {
            return Err(ConfigError::Invalid { setting: "id", message: "node ids start at 1".into() });
        }
        let listen = args.listen.or(file.listen).ok_or(ConfigError::Missing("listen"))?;
        let bootstrap = args
            .bootstrap
            .or(file.bootstrap)
            .map(|text| parse_members(&text))
            .transpose()
            .map_err(|message| ConfigError::Invalid { setting: "bootstrap", message })?;
        if let Some(members) = &bootstrap
            && !members.contains_key(&id)
        {
            return Err(ConfigError::Invalid {
                setting: "bootstrap",
                message: format!("this node ({id}) must be one of the members"),
            });
        }
        let heartbeat_ms = args.heartbeat_ms.or(file.heartbeat_ms).unwrap_or(HEARTBEAT_MS_DEFAULT);
        let election_timeout_ms =
            args.election_timeout_ms.or(file.election_timeout_ms).unwrap_or(ELECTION_TIMEOUT_MS_DEFAULT);
        if election_timeout_ms <= 2 * heartbeat_ms {
            return Err(ConfigError::Invalid {
                setting: "election-timeout-ms",
                message: format!(
                    "{election_timeout_ms} ms must exceed twice the heartbeat ({heartbeat_ms} ms)"
                ),
            });
        }
        let election_timeout_max_ms =
            args.election_timeout_max_ms.or(file.election_timeout_max_ms).unwrap_or(
                (election_timeout_ms * ELECTION_TIMEOUT_MAX_PERCENT_DEFAULT / 100)
                    .max(election_timeout_ms + 1),
            );
        if election_timeout_max_ms <= election_timeout_ms {
            return Err(ConfigError::Invalid {
                setting: "election-timeout-max-ms",
                message: format!(
                    "{election_timeout_max_ms} ms must exceed the minimum election timeout \
                     ({election_timeout_ms} ms): the timeouts are drawn from between them"
                ),
            });
        }
        Ok(ServerConfig {
            id,
            listen,
            advertise: args.advertise.or(file.advertise).unwrap_or_else(|| listen.to_string()),
            http: args.http.or(file.http).ok_or(ConfigError::Missing("http"))?,
            data_dir: args.data_dir.or(file.data_dir).ok_or(ConfigError::Missing("data-dir"))?,
            zone: args.zone.or(file.zone).unwrap_or_else(|| "default".into()),
            bootstrap,
            log_dir: args.log_dir.or(file.log_dir),
            log_file_bytes: args.log_file_bytes.or(file.log_file_bytes).unwrap_or(LOG_FILE_BYTES_DEFAULT),
            log_files_kept: args.log_files_kept.or(file.log_files_kept).unwrap_or(LOG_FILES_KEPT_DEFAULT),
            log_level: args.log_level.or(file.log_level).unwrap_or_else(|| "info".into()),
            heartbeat_ms,
            election_timeout_ms,
            election_timeout_max_ms,
            snapshot_every: args.snapshot_every.or(file.snapshot_every).unwrap_or(5_000),
            proposals_in_flight: {
                let n = args
                    .proposals_in_flight
                    .or(file.proposals_in_flight)
                    .unwrap_or(PROPOSALS_IN_FLIGHT_DEFAULT);
                if !(1..=PROPOSALS_IN_FLIGHT_MAX).contains(&n) {
                    return Err(ConfigError::Invalid {
                        setting: "proposals-in-flight",
                        message: format!("{n} is not between 1 and {PROPOSALS_IN_FLIGHT_MAX}"),
                    });
                }
                n
            },
            join: {
                let join = if args.join.is_empty() { file.join } else { args.join };
                for addr in &join {
                    if addr.rsplit_once(':').and_then(|(_, port)| port.parse::<u16>().ok()).is_none() {
                        return Err(ConfigError::Invalid {
                            setting: "join",
                            message: format!("`{addr}` is not HOST:PORT"),
                        });
                    }
                }
                join
            },
            rejoin: args.rejoin || file.rejoin,
            #[cfg(feature = "fault-injection")]
            planted_bug: args
                .planted_bug
                .as_deref()
                .map(str::parse::<PlantedBug>)
                .transpose()
                .map_err(|message| ConfigError::Invalid { setting: "planted-bug", message })?,
            disk_free_min_mib: match args.disk_free_min_mib.or(file.disk_free_min_mib) {
                None => DISK_FREE_MIN_BYTES >> 20,
                Some(0) => {
                    return Err(ConfigError::Invalid {
                        setting: "disk-free-min-mib",
                        message: "must be at least 1: a node must stop before its disk is full".into(),
                    });
                }
                Some(mib) => mib,
            },
            peer_routes: parse_routes(if args.peer_routes.is_empty() {
                &file.peer_routes
            } else {
                &args.peer_routes
            })?,
        })
    }

    /// This node as members see it.
    pub fn node_info(&self) -> NodeInfo {
        NodeInfo { addr: self.advertise.clone(), zone: self.zone.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_parse_with_zones_and_reject_mistakes() {
        let members = parse_members("1=127.0.0.11:7000/dc1, 2=127.0.0.12:7000/dc2").unwrap();
        assert_eq!(members[&2], NodeInfo { addr: "127.0.0.12:7000".into(), zone: "dc2".into() });
        assert!(parse_members("1=127.0.0.11/dc1").is_err());
        assert!(parse_members("1=127.0.0.11:7000").unwrap_err().contains("ZONE"));
        assert!(parse_members("x=127.0.0.11:7000/dc1").is_err());
        assert!(parse_members("1=a:1/z,1=b:2/z").is_err());
        assert!(parse_members("0=a:1/z").is_err());
        assert!(parse_members("").is_err());
    }

    #[test]
    fn flags_override_the_file_and_missing_settings_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        std::fs::write(
            &path,
            "id = 2\nlisten = \"127.0.0.12:7000\"\nhttp = \"127.0.0.12:9000\"\nzone = \"dc2\"\n",
        )
        .unwrap();
        let args = Args {
            config: Some(path.clone()),
            zone: Some("dc9".into()),
            data_dir: Some("d".into()),
            ..Args::default()
        };
        let config = ServerConfig::from_args(args).unwrap();
        assert_eq!(
            (config.id, config.zone.as_str(), config.advertise.as_str()),
            (2, "dc9", "127.0.0.12:7000")
        );
        let missing = ServerConfig::from_args(Args { config: Some(path), ..Args::default() }).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "missing setting --data-dir (give it as a flag or in the --config file)"
        );
    }

    fn minimal() -> Args {
        Args {
            id: Some(1),
            listen: Some("127.0.0.11:7000".parse().unwrap()),
            http: Some("127.0.0.11:9000".parse().unwrap()),
            data_dir: Some("d".into()),
            ..Args::default()
        }
    }

    #[test]
    fn the_disk_headroom_defaults_to_64_mib_and_zero_is_refused() {
        assert_eq!(ServerConfig::from_args(minimal()).unwrap().disk_free_min_mib, 64);
        let set = Args { disk_free_min_mib: Some(200), ..minimal() };
        assert_eq!(ServerConfig::from_args(set).unwrap().disk_free_min_mib, 200);
        let zero = ServerConfig::from_args(Args { disk_free_min_mib: Some(0), ..minimal() }).unwrap_err();
        assert!(zero.to_string().contains("--disk-free-min-mib"), "{zero}");
    }

    #[test]
    fn the_election_timeouts_default_to_160_and_200_ms_and_the_maximum_must_exceed_the_minimum() {
        let defaults = ServerConfig::from_args(minimal()).unwrap();
        assert_eq!(
            (defaults.heartbeat_ms, defaults.election_timeout_ms, defaults.election_timeout_max_ms),
            (40, 160, 200)
        );
        let min_only = ServerConfig::from_args(Args { election_timeout_ms: Some(400), ..minimal() }).unwrap();
        assert_eq!(min_only.election_timeout_max_ms, 500, "5/4 of the minimum");
        let set = Args { election_timeout_ms: Some(200), election_timeout_max_ms: Some(260), ..minimal() };
        let config = ServerConfig::from_args(set).unwrap();
        assert_eq!((config.election_timeout_ms, config.election_timeout_max_ms), (200, 260));
        let equal = Args { election_timeout_ms: Some(200), election_timeout_max_ms: Some(200), ..minimal() };
        let refused = ServerConfig::from_args(equal).unwrap_err();
        assert!(refused.to_string().contains("--election-timeout-max-ms"), "{refused}");
    }

    #[test]
    fn join_addresses_are_checked() {
        let join = Args { join: vec!["127.0.0.11:7000".into()], ..minimal() };
        assert_eq!(ServerConfig::from_args(join).unwrap().join, ["127.0.0.11:7000"]);
        let bad = ServerConfig::from_args(Args { join: vec!["nowhere".into()], ..minimal() }).unwrap_err();
        assert!(bad.to_string().contains("--join"), "{bad}");
    }

    #[cfg(feature = "fault-injection")]
    #[test]
    fn planted_bugs_parse_by_name_and_a_typo_names_the_known_ones() {
        let bug = Args { planted_bug: Some("oversell".into()), ..minimal() };
        assert_eq!(ServerConfig::from_args(bug).unwrap().planted_bug, Some(PlantedBug::Oversell));
        let typo = Args { planted_bug: Some("oversel".into()), ..minimal() };
        let error = ServerConfig::from_args(typo).unwrap_err().to_string();
        assert!(error.contains("--planted-bug") && error.contains("forget-requests"), "{error}");
    }
}
