//! The workloads priced, per month of 30 days (43,200 minutes), for one environment, and the
//! operations they are made of: how often each one happens.

/// Minutes in the model's month (30 days).
pub const MINUTES_PER_MONTH: f64 = 43_200.0;
pub const DAYS_PER_MONTH: f64 = 30.0;
/// The share of runs that fail. Each failure raises a "down" alert, and the next success a
/// "recovered" one: two alerts, two formatter invocations.
pub const FAILURE_RATE: f64 = 0.01;

/// The Lambda functions of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Function {
    Ingest,
    Sweeper,
    Formatter,
}

impl Function {
    pub const ALL: [Function; 3] = [Function::Ingest, Function::Sweeper, Function::Formatter];

    pub fn name(self) -> &'static str {
        match self {
            Function::Ingest => "ingest",
            Function::Sweeper => "sweeper",
            Function::Formatter => "formatter",
        }
    }
}

/// One operation measured on the real binaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// `/ping/<key>/<slug>/start?rid=...`
    Start,
    /// The success ping of a run (1 KiB of output).
    Success,
    /// A failure ping (exit code 1, 1 KiB of output): the job goes down, an alert is published.
    Failure,
    /// The success after a failure: the job recovers, an alert is published.
    Recovery,
    /// The formatter on the "down" alert.
    FormatFailure,
    /// The formatter on the "recovered" alert.
    FormatRecovery,
    /// The formatter on the daily report.
    FormatReport,
    /// A scheduled sweep, nothing due.
    Sweep,
    /// The daily report (`{"mode": "report"}` to the sweeper).
    Report,
}

impl Op {
    pub const ALL: [Op; 9] = [
        Op::Start,
        Op::Success,
        Op::Failure,
        Op::Recovery,
        Op::FormatFailure,
        Op::FormatRecovery,
        Op::FormatReport,
        Op::Sweep,
        Op::Report,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Op::Start => "start ping",
            Op::Success => "success ping (1 KiB)",
            Op::Failure => "failure ping (exit 1, 1 KiB)",
            Op::Recovery => "success ping after a failure",
            Op::FormatFailure => "formatter: down alert",
            Op::FormatRecovery => "formatter: recovered alert",
            Op::FormatReport => "formatter: daily report",
            Op::Sweep => "sweep, nothing due",
            Op::Report => "daily report",
        }
    }

    pub fn function(self) -> Function {
        match self {
            Op::Start | Op::Success | Op::Failure | Op::Recovery => Function::Ingest,
            Op::FormatFailure | Op::FormatRecovery | Op::FormatReport => Function::Formatter,
            Op::Sweep | Op::Report => Function::Sweeper,
        }
    }

    /// How many times it happens per run of a job, for the operations that follow runs.
    pub fn per_run(self) -> Option<f64> {
        match self {
            Op::Start => Some(1.0),
            Op::Success => Some(1.0 - 2.0 * FAILURE_RATE),
            Op::Failure | Op::Recovery | Op::FormatFailure | Op::FormatRecovery => {
                Some(FAILURE_RATE)
            }
            Op::FormatReport | Op::Sweep | Op::Report => None,
        }
    }
}

/// A fleet: jobs running every minute and hourly; each run is a start and a finish ping.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Workload {
    pub name: &'static str,
    pub every_minute: u32,
    pub hourly: u32,
}

pub const WORKLOADS: [Workload; 3] = [
    Workload {
        name: "A",
        every_minute: 0,
        hourly: 10,
    },
    Workload {
        name: "B",
        every_minute: 10,
        hourly: 90,
    },
    Workload {
        name: "C",
        every_minute: 100,
        hourly: 900,
    },
];

impl Workload {
    pub fn jobs(&self) -> f64 {
        f64::from(self.every_minute + self.hourly)
    }

    /// (jobs, runs of each per month) for each kind of job.
    pub fn classes(&self) -> [(f64, f64); 2] {
        [
            (f64::from(self.every_minute), MINUTES_PER_MONTH),
            (f64::from(self.hourly), MINUTES_PER_MONTH / 60.0),
        ]
    }

    pub fn runs(&self) -> f64 {
        self.classes().iter().map(|(jobs, runs)| jobs * runs).sum()
    }

    pub fn describe(&self) -> String {
        let mut kinds = Vec::new();
        if self.every_minute > 0 {
            kinds.push(format!("{} every minute", self.every_minute));
        }
        if self.hourly > 0 {
            kinds.push(format!("{} hourly", self.hourly));
        }
        format!("{} jobs ({})", self.jobs(), kinds.join(", "))
    }

    /// How many times `op` happens in a month.
    pub fn per_month(&self, op: Op) -> f64 {
        match (op.per_run(), op) {
            (Some(per_run), _) => self.runs() * per_run,
            (None, Op::Sweep) => MINUTES_PER_MONTH,
            (None, _) => DAYS_PER_MONTH,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6 * b.abs().max(1.0)
    }

    #[test]
    fn the_workloads_count_their_runs() {
        let [a, b, c] = WORKLOADS;
        assert_eq!(a.runs(), 7_200.0);
        assert_eq!(b.runs(), 496_800.0);
        assert_eq!(c.runs(), 4_968_000.0);
        assert!(close(b.per_month(Op::Failure), 4_968.0));
        assert_eq!(b.per_month(Op::Start), 496_800.0);
        assert!(
            close(
                b.per_month(Op::Success) + b.per_month(Op::Failure) + b.per_month(Op::Recovery),
                b.per_month(Op::Start)
            ),
            "every run finishes once"
        );
        assert_eq!(c.per_month(Op::Sweep), 43_200.0);
        assert_eq!(c.per_month(Op::Report), 30.0);
    }
}
