//! The `boxoffice` command line: argument parsing ([`args`], [`parse`]),
//! text output ([`format`](mod@format)) and the commands themselves ([`run`]).

mod args;
mod format;
mod parse;
mod run;

use args::Cli;
use boxoffice_client::{ATTEMPT_TIMEOUT_MS_DEFAULT, Client, ClientError, ClientOptions};
use boxoffice_engine::domain::{Outcome, Rejection};
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The exit statuses, documented in the top-level `--help`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Success; a write was accepted.
    Ok = 0,
    /// The inventory rules rejected the write.
    Rejected = 1,
    /// Usage error or invalid input.
    Usage = 2,
    /// The outcome of a write is unknown: retry with the same request id.
    Unknown = 3,
    /// Not done: unavailable, no leader, or not found.
    NotDone = 4,
    /// The request id was already used for a different command: nothing
    /// was done, and retrying with that id never will be.
    Conflict = 5,
}

impl Exit {
    /// The status for a write's outcome: accepted is 0; a request id reused
    /// for another command is [`Exit::Conflict`] (a mistake of the caller,
    /// not of the inventory); every other rejection is 1.
    pub fn of_outcome(outcome: &Outcome) -> Exit {
        match outcome {
            Outcome::Accepted(_) => Exit::Ok,
            Outcome::Rejected(Rejection::Conflict) => Exit::Conflict,
            Outcome::Rejected(_) => Exit::Rejected,
        }
    }

    /// The status for an error of the client library.
    pub fn of(error: &ClientError) -> Exit {
        match error {
            ClientError::Invalid(_) => Exit::Usage,
            ClientError::Unknown(_) => Exit::Unknown,
            ClientError::NotApplied(_) | ClientError::NotFound(_) => Exit::NotDone,
        }
    }
}

/// Where the commands go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Remote(Vec<String>),
    Embedded(PathBuf),
}

/// Exactly one of `--endpoints` and `--data-dir`; one given on the command
/// line wins over the other coming from the environment.
fn target(
    endpoints: Vec<String>,
    endpoints_source: Option<ValueSource>,
    data_dir: Option<PathBuf>,
    data_dir_source: Option<ValueSource>,
) -> Result<Target, (clap::error::ErrorKind, String)> {
    use clap::error::ErrorKind;
    let endpoints: Vec<String> =
        endpoints.into_iter().map(|e| e.trim().to_owned()).filter(|e| !e.is_empty()).collect();
    let data_dir = data_dir.filter(|d| !d.as_os_str().is_empty());
    let on_line = |source: Option<ValueSource>| source == Some(ValueSource::CommandLine);
    match (endpoints.is_empty(), data_dir) {
        (true, None) => Err((
            ErrorKind::MissingRequiredArgument,
            "say where the inventory is: --endpoints HOST:PORT,... (a cluster) or --data-dir DIR \
             (an engine in this process), or set BOXOFFICE_ENDPOINTS or BOXOFFICE_DATA_DIR"
                .into(),
        )),
        (false, None) => Ok(Target::Remote(endpoints)),
        (true, Some(dir)) => Ok(Target::Embedded(dir)),
        (false, Some(dir)) => match (on_line(endpoints_source), on_line(data_dir_source)) {
            (true, false) => Ok(Target::Remote(endpoints)),
            (false, true) => Ok(Target::Embedded(dir)),
            _ => Err((
                ErrorKind::ArgumentConflict,
                "--endpoints and --data-dir (or BOXOFFICE_ENDPOINTS and BOXOFFICE_DATA_DIR) were both \
                 given; use exactly one"
                    .into(),
            )),
        },
    }
}

/// Write one line to stdout; false if stdout is gone (a closed pipe).
pub fn emit(line: &str) -> bool {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").and_then(|_| out.flush()).is_ok()
}

/// Write one JSON object as a line to stdout.
pub fn emit_json(value: &serde_json::Value) -> bool {
    emit(&value.to_string())
}

