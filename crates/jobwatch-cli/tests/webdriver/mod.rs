//! A small async WebDriver client for the browser tests: it starts `chromedriver` on a free
//! loopback port, opens headless Chromium sessions at a given viewport size (phone widths
//! through Chrome's mobile emulation, so 375 means 375 CSS pixels), and drives pages: navigate,
//! find elements, click and type, run scripts, read cookies and console errors, and take
//! screenshots.
//!
//! Every HTTP call to chromedriver is bounded by a timeout. [`Browser::available`] tells whether
//! chromedriver and Chromium are installed, so a test can skip with a message when they are not
//! (`scripts/install-browser` installs them). Paths can be overridden with the environment
//! variables `JOBWATCH_CHROMEDRIVER` and `JOBWATCH_CHROMIUM`; `JOBWATCH_CHROMEDRIVER_LOG` names a
//! file for chromedriver's own log when a session misbehaves.
//!
//! ```ignore
//! let Some(_) = Browser::available() else {
//!     eprintln!("skipped: chromium/chromedriver not installed (run scripts/install-browser)");
//!     return;
//! };
//! let browser = Browser::start(BrowserOptions::default()).await?;
//! let session = browser.session(1280, 800).await?;
//! session.goto(&url).await?;
//! session.find("button#go").await?.click().await?;
//! assert!(session.console_errors().await?.is_empty());
//! session.quit().await?;
//! ```
//!
//! Dropping a [`Session`] closes its browser (a blocking request to chromedriver), and dropping
//! the last handle of a [`Browser`] kills chromedriver; calling [`Session::quit`] is still the
//! tidy way, as it reports errors.

// A test file that includes this module with `mod` uses only part of it.
#![allow(dead_code)]

use std::fmt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};

/// Viewports at most this wide are phones: they get Chrome's mobile emulation (touch, a phone
/// user agent, a device pixel ratio of 2) so the page sees exactly that many CSS pixels.
pub const PHONE_MAX_WIDTH: u32 = 600;

/// The user agent of emulated phones.
const PHONE_USER_AGENT: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
     (KHTML, like Gecko) Chrome/148.0.0.0 Mobile Safari/537.36";

/// The key under which W3C WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How often [`Session::wait_for`] looks again.
const POLL: Duration = Duration::from_millis(50);

