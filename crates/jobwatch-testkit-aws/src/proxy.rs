//! A proxy in front of moto that counts every AWS request a binary makes, by operation and
//! by IAM action, and on demand records each exchange (operation, request and response
//! bodies) for the cost model (`crate::cost`). A test can make it answer chosen requests
//! with AWS's own errors ([`crate::faults`]).
//!
//! The IAM actions are those AWS authorises, which are not always the operation's name: a
//! DynamoDB transaction is authorised item by item, as the operation each item stands for
//! ([`iam_actions`]).

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use crate::moto::endpoint;

/// One AWS request a binary made and moto's answer, as the proxy saw them.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// When the answer came back, in one order across every proxy of the test process, so
    /// the exchanges of several binaries can be replayed in the order moto applied them.
    pub seq: u64,
    /// The service as IAM names it: `dynamodb`, `sns`, `logs`, `cloudwatch`...
    pub service: String,
    /// `GetItem`, `Publish`, `PutMetricData`...
    pub operation: String,
    /// moto's HTTP status (0 when moto was unreachable).
    pub status: u16,
    pub request: String,
    pub response: String,
    /// For DynamoDB `UpdateItem` and each `Update` of `TransactWriteItems`: the item as stored
    /// right after the write (read back from moto by the proxy, uncounted), in request order,
    /// `null` where there is none. What an update expression made is known without
    /// evaluating it.
    pub updated_items: Vec<Value>,
}

impl Exchange {
    /// The request body as JSON (`null` when it is not JSON, e.g. a query-protocol form).
    pub fn request_json(&self) -> Value {
        serde_json::from_str(&self.request).unwrap_or(Value::Null)
    }

    /// The response body as JSON (`null` when it is not JSON).
    pub fn response_json(&self) -> Value {
        serde_json::from_str(&self.response).unwrap_or(Value::Null)
    }
}

/// The order of answers across all proxies of this process.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

#[derive(Default)]
struct Seen {
    counts: Mutex<BTreeMap<String, u64>>,
    actions: Mutex<BTreeSet<String>>,
    /// `None`: not recording.
    exchanges: Option<Mutex<Vec<Exchange>>>,
    faults: crate::faults::Faults,
}

/// A proxy in front of moto that counts requests by operation (`DynamoDB_20120810.GetItem`
/// style targets become `GetItem`; query-protocol `Action=Publish` becomes `Publish`).
pub struct CountingProxy {
    pub endpoint: String,
    seen: Arc<Seen>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn operation(headers: &http::HeaderMap, body: &[u8]) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        return target.rsplit('.').next().unwrap_or(target).to_string();
    }
    form_action(body).unwrap_or_else(|| "unknown".into())
}

/// The service of a request as IAM names it, from the credential scope of its SigV4
/// signature (CloudWatch signs as `monitoring`; IAM calls it `cloudwatch`).
fn service(headers: &http::HeaderMap) -> String {
    let service = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|scope| scope.split('/').nth(3))
        .unwrap_or("unknown");
    if service == "monitoring" {
        "cloudwatch".to_string()
    } else {
        service.to_string()
    }
}

/// The IAM actions AWS checks for one request. Mostly `service:Operation`, but DynamoDB
/// transactions have no IAM action of their own: "Permissions for Put, Update, Delete, and Get
/// actions are governed by the permissions used for the underlying PutItem, UpdateItem,
/// DeleteItem, and GetItem operations. For the ConditionCheck action, you can use the
/// dynamodb:ConditionCheckItem permission" (DynamoDB developer guide, "Using IAM with DynamoDB
/// transactions"). So a transaction gives one action per kind of item it holds. A transaction
/// whose body cannot be read keeps its operation's name, which no policy grants, so the
/// policy check fails rather than passes blindly. (BatchGetItem and BatchWriteItem are IAM
/// actions in their own right.)
pub fn iam_actions(service: &str, operation: &str, body: &[u8]) -> BTreeSet<String> {
    let whole = || BTreeSet::from([format!("{service}:{operation}")]);
    if service != "dynamodb" || !matches!(operation, "TransactWriteItems" | "TransactGetItems") {
        return whole();
    }
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return whole();
    };
    let mut actions = BTreeSet::new();
    for item in request["TransactItems"].as_array().into_iter().flatten() {
        let Some(kind) = item.as_object().and_then(|o| o.keys().next()) else {
            return whole();
        };
        let action = match kind.as_str() {
            "Put" => "PutItem",
            "Update" => "UpdateItem",
            "Delete" => "DeleteItem",
            "ConditionCheck" => "ConditionCheckItem",
            "Get" => "GetItem",
            _ => return whole(),
        };
        actions.insert(format!("dynamodb:{action}"));
    }
    if actions.is_empty() { whole() } else { actions }
}

