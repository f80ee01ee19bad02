//! `jobwatch`: the command line. `serve` runs the whole system locally on SQLite; `schedule`
//! explains a cron line or interval, so schedule and time-zone mistakes are caught before
//! they become false alerts.

mod http_server;
mod schedule;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "jobwatch",
    version,
    about = "Hear about failed, hung, too-fast and missing jobs first, in Slack."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Serve(serve::ServeArgs),
    Schedule(schedule::ScheduleArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Schedule(args) => schedule::run(args),
        Command::Serve(args) => match serve::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("jobwatch serve: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}