/// What went wrong talking to the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// chromedriver or Chromium is not installed, or chromedriver did not come up.
    Start(String),
    /// The HTTP exchange with chromedriver failed: connection, timeout, or a body that is not
    /// WebDriver's JSON.
    Http(String),
    /// chromedriver answered a command with a WebDriver error (`error` is its code, such as
    /// `"javascript error"` or `"stale element reference"`).
    WebDriver {
        command: String,
        error: String,
        message: String,
    },
    /// No element matches the CSS selector.
    NoSuchElement { selector: String },
    /// A wait ran out of time.
    Timeout(String),
    /// A local file or directory could not be written or made.
    Io(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Start(message) => write!(f, "browser did not start: {message}"),
            Error::Http(message) => write!(f, "chromedriver request failed: {message}"),
            Error::WebDriver {
                command,
                error,
                message,
            } => write!(f, "{command}: {error}: {message}"),
            Error::NoSuchElement { selector } => write!(f, "no element matches {selector:?}"),
            Error::Timeout(message) => write!(f, "timed out: {message}"),
            Error::Io(message) => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for Error {}

/// Where the programs are and how long to wait for them.
#[derive(Debug, Clone)]
pub struct BrowserOptions {
    /// chromedriver; `None`: `JOBWATCH_CHROMEDRIVER`, else `/usr/bin/chromedriver`, else the PATH.
    pub chromedriver: Option<PathBuf>,
    /// Chromium; `None`: `JOBWATCH_CHROMIUM`, else `/usr/bin/chromium`, else the PATH.
    pub chromium: Option<PathBuf>,
    /// How long chromedriver may take to answer `GET /status` with `ready`.
    pub startup_timeout: Duration,
    /// The bound on every HTTP call to chromedriver (page loads and scripts get a little less,
    /// so chromedriver reports them as timeouts first).
    pub request_timeout: Duration,
}

impl Default for BrowserOptions {
    fn default() -> Self {
        BrowserOptions {
            chromedriver: None,
            chromium: None,
            startup_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// A running chromedriver, which opens browser sessions. Cheap to clone; chromedriver is
/// killed when the last clone, session and element are dropped.
#[derive(Debug, Clone)]
pub struct Browser {
    wire: Wire,
    chromium: PathBuf,
    request_timeout: Duration,
}

impl Browser {
    /// chromedriver's path when both it and Chromium are installed, else `None` (tests then
    /// skip with a message).
    pub fn available() -> Option<PathBuf> {
        let chromedriver = locate(None, "JOBWATCH_CHROMEDRIVER", "chromedriver").ok()?;
        locate(None, "JOBWATCH_CHROMIUM", "chromium").ok()?;
        Some(chromedriver)
    }

    /// Starts chromedriver on a free loopback port and waits until it is ready.
    pub async fn start(options: BrowserOptions) -> Result<Browser, Error> {
        let chromedriver = locate(
            options.chromedriver.as_deref(),
            "JOBWATCH_CHROMEDRIVER",
            "chromedriver",
        )
        .map_err(Error::Start)?;
        let chromium = locate(options.chromium.as_deref(), "JOBWATCH_CHROMIUM", "chromium")
            .map_err(Error::Start)?;
        let port = free_port().map_err(Error::Start)?;

        let mut command = Command::new(&chromedriver);
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(log) = std::env::var_os("JOBWATCH_CHROMEDRIVER_LOG").filter(|v| !v.is_empty()) {
            let mut arg = std::ffi::OsString::from("--log-path=");
            arg.push(log);
            command.arg(arg);
        }
        let child = command
            .spawn()
            .map_err(|e| Error::Start(format!("cannot run {}: {e}", chromedriver.display())))?;
        // From here on, dropping `driver` kills chromedriver, on every error path too.
        let mut driver = Driver {
            child,
            port,
            base: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(5))
            .timeout(options.request_timeout)
            .build()
            .map_err(|e| Error::Start(format!("HTTP client: {}", chain(&e))))?;
        let deadline = Instant::now() + options.startup_timeout;
        loop {
            if let Ok(Some(status)) = driver.child.try_wait() {
                return Err(Error::Start(format!(
                    "{} --port={port} exited at once ({status})",
                    chromedriver.display()
                )));
            }
            let ready = http
                .get(format!("{}/status", driver.base))
                .timeout(Duration::from_secs(1))
                .send()
                .await;
            if let Ok(response) = ready {
                let body = response.bytes().await.unwrap_or_default();
                let status: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                if status["value"]["ready"] == Value::Bool(true) {
                    break;
                }
            }
            if Instant::now() >= deadline {
                return Err(Error::Start(format!(
                    "{} --port={port} was not ready within {:?}",
                    chromedriver.display(),
                    options.startup_timeout
                )));
            }
            tokio::time::sleep(POLL).await;
        }
        Ok(Browser {
            wire: Wire {
                http,
                driver: Arc::new(driver),
            },
            chromium,
            request_timeout: options.request_timeout,
        })
    }

    /// Opens a headless Chromium with a fresh profile and a viewport of exactly `width` ×
    /// `height` CSS pixels (`window.innerWidth` × `innerHeight`); widths up to [`PHONE_MAX_WIDTH`] emulate a phone (pixel ratio 2, touch, a phone
    /// user agent). A page laid out for phones needs `<meta name="viewport"
    /// content="width=device-width">`, as on a real phone: without it, it is laid out 980 px wide.
    pub async fn session(&self, width: u32, height: u32) -> Result<Session, Error> {
        let profile = fresh_profile_dir()?;
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--no-proxy-server",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ]
        .iter()
        .map(|arg| arg.to_string())
        .collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.push(format!("--window-size={width},{height}"));
        let mut chrome = json!({ "binary": self.chromium, "args": args });
        if width <= PHONE_MAX_WIDTH {
            chrome["mobileEmulation"] = json!({
                "deviceMetrics": { "width": width, "height": height, "pixelRatio": 2 },
                "userAgent": PHONE_USER_AGENT,
            });
        }
        let inner_timeout = self
            .request_timeout
            .saturating_sub(Duration::from_secs(5))
            .max(Duration::from_secs(1))
            .as_millis() as u64;
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": chrome,
                    "goog:loggingPrefs": { "browser": "ALL" },
                    "timeouts": { "implicit": 0, "pageLoad": inner_timeout, "script": inner_timeout },
                }
            }
        });
        let created = match self
            .wire
            .call(Method::POST, "/session", Some(&capabilities))
            .await
        {
            Ok(created) => created,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&profile);
                return Err(e);
            }
        };
        let Some(id) = created["sessionId"].as_str() else {
            let _ = std::fs::remove_dir_all(&profile);
            return Err(Error::Http(format!(
                "POST /session: no sessionId in {created}"
            )));
        };
        let session = Session {
            wire: self.wire.clone(),
            path: format!("/session/{id}"),
            profile,
            legacy_log: AtomicBool::new(false),
            open: true,
        };
        if width > PHONE_MAX_WIDTH {
            // Headless Chromium's `--window-size` is the window's, not the viewport's: grow the
            // window by the difference so the page gets exactly `width` × `height`.
            let gap = session
                .execute(
                    "return [window.outerWidth - window.innerWidth, \
                     window.outerHeight - window.innerHeight];",
                    &[],
                )
                .await?;
            let (dw, dh) = (gap[0].as_i64().unwrap_or(0), gap[1].as_i64().unwrap_or(0));
            if dw != 0 || dh != 0 {
                let rect = json!({
                    "width": i64::from(width) + dw,
                    "height": i64::from(height) + dh,
                });
                session
                    .call(Method::POST, "/window/rect", Some(&rect))
                    .await?;
            }
        }
        Ok(session)
    }
}