fn form_action(body: &[u8]) -> Option<String> {
    std::str::from_utf8(body)
        .ok()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .map(str::to_string)
}

/// What one connection's requests share.
#[derive(Clone)]
struct Forwarder {
    seen: Arc<Seen>,
    client: reqwest::Client,
    upstream: String,
}

impl Forwarder {
    async fn handle(
        &self,
        request: hyper::Request<hyper::body::Incoming>,
    ) -> hyper::Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let operation = operation(&parts.headers, &body);
        let service = service(&parts.headers);
        lock(&self.seen.actions).extend(iam_actions(&service, &operation, &body));
        *lock(&self.seen.counts)
            .entry(operation.clone())
            .or_default() += 1;
        if let Some(fault) = self.seen.faults.answer(&operation, &body) {
            return fault;
        }
        let url = format!(
            "{}{}",
            self.upstream,
            parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/")
        );
        let mut forward = self
            .client
            .request(parts.method.clone(), url)
            .body(body.clone());
        for (name, value) in &parts.headers {
            if name != http::header::HOST {
                forward = forward.header(name, value);
            }
        }
        let (status, headers, answer, moto_status) = match forward.send().await {
            Ok(upstream) => {
                let status = upstream.status();
                let headers = upstream.headers().clone();
                let answer = upstream.bytes().await.unwrap_or_default();
                (status, headers, answer, status.as_u16())
            }
            Err(_) => (
                http::StatusCode::BAD_GATEWAY,
                http::HeaderMap::new(),
                Bytes::from_static(b"proxy: moto unreachable"),
                0,
            ),
        };
        if let Some(exchanges) = &self.seen.exchanges {
            let request = String::from_utf8_lossy(&body).into_owned();
            let updated_items = if service == "dynamodb" && status.is_success() {
                self.updated_items(&parts.headers, &operation, &request)
                    .await
            } else {
                Vec::new()
            };
            let exchange = Exchange {
                seq: SEQUENCE.fetch_add(1, Ordering::SeqCst),
                service,
                operation,
                status: moto_status,
                request,
                response: String::from_utf8_lossy(&answer).into_owned(),
                updated_items,
            };
            lock(exchanges).push(exchange);
        }
        let mut response = hyper::Response::new(Full::new(answer));
        *response.status_mut() = status;
        for (name, value) in &headers {
            if name != http::header::TRANSFER_ENCODING && name != http::header::CONTENT_LENGTH {
                response.headers_mut().insert(name, value.clone());
            }
        }
        response
    }

    /// The items an update wrote, read back from moto with the request's own credentials.
    async fn updated_items(
        &self,
        headers: &http::HeaderMap,
        operation: &str,
        request: &str,
    ) -> Vec<Value> {
        let request: Value = serde_json::from_str(request).unwrap_or(Value::Null);
        let keys: Vec<(Value, Value)> = match operation {
            "UpdateItem" => vec![(request["TableName"].clone(), request["Key"].clone())],
            "TransactWriteItems" => request["TransactItems"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|item| item.get("Update"))
                .map(|update| (update["TableName"].clone(), update["Key"].clone()))
                .collect(),
            _ => return Vec::new(),
        };
        let mut items = Vec::with_capacity(keys.len());
        for (table, key) in keys {
            let body = json!({"TableName": table, "Key": key, "ConsistentRead": true});
            let mut read = self
                .client
                .post(format!("{}/", self.upstream))
                .header("x-amz-target", "DynamoDB_20120810.GetItem")
                .header("content-type", "application/x-amz-json-1.0")
                .body(body.to_string());
            if let Some(auth) = headers.get(http::header::AUTHORIZATION) {
                read = read.header(http::header::AUTHORIZATION, auth);
            }
            let item = match read.send().await {
                Ok(answer) => answer
                    .bytes()
                    .await
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                    .map_or(Value::Null, |v| v["Item"].clone()),
                Err(_) => Value::Null,
            };
            items.push(item);
        }
        items
    }
}

