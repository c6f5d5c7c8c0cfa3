//! Helpers shared by the simulator's integration tests: raw HTTP connections, the record
//! formatter of the README tables, and a monitoring session on the real client.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use pbx_soap::client::{Client, Config};
use pbx_soap::envelope::{Request, WsdlVersion, encode_request};
use pbx_soap::records::{CallInfo, UserInfo};
use pbx_soap::sim::{Directory, Sim, SimConfig, SimHandle};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// Most polls a monitor makes while waiting for records.
const MAX_POLLS: usize = 50;

/// A record in the README tables' notation.
pub(crate) fn line(info: &CallInfo) -> String {
    pbx_soap::sim::record_line(info)
}

/// Starts a simulator with a short poll timeout.
pub(crate) async fn start(config: SimConfig, directory: Directory) -> SimHandle {
    Sim::start(config, directory)
        .await
        .expect("simulator starts")
}

/// Settings for tests: short polls, so checks for silence are quick.
pub(crate) fn quick() -> SimConfig {
    SimConfig {
        poll_timeout: Duration::from_millis(200),
        ..SimConfig::default()
    }
}

/// A client logged in as the administrator.
pub(crate) fn client(sim: &SimHandle, wsdl: WsdlVersion) -> Client {
    let mut config = Config::new(sim.url().parse().expect("url"), "admin", "ip800");
    config.wsdl = wsdl;
    Client::new(config).expect("client")
}

/// One raw HTTP/1.1 connection (no client-side timeouts, so paused time stays exact).
pub(crate) struct Raw {
    sender: SendRequest<Full<Bytes>>,
    task: JoinHandle<()>,
}

impl Drop for Raw {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An answer read from a raw connection.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Raw {
    pub(crate) async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        let task = tokio::spawn(async move {
            let _ = connection.await;
        });
        Self { sender, task }
    }

    /// Sends a request; `None` when the server closed the connection instead of answering.
    pub(crate) async fn try_send(
        &mut self,
        method: &str,
        path: &str,
        auth: Option<(&str, &str)>,
        body: impl Into<Bytes>,
    ) -> Option<Answer> {
        let mut request = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "pbx")
            .header("content-type", "text/xml; charset=utf-8")
            .header(
                "soapaction",
                "\"http://innovaphone.com/pbx/http://innovaphone.com/pbx#Whatever\"",
            );
        if let Some((user, password)) = auth {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            request = request.header("authorization", format!("Basic {token}"));
        }
        let request = request.body(Full::new(body.into())).expect("request");
        self.sender.ready().await.ok()?;
        let response = self.sender.send_request(request).await.ok()?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.ok()?.to_bytes();
        Some(Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    pub(crate) async fn post(
        &mut self,
        path: &str,
        auth: Option<(&str, &str)>,
        body: impl Into<Bytes>,
    ) -> Answer {
        self.try_send("POST", path, auth, body)
            .await
            .expect("an answer")
    }

    /// A SOAP request as the admin, encoded the way a WSDL-driven client does.
    pub(crate) async fn soap(&mut self, request: &Request) -> Answer {
        let mut body = Vec::new();
        encode_request(request, WsdlVersion::Pbx1000, &mut body);
        self.post("/PBX0/user.soap", Some(("admin", "ip800")), body)
            .await
    }
}

/// A monitoring session over the real client: `_TAPI_`'s session, user handles, and the
/// records polled so far.
pub(crate) struct Monitor {
    pub(crate) client: Client,
    pub(crate) session: i32,
    pub(crate) key: i32,
    calls: Vec<CallInfo>,
    pub(crate) users: Vec<UserInfo>,
}

impl Monitor {
    pub(crate) async fn start(sim: &SimHandle, wsdl: WsdlVersion) -> Self {
        let client = client(sim, wsdl);
        let session = client
            .initialize("_TAPI_", "sim-tests")
            .await
            .expect("initialize");
        let mut monitor = Self {
            client,
            session: session.handle,
            key: session.key,
            calls: Vec::new(),
            users: Vec::new(),
        };
        for _ in 0..MAX_POLLS {
            monitor.poll().await;
            if monitor.users.iter().any(UserInfo::is_end_of_dump) {
                break;
            }
        }
        assert!(
            monitor.users.iter().any(UserInfo::is_end_of_dump),
            "the dump ends with an empty record"
        );
        monitor.users.clear();
        monitor
    }

    pub(crate) async fn watch(&self, cn: &str) -> i32 {
        self.watch_with(cn, false, false, "").await
    }

    pub(crate) async fn watch_with(&self, cn: &str, xfer: bool, disc: bool, hw: &str) -> i32 {
        let handle = self
            .client
            .user_initialize(self.session, cn, xfer, disc, hw)
            .await
            .expect("user initialize");
        assert_ne!(handle, 0, "{cn}");
        handle
    }

    pub(crate) async fn poll(&mut self) -> bool {
        let batch = self.client.poll(self.session).await.expect("poll");
        let got = !batch.is_empty();
        self.calls.extend(batch.call);
        self.users.extend(batch.user);
        got
    }

    /// The next `count` records of a handle, formatted; fails if they do not come.
    pub(crate) async fn lines(&mut self, handle: i32, count: usize) -> Vec<String> {
        self.records(handle, count).await.iter().map(line).collect()
    }

    /// The next `count` records of a handle.
    pub(crate) async fn records(&mut self, handle: i32, count: usize) -> Vec<CallInfo> {
        for _ in 0..MAX_POLLS {
            if self.calls.iter().filter(|info| info.user == handle).count() >= count {
                break;
            }
            self.poll().await;
        }
        let mut mine = Vec::new();
        let mut rest = Vec::new();
        for info in std::mem::take(&mut self.calls) {
            if info.user == handle && mine.len() < count {
                mine.push(info);
            } else {
                rest.push(info);
            }
        }
        self.calls = rest;
        assert_eq!(
            mine.len(),
            count,
            "records of handle {handle}: {:?}",
            mine.iter().map(line).collect::<Vec<_>>()
        );
        mine
    }

    /// Asserts that no further record for the handle arrives within one empty poll.
    pub(crate) async fn quiet(&mut self, handle: i32) {
        while self.poll().await {}
        let left: Vec<String> = self
            .calls
            .iter()
            .filter(|info| info.user == handle)
            .map(line)
            .collect();
        assert!(left.is_empty(), "unexpected records for {handle}: {left:?}");
    }

    /// UserInfos received for `cn` since the last call.
    pub(crate) async fn user_infos(&mut self, cn: &str, count: usize) -> Vec<UserInfo> {
        for _ in 0..MAX_POLLS {
            if self.users.iter().filter(|info| info.cn == cn).count() >= count {
                break;
            }
            self.poll().await;
        }
        let (mine, rest): (Vec<UserInfo>, Vec<UserInfo>) = std::mem::take(&mut self.users)
            .into_iter()
            .partition(|info| info.cn == cn);
        self.users = rest;
        assert!(mine.len() >= count, "UserInfos of {cn}: {mine:?}");
        mine
    }

    /// Drops every record received so far.
    pub(crate) async fn clear(&mut self) {
        while self.poll().await {}
        self.calls.clear();
        self.users.clear();
    }
}
