//! Run output in CloudWatch Logs: one log event per run record change, in a stream per job
//! and day (`<slug>/<YYYY-MM-DD>`). A stream per day keeps the number of streams (and of
//! CreateLogStream calls) small while a job's runs stay together; Logs Insights finds a run
//! with `filter job = "<slug>" and run_id = "<rid>"` (a saved query in the stack).

use std::collections::HashSet;
use std::sync::Mutex;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use jiff::Timestamp;
use jobwatch_core::Run;
use serde_json::json;

/// CloudWatch Logs events are at most 256 KiB; keep well below.
const MAX_OUTPUT_BYTES: usize = 200_000;

pub struct RunLogWriter {
    client: Client,
    group: String,
    region: String,
    /// Streams known to exist, so CreateLogStream is called once per stream per process.
    streams: Mutex<HashSet<String>>,
}

/// The console's own escaping for fragment paths: percent-encoding with `%` written `$25`.
fn console_escape(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("$25{byte:02X}"));
        }
    }
    out
}

/// A console link to the log events of run `run_id` of `slug`, written at `at`, in `group`.
pub fn console_link(region: &str, group: &str, slug: &str, run_id: &str, at: Timestamp) -> String {
    format!(
        "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{}/log-events/{}$3FfilterPattern$3D{}",
        console_escape(group),
        console_escape(&RunLogWriter::stream_name(slug, at)),
        console_escape(&format!("\"{run_id}\"")),
    )
}

/// The web view's link from a run's page to its output in CloudWatch Logs: the stream of
/// the day its record was last written (when it finished, else started or was expected).
pub fn web_link(region: String, group: String) -> jobwatch_api::RunLogLink {
    std::sync::Arc::new(move |slug: &str, run: &Run| {
        let at = run.finished_at.or(run.started_at).or(run.expected_at)?;
        Some(console_link(&region, &group, slug, &run.run_id, at))
    })
}

impl RunLogWriter {
    pub fn new(
        client: Client,
        group: impl Into<String>,
        region: impl Into<String>,
    ) -> RunLogWriter {
        RunLogWriter {
            client,
            group: group.into(),
            region: region.into(),
            streams: Mutex::new(HashSet::new()),
        }
    }

    pub fn stream_name(slug: &str, at: Timestamp) -> String {
        format!("{slug}/{}", at.strftime("%Y-%m-%d"))
    }

    /// A console link to the run's log events (its stream, filtered to the run id).
    pub fn link(&self, slug: &str, run_id: &str, at: Timestamp) -> String {
        console_link(&self.region, &self.group, slug, run_id, at)
    }

    /// Writes one event per run, at `at` (the commit's time).
    pub async fn write(&self, slug: &str, runs: &[Run], at: Timestamp) -> Result<(), String> {
        if runs.is_empty() {
            return Ok(());
        }
        let stream = Self::stream_name(slug, at);
        let events = runs
            .iter()
            .map(|run| {
                let mut output = run.output.clone().unwrap_or_default();
                if output.len() > MAX_OUTPUT_BYTES {
                    let mut cut = MAX_OUTPUT_BYTES;
                    while !output.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    output.truncate(cut);
                }
                let message = json!({
                    "job": slug, "run_id": run.run_id, "seq": run.seq, "outcome": run.outcome,
                    "exit_code": run.exit_code, "duration_ms": run.duration_ms,
                    "expected_at": run.expected_at, "started_at": run.started_at, "finished_at": run.finished_at,
                    "timed_out": run.timed_out, "output": output,
                });
                InputLogEvent::builder().timestamp(at.as_millisecond()).message(message.to_string()).build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let known = self
            .streams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&stream);
        if !known {
            self.create_stream(&stream).await?;
        }
        let put = self
            .client
            .put_log_events()
            .log_group_name(&self.group)
            .log_stream_name(&stream)
            .set_log_events(Some(events.clone()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            // Deleted behind our back (retention, an operator): create it again, once.
            Err(e)
                if e.as_service_error().and_then(ProvideErrorMetadata::code)
                    == Some("ResourceNotFoundException") =>
            {
                self.create_stream(&stream).await?;
                self.client
                    .put_log_events()
                    .log_group_name(&self.group)
                    .log_stream_name(&stream)
                    .set_log_events(Some(events))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| DisplayErrorContext(e).to_string())
            }
            Err(e) => Err(DisplayErrorContext(e).to_string()),
        }
    }

    async fn create_stream(&self, stream: &str) -> Result<(), String> {
        let created = self
            .client
            .create_log_stream()
            .log_group_name(&self.group)
            .log_stream_name(stream)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e)
                if e.as_service_error().and_then(ProvideErrorMetadata::code)
                    == Some("ResourceAlreadyExistsException") => {}
            Err(e) => return Err(DisplayErrorContext(e).to_string()),
        }
        self.streams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(stream.to_string());
        Ok(())
    }
}