/// One browser window (a WebDriver session). Close it with [`Session::quit`]; dropping it
/// closes it too, best effort.
#[derive(Debug)]
pub struct Session {
    wire: Wire,
    /// `/session/{id}`.
    path: String,
    profile: PathBuf,
    /// Set once `se/log` turned out to be unknown, so the older `log` endpoint is used.
    legacy_log: AtomicBool,
    open: bool,
}

/// A cookie as the browser holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    pub name: String,
    pub value: String,
    pub path: Option<String>,
    pub domain: Option<String>,
    pub http_only: bool,
    pub secure: bool,
    /// `"Strict"`, `"Lax"` or `"None"`.
    pub same_site: Option<String>,
    /// Seconds since the Unix epoch; `None` for a session cookie.
    pub expiry: Option<u64>,
}

/// One entry of the browser's console log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// `"SEVERE"` (errors), `"WARNING"`, `"INFO"` or `"DEBUG"`.
    pub level: String,
    /// `"console-api"`, `"javascript"` (uncaught exceptions), `"network"` (failed loads), …
    pub source: Option<String>,
    /// As Chrome words it, e.g. `http://127.0.0.1:8080/ 12:16 "boom"` for `console.error("boom")`.
    pub message: String,
    /// Milliseconds since the Unix epoch.
    pub timestamp: Option<u64>,
}

