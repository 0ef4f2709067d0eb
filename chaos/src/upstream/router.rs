//! Routes each request to control, callbacks, health or echo, applying the behavior where it
//! belongs, inside the request's server span.

use std::error::Error;

use http::{Method, Request, Response, StatusCode};
use http_body::Body as HttpBody;
use opentelemetry_sdk::trace::SdkTracer;
use serde_json::json;
use tracing::debug;

use super::behavior::Behavior;
use super::callbacks::{self, Callbacks};
use super::control;
use super::echo;
use super::faults::Faults;
use super::name::UpstreamName;
use super::respond::{self, Body, Rejection};
use super::stats::Stats;
use super::trace::RequestTrace;

const HEALTH_PATH: &str = "/healthz";

/// One named upstream: its behavior switch, its tracer, and how it answers.
#[derive(Debug)]
pub(crate) struct Upstream {
    name: UpstreamName,
    faults: Faults,
    stats: Stats,
    tracer: SdkTracer,
    callbacks: Callbacks,
}

// === impl Upstream ===

impl Upstream {
    pub(crate) fn new(
        name: UpstreamName,
        behavior: Behavior,
        seed: u64,
        tracer: SdkTracer,
        callbacks: Callbacks,
    ) -> Self {
        Upstream {
            name,
            faults: Faults::new(behavior, seed),
            stats: Stats::default(),
            tracer,
            callbacks,
        }
    }

    /// Answers any request; never fails (refusals become JSON error responses here).
    ///
    /// Every request except the drill's channel (behavior switch, stats) gets a server span
    /// that continues the caller's trace; it covers the wait for the response head (hang and latency included,
    /// a streamed download body not).
    ///
    /// Generic over the body so tests can drive it without sockets.
    pub(crate) async fn handle<B>(&self, request: Request<B>) -> Response<Body>
    where
        B: HttpBody,
        B::Error: Into<Box<dyn Error + Send + Sync>>,
    {
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        if control::is_untraced(&path) {
            let result = control::handle(&self.name, &self.faults, &self.stats, request).await;
            return self.answer(&method, &path, result);
        }

        let trace =
            RequestTrace::start(&self.tracer, &self.name, &method, &path, request.headers());
        let result = if path == callbacks::PATH {
            self.callbacks.handle(&self.name, &trace, request).await
        } else if control::is_control(&path) {
            control::handle(&self.name, &self.faults, &self.stats, request).await
        } else if path == HEALTH_PATH && matches!(method, Method::GET | Method::HEAD) {
            // Counted on arrival, so requests held by `hang` are visible.
            self.stats.record(&path);
            Ok(self.health().await)
        } else {
            self.stats.record(&path);
            self.echo(request).await
        };
        let response = self.answer(&method, &path, result);
        trace.finish(&response);
        response
    }

    /// Turns a refusal into its response, and logs the outcome.
    fn answer(
        &self,
        method: &Method,
        path: &str,
        result: Result<Response<Body>, Rejection>,
    ) -> Response<Body> {
        let response = result.unwrap_or_else(|rejection| {
            debug!(%method, %path, error = %rejection, "Refused");
            respond::rejection(&self.name, &rejection)
        });
        debug!(%method, %path, status = response.status().as_u16(), "Answered");
        response
    }

    /// `/healthz`: hang and latency apply (a slow or stuck process is slow to report
    /// health too), the error rate does not (health is switched with `healthy`).
    async fn health(&self) -> Response<Body> {
        let behavior = self.faults.delay().await;
        let (status, word) = if behavior.healthy {
            (StatusCode::OK, "ok")
        } else {
            (StatusCode::SERVICE_UNAVAILABLE, "unhealthy")
        };
        let body = json!({ "status": word, "upstream": self.name.as_str() });
        respond::json(&self.name, status, &body)
    }

