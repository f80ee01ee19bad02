//! The monthly bill of a workload by component, from the per-operation measurements, the
//! stack's facts (read from the template by the caller), the price table and the stated
//! assumptions.

use std::collections::BTreeMap;

use super::dynamo_meter::Retained;
use super::metrics::{EACH_JOB, Identity, billed_months};
use super::prices::Prices;
use super::usage::{Linear, Usage};
use super::workload::{DAYS_PER_MONTH, Function, MINUTES_PER_MONTH, Op, Workload};

/// Bytes in a GB, as AWS bills storage and transfer.
pub const GB: f64 = 1_073_741_824.0;
/// How long an item without a TTL, written by a recurring operation, is counted as kept.
pub const KEPT_WITHOUT_TTL_DAYS: f64 = 365.0;

/// What the template says that the bill depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct StackFacts {
    /// MemorySize of each function.
    pub memory_mb: BTreeMap<Function, f64>,
    /// Whether Lambda logs its START/END/REPORT lines (not when system logs are filtered).
    pub platform_log_lines: bool,
    /// AWS::CloudWatch::Alarm resources (standard resolution).
    pub alarms: f64,
    /// AWS::SecretsManager::Secret resources, plus the Slack webhook secret the stack reads.
    pub secrets: f64,
    /// AWS::KMS::Key resources.
    pub kms_keys: f64,
    pub dashboards: f64,
    /// RunRetentionDays: the run log group's retention.
    pub run_retention_days: f64,
    /// LogRetentionDays: the functions' log groups' retention.
    pub log_retention_days: f64,
}

/// What the model assumes rather than measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assumptions {
    /// Billed duration of an invocation, by operation kind.
    pub ingest_ms: f64,
    pub sweep_ms: f64,
    pub report_ms: f64,
    pub formatter_ms: f64,
    /// Lambda's START, END and REPORT lines of each invocation.
    pub platform_log_bytes: f64,
    /// Cold starts per function per hour (fewer if it has fewer invocations).
    pub cold_starts_per_hour: f64,
    /// KMS requests per publish to the encrypted topic.
    pub kms_per_publish: f64,
}

pub const ASSUMPTIONS: Assumptions = Assumptions {
    ingest_ms: 15.0,
    sweep_ms: 60.0,
    report_ms: 2_000.0,
    formatter_ms: 40.0,
    platform_log_bytes: 300.0,
    cold_starts_per_hour: 6.0,
    kms_per_publish: 1.0,
};

impl Assumptions {
    pub fn billed_ms(&self, op: Op) -> f64 {
        match (op.function(), op) {
            (_, Op::Report) => self.report_ms,
            (Function::Ingest, _) => self.ingest_ms,
            (Function::Sweeper, _) => self.sweep_ms,
            (Function::Formatter, _) => self.formatter_ms,
        }
    }
}

/// DynamoDB storage: what each operation leaves in the table until its TTL, and what each
/// job keeps there.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Storage {
    /// Bytes x days kept, per occurrence of the operation.
    pub byte_days: BTreeMap<Op, f64>,
    /// Operations that left items without a TTL (counted as kept a year).
    pub kept_without_ttl: Vec<Op>,
    /// Bytes kept while a job exists (its items without a TTL).
    pub bytes_per_job: f64,
}

impl Storage {
    /// From the items left in the table at `now` (epoch seconds), each attributed to the
    /// operation that created it (by [`Op::name`]); items without a TTL written by anything
    /// else belong to the `jobs` jobs in the table.
    pub fn from_retained(retained: &[Retained], now: i64, jobs: f64) -> Storage {
        let mut storage = Storage::default();
        let mut job_bytes = 0.0;
        for item in retained {
            let op = Op::ALL.into_iter().find(|op| op.name() == item.origin);
            let bytes = item.bytes as f64;
            match (op, item.expires_at) {
                (Some(op), Some(expires_at)) => {
                    let days = (expires_at - now) as f64 / 86_400.0;
                    *storage.byte_days.entry(op).or_default() += bytes * days.max(0.0);
                }
                (Some(op), None) => {
                    *storage.byte_days.entry(op).or_default() += bytes * KEPT_WITHOUT_TTL_DAYS;
                    storage.kept_without_ttl.push(op);
                }
                (None, None) => job_bytes += bytes,
                (None, Some(_)) => {} // set-up runs and alerts: not part of any workload
            }
        }
        storage.bytes_per_job = job_bytes / jobs.max(1.0);
        storage
    }
}

/// Everything measured on the binaries.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurements {
    /// Operations whose usage does not depend on the number of jobs.
    pub ops: BTreeMap<Op, Usage>,
    /// Operations measured at two fleet sizes.
    pub scaling: BTreeMap<Op, Linear>,
    /// GetSecretValue calls of a cold start, per function.
    pub cold_start_secret_reads: BTreeMap<Function, f64>,
    pub storage: Storage,
}

