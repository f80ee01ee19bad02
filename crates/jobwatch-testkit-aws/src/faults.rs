//! Faults a test injects into the proxy in front of moto ([`crate::proxy::CountingProxy`]):
//! for chosen requests (an operation, optionally only those whose body contains a text,
//! after skipping the first few that match), the proxy answers AWS's own error instead of
//! forwarding, so a binary meets throttling exactly where the test wants it, e.g. the
//! formatter's write recording a delivery right after Slack's 200.

use std::sync::Mutex;

use bytes::Bytes;
use http_body_util::Full;

/// An error answer as the service gives it.
#[derive(Debug, Clone)]
pub struct Fault {
    pub status: u16,
    pub content_type: &'static str,
    pub body: &'static str,
}

impl Fault {
    /// DynamoDB throttling a request: the answer the SDK classifies as a throttling error,
    /// retried (3 attempts in all by default) before the caller sees it.
    pub fn dynamodb_throttling() -> Fault {
        Fault {
            status: 400,
            content_type: "application/x-amz-json-1.0",
            body: r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#,
        }
    }

    /// SNS (query protocol) throttling a request, also retried by the SDK.
    pub fn sns_throttling() -> Fault {
        Fault {
            status: 400,
            content_type: "text/xml",
            body: "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>00000000-0000-4000-8000-000000000000</RequestId></ErrorResponse>",
        }
    }
}

#[derive(Debug)]
struct Rule {
    operation: String,
    contains: Option<String>,
    /// Matching requests still to let through before answering the fault.
    skip: u32,
    /// Faults still to answer (`u32::MAX`: until cleared).
    times: u32,
    fault: Fault,
}

/// The faults of one proxy; empty unless a test adds some.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<Rule>>,
    answered: Mutex<u32>,
}

impl Faults {
    fn rules(&self) -> std::sync::MutexGuard<'_, Vec<Rule>> {
        self.rules.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Answers `fault` to the requests of `operation` (`PutItem`, `Publish`) whose body
    /// contains `contains` (any body when `None`): the first `skip` of them go through, the
    /// next `times` get the fault (`u32::MAX`: every one until [`Self::clear`]).
    pub fn inject(
        &self,
        operation: &str,
        contains: Option<&str>,
        skip: u32,
        times: u32,
        fault: Fault,
    ) {
        self.rules().push(Rule {
            operation: operation.to_string(),
            contains: contains.map(str::to_string),
            skip,
            times,
            fault,
        });
    }

    /// Removes every rule: requests go through again.
    pub fn clear(&self) {
        self.rules().clear();
    }

    /// How many requests were answered with a fault so far.
    pub fn answered(&self) -> u32 {
        *self.answered.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The fault to answer this request with, if a rule takes it.
    pub(crate) fn answer(
        &self,
        operation: &str,
        body: &[u8],
    ) -> Option<hyper::Response<Full<Bytes>>> {
        let text = String::from_utf8_lossy(body);
        let mut rules = self.rules();
        let rule = rules.iter_mut().find(|rule| {
            rule.times > 0
                && rule.operation == operation
                && rule.contains.as_ref().is_none_or(|c| text.contains(c))
        })?;
        if rule.skip > 0 {
            rule.skip -= 1;
            return None;
        }
        if rule.times != u32::MAX {
            rule.times -= 1;
        }
        *self.answered.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        let mut response =
            hyper::Response::new(Full::new(Bytes::from_static(rule.fault.body.as_bytes())));
        *response.status_mut() =
            http::StatusCode::from_u16(rule.fault.status).unwrap_or(http::StatusCode::BAD_REQUEST);
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(rule.fault.content_type),
        );
        response.headers_mut().insert(
            "x-amzn-requestid",
            http::HeaderValue::from_static("00000000-0000-4000-8000-000000000000"),
        );
        Some(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_skips_then_answers_its_count_of_matching_requests() {
        let faults = Faults::default();
        faults.inject(
            "PutItem",
            Some("job/prod/x"),
            1,
            2,
            Fault::dynamodb_throttling(),
        );
        let put = |body: &str| faults.answer("PutItem", body.as_bytes()).is_some();
        assert!(!put("job/prod/y"), "another key goes through");
        assert!(!put("job/prod/x"), "the first is skipped");
        assert!(put("job/prod/x"));
        assert!(faults.answer("GetItem", b"job/prod/x").is_none());
        assert!(put("job/prod/x"));
        assert!(!put("job/prod/x"), "spent");
        assert_eq!(faults.answered(), 2);
    }
}
