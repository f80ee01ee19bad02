//! `jobwatch schedule`: the next fire times of a schedule, in its zone and in UTC.

use std::process::ExitCode;

use clap::Args;
use jiff::Timestamp;
use jobwatch_core::{Duration, Schedule};

#[derive(Args)]
#[command(
    about = "Explain a schedule: its next fire times in its time zone and in UTC",
    after_help = "Examples (each command, then exactly what it prints):
  $ jobwatch schedule '0 9 * * 1-5' --tz Europe/Berlin --after 2026-03-27T00:00:00Z --count 3
    0 9 * * 1-5 (Europe/Berlin)
      2026-03-27 09:00:00 CET (+01:00)    2026-03-27T08:00:00Z
      2026-03-30 09:00:00 CEST (+02:00)   2026-03-30T07:00:00Z
      2026-03-31 09:00:00 CEST (+02:00)   2026-03-31T07:00:00Z
  $ jobwatch schedule '30 2 * * *' --tz America/New_York --after 2026-03-07T12:00:00Z --count 2
    30 2 * * * (America/New_York)
      2026-03-08 03:00:00 EDT (-04:00)    2026-03-08T07:00:00Z  (the scheduled time does not exist that day: runs right after the DST gap, as cron does)
      2026-03-09 02:30:00 EDT (-04:00)    2026-03-09T06:30:00Z
  $ jobwatch schedule '0 0 L * *' --after 2028-02-01T00:00:00Z --count 1 --json
    [\"2028-02-29T00:00:00Z\"]
  $ jobwatch schedule 'every 15m' --after 2026-01-01T00:00:00Z --count 2
    every 15m
      2026-01-01 00:15:00 UTC (+00:00)    2026-01-01T00:15:00Z
      2026-01-01 00:30:00 UTC (+00:00)    2026-01-01T00:30:00Z"
)]
pub struct ScheduleArgs {
    /// A cron line (5 fields, names, ranges, steps, L, W, #, @daily...) or `every <duration>`.
    expr: String,
    /// IANA time zone the cron line is evaluated in.
    #[arg(long, default_value = "UTC")]
    tz: String,
    /// Start from this instant (RFC 3339) instead of now.
    #[arg(long)]
    after: Option<String>,
    /// How many fire times to show.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    count: u32,
    /// Print a JSON array of RFC 3339 UTC instants and nothing else.
    #[arg(long)]
    json: bool,
}

fn fail(reason: &str) -> ExitCode {
    eprintln!("jobwatch schedule: {reason}");
    ExitCode::from(2)
}

pub fn run(args: ScheduleArgs) -> ExitCode {
    let schedule = match args.expr.trim().strip_prefix("every ") {
        Some(period) => match period.parse::<Duration>() {
            Ok(period) => Schedule::every(period),
            Err(e) => return fail(&e.to_string()),
        },
        None => Schedule::cron(&args.expr, &args.tz),
    };
    let schedule = match schedule {
        Ok(schedule) => schedule,
        Err(e) => return fail(&e.to_string()),
    };
    let after = match args.after.as_deref().map(str::parse::<Timestamp>) {
        None => Timestamp::now(),
        Some(Ok(t)) => t,
        Some(Err(e)) => {
            return fail(&format!(
                "invalid --after (use RFC 3339, e.g. 2026-01-01T00:00:00Z): {e}"
            ));
        }
    };
    let tz = match &schedule {
        Schedule::Cron { tz, .. } => tz.clone(),
        Schedule::Every(_) | Schedule::OnDemand => jiff::tz::TimeZone::UTC,
    };
    let times = schedule.fire_times(after, args.count as usize);
    if args.json {
        let list: Vec<String> = times.iter().map(|t| t.at.to_string()).collect();
        println!("{}", serde_json::Value::from(list));
        return ExitCode::SUCCESS;
    }
    println!("{}", schedule.describe());
    for t in &times {
        let local =
            t.at.to_zoned(tz.clone())
                .strftime("%Y-%m-%d %H:%M:%S %Z (%:z)")
                .to_string();
        let note = if t.moved_by_dst {
            format!("  ({})", jobwatch_core::job::DST_GAP_NOTE)
        } else {
            String::new()
        };
        println!("  {local:<34}  {}{note}", t.at);
    }
    if times.len() < args.count as usize {
        println!("  (no further fire times)");
    }
    ExitCode::SUCCESS
}