impl Session {
    /// Navigates to `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) -> Result<(), Error> {
        self.call(Method::POST, "/url", Some(&json!({ "url": url })))
            .await
            .map(drop)
    }

    /// The address of the page now shown.
    pub async fn current_url(&self) -> Result<String, Error> {
        self.string(Method::GET, "/url").await
    }

    /// The page's `<title>`.
    pub async fn title(&self) -> Result<String, Error> {
        self.string(Method::GET, "/title").await
    }

    /// The first element matching the CSS selector, or [`Error::NoSuchElement`] naming it.
    pub async fn find(&self, css: &str) -> Result<Element, Error> {
        let query = json!({ "using": "css selector", "value": css });
        match self.call(Method::POST, "/element", Some(&query)).await {
            Ok(found) => self.element(&found, css),
            Err(Error::WebDriver { error, .. }) if error == "no such element" => {
                Err(Error::NoSuchElement {
                    selector: css.to_string(),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Every element matching the CSS selector, in document order (none: an empty list).
    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>, Error> {
        let query = json!({ "using": "css selector", "value": css });
        let found = self.call(Method::POST, "/elements", Some(&query)).await?;
        let Value::Array(found) = found else {
            return Err(Error::Http(format!(
                "POST {}/elements: not a list: {found}",
                self.path
            )));
        };
        found.iter().map(|one| self.element(one, css)).collect()
    }

    /// The first element matching the CSS selector, looking again until `timeout` has passed.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element, Error> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.find(css).await {
                Err(Error::NoSuchElement { .. }) if Instant::now() < deadline => {
                    tokio::time::sleep(POLL).await;
                }
                Err(Error::NoSuchElement { .. }) => {
                    return Err(Error::Timeout(format!(
                        "no element matched {css:?} within {timeout:?}"
                    )));
                }
                found => return found,
            }
        }
    }

    /// Runs `script` as the body of a function (so it `return`s its result) with `args` as
    /// `arguments`, and gives back what it returned. Pass an element as
    /// [`Element::reference`].
    pub async fn execute(&self, script: &str, args: &[Value]) -> Result<Value, Error> {
        let body = json!({ "script": script, "args": args });
        self.call(Method::POST, "/execute/sync", Some(&body)).await
    }

    /// The page's HTML as the browser now has it (the DOM serialised, not the bytes received).
    pub async fn page_source(&self) -> Result<String, Error> {
        self.string(Method::GET, "/source").await
    }

    /// A PNG of the viewport (at the device pixel ratio: 2 for phones).
    pub async fn screenshot_png(&self) -> Result<Vec<u8>, Error> {
        let encoded = self.string(Method::GET, "/screenshot").await?;
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_bytes())
            .map_err(|e| Error::Http(format!("GET {}/screenshot: not base64: {e}", self.path)))
    }

    /// Writes a PNG of the viewport to `path`, making its folder if need be.
    pub async fn screenshot(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let png = self.screenshot_png().await?;
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::Io(format!("cannot make {}: {e}", dir.display())))?;
        }
        std::fs::write(path, png)
            .map_err(|e| Error::Io(format!("cannot write {}: {e}", path.display())))
    }

    /// The browser console's entries since the last call (reading the log empties it).
    pub async fn console_log(&self) -> Result<Vec<LogEntry>, Error> {
        let kind = json!({ "type": "browser" });
        let entries = if self.legacy_log.load(Ordering::Relaxed) {
            self.call(Method::POST, "/log", Some(&kind)).await?
        } else {
            match self.call(Method::POST, "/se/log", Some(&kind)).await {
                Err(Error::WebDriver { error, .. }) if error == "unknown command" => {
                    self.legacy_log.store(true, Ordering::Relaxed);
                    self.call(Method::POST, "/log", Some(&kind)).await?
                }
                entries => entries?,
            }
        };
        let Value::Array(entries) = entries else {
            return Err(Error::Http(format!(
                "browser log of {}: not a list: {entries}",
                self.path
            )));
        };
        Ok(entries
            .iter()
            .map(|entry| LogEntry {
                level: entry["level"].as_str().unwrap_or_default().to_string(),
                source: entry["source"].as_str().map(str::to_string),
                message: entry["message"].as_str().unwrap_or_default().to_string(),
                timestamp: entry["timestamp"].as_f64().map(|ms| ms as u64),
            })
            .collect())
    }

    /// The messages of the console's errors (level `SEVERE`: `console.error`, uncaught
    /// exceptions, failed loads) since the last read of the log. Chromium asks for
    /// `/favicon.ico` on a session's first page unless the page names an icon, and a 404 there
    /// is an error here too (`… /favicon.ico - Failed to load resource: … 404 (Not Found)`).
    pub async fn console_errors(&self) -> Result<Vec<String>, Error> {
        Ok(self
            .console_log()
            .await?
            .into_iter()
            .filter(|entry| entry.level == "SEVERE")
            .map(|entry| entry.message)
            .collect())
    }

    /// The cookies visible to the page now shown.
    pub async fn cookies(&self) -> Result<Vec<Cookie>, Error> {
        let cookies = self.call(Method::GET, "/cookie", None).await?;
        let Value::Array(cookies) = cookies else {
            return Err(Error::Http(format!(
                "GET {}/cookie: not a list: {cookies}",
                self.path
            )));
        };
        let text = |value: &Value| value.as_str().map(str::to_string);
        Ok(cookies
            .iter()
            .map(|cookie| Cookie {
                name: text(&cookie["name"]).unwrap_or_default(),
                value: text(&cookie["value"]).unwrap_or_default(),
                path: text(&cookie["path"]),
                domain: text(&cookie["domain"]),
                http_only: cookie["httpOnly"].as_bool().unwrap_or(false),
                secure: cookie["secure"].as_bool().unwrap_or(false),
                same_site: text(&cookie["sameSite"]),
                expiry: cookie["expiry"].as_f64().map(|seconds| seconds as u64),
            })
            .collect())
    }

    /// Deletes every cookie visible to the page now shown.
    pub async fn delete_cookies(&self) -> Result<(), Error> {
        self.call(Method::DELETE, "/cookie", None).await.map(drop)
    }

    /// Closes the browser and removes its profile.
    pub async fn quit(mut self) -> Result<(), Error> {
        self.open = false;
        let closed = self.wire.call(Method::DELETE, &self.path, None).await;
        remove_profile(&self.profile);
        closed.map(drop)
    }

    fn element(&self, found: &Value, selector: &str) -> Result<Element, Error> {
        let Some(id) = found[ELEMENT_KEY].as_str() else {
            return Err(Error::Http(format!(
                "{selector:?}: not an element reference: {found}"
            )));
        };
        Ok(Element {
            wire: self.wire.clone(),
            path: format!("{}/element/{id}", self.path),
            id: id.to_string(),
            selector: selector.to_string(),
        })
    }

    async fn call(
        &self,
        method: Method,
        suffix: &str,
        body: Option<&Value>,
    ) -> Result<Value, Error> {
        self.wire
            .call(method, &format!("{}{suffix}", self.path), body)
            .await
    }

    async fn string(&self, method: Method, suffix: &str) -> Result<String, Error> {
        match self.call(method.clone(), suffix, None).await? {
            Value::String(text) => Ok(text),
            other => Err(Error::Http(format!(
                "{method} {}{suffix}: not a string: {other}",
                self.path
            ))),
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.open {
            delete_blocking(self.wire.driver.port, &self.path);
            remove_profile(&self.profile);
        }
    }
}

