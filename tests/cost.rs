//! The cost model's measurements (issue 13): the real Lambda binaries on moto, stood up from
//! `template.yaml` (`jobwatch_tests::stack`), each behind a recording proxy. Each operation is
//! run on its own and priced by `jobwatch_testkit_aws::cost`: DynamoDB units from the items
//! written (a shadow of the table, the indexes of `jobwatch_dynamo::TABLE`), log bytes, SNS
//! publishes, metric identities (EMF lines and PutMetricData).
//!
//! The tests that always run assert the stable figures of this commit: write units per ping,
//! DynamoDB requests per sweep, the metric identities of a run. When a change moves them,
//! update the constants below from the figures the failure prints (and `docs/cost.md` from
//! `bash bench/cost`). The ignored test prints the whole bill: `bash bench/cost` runs it.

use std::collections::BTreeMap;
use std::time::Duration;

use jobwatch_aws::functions;
use jobwatch_testkit_aws::cost::bill::{
    ASSUMPTIONS, Assumptions, Measurements, StackFacts, Storage,
};
use jobwatch_testkit_aws::cost::dynamo_meter::DynamoMeter;
use jobwatch_testkit_aws::cost::prices::PRICES;
use jobwatch_testkit_aws::cost::report;
use jobwatch_testkit_aws::cost::usage::{Linear, Usage};
use jobwatch_testkit_aws::cost::workload::{Function, Op, WORKLOADS};
use jobwatch_tests::aws::sns;
use jobwatch_tests::stack::{LiveStack, alarm_notification, scheduled_event, status};
use jobwatch_tests::template::{Deployment, Template};
use serde_json::{Value, json};

/// What this commit measures (update from the failure messages when a change moves them).
const WRU_START: f64 = 3.0;
const WRU_SUCCESS: f64 = 6.0;
// A failure is 17 (was 15): its alert and run record carry the facts on-call needs (the
// limit, last success, where the ping came from, the run link).
const WRU_FAILURE: f64 = 17.0;
const DYNAMODB_REQUESTS_PER_SWEEP: f64 = 18.0;
const IDENTITIES_OF_A_SUCCESS_RUN: &[&str] = &[
    "Jobwatch/RunDurationMs{Environment=prod}",
    "Jobwatch/RunSucceeded{Environment=prod}",
];

/// The job every per-run operation is measured on.
const JOB: &str = "nightly-backup";
/// Fleet sizes the sweep and the report are measured at.
const FLEETS: [usize; 2] = [20, 60];

/// The stack, the shadow of its table, and what was already counted.
struct Session {
    stack: LiveStack,
    meter: DynamoMeter,
    /// Log lines of each function already counted (stdout, stderr).
    seen: BTreeMap<Function, (usize, usize)>,
    jobs: usize,
}

impl Session {
    async fn start() -> Session {
        // The log level of a deployment: the template sets no JOBWATCH_LOG, so `info`.
        let stack = LiveStack::stand_up("cost", "info").await;
        Session {
            stack,
            meter: DynamoMeter::new(jobwatch_dynamo::TABLE),
            seen: BTreeMap::new(),
            jobs: 0,
        }
    }

    fn running(&self, function: Function) -> &jobwatch_tests::stack::Running {
        match function {
            Function::Ingest => &self.stack.ingest,
            Function::Sweeper => &self.stack.sweeper,
            Function::Formatter => &self.stack.formatter,
        }
    }

