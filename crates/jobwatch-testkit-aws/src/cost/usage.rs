//! What one operation of the stack used, from the exchanges its binaries made and the log
//! lines they wrote: AWS requests by service and operation, DynamoDB units, log bytes and
//! metric identities; and usage that grows with the number of jobs, fitted as a + b x jobs.

use std::collections::{BTreeMap, BTreeSet};

use super::dynamo_meter::DynamoMeter;
use super::metrics::{Identity, emf_identities, put_metric_data_identities};
use crate::proxy::Exchange;

/// CloudWatch Logs bills each event's bytes plus 26.
pub const LOG_EVENT_OVERHEAD_BYTES: f64 = 26.0;

/// What one operation used (fractional once fitted or scaled).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    pub invocations: f64,
    /// AWS requests by IAM action (`dynamodb:GetItem`, `sns:Publish`...).
    pub requests: BTreeMap<String, f64>,
    pub table_wru: f64,
    pub index_wru: f64,
    pub rru: f64,
    /// Items a DynamoDB read evaluated that the model did not know (priced as empty).
    pub unknown_items: f64,
    /// DynamoDB requests the model does not price, by operation.
    pub unpriced: BTreeMap<String, f64>,
    /// What the function wrote to its own log (stdout and stderr, EMF lines included), with
    /// 26 bytes per line; Lambda's own START/END/REPORT lines are not in it.
    pub function_log_bytes: f64,
    /// Run output written with PutLogEvents: message bytes plus 26 per event.
    pub run_log_bytes: f64,
    /// The metric identities it sent data to, per-job ones written with [`super::metrics::EACH_JOB`].
    pub identities: BTreeSet<Identity>,
}

impl Usage {
    /// The usage of `invocations` invocations that made `exchanges` (in order) and wrote
    /// `log_lines`, on job `job` (whose name becomes `<job>` in identities).
    pub fn measure(
        invocations: f64,
        exchanges: &[Exchange],
        meter: &mut DynamoMeter,
        log_lines: &[String],
        job: Option<&str>,
    ) -> Usage {
        let mut usage = Usage {
            invocations,
            ..Usage::default()
        };
        let mut identities = Vec::new();
        for exchange in exchanges {
            *usage
                .requests
                .entry(format!("{}:{}", exchange.service, exchange.operation))
                .or_default() += 1.0;
            let dynamo = meter.record(exchange);
            usage.table_wru += dynamo.table_wru;
            usage.index_wru += dynamo.index_wru;
            usage.rru += dynamo.rru;
            usage.unknown_items += dynamo.unknown_items as f64;
            for (operation, n) in dynamo.unpriced {
                *usage.unpriced.entry(operation).or_default() += n as f64;
            }
            match (exchange.service.as_str(), exchange.operation.as_str()) {
                ("logs", "PutLogEvents") => {
                    for event in exchange.request_json()["logEvents"]
                        .as_array()
                        .into_iter()
                        .flatten()
                    {
                        let message = event["message"].as_str().unwrap_or_default();
                        usage.run_log_bytes += message.len() as f64 + LOG_EVENT_OVERHEAD_BYTES;
                    }
                }
                ("cloudwatch", "PutMetricData") => {
                    identities.extend(put_metric_data_identities(&exchange.request));
                }
                _ => {}
            }
        }
        for line in log_lines {
            usage.function_log_bytes += line.len() as f64 + LOG_EVENT_OVERHEAD_BYTES;
            identities.extend(emf_identities(line));
        }
        usage.identities = identities
            .into_iter()
            .map(|i| match job {
                Some(job) => i.for_each_job(job),
                None => i,
            })
            .collect();
        usage
    }

    /// Requests of one IAM action (`sns:Publish`).
    pub fn requests_of(&self, action: &str) -> f64 {
        self.requests.get(action).copied().unwrap_or(0.0)
    }

    pub fn publishes(&self) -> f64 {
        self.requests_of("sns:Publish")
    }

    pub fn put_metric_data(&self) -> f64 {
        self.requests_of("cloudwatch:PutMetricData")
    }

    pub fn secret_reads(&self) -> f64 {
        self.requests_of("secretsmanager:GetSecretValue")
    }

    pub fn wru(&self) -> f64 {
        self.table_wru + self.index_wru
    }

    /// DynamoDB requests, all operations together.
    pub fn dynamo_requests(&self) -> f64 {
        self.requests
            .iter()
            .filter(|(action, _)| action.starts_with("dynamodb:"))
            .map(|(_, n)| n)
            .sum()
    }

    /// `self + k * other`, figure by figure; the identities of both.
    pub fn plus(&self, k: f64, other: &Usage) -> Usage {
        let merge = |a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>| {
            let mut out = a.clone();
            for (key, value) in b {
                *out.entry(key.clone()).or_default() += k * value;
            }
            out
        };
        Usage {
            invocations: self.invocations + k * other.invocations,
            requests: merge(&self.requests, &other.requests),
            table_wru: self.table_wru + k * other.table_wru,
            index_wru: self.index_wru + k * other.index_wru,
            rru: self.rru + k * other.rru,
            unknown_items: self.unknown_items + k * other.unknown_items,
            unpriced: merge(&self.unpriced, &other.unpriced),
            function_log_bytes: self.function_log_bytes + k * other.function_log_bytes,
            run_log_bytes: self.run_log_bytes + k * other.run_log_bytes,
            identities: self.identities.union(&other.identities).cloned().collect(),
        }
    }
}

/// Usage that grows with the number of jobs J: `fixed + per_job * J`, fitted through two
/// measurements.
#[derive(Debug, Clone, PartialEq)]
pub struct Linear {
    pub fixed: Usage,
    pub per_job: Usage,
    /// The measurements it was fitted through, (jobs, usage).
    pub measured: Vec<(f64, Usage)>,
}

impl Linear {
    pub fn fit(low: (f64, Usage), high: (f64, Usage)) -> Linear {
        let span = high.0 - low.0;
        let mut per_job = Usage::default().plus(1.0 / span, &high.1);
        per_job = per_job.plus(-1.0 / span, &low.1);
        per_job.identities.clear();
        let fixed = low.1.plus(-low.0, &per_job);
        Linear {
            fixed,
            per_job,
            measured: vec![low, high],
        }
    }

    pub fn at(&self, jobs: f64) -> Usage {
        self.fixed.plus(jobs, &self.per_job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fit_goes_through_both_measurements() {
        let usage = |rru: f64, gets: f64| Usage {
            invocations: 1.0,
            rru,
            requests: BTreeMap::from([("dynamodb:Query".to_string(), gets)]),
            ..Usage::default()
        };
        let fit = Linear::fit((20.0, usage(12.0, 9.0)), (60.0, usage(32.0, 9.0)));
        assert_eq!(fit.per_job.rru, 0.5);
        assert_eq!(fit.fixed.rru, 2.0);
        assert_eq!(fit.fixed.invocations, 1.0);
        assert_eq!(fit.per_job.requests_of("dynamodb:Query"), 0.0);
        assert_eq!(fit.at(1000.0).rru, 502.0);
        assert_eq!(fit.at(60.0), usage(32.0, 9.0));
    }
}
