//! The simulator's own HTTP endpoints under `/sim/`, for manual use and for tests written in
//! other languages: fault injection and phone-side scenario steps. Every endpoint takes
//! `POST` with query parameters and the administrator's credentials, and answers plain text:
//! `ok`, `call N` for a new call, or the reason of a refusal (HTTP 400).
//!
//! | endpoint | parameters |
//! |---|---|
//! | `/sim/fault/restart` | |
//! | `/sim/fault/latency` | `ms` |
//! | `/sim/fault/drop` | (closes every other connection) |
//! | `/sim/fault/drop-next` | `count` |
//! | `/sim/fault/http500` | `count` |
//! | `/sim/fault/malformed` | `count` |
//! | `/sim/fault/stall-poll` | `on` (`true`/`false`) |
//! | `/sim/call` | `from`, `to` |
//! | `/sim/external` | `from` (external number), `to` |
//! | `/sim/answer`, `/sim/hangup`, `/sim/busy`, `/sim/hold`, `/sim/retrieve` | `call`, `who` |
//! | `/sim/transfer` | `a`, `b`, `who` |
//! | `/sim/redirect` | `call`, `who`, `to` |
//! | `/sim/park` | `call`, `who`, optional `at`, `position` |
//! | `/sim/pickup` | `call`, `who` |
//! | `/sim/dtmf` | `call`, `who`, `digits` |
//! | `/sim/register` | `cn`, `on`, optional `device` |
//! | `/sim/forward` | `cn`, `kind` (`cfu`, `cfb`, `cfnr`), optional `to` (empty clears) |
//! | `/sim/status` | (sessions, calls, connections) |

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use http::{Method, StatusCode};
use hyper::body::Incoming;

use crate::sim::directory::ForwardKind;
use crate::sim::model::{CallRef, Identity, ScenarioError};
use crate::sim::server::{HttpResponse, Shared, text};