    /// What each function did since the last call, items created attributed to `origin`,
    /// `job`'s name written `<job>` in metric identities.
    async fn take_by_function(
        &mut self,
        origin: &str,
        job: Option<&str>,
    ) -> BTreeMap<Function, Usage> {
        // EMF and log lines are written before the answer; give the reader threads a moment.
        tokio::time::sleep(Duration::from_millis(150)).await;
        self.meter.set_origin(origin);
        let mut exchanges = Vec::new();
        let mut lines: BTreeMap<Function, Vec<String>> = BTreeMap::new();
        for function in Function::ALL {
            let running = self.running(function);
            running.proxy.take();
            exchanges.extend(
                running
                    .proxy
                    .take_exchanges()
                    .into_iter()
                    .map(|e| (function, e)),
            );
            let (stdout, stderr) = running.log_lines();
            let seen = self.seen.entry(function).or_default();
            let new: Vec<String> = stdout[seen.0..]
                .iter()
                .chain(&stderr[seen.1..])
                .cloned()
                .collect();
            *seen = (stdout.len(), stderr.len());
            lines.insert(function, new);
        }
        // Replayed in the order moto answered, whichever binary asked.
        exchanges.sort_by_key(|(_, e)| e.seq);
        let mut usages = BTreeMap::new();
        for function in Function::ALL {
            let own: Vec<_> = exchanges
                .iter()
                .filter(|(f, _)| *f == function)
                .map(|(_, e)| e.clone())
                .collect();
            let log = lines.remove(&function).unwrap_or_default();
            usages.insert(
                function,
                Usage::measure(0.0, &own, &mut self.meter, &log, job),
            );
        }
        usages
    }

    /// What one invocation of `op` used (everything since the last call).
    async fn take(&mut self, op: Op) -> Usage {
        let job = op.per_run().map(|_| JOB);
        let usages = self.take_by_function(op.name(), job).await;
        let mut usage = usages
            .values()
            .fold(Usage::default(), |sum, u| sum.plus(1.0, u));
        usage.invocations = 1.0;
        usage
    }

    async fn invoke(&self, function: Function, event: Value) -> Value {
        self.running(function).invoke(event).await
    }

