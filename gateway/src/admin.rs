//! The admin HTTP endpoint: liveness, readiness, Prometheus metrics and a status page.
//!
//! | path | answer |
//! |---|---|
//! | `/healthz` | `200 ok` while the process serves |
//! | `/readyz` | `200` when every PBX link is up and has found its lines, else `503` |
//! | `/metrics` | Prometheus text format |
//! | `/status` | JSON: links, line and call counts |
//! | `/` | the same as a small HTML page |

use std::convert::Infallible;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::debug;

use crate::metrics::Metrics;
use crate::registry::Registry;

/// Serves the endpoint until shutdown.
pub async fn serve(
    listener: TcpListener,
    registry: Registry,
    metrics: Metrics,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => return,
        };
        let Ok((stream, peer)) = accepted else {
            continue;
        };
        let registry = registry.clone();
        let metrics = metrics.clone();
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            let service = service_fn(move |request| {
                let response = answer(&request, &registry, &metrics);
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                result = connection => {
                    if let Err(error) = result {
                        debug!(%peer, %error, "admin connection failed");
                    }
                }
                () = shutdown.cancelled() => {}
            }
        });
    }
}

fn response(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// The answer to one request.
pub fn answer(
    request: &Request<Incoming>,
    registry: &Registry,
    metrics: &Metrics,
) -> Response<Full<Bytes>> {
    if request.method() != Method::GET {
        return response(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "only GET\n".to_owned(),
        );
    }
    route(request.uri().path(), registry, metrics)
}

fn route(path: &str, registry: &Registry, metrics: &Metrics) -> Response<Full<Bytes>> {
    match path {
        "/healthz" => response(StatusCode::OK, "text/plain", "ok\n".to_owned()),
        "/readyz" => {
            let links = registry.links();
            let ready =
                !links.is_empty() && links.iter().all(|(_, status)| status.up && status.ready);
            if ready {
                response(StatusCode::OK, "text/plain", "ready\n".to_owned())
            } else {
                response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain",
                    "not ready\n".to_owned(),
                )
            }
        }
        "/metrics" => response(
            StatusCode::OK,
            "text/plain; version=0.0.4",
            metrics.render(registry),
        ),
        "/status" => response(StatusCode::OK, "application/json", status_json(registry)),
        "/" => response(
            StatusCode::OK,
            "text/html; charset=utf-8",
            status_html(registry),
        ),
        _ => response(
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found\n".to_owned(),
        ),
    }
}

fn status_json(registry: &Registry) -> String {
    let links: Vec<serde_json::Value> = registry
        .links()
        .into_iter()
        .map(|(name, status)| {
            serde_json::json!({
                "pbx": &*name,
                "up": status.up,
                "ready": status.ready,
                "url": status.url,
                "slaves_up": status.slaves_up,
                "last_error": status.last_error,
            })
        })
        .collect();
    serde_json::json!({
        "links": links,
        "lines": registry.line_count(),
        "lines_in_service": registry.lines_in_service(),
        "calls": registry.call_count(),
        "events_published": registry.published(),
    })
    .to_string()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn status_html(registry: &Registry) -> String {
    let mut rows = String::new();
    for (name, status) in registry.links() {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&name),
            if status.up { "up" } else { "down" },
            escape(&status.url),
            escape(&status.slaves_up.join(", ")),
            escape(status.last_error.as_deref().unwrap_or("")),
        ));
    }
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>cti-gateway</title></head><body>\
         <h1>cti-gateway</h1><p>{} lines ({} in service), {} calls, {} events published</p>\
         <table border=\"1\"><tr><th>PBX</th><th>link</th><th>URL</th><th>slaves</th><th>last error</th></tr>{}</table>\
         </body></html>",
        registry.line_count(),
        registry.lines_in_service(),
        registry.call_count(),
        registry.published(),
        rows
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::LinkStatus;

    #[test]
    fn readiness_follows_the_links() {
        let registry = Registry::new(16);
        let metrics = Metrics::default();
        assert_eq!(
            route("/readyz", &registry, &metrics).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let pbx = std::sync::Arc::from("main");
        let mut status = LinkStatus {
            up: true,
            ready: false,
            url: "http://pbx".into(),
            slaves_up: vec![],
            last_error: None,
        };
        registry.set_link(&pbx, status.clone());
        assert_eq!(
            route("/readyz", &registry, &metrics).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        status.ready = true;
        registry.set_link(&pbx, status);
        assert_eq!(
            route("/readyz", &registry, &metrics).status(),
            StatusCode::OK
        );
        assert_eq!(
            route("/healthz", &registry, &metrics).status(),
            StatusCode::OK
        );
        assert_eq!(
            route("/nope", &registry, &metrics).status(),
            StatusCode::NOT_FOUND
        );
        let metrics_text = route("/metrics", &registry, &metrics);
        assert_eq!(metrics_text.status(), StatusCode::OK);
        let text = metrics.render(&registry);
        assert!(text.contains("cti_gateway_pbx_links_up 1"), "{text}");
        assert!(status_json(&registry).contains("\"pbx\":\"main\""));
    }
}
