//! The cost model's output as markdown: the price table, the assumptions, what each
//! operation used, the metric identities, and the monthly bill of each workload by component.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::bill::{Assumptions, Bill, Measurements, StackFacts, bill};
use super::metrics::Identity;
use super::prices::{self, Prices};
use super::usage::Usage;
use super::workload::{Op, Workload};

/// `$1,234.56`.
pub fn dollars(amount: f64) -> String {
    let cents = (amount * 100.0).round() as i64;
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("${grouped}.{:02}", cents % 100)
}

fn number(n: f64) -> String {
    if (n - n.round()).abs() < 1e-9 {
        format!("{n:.0}")
    } else {
        format!("{n:.2}")
    }
}

/// `dynamodb: GetItem 1, TransactWriteItems 1; sns: Publish 1`.
fn requests(usage: &Usage) -> String {
    let mut by_service: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (action, n) in &usage.requests {
        if n.abs() < 1e-9 {
            continue;
        }
        let (service, operation) = action.split_once(':').unwrap_or(("?", action));
        by_service
            .entry(service)
            .or_default()
            .push(format!("{operation} {}", number(*n)));
    }
    let parts: Vec<String> = by_service
        .into_iter()
        .map(|(service, ops)| format!("{service}: {}", ops.join(", ")))
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join("; ")
    }
}

fn usage_row(out: &mut String, name: &str, function: &str, usage: &Usage, platform: f64) {
    let _ = writeln!(
        out,
        "| {name} | {function} | {} | {} | {} ({} + {}) | {} | {} | {} | {} | {} |",
        requests(usage),
        number(usage.rru),
        number(usage.wru()),
        number(usage.table_wru),
        number(usage.index_wru),
        number(usage.function_log_bytes + platform * usage.invocations),
        number(usage.run_log_bytes),
        number(usage.publishes()),
        number(usage.secret_reads()),
        usage.identities.len(),
    );
}

/// `a + b x J`.
fn fit(fixed: f64, per_job: f64) -> String {
    format!("{} + {} x J", number(fixed), number(per_job))
}

fn operations(out: &mut String, m: &Measurements, assumptions: &Assumptions) {
    let platform = assumptions.platform_log_bytes;
    out.push_str("### What each operation used\n\n");
    out.push_str(
        "| operation | function | AWS requests | DynamoDB RRU | DynamoDB WRU (table + indexes) | function log bytes | run log bytes | SNS publishes (= KMS requests) | GetSecretValue | metric identities |\n\
         | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for op in Op::ALL {
        let function = op.function().name();
        if let Some(linear) = m.scaling.get(&op) {
            for (jobs, usage) in &linear.measured {
                let name = format!("{} (J = {jobs} jobs)", op.name());
                usage_row(out, &name, function, usage, platform);
            }
        } else if let Some(usage) = m.ops.get(&op) {
            usage_row(out, op.name(), function, usage, platform);
        }
    }
    out.push_str(
        "\nFitted through the two fleet sizes (J = jobs in the table):\n\n\
         | operation | AWS requests | DynamoDB RRU | DynamoDB WRU |\n| --- | --- | --- | --- |\n",
    );
    for (op, linear) in &m.scaling {
        let requests: f64 = linear.fixed.requests.values().sum();
        let per_job: f64 = linear.per_job.requests.values().sum();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            op.name(),
            fit(requests, per_job),
            fit(linear.fixed.rru, linear.per_job.rru),
            fit(linear.fixed.wru(), linear.per_job.wru()),
        );
    }
    out.push('\n');
    let reads: Vec<String> = m
        .cold_start_secret_reads
        .iter()
        .map(|(f, n)| format!("{} {}", f.name(), number(*n)))
        .collect();
    let _ = writeln!(
        out,
        "Function log bytes include {platform} bytes of Lambda's own lines per invocation. \
         GetSecretValue calls per cold start (the first invocations): {}.\n",
        reads.join(", ")
    );
    let gaps: Vec<String> = Op::ALL
        .iter()
        .filter_map(|op| {
            let usage = m.usage(*op, 20.0);
            (usage.unknown_items > 0.0 || !usage.unpriced.is_empty()).then(|| {
                format!(
                    "{}: {} items read unknown to the model, unpriced {:?}",
                    op.name(),
                    usage.unknown_items,
                    usage.unpriced
                )
            })
        })
        .collect();
    if !gaps.is_empty() {
        let _ = writeln!(out, "Model gaps: {}.\n", gaps.join("; "));
    }
}

fn identities(out: &mut String, m: &Measurements) {
    let mut sources: BTreeMap<&Identity, BTreeSet<&str>> = BTreeMap::new();
    let usages: Vec<(Op, Usage)> = Op::ALL.iter().map(|op| (*op, m.usage(*op, 20.0))).collect();
    for (op, usage) in &usages {
        for identity in &usage.identities {
            sources.entry(identity).or_default().insert(op.name());
        }
    }
    out.push_str("### Metric identities\n\n| identity | data from |\n| --- | --- |\n");
    for (identity, ops) in sources {
        let ops: Vec<&str> = ops.into_iter().collect();
        let _ = writeln!(out, "| `{identity}` | {} |", ops.join(", "));
    }
    out.push('\n');
}