/// Parse the command line, run the command, shut an embedded engine down, and exit.
pub fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let target = match target(
        cli.global.endpoints.clone(),
        matches.value_source("endpoints"),
        cli.global.data_dir.clone(),
        matches.value_source("data_dir"),
    ) {
        Ok(target) => target,
        Err((kind, message)) => Cli::command().error(kind, message).exit(),
    };
    let call_timeout = Duration::from_millis(cli.global.timeout_ms);
    let options = ClientOptions {
        attempt_timeout: Duration::from_millis(ATTEMPT_TIMEOUT_MS_DEFAULT).min(call_timeout),
        call_timeout,
        ..ClientOptions::default()
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(Exit::NotDone as u8);
        }
    };
    let json = cli.global.json;
    let exit = runtime.block_on(async move {
        let client = match &target {
            Target::Remote(endpoints) => Client::remote(endpoints, options),
            Target::Embedded(dir) => Client::embedded(dir.clone(), options).await,
        };
        let client = match client {
            Ok(client) => client,
            Err(error) => {
                let what = match &target {
                    Target::Remote(_) => "cannot use the endpoints".to_owned(),
                    Target::Embedded(dir) => format!("cannot start the engine on {}", dir.display()),
                };
                return run::report_error(json, &format!("{what}: {error}"), &error, None);
            }
        };
        let exit = run::run(&client, cli).await;
        client.shutdown().await;
        exit
    });
    ExitCode::from(exit as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(d: &str) -> Option<PathBuf> {
        Some(PathBuf::from(d))
    }

    #[test]
    fn exactly_one_target_is_required() {
        let line = Some(ValueSource::CommandLine);
        let env = Some(ValueSource::EnvVariable);
        assert_eq!(target(vec![], None, dir("d"), line), Ok(Target::Embedded("d".into())));
        assert_eq!(target(vec!["a:1".into()], line, None, None), Ok(Target::Remote(vec!["a:1".into()])));
        assert!(target(vec![], None, None, None).is_err());
        assert!(target(vec![" ".into()], env, dir(""), env).is_err());
        assert!(target(vec!["a:1".into()], line, dir("d"), line).is_err());
        assert!(target(vec!["a:1".into()], env, dir("d"), env).is_err());
        // The command line wins over the environment.
        assert_eq!(target(vec!["a:1".into()], env, dir("d"), line), Ok(Target::Embedded("d".into())));
        assert_eq!(target(vec!["a:1".into()], line, dir("d"), env), Ok(Target::Remote(vec!["a:1".into()])));
    }

    #[test]
    fn client_errors_map_to_exit_statuses() {
        assert_eq!(Exit::of(&ClientError::Invalid(String::new())) as u8, 2);
        assert_eq!(Exit::of(&ClientError::Unknown(String::new())) as u8, 3);
        assert_eq!(Exit::of(&ClientError::NotApplied(String::new())) as u8, 4);
        assert_eq!(Exit::of(&ClientError::NotFound(String::new())) as u8, 4);
    }

    #[test]
    fn a_reused_request_id_exits_5_and_other_rejections_exit_1() {
        use boxoffice_engine::domain::{Accepted, OrderId};
        let paid = Outcome::Accepted(Accepted::OrderPaid { order: OrderId(1) });
        assert_eq!(Exit::of_outcome(&paid) as u8, 0);
        let not_found =
            Outcome::Rejected(Rejection::NotFound(boxoffice_engine::domain::ObjectRef::Order(OrderId(1))));
        assert_eq!(Exit::of_outcome(&not_found) as u8, 1);
        assert_eq!(Exit::of_outcome(&Outcome::Rejected(Rejection::Conflict)) as u8, 5);
    }

    #[test]
    fn every_exit_status_is_documented_in_the_help() {
        let help = Cli::command().render_long_help().to_string();
        for (status, phrase) in [
            (0, "accepted"),
            (1, "rejected"),
            (2, "usage"),
            (3, "unknown"),
            (4, "not done"),
            (5, "different command"),
        ] {
            let line = help.lines().find(|l| l.trim_start().starts_with(&format!("{status}  ")));
            assert!(line.is_some_and(|l| l.contains(phrase)), "exit {status} ({phrase}) in:\n{help}");
        }
    }
}