impl Measurements {
    pub fn usage(&self, op: Op, jobs: f64) -> Usage {
        match (self.scaling.get(&op), self.ops.get(&op)) {
            (Some(linear), _) => linear.at(jobs),
            (None, Some(usage)) => usage.clone(),
            (None, None) => Usage::default(),
        }
    }
}

/// One component of a bill.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub component: &'static str,
    pub dollars: f64,
    /// What was counted, for the reader.
    pub quantity: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bill {
    pub workload: Workload,
    pub lines: Vec<Line>,
    /// Metric identities that get data in the month.
    pub identities: f64,
    /// Identities there is one of per job: those the binaries sent or, when they sent none,
    /// the run metrics (`Run*` by `Environment`) with a `Job` dimension added.
    pub per_job_identities: Vec<Identity>,
    /// Whether the binaries sent per-job identities (included in the bill, prorated).
    pub per_job_sent: bool,
    /// What the per-job identities cost if every job had them all month: identities x jobs
    /// x price.
    pub per_job_metrics_dollars: f64,
}

impl Bill {
    pub fn total(&self) -> f64 {
        self.lines.iter().map(|l| l.dollars).sum()
    }

    pub fn line(&self, component: &str) -> Option<&Line> {
        self.lines.iter().find(|l| l.component == component)
    }
}

fn millions(n: f64) -> String {
    if n >= 1e6 {
        format!("{:.2}M", n / 1e6)
    } else {
        format!("{:.0}", n)
    }
}

/// The metric identities of a month: those per job counted per kind of job (their data
/// follows that job's runs), the others once (their data follows every operation).
fn metrics(workload: &Workload, m: &Measurements, price: f64) -> (f64, f64, f64, Vec<Identity>) {
    let classes = workload.classes();
    let mut shared: BTreeMap<Identity, f64> = BTreeMap::new();
    let mut per_job: BTreeMap<Identity, [f64; 2]> = BTreeMap::new();
    for op in Op::ALL {
        let usage = m.usage(op, workload.jobs());
        for identity in usage.identities {
            if identity.is_per_job() {
                let times = per_job.entry(identity).or_default();
                for (class, (_, runs)) in classes.iter().enumerate() {
                    times[class] += op.per_run().map_or(workload.per_month(op), |p| p * runs);
                }
            } else {
                *shared.entry(identity).or_default() += workload.per_month(op);
            }
        }
    }
    let mut months: f64 = shared.values().map(|times| billed_months(*times)).sum();
    let mut identities = shared.values().filter(|t| **t > 0.0).count() as f64;
    for times in per_job.values() {
        for (class, (jobs, _)) in classes.iter().enumerate() {
            months += jobs * billed_months(times[class]);
            if times[class] > 0.0 {
                identities += jobs;
            }
        }
    }
    (
        months * price,
        identities,
        months,
        per_job.into_keys().collect(),
    )
}

