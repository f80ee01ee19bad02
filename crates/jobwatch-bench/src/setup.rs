//! `setup`: creates the jobs `bench-0` .. `bench-{N-1}` through the admin API.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::json;
use tokio::time::timeout;

use crate::cli::SetupArgs;
use crate::http::{Conn, build_request, excerpt};

/// Time limit of each admin request during `setup`.
const SETUP_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) async fn setup(args: SetupArgs) -> Result<()> {
    let addr = args.url.resolve().await?;
    let auth = format!("Authorization: Bearer {}\r\n", args.api_key.trim());
    let body = json!({ "every": args.every }).to_string();
    let mut conn: Option<Conn> = None;
    let mut request = Vec::new();
    let (mut created, mut existing) = (0u32, 0u32);
    for i in 0..args.jobs {
        let slug = format!("bench-{i}");
        let path = format!("{}/api/v1/jobs/{slug}", args.url.prefix);
        build_request(
            &mut request,
            "PUT",
            &path,
            &args.url.authority,
            &auth,
            "application/json",
            body.as_bytes(),
        );
        let mut c = match conn.take() {
            Some(c) => c,
            None => timeout(SETUP_REQUEST_TIMEOUT, Conn::connect(addr))
                .await
                .map_err(|_| anyhow!("connecting to {addr} timed out"))?
                .with_context(|| format!("connecting to {addr}"))?,
        };
        let response = timeout(SETUP_REQUEST_TIMEOUT, c.exchange(&request))
            .await
            .map_err(|_| anyhow!("PUT {path} timed out"))?
            .with_context(|| format!("PUT {path}"))?;
        match response.status {
            201 => created += 1,
            200 => existing += 1,
            status => bail!("PUT {path} answered {status}: {}", excerpt(&response.body)),
        }
        if !response.close {
            conn = Some(c);
        }
    }
    println!(
        "jobs bench-0 .. bench-{}: {created} created, {existing} already existed",
        args.jobs - 1
    );
    Ok(())
}