fn bills(out: &mut String, bills: &[Bill]) {
    out.push_str("### Monthly bill\n\n| component |");
    for b in bills {
        let _ = write!(out, " {}: {} |", b.workload.name, b.workload.describe());
    }
    out.push_str("\n| --- |");
    out.push_str(&" ---: |".repeat(bills.len()));
    out.push('\n');
    let components: Vec<&str> = bills
        .first()
        .map(|b| b.lines.iter().map(|l| l.component).collect())
        .unwrap_or_default();
    for component in &components {
        let _ = write!(out, "| {component} |");
        for b in bills {
            let amount = b.line(component).map_or(0.0, |l| l.dollars);
            let _ = write!(out, " {} |", dollars(amount));
        }
        out.push('\n');
    }
    out.push_str("| **total** |");
    for b in bills {
        let _ = write!(out, " **{}** |", dollars(b.total()));
    }
    out.push_str("\n\nWhat was counted:\n\n| component |");
    for b in bills {
        let _ = write!(out, " {} |", b.workload.name);
    }
    out.push_str("\n| --- |");
    out.push_str(&" --- |".repeat(bills.len()));
    out.push('\n');
    for component in &components {
        let _ = write!(out, "| {component} |");
        for b in bills {
            let _ = write!(out, " {} |", b.line(component).map_or("", |l| &l.quantity));
        }
        out.push('\n');
    }
    out.push('\n');
    let (per_job, sent) = bills
        .first()
        .map(|b| {
            let names: Vec<String> = b
                .per_job_identities
                .iter()
                .map(|i| format!("`{i}`"))
                .collect();
            (names, b.per_job_sent)
        })
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "### Per-job metrics\n\n{}: {} per job ({}). Each job's own, for a whole month, cost \
         identities x jobs x $0.30:\n",
        if sent {
            "Sent by this build (the bill above includes them, prorated by the hours with data)"
        } else {
            "Not sent by this build; turned on, they would be the run metrics by job"
        },
        per_job.len(),
        if per_job.is_empty() {
            "none".to_string()
        } else {
            per_job.join(", ")
        }
    );
    out.push_str("| workload | jobs | per-job identities | per-job metrics, a month |\n| --- | ---: | ---: | ---: |\n");
    for b in bills {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            b.workload.name,
            b.workload.jobs(),
            number(b.per_job_identities.len() as f64 * b.workload.jobs()),
            dollars(b.per_job_metrics_dollars)
        );
    }
}

/// The whole output.
pub fn markdown(
    m: &Measurements,
    facts: &StackFacts,
    prices: &Prices,
    assumptions: &Assumptions,
    workloads: &[Workload],
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### Prices\n\n{} list prices, as of {}:\n\n{}",
        prices.region,
        prices.date,
        prices::markdown(prices)
    );
    let memory: Vec<String> = facts
        .memory_mb
        .iter()
        .map(|(f, mb)| format!("{} {mb} MB", f.name()))
        .collect();
    let _ = writeln!(
        out,
        "### Assumptions\n\n\
         - Month: 30 days (43,200 minutes); one environment; a sweep every minute, 30 daily reports.\n\
         - Billed duration per invocation: ingest {} ms, sweep {} ms, daily report {} ms, formatter {} ms; \
           arm64; memory from template.yaml: {}.\n\
         - Function logs: what the binary wrote (stdout and stderr, EMF included, at the default log level) \
           + 26 bytes per line, + {} bytes of Lambda's START/END/REPORT lines per invocation (0: the template's \
           SystemLogLevel WARN leaves them out); kept {} days \
           (LogRetentionDays). Run output: PutLogEvents messages + 26 bytes per event; kept {} days \
           (RunRetentionDays). Stored logs counted uncompressed.\n\
         - Secrets: {} (template + the Slack webhook secret); GetSecretValue as measured per cold start, \
           at most {} cold starts per function per hour (fewer with fewer invocations).\n\
         - KMS: {} key(s); {} KMS request(s) per SNS publish to the encrypted topic.\n\
         - DynamoDB storage: each item + 100 bytes, + its index entries; items kept until their TTL \
           (runs {} days); jobs' items for as long as the jobs exist. GB = 2^30 bytes.\n\
         - Free tiers are not counted, except the 1M free SNS requests and 3 free dashboards.\n",
        assumptions.ingest_ms,
        assumptions.sweep_ms,
        assumptions.report_ms,
        assumptions.formatter_ms,
        memory.join(", "),
        assumptions.platform_log_bytes,
        facts.log_retention_days,
        facts.run_retention_days,
        facts.secrets,
        assumptions.cold_starts_per_hour,
        facts.kms_keys,
        assumptions.kms_per_publish,
        facts.run_retention_days,
    );
    operations(&mut out, m, assumptions);
    identities(&mut out, m);
    let all: Vec<Bill> = workloads
        .iter()
        .map(|w| bill(w, m, facts, prices, assumptions))
        .collect();
    bills(&mut out, &all);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_are_grouped_by_thousands() {
        assert_eq!(dollars(1114.834), "$1,114.83");
        assert_eq!(dollars(16.39), "$16.39");
        assert_eq!(dollars(0.004), "$0.00");
        assert_eq!(dollars(1_000_000.0), "$1,000,000.00");
    }
}
