//! A minimal HTTP/1.1 client connection: write a complete request, read the status line and
//! headers, then exactly `Content-Length` bytes of body, on one keep-alive `TcpStream`.

use std::fmt::Write as _;
use std::net::SocketAddr;

use anyhow::{Context, Result, anyhow, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response head (status line and headers) read before giving up on a connection.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Largest response body read; anything bigger is treated as a broken answer.
const MAX_RESPONSE_BODY: usize = 16 * 1024 * 1024;

/// One keep-alive connection.
pub(crate) struct Conn {
    stream: TcpStream,
    /// Bytes read from the socket and not consumed yet.
    buf: Vec<u8>,
}

pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    /// The server will close the connection after this response.
    pub(crate) close: bool,
}

impl Conn {
    pub(crate) async fn connect(addr: SocketAddr) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(4096),
        })
    }

    /// Writes one complete request and reads its response: the head, then exactly
    /// `Content-Length` bytes of body.
    pub(crate) async fn exchange(&mut self, request: &[u8]) -> Result<Response> {
        self.stream
            .write_all(request)
            .await
            .context("writing the request")?;
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            if self.buf.len() > MAX_HEAD_BYTES {
                bail!("response head longer than {MAX_HEAD_BYTES} bytes");
            }
            self.fill().await?;
        };
        let head = parse_head(&self.buf[..head_end])?;
        let end = head_end + head.content_length;
        while self.buf.len() < end {
            self.buf.reserve(end - self.buf.len());
            self.fill().await?;
        }
        let body = self.buf[head_end..end].to_vec();
        self.buf.drain(..end);
        Ok(Response {
            status: head.status,
            body,
            close: head.close,
        })
    }

    async fn fill(&mut self) -> Result<()> {
        let n = self
            .stream
            .read_buf(&mut self.buf)
            .await
            .context("reading the response")?;
        if n == 0 {
            bail!("the server closed the connection mid-response");
        }
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

struct Head {
    status: u16,
    content_length: usize,
    close: bool,
}

fn parse_head(head: &[u8]) -> Result<Head> {
    let head = std::str::from_utf8(head).context("response head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status: u16 = parts
        .next()
        .and_then(|code| code.parse().ok())
        .filter(|code| (100..600).contains(code))
        .ok_or_else(|| anyhow!("malformed status line '{status_line}'"))?;
    if !version.starts_with("HTTP/1.") {
        bail!("not an HTTP/1.x response: '{status_line}'");
    }
    let mut close = version == "HTTP/1.0";
    let mut content_length: Option<usize> = None;
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| anyhow!("malformed header line '{line}'"))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let n: usize = value
                .parse()
                .map_err(|_| anyhow!("malformed Content-Length '{value}'"))?;
            if content_length.is_some_and(|seen| seen != n) {
                bail!("conflicting Content-Length headers");
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            bail!("Transfer-Encoding '{value}' is not supported (expected Content-Length)");
        } else if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    close = true;
                } else if token.eq_ignore_ascii_case("keep-alive") {
                    close = false;
                }
            }
        }
    }
    let content_length = match content_length {
        Some(n) if n > MAX_RESPONSE_BODY => bail!("response body of {n} bytes is too large"),
        Some(n) => n,
        None if status == 204 || status == 304 || status < 200 => 0,
        None => bail!("response without Content-Length (status {status})"),
    };
    Ok(Head {
        status,
        content_length,
        close,
    })
}

/// Appends a complete request (head and body) to `out`.
pub(crate) fn build_request(
    out: &mut Vec<u8>,
    method: &str,
    path: &str,
    host: &str,
    extra_headers: &str,
    content_type: &str,
    body: &[u8],
) {
    out.clear();
    let mut head = String::with_capacity(256);
    let _ = write!(
        head,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: jobwatch-bench\r\n{extra_headers}\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(body);
}

/// A short, printable excerpt of a response body for error messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_response_heads() {
        let head = parse_head(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n").expect("valid");
        assert_eq!(
            (head.status, head.content_length, head.close),
            (200, 2, false)
        );
        let head =
            parse_head(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\n")
                .expect("valid");
        assert_eq!(
            (head.status, head.content_length, head.close),
            (404, 9, true)
        );
        assert!(parse_head(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
        assert!(parse_head(b"garbage\r\n\r\n").is_err());
    }
}
