//! The `boxoffice-shop` binary: parse the flags, run the shop (see `boxoffice_shop::cli`).

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    boxoffice_shop::cli::main(boxoffice_shop::cli::Args::parse()).await
}
