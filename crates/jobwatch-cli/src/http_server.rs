//! The local HTTP transport: hyper in front of [`jobwatch_api::Api`]. It only reads bodies
//! (bounded) and hands requests over; routing and validation live in the api crate.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jiff::Timestamp;
use jobwatch_api::{Api, BodyOverflow, RemoteAddr};
use jobwatch_store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Past this many bytes a request body is not even drained: the connection is closed.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

/// Serves `api` on `listener` until `shutdown` turns true, then finishes the requests in
/// flight (up to `grace`) and returns.
pub async fn serve<S: Store>(
    api: Arc<Api<S>>,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let api = Arc::clone(&api);
                let remote = RemoteAddr(peer.ip());
                let service = service_fn(move |request| {
                    let api = Arc::clone(&api);
                    async move { Ok::<_, Infallible>(handle(&api, request, remote).await) }
                });
                let connection = http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(30))
                    .serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            _ = shutdown.changed() => break,
        }
    }
    drop(listener); // stop accepting before draining
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after the shutdown grace period");
    }
}

async fn handle<S: Store>(
    api: &Api<S>,
    request: hyper::Request<Incoming>,
    remote: RemoteAddr,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let (body, overflow) = match read_bounded(body, api.max_body_bytes()).await {
        Ok(read) => read,
        Err(reason) => {
            let mut response = hyper::Response::new(Full::new(Bytes::from(reason)));
            *response.status_mut() = http::StatusCode::BAD_REQUEST;
            response.headers_mut().insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
            return response;
        }
    };
    let mut request = http::Request::from_parts(parts, body);
    request.extensions_mut().insert(remote);
    if overflow {
        request.extensions_mut().insert(BodyOverflow);
    }
    let response = api.handle(request, Timestamp::now()).await;
    response.map(Full::new)
}

/// Reads at most `keep` bytes of the body, draining (and dropping) the rest so the
/// connection can be reused. Returns whether anything was dropped.
async fn read_bounded(mut body: Incoming, keep: usize) -> Result<(Bytes, bool), &'static str> {
    let mut kept = BytesMut::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| "could not read the request body")?;
        if let Ok(data) = frame.into_data() {
            total += data.len();
            if total > DRAIN_LIMIT {
                return Err("request body too large");
            }
            let room = keep.saturating_sub(kept.len());
            kept.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
    Ok((kept.freeze(), total > keep))
}