/// Why a control request was refused.
#[derive(Debug, thiserror::Error)]
enum ControlError {
    #[error("missing parameter `{0}`")]
    Missing(&'static str),
    #[error("parameter `{name}` has an invalid value `{value}`")]
    Invalid { name: &'static str, value: String },
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
}

struct Params(HashMap<String, String>);

impl Params {
    fn text(&self, name: &'static str) -> Result<&str, ControlError> {
        self.0
            .get(name)
            .map(String::as_str)
            .ok_or(ControlError::Missing(name))
    }

    fn optional(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn parse<T: FromStr>(&self, name: &'static str) -> Result<T, ControlError> {
        let value = self.text(name)?;
        value.parse().map_err(|_| ControlError::Invalid {
            name,
            value: value.to_owned(),
        })
    }

    fn call(&self, name: &'static str) -> Result<CallRef, ControlError> {
        self.parse(name)
    }
}

pub(crate) async fn handle(
    shared: &Arc<Shared>,
    request: http::Request<Incoming>,
    connection: u64,
) -> HttpResponse {
    if request.method() != Method::POST {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "the /sim/ endpoints take POST\n",
        );
    }
    match shared.authenticate(request.headers()) {
        Some(Identity::Admin) => {}
        Some(Identity::User(_)) => {
            return text(
                StatusCode::FORBIDDEN,
                "the /sim/ endpoints need the administrator\n",
            );
        }
        None => return shared.challenge(),
    }
    let params = Params(
        form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect(),
    );
    let endpoint = request.uri().path().trim_start_matches("/sim/").to_owned();
    match run(shared, &endpoint, &params, connection) {
        Ok(Some(body)) => text(StatusCode::OK, body),
        Ok(None) => text(
            StatusCode::NOT_FOUND,
            format!("no endpoint /sim/{endpoint}\n"),
        ),
        Err(error) => text(StatusCode::BAD_REQUEST, format!("{error}\n")),
    }
}

fn run(
    shared: &Arc<Shared>,
    endpoint: &str,
    params: &Params,
    connection: u64,
) -> Result<Option<String>, ControlError> {
    let ok = || Ok(Some("ok\n".to_owned()));
    let faults = &shared.faults;
    match endpoint {
        "fault/restart" => {
            shared.restart(Some(connection));
            ok()
        }
        "fault/latency" => {
            faults
                .latency_ms
                .store(params.parse("ms")?, Ordering::Relaxed);
            ok()
        }
        "fault/drop" => {
            shared.drop_connections(Some(connection));
            ok()
        }
        "fault/drop-next" => {
            faults
                .drop_next
                .store(params.parse("count")?, Ordering::Relaxed);
            ok()
        }
        "fault/http500" => {
            faults
                .fail_next
                .store(params.parse("count")?, Ordering::Relaxed);
            ok()
        }
        "fault/malformed" => {
            faults
                .malformed_next
                .store(params.parse("count")?, Ordering::Relaxed);
            ok()
        }
        "fault/stall-poll" => {
            shared.stall.send_replace(params.parse("on")?);
            ok()
        }
        "call" => {
            let (from, to) = (params.text("from")?, params.text("to")?);
            let call = shared.with_model(|model, now| model.dial(from, to, now))?;
            Ok(Some(format!("call {call}\n")))
        }
        "external" => {
            let (from, to) = (params.text("from")?, params.text("to")?);
            let call = shared.with_model(|model, now| model.external_call(from, to, now))?;
            Ok(Some(format!("call {call}\n")))
        }
        "answer" | "hangup" | "busy" | "hold" | "retrieve" | "pickup" => {
            let (call, who) = (params.call("call")?, params.text("who")?);
            shared.with_model(|model, now| match endpoint {
                "answer" => model.answer_at(call, who, params.optional("device"), now),
                "hangup" => model.hangup(call, who, now),
                "busy" => model.busy(call, who, now),
                "hold" => model.hold(call, who),
                "retrieve" => model.retrieve(call, who),
                _ => model.pickup(call, who, now),
            })?;
            ok()
        }
        "transfer" => {
            let (a, b, who) = (params.call("a")?, params.call("b")?, params.text("who")?);
            shared.with_model(|model, now| model.transfer(a, b, who, now))?;
            ok()
        }
        "redirect" => {
            let (call, who, to) = (
                params.call("call")?,
                params.text("who")?,
                params.text("to")?,
            );
            shared.with_model(|model, now| model.redirect(call, who, to, now))?;
            ok()
        }
        "park" => {
            let (call, who) = (params.call("call")?, params.text("who")?);
            let position = match params.optional("position") {
                Some(_) => params.parse("position")?,
                None => -1,
            };
            shared.with_model(|model, now| {
                model.park(call, who, params.optional("at"), position, now)
            })?;
            ok()
        }
        "dtmf" => {
            let (call, who, digits) = (
                params.call("call")?,
                params.text("who")?,
                params.text("digits")?,
            );
            shared.with_model(|model, _| model.dtmf(call, who, digits))?;
            ok()
        }
        "register" => {
            let (cn, on) = (params.text("cn")?, params.parse("on")?);
            shared.with_model(|model, _| model.register(cn, params.optional("device"), on))?;
            ok()
        }
        "forward" => {
            let (cn, kind) = (params.text("cn")?, params.text("kind")?);
            let kind = ForwardKind::parse(kind).ok_or_else(|| ControlError::Invalid {
                name: "kind",
                value: kind.to_owned(),
            })?;
            shared.with_model(|model, _| model.set_forward(cn, kind, params.optional("to")))?;
            ok()
        }
        "status" => {
            let (sessions, calls) =
                shared.with_model(|model, _| (model.session_count(), model.call_count()));
            let connections = shared.connection_count();
            Ok(Some(format!(
                "sessions {sessions}\ncalls {calls}\nconnections {connections}\n"
            )))
        }
        _ => Ok(None),
    }
}
