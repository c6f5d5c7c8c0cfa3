//! Every CSTA service of the server end to end against the PBX simulator: the answer, what the
//! PBX really did (its own snapshot), what monitors see, and the error of every bad request.

mod bad_input;
mod call_control;
mod discovery;
mod editions;
mod logical;
mod monitoring;
mod transfers;
mod unavailable;

use std::fmt::Debug;
use std::net::SocketAddr;
use std::time::Duration;

use csta::edition::Edition;
use csta::error_code::CstaErrorCode;
use csta::events::{CstaEvent, Event};
use csta::ids::{CallId, ConnectionId, DeviceId, InvokeId};
use csta::message::Message;
use gateway::client::{ClientError, CstaClient};
use pbx_soap::records::CallPhase;
use pbx_soap::sim::{LegKind, LegSnapshot, SimSnapshot};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a test waits for an answer or an event before it fails.
const WAIT: Duration = Duration::from_secs(5);

/// Extra gateway configuration with user `limited` (password `secret`): may view 201 and 202,
/// and monitor, control and forward only 201.
fn limited_user() -> String {
    format!(
        r#"
        [user.limited]
        password_hash = "{}"
        view = ["201", "202"]
        monitor = ["201"]
        control = ["201"]
        forward = ["201"]
        "#,
        tests::quick_hash("secret")
    )
}

/// A simulator and gateway whose first PBX is changed by `tweak`.
async fn sim_gateway_tweaked(
    tweak: impl FnOnce(&mut gateway::config::PbxConfig),
) -> tests::SimGateway {
    tests::SimGateway::start_tweaked(
        pbx_soap::sim::SimConfig::default(),
        pbx_soap::sim::Directory::demo(),
        "",
        |config| tweak(&mut config.pbx[0]),
    )
    .await
}

fn device(id: &str) -> DeviceId {
    DeviceId::new(id).expect("valid device id")
}

/// The connection of `call` at `device`.
fn at(call: &CallId, device_id: &str) -> ConnectionId {
    ConnectionId::call_at(call.clone(), device(device_id))
}

fn call_id(id: &str) -> CallId {
    CallId::new(id).expect("valid call id")
}

/// The CSTA error a request failed with.
fn code<T: Debug>(result: Result<T, ClientError>) -> CstaErrorCode {
    match result {
        Err(ClientError::Csta { code, .. }) => code,
        other => panic!("expected a CSTA error, got {other:?}"),
    }
}

/// The next `count` events.
async fn events(client: &mut CstaClient, count: usize) -> Vec<CstaEvent> {
    let mut events = Vec::with_capacity(count);
    while events.len() < count {
        let Some(event) = client.next_event(WAIT).await else {
            panic!("only {} of {count} events: {events:#?}", events.len());
        };
        events.push(event);
    }
    events
}

/// Events up to and including the first named `name`.
async fn until(client: &mut CstaClient, name: &str) -> Vec<CstaEvent> {
    let mut events = Vec::new();
    loop {
        let Some(event) = client.next_event(WAIT).await else {
            panic!("no {name} in {:?}", names(&events));
        };
        let found = event.event.name() == name;
        events.push(event);
        if found {
            return events;
        }
    }
}

fn names(events: &[CstaEvent]) -> Vec<&'static str> {
    events.iter().map(|event| event.event.name()).collect()
}

/// The party legs of an object in the PBX's own view.
fn legs<'a>(pbx: &'a SimSnapshot, cn: &str) -> Vec<&'a LegSnapshot> {
    pbx.calls
        .iter()
        .flat_map(|call| &call.legs)
        .filter(|leg| leg.cn == cn && leg.kind == LegKind::Party)
        .collect()
}

/// The one party leg of an object.
fn leg<'a>(pbx: &'a SimSnapshot, cn: &str) -> &'a LegSnapshot {
    match legs(pbx, cn).as_slice() {
        [leg] => leg,
        other => panic!("{cn} has {} legs: {pbx:#?}", other.len()),
    }
}