    /// Every other path: hang, latency, then the error draw, then the echo.
    async fn echo<B>(&self, request: Request<B>) -> Result<Response<Body>, Rejection>
    where
        B: HttpBody,
        B::Error: Into<Box<dyn Error + Send + Sync>>,
    {
        let behavior = self.faults.delay().await;
        if self.faults.draw_failure(behavior.error_rate) {
            // The body is left unread: hyper discards it or closes the connection.
            return Ok(respond::injected_failure(
                &self.name,
                behavior.error_status.get(),
            ));
        }
        let (parts, body) = request.into_parts();
        let body_bytes = echo::count_body(body)
            .await
            .map_err(|err| Rejection::BodyRead(err.into()))?;
        let description = echo::describe(&self.name, &parts, body_bytes);
        Ok(respond::json(&self.name, StatusCode::OK, &description))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use observability::telemetry::{FileSettings, Settings, Telemetry};
    use serde_json::Value;

    use super::*;
    use crate::upstream::UPSTREAM_HEADER;
    use crate::upstream::behavior::{ErrorRate, ErrorStatus};

    fn upstream(error_rate: f64, hang: bool) -> Upstream {
        let behavior = Behavior {
            latency: Duration::ZERO,
            error_rate: ErrorRate::new(error_rate).unwrap(),
            error_status: ErrorStatus::new(503).unwrap(),
            hang,
            healthy: true,
        };
        let settings = Settings::resolve(&FileSettings::default(), "test", |_| None).unwrap();
        let tracer = Telemetry::start(&settings).unwrap().tracer().clone();
        let callbacks = Callbacks::new(tracer.clone(), None, Duration::from_secs(1));
        Upstream::new("users".parse().unwrap(), behavior, 1, tracer, callbacks)
    }

    async fn call(
        upstream: &Upstream,
        method: Method,
        uri: &str,
        body: &str,
    ) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Full::new(Bytes::from(body.to_owned())))
            .unwrap();
        let response = upstream.handle(request).await;
        assert_eq!(response.headers()[UPSTREAM_HEADER], "users");
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn echo_with_error_rate_one_returns_error_status() {
        let upstream = upstream(1.0, false);
        let (status, body) = call(&upstream, Method::GET, "/x", "").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            body,
            json!({"error": "injected failure", "upstream": "users", "status": 503})
        );
    }

    #[tokio::test]
    async fn healthz_and_control_with_error_rate_one_are_unaffected() {
        let upstream = upstream(1.0, false);
        let (status, body) = call(&upstream, Method::GET, "/healthz", "").await;
        assert_eq!(
            (status, body),
            (StatusCode::OK, json!({"status": "ok", "upstream": "users"}))
        );
        let (status, body) = call(&upstream, Method::GET, "/_chaos/behavior", "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["error_rate"], 1.0);
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn control_while_hanging_answers_and_releases_held_requests() {
        let upstream = upstream(0.0, true);
        let held = call(&upstream, Method::GET, "/x", "");
        let release = async {
            // Paused time: this sleep only lets the held request reach its wait first.
            tokio::time::sleep(Duration::from_secs(60)).await;
            call(
                &upstream,
                Method::POST,
                "/_chaos/behavior",
                r#"{"hang":false}"#,
            )
            .await
        };
        let ((held_status, held_body), (status, behavior)) = tokio::join!(held, release);
        assert_eq!(status, StatusCode::OK);
        assert_eq!(behavior["hang"], false);
        assert_eq!(held_status, StatusCode::OK);
        assert_eq!(held_body["path"], "/x");
    }

    #[tokio::test]
    async fn control_unknown_path_or_method_is_refused() {
        let upstream = upstream(0.0, false);
        let (status, body) = call(&upstream, Method::GET, "/_chaos/nope", "").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            body["error"].as_str().unwrap().contains("/_chaos/nope"),
            "{body}"
        );
        let (status, _) = call(&upstream, Method::DELETE, "/_chaos/behavior", "").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    }

    #[tokio::test]
    async fn control_invalid_update_lists_problems_and_changes_nothing() {
        let upstream = upstream(0.0, false);
        let body = r#"{"colour":"red","hang":true}"#;
        let (status, refusal) = call(&upstream, Method::POST, "/_chaos/behavior", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(refusal["problems"][0]["field"], "colour");
        assert_eq!(
            refusal["allowed_fields"],
            json!(crate::upstream::behavior::FIELDS)
        );
        assert!(!upstream.faults.current().hang);
    }

    #[tokio::test]
    async fn stats_count_echo_and_health_requests_but_not_control() {
        let upstream = upstream(1.0, false);
        let (_, before) = call(&upstream, Method::GET, "/_chaos/stats", "").await;
        assert_eq!(
            before,
            json!({"requests": 0, "by_path": {}, "other_paths": 0})
        );
        // Injected failures reached the upstream and count; control requests do not.
        let (status, _) = call(&upstream, Method::POST, "/api/orders", "x").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        call(&upstream, Method::GET, "/api/orders", "").await;
        call(&upstream, Method::GET, "/healthz", "").await;
        call(&upstream, Method::GET, "/_chaos/behavior", "").await;
        call(&upstream, Method::GET, "/_chaos/nope", "").await;
        let (status, after) = call(&upstream, Method::GET, "/_chaos/stats", "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            after,
            json!({"requests": 3, "by_path": {"/api/orders": 2, "/healthz": 1}, "other_paths": 0})
        );
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn stats_count_a_held_request_while_it_hangs() {
        let upstream = upstream(0.0, true);
        let held = call(&upstream, Method::GET, "/x", "");
        let observe = async {
            // Paused time: this sleep only lets the held request reach its wait first.
            tokio::time::sleep(Duration::from_secs(60)).await;
            let (_, stats) = call(&upstream, Method::GET, "/_chaos/stats", "").await;
            call(
                &upstream,
                Method::POST,
                "/_chaos/behavior",
                r#"{"hang":false}"#,
            )
            .await;
            stats
        };
        let ((status, _), stats) = tokio::join!(held, observe);
        assert_eq!(stats["requests"], 1);
        assert_eq!(stats["by_path"]["/x"], 1);
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn stats_other_methods_are_refused_with_405() {
        let upstream = upstream(0.0, false);
        let request = Request::builder()
            .method(Method::POST)
            .uri("/_chaos/stats")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = upstream.handle(request).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[http::header::ALLOW], "GET");
    }

    #[tokio::test]
    async fn control_update_over_limit_is_refused_with_413() {
        let upstream = upstream(0.0, false);
        let body = format!(r#"{{"hang":false,"pad":"{}"}}"#, "x".repeat(70 * 1024));
        let (status, _) = call(&upstream, Method::POST, "/_chaos/behavior", &body).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    }
}