/// An element of the page, found by a CSS selector (which its errors name).
#[derive(Debug, Clone)]
pub struct Element {
    wire: Wire,
    /// `/session/{id}/element/{element id}`.
    path: String,
    id: String,
    selector: String,
}

impl Element {
    /// Clicks the element's centre, scrolling it into view first; a click that submits a form
    /// or follows a link waits for the next page to load.
    pub async fn click(&self) -> Result<(), Error> {
        self.call(Method::POST, "/click", Some(&json!({})))
            .await
            .map(drop)
    }

    /// The element's rendered text (what a person sees: hidden parts left out).
    pub async fn text(&self) -> Result<String, Error> {
        match self.call(Method::GET, "/text", None).await? {
            Value::String(text) => Ok(text),
            other => Err(Error::Http(format!(
                "text of {:?}: not a string: {other}",
                self.selector
            ))),
        }
    }

    /// The attribute's value, or `None` when the element has no such attribute.
    pub async fn attribute(&self, name: &str) -> Result<Option<String>, Error> {
        let value = self
            .call(Method::GET, &format!("/attribute/{name}"), None)
            .await?;
        Ok(match value {
            Value::Null => None,
            Value::String(text) => Some(text),
            other => Some(other.to_string()),
        })
    }

    /// The DOM property's value (such as `value` or `checked`, which attributes don't follow).
    pub async fn property(&self, name: &str) -> Result<Value, Error> {
        self.call(Method::GET, &format!("/property/{name}"), None)
            .await
    }

    /// Types `text` into the element (focusing it first), after what it already holds.
    pub async fn send_keys(&self, text: &str) -> Result<(), Error> {
        self.call(Method::POST, "/value", Some(&json!({ "text": text })))
            .await
            .map(drop)
    }

    /// Empties an input or text area.
    pub async fn clear(&self) -> Result<(), Error> {
        self.call(Method::POST, "/clear", Some(&json!({})))
            .await
            .map(drop)
    }