    async fn create_job(&mut self, slug: &str) {
        let created = self
            .invoke(
                Function::Ingest,
                self.stack
                    .admin("PUT", &format!("/api/v1/jobs/{slug}"), r#"{"every": "1h"}"#),
            )
            .await;
        assert_eq!(status(&created), 201, "{created}");
        self.jobs += 1;
    }

    async fn ping(&self, rest: &str, body: &[u8]) {
        let method = if body.is_empty() { "GET" } else { "POST" };
        let answer = self
            .invoke(Function::Ingest, self.stack.ping(method, rest, body))
            .await;
        assert_eq!(status(&answer), 200, "{rest}: {answer}");
    }

    /// The formatter on the next alert of `kind` published.
    async fn format(&self, kind: &str) {
        let event = self
            .stack
            .tap
            .next_event(&format!("\"kind\":\"{kind}\""))
            .await;
        self.invoke(Function::Formatter, event).await;
    }

    /// Each function's first invocations (its cold start), then the job the runs are
    /// measured on: GetSecretValue calls per cold start, by function.
    async fn warm_up(&mut self) -> BTreeMap<Function, f64> {
        self.create_job("warm-up").await;
        self.ping(
            "warm-up/start?rid=00000000-0000-4000-8000-000000000001",
            b"",
        )
        .await;
        self.ping("warm-up?rid=00000000-0000-4000-8000-000000000001", b"ok")
            .await;
        self.invoke(Function::Sweeper, scheduled_event()).await;
        let alarm = "jobwatch-prod-warm-up";
        sns()
            .publish()
            .topic_arn(&self.stack.topic_arn)
            .subject(format!("ALARM: \"{alarm}\" in US East (N. Virginia)"))
            .message(alarm_notification(alarm))
            .send()
            .await
            .expect("publish alarm");
        let event = self.stack.tap.next_event(alarm).await;
        self.invoke(Function::Formatter, event).await;
        let warm = self.take_by_function("warm-up", None).await;
        self.create_job(JOB).await;
        self.take_by_function("jobs", None).await;
        warm.into_iter()
            .map(|(function, usage)| (function, usage.secret_reads()))
            .collect()
    }

    /// A run that succeeds, one that fails, and the one that recovers, each ping (and the
    /// formatter on each alert) measured on its own.
    async fn runs(&mut self) -> BTreeMap<Op, Usage> {
        let output = vec![b'x'; 1024];
        let rid = |n: u32| format!("5f0e1c9a-3b7d-4e2a-9c41-{n:012}");
        let mut ops = BTreeMap::new();
        self.ping(&format!("{JOB}/start?rid={}", rid(1)), b"").await;
        ops.insert(Op::Start, self.take(Op::Start).await);
        self.ping(&format!("{JOB}?rid={}", rid(1)), &output).await;
        ops.insert(Op::Success, self.take(Op::Success).await);

        self.ping(&format!("{JOB}/start?rid={}", rid(2)), b"").await;
        self.take_by_function("runs", Some(JOB)).await;
        self.ping(&format!("{JOB}/1?rid={}", rid(2)), &output).await;
        ops.insert(Op::Failure, self.take(Op::Failure).await);
        self.format("failed").await;
        ops.insert(Op::FormatFailure, self.take(Op::FormatFailure).await);

        self.ping(&format!("{JOB}/start?rid={}", rid(3)), b"").await;
        self.take_by_function("runs", Some(JOB)).await;
        self.ping(&format!("{JOB}?rid={}", rid(3)), &output).await;
        ops.insert(Op::Recovery, self.take(Op::Recovery).await);
        self.format("recovered").await;
        ops.insert(Op::FormatRecovery, self.take(Op::FormatRecovery).await);
        ops
    }

    /// Jobs up to `jobs` in the table (`{"every": "1h"}`, so nothing is due).
    async fn fleet(&mut self, jobs: usize) {
        while self.jobs < jobs {
            let slug = format!("fleet-{:04}", self.jobs);
            self.create_job(&slug).await;
        }
        self.take_by_function("jobs", None).await;
    }

    async fn sweep(&mut self) -> (Value, Usage) {
        let swept = self.invoke(Function::Sweeper, scheduled_event()).await;
        (swept, self.take(Op::Sweep).await)
    }

    /// The daily report and the formatter on it.
    async fn report(&mut self) -> (Usage, Usage) {
        let report = self
            .invoke(Function::Sweeper, json!({"mode": "report"}))
            .await;
        assert_eq!(report["mode"], "report", "{report}");
        let usage = self.take(Op::Report).await;
        self.format("report").await;
        (usage, self.take(Op::FormatReport).await)
    }
}

fn identities(usages: &[&Usage]) -> Vec<String> {
    let mut all: Vec<String> = usages
        .iter()
        .flat_map(|u| u.identities.iter().map(ToString::to_string))
        .collect();
    all.sort();
    all.dedup();
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_units_per_ping_are_what_this_commit_measured() {
    let mut session = Session::start().await;
    session.warm_up().await;
    let ops = session.runs().await;
    let measured: Vec<(Op, f64, f64, f64)> = [Op::Start, Op::Success, Op::Failure]
        .iter()
        .map(|op| (*op, ops[op].wru(), ops[op].table_wru, ops[op].index_wru))
        .collect();
    let described: Vec<String> = measured
        .iter()
        .map(|(op, wru, table, index)| {
            format!("{}: {wru} WRU ({table} table + {index} indexes)", op.name())
        })
        .collect();
    assert_eq!(
        (measured[0].1, measured[1].1, measured[2].1),
        (WRU_START, WRU_SUCCESS, WRU_FAILURE),
        "measured {described:#?}: update WRU_START, WRU_SUCCESS, WRU_FAILURE"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_requests_per_sweep_are_what_this_commit_measured() {
    let mut session = Session::start().await;
    session.warm_up().await;
    session.fleet(FLEETS[0]).await;
    let (swept, usage) = session.sweep().await;
    assert_eq!(swept["alerts"], 0, "nothing is due: {swept}");
    let dynamo: BTreeMap<&String, &f64> = usage
        .requests
        .iter()
        .filter(|(action, _)| action.starts_with("dynamodb:"))
        .collect();
    assert_eq!(
        usage.dynamo_requests(),
        DYNAMODB_REQUESTS_PER_SWEEP,
        "a sweep over {} jobs, nothing due, made {} DynamoDB requests {dynamo:?} \
         ({} RRU): update DYNAMODB_REQUESTS_PER_SWEEP",
        FLEETS[0],
        usage.dynamo_requests(),
        usage.rru
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metric_identities_of_a_run_are_what_this_commit_measured() {
    let mut session = Session::start().await;
    session.warm_up().await;
    let ops = session.runs().await;
    let measured = identities(&[&ops[&Op::Start], &ops[&Op::Success]]);
    assert_eq!(
        measured, IDENTITIES_OF_A_SUCCESS_RUN,
        "a start and a success sent data to {measured:#?}: update IDENTITIES_OF_A_SUCCESS_RUN"
    );
}

/// What the template says that the bill depends on.
fn stack_facts(template: &Template) -> StackFacts {
    let deployment = Deployment::new(template);
    let days = |group: &str| -> f64 {
        deployment
            .resolve(&template.resource(group)["Properties"]["RetentionInDays"])
            .ok()
            .and_then(|d| d.parse().ok())
            .unwrap_or_else(|| panic!("{group} has no retention"))
    };
    let count = |kind: &str| template.resources_of_type(kind).len() as f64;
    let memory_mb = [
        (Function::Ingest, functions::INGEST),
        (Function::Sweeper, functions::SWEEPER),
        (Function::Formatter, functions::FORMATTER),
    ]
    .into_iter()
    .map(|(f, function)| {
        let mb = template
            .function_property(function.logical_id, "MemorySize")
            .as_f64()
            .unwrap_or_else(|| panic!("{} has no MemorySize", function.logical_id));
        (f, mb)
    })
    .collect();
    // Lambda logs its START/END/REPORT lines unless a function filters system logs at WARN.
    let platform_log_lines = [functions::INGEST, functions::SWEEPER, functions::FORMATTER]
        .iter()
        .any(|f| {
            template.function_property(f.logical_id, "LoggingConfig")["SystemLogLevel"] != "WARN"
        });
    StackFacts {
        memory_mb,
        platform_log_lines,
        alarms: count("AWS::CloudWatch::Alarm"),
        // The Slack webhook secret is read by the stack but put by infra/put-slack-webhook.
        secrets: count("AWS::SecretsManager::Secret") + 1.0,
        kms_keys: count("AWS::KMS::Key"),
        dashboards: count("AWS::CloudWatch::Dashboard"),
        run_retention_days: days("RunLogGroup"),
        log_retention_days: days("IngestLogGroup"),
    }
}

/// The monthly bill of workloads A, B and C, as markdown between markers (`bash bench/cost`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the cost model's full measurement: run by bash bench/cost"]
async fn the_monthly_bill() {
    let mut session = Session::start().await;
    let cold_start_secret_reads = session.warm_up().await;
    let ops = session.runs().await;
    let mut measured: BTreeMap<Op, Vec<(f64, Usage)>> = BTreeMap::new();
    for jobs in FLEETS {
        session.fleet(jobs).await;
        let (swept, sweep) = session.sweep().await;
        assert_eq!(swept["alerts"], 0, "nothing is due: {swept}");
        let (report, format) = session.report().await;
        for (op, usage) in [
            (Op::Sweep, sweep),
            (Op::Report, report),
            (Op::FormatReport, format),
        ] {
            measured.entry(op).or_default().push((jobs as f64, usage));
        }
    }
    let scaling = measured
        .into_iter()
        .map(|(op, mut at)| {
            let high = at.pop().expect("two fleets");
            let low = at.pop().expect("two fleets");
            (op, Linear::fit(low, high))
        })
        .collect();
    let storage = Storage::from_retained(
        &session.meter.retained(),
        jiff::Timestamp::now().as_second(),
        session.jobs as f64,
    );
    let measurements = Measurements {
        ops,
        scaling,
        cold_start_secret_reads,
        storage,
    };
    let facts = stack_facts(&session.stack.template);
    let assumptions = Assumptions {
        platform_log_bytes: if facts.platform_log_lines {
            ASSUMPTIONS.platform_log_bytes
        } else {
            0.0
        },
        ..ASSUMPTIONS
    };
    let markdown = report::markdown(&measurements, &facts, &PRICES, &assumptions, &WORKLOADS);
    println!("<!-- cost model -->\n{markdown}<!-- end -->");
}
