use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::cost::prices::PRICES;
use crate::cost::workload::WORKLOADS;

fn identity(metric: &str, job: bool) -> Identity {
    let mut dimensions = BTreeMap::from([("Environment".to_string(), "prod".to_string())]);
    if job {
        dimensions.insert("Job".into(), crate::cost::metrics::EACH_JOB.into());
    }
    Identity {
        namespace: "Jobwatch".into(),
        metric: metric.into(),
        dimensions,
    }
}

fn measurements() -> Measurements {
    let start = Usage {
        invocations: 1.0,
        table_wru: 2.0,
        identities: BTreeSet::from([identity("RunStarted", false), identity("RunStarted", true)]),
        ..Usage::default()
    };
    let failure = Usage {
        invocations: 1.0,
        requests: BTreeMap::from([("sns:Publish".to_string(), 1.0)]),
        identities: BTreeSet::from([identity("RunFailed", true)]),
        ..Usage::default()
    };
    let sweep = Usage {
        invocations: 1.0,
        rru: 16.0,
        requests: BTreeMap::from([("cloudwatch:PutMetricData".to_string(), 1.0)]),
        identities: BTreeSet::from([identity("SweeperHeartbeat", false)]),
        ..Usage::default()
    };
    Measurements {
        ops: BTreeMap::from([(Op::Start, start), (Op::Failure, failure)]),
        scaling: BTreeMap::from([(Op::Sweep, Linear::fit((20.0, sweep.clone()), (60.0, sweep)))]),
        cold_start_secret_reads: BTreeMap::from([(Function::Ingest, 2.0)]),
        storage: Storage {
            bytes_per_job: GB / 100.0,
            ..Storage::default()
        },
    }
}

fn facts() -> StackFacts {
    StackFacts {
        platform_log_lines: true,
        memory_mb: BTreeMap::from([
            (Function::Ingest, 128.0),
            (Function::Sweeper, 128.0),
            (Function::Formatter, 128.0),
        ]),
        alarms: 9.0,
        secrets: 3.0,
        kms_keys: 1.0,
        dashboards: 1.0,
        run_retention_days: 90.0,
        log_retention_days: 7.0,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn a_bill_adds_up_what_each_operation_uses() {
    let b = WORKLOADS[1];
    let bill = bill(&b, &measurements(), &facts(), &PRICES, &ASSUMPTIONS);
    let dollars = |component| bill.line(component).expect(component).dollars;
    // 496,800 starts x 2 WRU.
    assert!(close(dollars("DynamoDB writes"), 993_600.0 / 1e6 * 0.625));
    // 43,200 sweeps x 16 RRU.
    assert!(close(dollars("DynamoDB reads"), 691_200.0 / 1e6 * 0.125));
    // 100 jobs x 1/100 GB.
    assert!(close(dollars("DynamoDB storage"), 0.25));
    // Per job: RunStarted all month (100), RunFailed 432 times a month on the 10 minute jobs
    // (0.6 each) and 7.2 times on the 90 hourly ones (0.01 each); shared: 2 all month.
    assert!(close(
        dollars("CloudWatch custom metrics"),
        (100.0 + 6.9 + 2.0) * 0.30
    ));
    assert_eq!(bill.identities, 202.0);
    assert!(bill.per_job_sent);
    assert!(close(bill.per_job_metrics_dollars, 2.0 * 100.0 * 0.30));
    assert!(close(dollars("CloudWatch PutMetricData"), 0.432));
    assert!(close(dollars("CloudWatch alarms"), 0.90));
    assert!(close(dollars("CloudWatch dashboards"), 0.0));
    // Ingest cold starts: 6 an hour, 2 reads each.
    assert!(close(
        dollars("Secrets Manager"),
        1.20 + 6.0 * 720.0 * 2.0 / 10_000.0 * 0.05
    ));
    // 4,968 failures, one publish and one KMS request each.
    assert!(close(dollars("KMS"), 1.0 + 4_968.0 / 10_000.0 * 0.03));
    assert!(close(dollars("SNS"), 0.0));
    let total: f64 = bill.lines.iter().map(|l| l.dollars).sum();
    assert!(close(bill.total(), total));
}

#[test]
fn per_job_metrics_turned_off_are_priced_from_the_run_metrics() {
    let mut m = measurements();
    for usage in m.ops.values_mut() {
        usage.identities.retain(|i| !i.is_per_job());
    }
    let bill = bill(&WORKLOADS[2], &m, &facts(), &PRICES, &ASSUMPTIONS);
    assert!(!bill.per_job_sent);
    let names: Vec<String> = bill
        .per_job_identities
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(names, ["Jobwatch/RunStarted{Environment=prod,Job=<job>}"]);
    assert!(close(bill.per_job_metrics_dollars, 1_000.0 * 0.30));
    // Only the shared RunStarted and SweeperHeartbeat are billed.
    let metrics = bill.line("CloudWatch custom metrics").expect("metrics");
    assert!(close(metrics.dollars, 2.0 * 0.30));
}

#[test]
fn storage_follows_the_ttl_of_what_each_operation_left() {
    let now = 1_000_000;
    let retained = [
        Retained {
            origin: Op::Start.name().into(),
            bytes: 1_000,
            expires_at: Some(now + 90 * 86_400),
        },
        Retained {
            origin: "jobs".into(),
            bytes: 600,
            expires_at: None,
        },
        Retained {
            origin: "warm-up".into(),
            bytes: 5_000,
            expires_at: Some(now + 86_400),
        },
    ];
    let storage = Storage::from_retained(&retained, now, 2.0);
    assert_eq!(storage.byte_days.get(&Op::Start), Some(&90_000.0));
    assert_eq!(storage.bytes_per_job, 300.0);
    assert!(storage.kept_without_ttl.is_empty());
}