    /// The element as an argument of [`Session::execute`].
    pub fn reference(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    async fn call(
        &self,
        method: Method,
        suffix: &str,
        body: Option<&Value>,
    ) -> Result<Value, Error> {
        self.wire
            .call(method, &format!("{}{suffix}", self.path), body)
            .await
            .map_err(|e| match e {
                Error::WebDriver {
                    command,
                    error,
                    message,
                } => Error::WebDriver {
                    command: format!("{command} (element {:?})", self.selector),
                    error,
                    message,
                },
                other => other,
            })
    }
}

/// chromedriver's process; killed when dropped.
#[derive(Debug)]
struct Driver {
    child: Child,
    port: u16,
    /// `http://127.0.0.1:{port}`.
    base: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The way to chromedriver, shared by a browser, its sessions and their elements.
#[derive(Debug, Clone)]
struct Wire {
    http: reqwest::Client,
    driver: Arc<Driver>,
}

impl Wire {
    /// One WebDriver command: its `value` on success, its error otherwise.
    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, Error> {
        let command = format!("{method} {path}");
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.driver.base));
        if let Some(body) = body {
            let bytes =
                serde_json::to_vec(body).map_err(|e| Error::Http(format!("{command}: {e}")))?;
            request = request
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/json; charset=utf-8",
                )
                .body(bytes);
        } else if method == Method::POST {
            request = request
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/json; charset=utf-8",
                )
                .body("{}");
        }
        let response = request
            .send()
            .await
            .map_err(|e| Error::Http(format!("{command}: {}", chain(&e))))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| Error::Http(format!("{command}: {}", chain(&e))))?;
        let reply: Value = serde_json::from_slice(&bytes).map_err(|e| {
            let start = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
            Error::Http(format!("{command}: HTTP {status}, not JSON ({e}): {start}"))
        })?;
        let value = match reply {
            Value::Object(mut fields) => fields.remove("value").unwrap_or(Value::Null),
            _ => Value::Null,
        };
        if status.is_success() {
            return Ok(value);
        }
        let error = value["error"]
            .as_str()
            .unwrap_or("unknown error")
            .to_string();
        let message = value["message"].as_str().unwrap_or_default();
        // chromedriver starts its messages with the error code, which Display already shows.
        let message = message
            .strip_prefix(&format!("{error}: "))
            .unwrap_or(message)
            .to_string();
        Err(Error::WebDriver {
            command,
            error,
            message: if message.is_empty() {
                format!("HTTP {status}")
            } else {
                message
            },
        })
    }
}

/// The program given, else the one named by `env`, else `/usr/bin/{name}`, else `name` on the
/// PATH; an error saying what was looked for when none is a file.
fn locate(given: Option<&Path>, env: &str, name: &str) -> Result<PathBuf, String> {
    if let Some(path) = given {
        return if path.is_file() {
            Ok(path.to_path_buf())
        } else {
            Err(format!("{} does not exist", path.display()))
        };
    }
    if let Some(path) = std::env::var_os(env).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("{env}={} does not exist", path.display()))
        };
    }
    let standard = Path::new("/usr/bin").join(name);
    if standard.is_file() {
        return Ok(standard);
    }
    std::env::var_os("PATH")
        .and_then(|dirs| {
            std::env::split_paths(&dirs)
                .map(|dir| dir.join(name))
                .find(|path| path.is_file())
        })
        .ok_or_else(|| format!("{name} not found ({env} unset, not in /usr/bin nor on the PATH)"))
}

/// A loopback port that was free a moment ago.
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// A new empty folder for one browser's profile.
fn fresh_profile_dir() -> Result<PathBuf, Error> {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!(
        "jobwatch-chromium-{}-{}-{nanos}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::Io(format!("cannot make {}: {e}", dir.display())))?;
    Ok(dir)
}

/// Removes a profile; Chromium may still be writing to it for a moment after it quit.
fn remove_profile(dir: &Path) {
    for _ in 0..5 {
        if std::fs::remove_dir_all(dir).is_ok() || !dir.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `DELETE {path}` to chromedriver without async (for `Drop`): closes a session, best effort,
/// waiting at most a few seconds.
fn delete_blocking(port: u16, path: &str) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return;
    };
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!(
        "DELETE {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return;
    }
    // Read the whole answer (chromedriver answers once the browser has quit), stopping at its
    // Content-Length rather than waiting for the connection to close.
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
        }
        let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&received[..end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|n| n.trim().parse::<usize>().ok());
        if length.is_some_and(|length| received.len() >= end + 4 + length) {
            return;
        }
    }
}

/// An error with its causes, which reqwest keeps out of its own message.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