/// The call (index into `pbx.calls`) an object has a party leg in, for calls of two objects.
fn call_between(pbx: &SimSnapshot, a: &str, b: &str) -> Option<usize> {
    pbx.calls.iter().position(|call| {
        let has = |cn: &str| {
            call.legs
                .iter()
                .any(|leg| leg.cn == cn && leg.kind == LegKind::Party)
        };
        has(a) && has(b)
    })
}

/// The state of `cn`'s leg in the call with `other`.
fn leg_with<'a>(pbx: &'a SimSnapshot, cn: &str, other: &str) -> &'a LegSnapshot {
    let call = call_between(pbx, cn, other)
        .unwrap_or_else(|| panic!("no call between {cn} and {other}: {pbx:#?}"));
    pbx.calls[call]
        .legs
        .iter()
        .find(|leg| leg.cn == cn && leg.kind == LegKind::Party)
        .expect("checked above")
}

fn talking(leg: &LegSnapshot) -> bool {
    leg.state.phase() == CallPhase::Connected && !leg.state.held()
}

/// One frame as the server sent it.
#[derive(Debug)]
struct Frame {
    invoke: u16,
    /// The CSTA edition of the root element's namespace.
    edition: Option<Edition>,
    message: Message,
}

/// A client on a bare socket: chosen invoke ids and editions out, frames with their invoke id
/// and namespace in.
struct Raw {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Raw {
    async fn connect(address: SocketAddr) -> Self {
        Self {
            stream: TcpStream::connect(address).await.expect("connect"),
            buffer: Vec::new(),
        }
    }

    async fn send(&mut self, invoke: u16, message: &Message, edition: &Edition) {
        let mut frame = Vec::new();
        csta::frame::encode_message(
            InvokeId::new(invoke).expect("valid invoke id"),
            message,
            edition,
            &mut frame,
        )
        .expect("encodable");
        self.stream.write_all(&frame).await.expect("send");
    }

    /// Sends a body as it is, in a correct frame.
    async fn send_body(&mut self, invoke: u16, body: &[u8]) {
        let mut frame = Vec::new();
        csta::frame::encode(
            InvokeId::new(invoke).expect("valid invoke id"),
            body,
            &mut frame,
        )
        .expect("frame");
        self.stream.write_all(&frame).await.expect("send");
    }

    /// The next frame; `None` when the server closed the connection.
    async fn next(&mut self) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(frame) = csta::frame::decode(&self.buffer, csta::frame::MAX_FRAME_LEN)
                .expect("the server frames correctly")
            {
                let len = frame.len;
                let invoke = frame.invoke_id.value();
                let decoded = Message::decode(frame.body).expect("the server sends valid XML");
                self.buffer.drain(..len);
                return Some(Frame {
                    invoke,
                    edition: decoded.edition,
                    message: decoded.message,
                });
            }
            let mut chunk = [0u8; 8192];
            let read = tokio::time::timeout_at(deadline, self.stream.read(&mut chunk))
                .await
                .expect("a frame in time");
            match read {
                Ok(0) | Err(_) => return None,
                Ok(read) => self.buffer.extend_from_slice(&chunk[..read]),
            }
        }
    }

    /// The next answer, skipping events and the server's own requests.
    async fn answer(&mut self) -> Frame {
        loop {
            let frame = self.next().await.expect("an answer before the close");
            if !matches!(
                frame.message,
                Message::Event(_) | Message::SystemStatus(_) | Message::SwitchingFunctionDevices(_)
            ) {
                return frame;
            }
        }
    }

    /// The next event.
    async fn event(&mut self) -> Frame {
        loop {
            let frame = self.next().await.expect("an event before the close");
            if matches!(frame.message, Message::Event(_)) {
                return frame;
            }
        }
    }
}

/// The call an event is about (the connection's call id, or the old call of a transfer).
fn call_of(event: &Event) -> Option<&CallId> {
    event
        .connection()
        .and_then(|connection| connection.call.as_ref())
}
