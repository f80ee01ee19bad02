//! CloudWatch metric identities: (namespace, metric name, dimension set) as CloudWatch bills
//! them, read from EMF lines (each dimension set of a `_aws.CloudWatchMetrics` directive makes
//! one identity per metric) and from PutMetricData requests (query protocol), and the
//! prorating rule: an identity that gets data in at most N hours of a month is billed
//! min(1, N / 720) of a metric-month.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// The value that stands for "each job" in a per-job identity.
pub const EACH_JOB: &str = "<job>";
pub const HOURS_PER_MONTH: f64 = 720.0;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Identity {
    pub namespace: String,
    pub metric: String,
    pub dimensions: BTreeMap<String, String>,
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dimensions: Vec<String> = self
            .dimensions
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        write!(
            f,
            "{}/{}{{{}}}",
            self.namespace,
            self.metric,
            dimensions.join(",")
        )
    }
}

impl Identity {
    /// The identity with every dimension whose value is `job` written [`EACH_JOB`].
    pub fn for_each_job(mut self, job: &str) -> Identity {
        for value in self.dimensions.values_mut() {
            if value == job {
                *value = EACH_JOB.to_string();
            }
        }
        self
    }

    /// Whether there is one of these per job.
    pub fn is_per_job(&self) -> bool {
        self.dimensions.values().any(|v| v == EACH_JOB)
    }
}

/// The identities an EMF log line creates (none when the line is not EMF).
pub fn emf_identities(line: &str) -> Vec<Identity> {
    let Ok(document) = serde_json::from_str::<Value>(line) else {
        return Vec::new();
    };
    let mut identities = Vec::new();
    for directive in document["_aws"]["CloudWatchMetrics"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let namespace = directive["Namespace"].as_str().unwrap_or_default();
        for set in directive["Dimensions"].as_array().into_iter().flatten() {
            let dimensions: BTreeMap<String, String> = set
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|name| {
                    let value = match &document[name] {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (name.to_string(), value)
                })
                .collect();
            for metric in directive["Metrics"].as_array().into_iter().flatten() {
                identities.push(Identity {
                    namespace: namespace.to_string(),
                    metric: metric["Name"].as_str().unwrap_or_default().to_string(),
                    dimensions: dimensions.clone(),
                });
            }
        }
    }
    identities
}

/// The identities of a PutMetricData request in the query protocol
/// (`Namespace=..&MetricData.member.1.MetricName=..&MetricData.member.1.Dimensions.member.1.Name=..`).
pub fn put_metric_data_identities(form: &str) -> Vec<Identity> {
    let mut namespace = String::new();
    // member -> (metric name, dimension member -> (name, value))
    type Datum = (String, BTreeMap<u32, (String, String)>);
    let mut data: BTreeMap<u32, Datum> = BTreeMap::new();
    for (key, value) in form_urlencoded::parse(form.as_bytes()) {
        if key == "Namespace" {
            namespace = value.into_owned();
            continue;
        }
        let parts: Vec<&str> = key.split('.').collect();
        match parts.as_slice() {
            ["MetricData", "member", n, "MetricName"] => {
                if let Ok(n) = n.parse() {
                    data.entry(n).or_default().0 = value.into_owned();
                }
            }
            ["MetricData", "member", n, "Dimensions", "member", d, field] => {
                if let (Ok(n), Ok(d)) = (n.parse(), d.parse()) {
                    let dimension = data.entry(n).or_default().1.entry(d).or_default();
                    match *field {
                        "Name" => dimension.0 = value.into_owned(),
                        "Value" => dimension.1 = value.into_owned(),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    data.into_values()
        .map(|(metric, dimensions)| Identity {
            namespace: namespace.clone(),
            metric,
            dimensions: dimensions.into_values().collect(),
        })
        .collect()
}

/// The metric-months billed for an identity that gets data `times_a_month` times: at most a
/// month, prorated by the hours that can have data.
pub fn billed_months(times_a_month: f64) -> f64 {
    (times_a_month / HOURS_PER_MONTH).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_dimension_set_of_an_emf_line_is_an_identity_per_metric() {
        let line = r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"Jobwatch","Dimensions":[["Environment"],["Environment","Job"]],"Metrics":[{"Name":"RunSucceeded","Unit":"Count"},{"Name":"RunDurationMs","Unit":"Milliseconds"}]}]},"Environment":"prod","Job":"backup","RunSucceeded":1,"RunDurationMs":12}"#;
        let identities: Vec<String> = emf_identities(line)
            .into_iter()
            .map(|i| i.for_each_job("backup").to_string())
            .collect();
        assert_eq!(
            identities,
            [
                "Jobwatch/RunSucceeded{Environment=prod}",
                "Jobwatch/RunDurationMs{Environment=prod}",
                "Jobwatch/RunSucceeded{Environment=prod,Job=<job>}",
                "Jobwatch/RunDurationMs{Environment=prod,Job=<job>}",
            ]
        );
        assert!(emf_identities("not json").is_empty());
        assert!(emf_identities(r#"{"level":"info"}"#).is_empty());
    }

    #[test]
    fn put_metric_data_names_its_data() {
        let form = "Action=PutMetricData&Version=2010-08-01&Namespace=Jobwatch\
            &MetricData.member.1.MetricName=SweeperHeartbeat\
            &MetricData.member.1.Dimensions.member.1.Name=Environment\
            &MetricData.member.1.Dimensions.member.1.Value=prod\
            &MetricData.member.1.Value=1\
            &MetricData.member.2.MetricName=JobsDown\
            &MetricData.member.2.Dimensions.member.1.Name=Environment\
            &MetricData.member.2.Dimensions.member.1.Value=prod";
        let identities: Vec<String> = put_metric_data_identities(form)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            identities,
            [
                "Jobwatch/SweeperHeartbeat{Environment=prod}",
                "Jobwatch/JobsDown{Environment=prod}"
            ]
        );
    }

    #[test]
    fn identities_are_prorated_by_the_hours_with_data() {
        assert_eq!(billed_months(43_200.0), 1.0);
        assert_eq!(billed_months(720.0), 1.0);
        assert_eq!(billed_months(72.0), 0.1);
        assert_eq!(billed_months(0.0), 0.0);
    }
}
