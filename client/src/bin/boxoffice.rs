//! `boxoffice`: the command-line client of the boxoffice inventory, over a
//! remote cluster (`--endpoints`) or an engine embedded in this process
//! (`--data-dir`). Run `boxoffice --help` for the commands and exit statuses.

#[path = "../cli/mod.rs"]
mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