/// The month of `workload`, by component.
pub fn bill(
    workload: &Workload,
    m: &Measurements,
    facts: &StackFacts,
    prices: &Prices,
    assumptions: &Assumptions,
) -> Bill {
    let jobs = workload.jobs();
    let mut total = Usage::default();
    let mut invocations: BTreeMap<Function, f64> = BTreeMap::new();
    let (mut gb_seconds, mut platform_log_bytes, mut storage_bytes) = (0.0, 0.0, 0.0);
    for op in Op::ALL {
        let count = workload.per_month(op);
        let usage = m.usage(op, jobs);
        *invocations.entry(op.function()).or_default() += count * usage.invocations;
        let memory_gb = facts
            .memory_mb
            .get(&op.function())
            .copied()
            .unwrap_or(128.0)
            / 1024.0;
        gb_seconds += count * usage.invocations * assumptions.billed_ms(op) / 1000.0 * memory_gb;
        platform_log_bytes += count * usage.invocations * assumptions.platform_log_bytes;
        storage_bytes +=
            count / DAYS_PER_MONTH * m.storage.byte_days.get(&op).copied().unwrap_or(0.0);
        total = total.plus(count, &usage);
    }
    storage_bytes += jobs * m.storage.bytes_per_job;
    let requests: f64 = invocations.values().sum();
    let lambda = requests / 1e6 * prices.lambda_per_million_requests
        + gb_seconds * prices.lambda_arm_per_gb_second;

    let (metric_dollars, identities, metric_months, per_job_identities) =
        metrics(workload, m, prices.metric_per_month);

    let function_logs = total.function_log_bytes + platform_log_bytes;
    let logs_stored = function_logs * facts.log_retention_days / DAYS_PER_MONTH
        + total.run_log_bytes * facts.run_retention_days / DAYS_PER_MONTH;
    let logs = (function_logs + total.run_log_bytes) / GB * prices.logs_ingestion_per_gb
        + logs_stored / GB * prices.logs_storage_per_gb_month;

    let max_cold_starts = assumptions.cold_starts_per_hour * MINUTES_PER_MONTH / 60.0;
    let secret_calls: f64 = total.secret_reads()
        + Function::ALL
            .iter()
            .map(|f| {
                let cold_starts = invocations
                    .get(f)
                    .copied()
                    .unwrap_or(0.0)
                    .min(max_cold_starts);
                cold_starts * m.cold_start_secret_reads.get(f).copied().unwrap_or(0.0)
            })
            .sum::<f64>();
    let publishes = total.publishes();
    let kms_requests = publishes * assumptions.kms_per_publish;
    let per_job_sent = !per_job_identities.is_empty();
    let per_job_identities = if per_job_sent {
        per_job_identities
    } else {
        run_metrics_per_job(workload, m)
    };
    let per_job_metrics_dollars = per_job_identities.len() as f64 * jobs * prices.metric_per_month;

    let lines = vec![
        Line {
            component: "Lambda",
            dollars: lambda,
            quantity: format!("{} invocations, {gb_seconds:.0} GB-s", millions(requests)),
        },
        Line {
            component: "DynamoDB writes",
            dollars: total.wru() / 1e6 * prices.dynamo_per_million_wru,
            quantity: format!(
                "{} WRU ({} table, {} indexes)",
                millions(total.wru()),
                millions(total.table_wru),
                millions(total.index_wru)
            ),
        },
        Line {
            component: "DynamoDB reads",
            dollars: total.rru / 1e6 * prices.dynamo_per_million_rru,
            quantity: format!("{} RRU", millions(total.rru)),
        },
        Line {
            component: "DynamoDB storage",
            dollars: storage_bytes / GB * prices.dynamo_storage_per_gb_month,
            quantity: format!("{:.3} GB", storage_bytes / GB),
        },
        Line {
            component: "CloudWatch custom metrics",
            dollars: metric_dollars,
            quantity: format!("{identities:.0} identities, {metric_months:.1} metric-months"),
        },
        Line {
            component: "CloudWatch PutMetricData",
            dollars: total.put_metric_data() / 1000.0 * prices.put_metric_data_per_thousand,
            quantity: format!("{} requests", millions(total.put_metric_data())),
        },
        Line {
            component: "CloudWatch alarms",
            dollars: facts.alarms * prices.alarm_per_month,
            quantity: format!("{} standard alarms", facts.alarms),
        },
        Line {
            component: "CloudWatch Logs",
            dollars: logs,
            quantity: format!(
                "{:.3} GB ingested ({:.3} GB run output), {:.3} GB stored",
                (function_logs + total.run_log_bytes) / GB,
                total.run_log_bytes / GB,
                logs_stored / GB
            ),
        },
        Line {
            component: "CloudWatch dashboards",
            dollars: (facts.dashboards - prices.free_dashboards).max(0.0)
                * prices.dashboard_per_month,
            quantity: format!(
                "{} (the first {} are free)",
                facts.dashboards, prices.free_dashboards
            ),
        },
        Line {
            component: "Secrets Manager",
            dollars: facts.secrets * prices.secret_per_month
                + secret_calls / 10_000.0 * prices.secrets_per_ten_thousand_calls,
            quantity: format!(
                "{} secrets, {} calls",
                facts.secrets,
                millions(secret_calls)
            ),
        },
        Line {
            component: "KMS",
            dollars: facts.kms_keys * prices.kms_key_per_month
                + kms_requests / 10_000.0 * prices.kms_per_ten_thousand_requests,
            quantity: format!(
                "{} key, {} requests",
                facts.kms_keys,
                millions(kms_requests)
            ),
        },
        Line {
            component: "SNS",
            dollars: (publishes - prices.sns_free_requests).max(0.0) / 1e6
                * prices.sns_per_million_requests,
            quantity: format!("{} publishes", millions(publishes)),
        },
    ];
    Bill {
        workload: *workload,
        lines,
        identities,
        per_job_identities,
        per_job_sent,
        per_job_metrics_dollars,
    }
}

/// The run metrics the pings send by `Environment` (`RunStarted`, `RunSucceeded`...), each
/// with a `Job` dimension: what per-job metrics would be if they were turned on.
fn run_metrics_per_job(workload: &Workload, m: &Measurements) -> Vec<Identity> {
    let identities: std::collections::BTreeSet<Identity> = Op::ALL
        .iter()
        .filter(|op| op.per_run().is_some())
        .flat_map(|op| m.usage(*op, workload.jobs()).identities)
        .filter(|i| i.metric.starts_with("Run") && i.dimensions.len() == 1)
        .map(|mut i| {
            i.dimensions.insert("Job".into(), EACH_JOB.into());
            i
        })
        .collect();
    identities.into_iter().collect()
}

#[cfg(test)]
mod tests;
