//! `jobwatch`: the command line. `serve` runs the whole system locally on SQLite; `run` wraps
//! a job's command and reports its runs; `jobs` keeps the declared jobs in sync with a jobs
//! file; `status` shows how the jobs are doing, `runs` a job's history; `schedule` explains a
//! cron line or interval,
//! so schedule and time-zone mistakes are caught before they become false alerts; `doctor`
//! checks a deployment hop by hop and proves the path to Slack with a test alert;
//! `discover` adopts the cron jobs a machine already has.

mod client;
mod discover;
mod doctor;
mod http_server;
mod jobs;
mod run;
mod runs;
mod schedule;
mod serve;
mod status;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "jobwatch",
    version,
    about = "Hear about failed, hung, too-fast and missing jobs first, in Slack.",
    after_help = "Examples:
  jobwatch serve                                          # the whole system locally
  jobwatch run nightly-backup -- /usr/local/bin/backup.sh # wrap a job's command
  jobwatch jobs apply -f jobs.toml                        # declare jobs as code
  jobwatch status                                         # how the jobs are doing
  jobwatch runs nightly-backup                            # its latest runs; add a run id for one
  jobwatch schedule '0 3 * * *' --tz Europe/Berlin        # when a schedule really fires
  jobwatch doctor                                         # check a deployment, test alert included
  jobwatch discover --dry-run                             # adopt this machine's crontab

`jobwatch <command> --help` shows each command's options and examples."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Serve(serve::ServeArgs),
    Run(run::RunArgs),
    Jobs(jobs::JobsArgs),
    Status(status::StatusArgs),
    Runs(runs::RunsArgs),
    Schedule(schedule::ScheduleArgs),
    Doctor(doctor::DoctorArgs),
    Discover(discover::DiscoverArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Schedule(args) => schedule::run(args),
        Command::Run(args) => run::run(args),
        Command::Jobs(args) => jobs::run(args),
        Command::Status(args) => status::run(args),
        Command::Runs(args) => runs::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Discover(args) => discover::run(args),
        Command::Serve(args) => match serve::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("jobwatch serve: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}