impl CountingProxy {
    /// A proxy that counts requests.
    pub async fn start() -> CountingProxy {
        Self::launch(Seen::default()).await
    }

    /// A proxy that counts requests and records every exchange ([`Self::take_exchanges`]).
    pub async fn recording() -> CountingProxy {
        Self::launch(Seen {
            exchanges: Some(Mutex::new(Vec::new())),
            ..Seen::default()
        })
        .await
    }

    async fn launch(seen: Seen) -> CountingProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let address = listener.local_addr().expect("address");
        let seen = Arc::new(seen);
        let forwarder = Forwarder {
            seen: Arc::clone(&seen),
            client: reqwest::Client::new(),
            upstream: endpoint(),
        };
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let forwarder = forwarder.clone();
                tokio::spawn(async move {
                    let service =
                        service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                            let forwarder = forwarder.clone();
                            async move { Ok::<_, Infallible>(forwarder.handle(request).await) }
                        });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        CountingProxy {
            endpoint: format!("http://{address}"),
            seen,
            task,
        }
    }

    /// The faults this proxy answers instead of forwarding (none unless a test adds some).
    pub fn faults(&self) -> &crate::faults::Faults {
        &self.seen.faults
    }

    /// The IAM actions (`service:Operation`) of every request since the proxy started.
    pub fn actions(&self) -> BTreeSet<String> {
        lock(&self.seen.actions).clone()
    }

    /// Requests by operation since the last call, starting again from zero.
    pub fn take(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *lock(&self.seen.counts))
    }

    /// The exchanges recorded since the last call, in the order their answers came back
    /// (always empty for a proxy made with [`Self::start`]).
    pub fn take_exchanges(&self) -> Vec<Exchange> {
        let mut exchanges = self
            .seen
            .exchanges
            .as_ref()
            .map(|e| std::mem::take(&mut *lock(e)))
            .unwrap_or_default();
        exchanges.sort_by_key(|e| e.seq);
        exchanges
    }
}

#[cfg(test)]
mod tests {
    use super::iam_actions;

    fn actions(service: &str, operation: &str, body: &str) -> Vec<String> {
        iam_actions(service, operation, body.as_bytes())
            .into_iter()
            .collect()
    }

    #[test]
    fn a_transaction_is_authorised_as_the_operations_of_its_items() {
        let body = r#"{"TransactItems": [
            {"Put": {"TableName": "t", "Item": {"PK": {"S": "a"}}}},
            {"Update": {"TableName": "t", "Key": {"PK": {"S": "b"}}, "UpdateExpression": "SET x = :x"}},
            {"ConditionCheck": {"TableName": "t", "Key": {"PK": {"S": "c"}}, "ConditionExpression": "attribute_exists(PK)"}},
            {"Put": {"TableName": "t", "Item": {"PK": {"S": "d"}}}}
        ]}"#;
        assert_eq!(
            actions("dynamodb", "TransactWriteItems", body),
            [
                "dynamodb:ConditionCheckItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem"
            ]
        );
        let body = r#"{"TransactItems": [{"Delete": {"TableName": "t", "Key": {}}}]}"#;
        assert_eq!(
            actions("dynamodb", "TransactWriteItems", body),
            ["dynamodb:DeleteItem"]
        );
        let body = r#"{"TransactItems": [{"Get": {"TableName": "t", "Key": {}}}]}"#;
        assert_eq!(
            actions("dynamodb", "TransactGetItems", body),
            ["dynamodb:GetItem"]
        );
    }

    #[test]
    fn a_transaction_that_cannot_be_read_keeps_a_name_no_policy_grants() {
        assert_eq!(
            actions("dynamodb", "TransactWriteItems", "not json"),
            ["dynamodb:TransactWriteItems"]
        );
        assert_eq!(
            actions(
                "dynamodb",
                "TransactWriteItems",
                r#"{"TransactItems": [{"Frobnicate": {}}]}"#
            ),
            ["dynamodb:TransactWriteItems"]
        );
    }

    #[test]
    fn other_requests_are_authorised_as_their_operation() {
        for (service, operation) in [
            ("dynamodb", "BatchWriteItem"),
            ("dynamodb", "BatchGetItem"),
            ("dynamodb", "PutItem"),
            ("sns", "Publish"),
            ("secretsmanager", "GetSecretValue"),
        ] {
            assert_eq!(
                actions(service, operation, "{}"),
                [format!("{service}:{operation}")]
            );
        }
    }
}
