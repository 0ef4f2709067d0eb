//! Error -> HTTP response: the one ordered match that decides statuses.
//!
//! Bodies are small JSON objects with a stable `error` kind and a generic message; details
//! (addresses, sources) go to logs only, so responses never leak topology. Authentication
//! failures say only `unauthorized` or `forbidden`: which check failed is logged and counted,
//! never told to the client, and the token is never echoed.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use observability::names;

use super::ProxyError;
use crate::auth::Challenge;
use crate::proxy::body::ProxyBody;

/// The response a client receives for `error`.
pub(crate) fn respond(error: &ProxyError) -> Response<ProxyBody> {
    let (status, message) = match error {
        ProxyError::NoRoute { .. } => (StatusCode::NOT_FOUND, "no route matches this request"),
        ProxyError::BadRequest { .. } | ProxyError::BadPath(_) => {
            (StatusCode::BAD_REQUEST, "malformed request")
        }
        ProxyError::PayloadTooLarge { .. } => {
            (StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
        }
        ProxyError::NoHealthyEndpoint { .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            "no healthy upstream endpoint",
        ),
        ProxyError::Connect { .. } | ProxyError::UpstreamIo { .. } => {
            (StatusCode::BAD_GATEWAY, "upstream connection failed")
        }
        ProxyError::ConnectTimeout { .. }
        | ProxyError::Timeout { .. }
        | ProxyError::TotalTimeout { .. } => (StatusCode::GATEWAY_TIMEOUT, "upstream timed out"),
        ProxyError::BreakerOpen { .. } | ProxyError::Overloaded { .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            "upstream temporarily unavailable",
        ),
        ProxyError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded"),
        ProxyError::RateLimitUnavailable { .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            "rate limit temporarily unavailable",
        ),
        ProxyError::Auth { rejection, .. } => match rejection.challenge() {
            Challenge::InsufficientScope => (StatusCode::FORBIDDEN, "access denied"),
            Challenge::Missing | Challenge::InvalidToken => {
                (StatusCode::UNAUTHORIZED, "authentication required")
            }
        },
    };
    let mut response = json_response(status, error.kind(), message);
    if let Some(reason) = error.reject_reason() {
        response.headers_mut().insert(
            names::header::REJECT_REASON,
            HeaderValue::from_static(reason),
        );
    }
    if let ProxyError::RateLimited { fields, .. } = error {
        // Retry-After and the RateLimit fields, as the limiter decided them.
        fields.apply(response.headers_mut());
    }
    if let ProxyError::Auth { rejection, .. } = error {
        // RFC 6750 section 3: no error attribute when the request carried no bearer token.
        let challenge = match rejection.challenge() {
            Challenge::Missing => r#"Bearer realm="gateway""#,
            Challenge::InvalidToken => r#"Bearer realm="gateway", error="invalid_token""#,
            Challenge::InsufficientScope => r#"Bearer realm="gateway", error="insufficient_scope""#,
        };
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    if let ProxyError::BreakerOpen {
        retry_after: Some(wait),
        ..
    } = error
    {
        // Whole seconds, rounded up (RFC 9110 delay-seconds), at least 1.
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    }
    response
}

/// A small JSON error body: `{"error": KIND, "status": N, "message": TEXT}`.
pub(crate) fn json_response(status: StatusCode, kind: &str, message: &str) -> Response<ProxyBody> {
    let body = serde_json::json!({ "error": kind, "status": status.as_u16(), "message": message });
    let mut response = Response::new(ProxyBody::full(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http::StatusCode;
    use http_body_util::BodyExt;

    use super::*;

    async fn body_json(response: Response<ProxyBody>) -> serde_json::Value {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    fn io_error() -> crate::errors::BoxError {
        Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
    }

    #[tokio::test]
    async fn respond_maps_every_error_to_its_status_and_kind() {
        let cases = [
            (
                ProxyError::NoRoute {
                    method: http::Method::GET,
                    path: "/x".into(),
                },
                404,
                "no_route",
            ),
            (
                ProxyError::BadRequest { reason: "bad host" },
                400,
                "bad_request",
            ),
            (
                ProxyError::NoHealthyEndpoint {
                    upstream: "u".into(),
                },
                503,
                "no_healthy_endpoint",
            ),
            (
                ProxyError::Connect {
                    upstream: "u".into(),
                    endpoint: "e".into(),
                    source: io_error(),
                },
                502,
                "connect_failure",
            ),
            (
                ProxyError::UpstreamIo {
                    upstream: "u".into(),
                    endpoint: "e".into(),
                    source: io_error(),
                },
                502,
                "upstream_io",
            ),
            (
                ProxyError::ConnectTimeout {
                    upstream: "u".into(),
                    endpoint: "e".into(),
                    timeout: Duration::from_secs(1),
                },
                504,
                "connect_timeout",
            ),
            (
                ProxyError::Timeout {
                    upstream: "u".into(),
                    endpoint: "e".into(),
                    timeout: Duration::from_secs(1),
                },
                504,
                "timeout",
            ),
        ];
        let cases = cases.into_iter().chain([
            (
                ProxyError::RateLimited {
                    route: "r".into(),
                    fields: Box::new(crate::ratelimit::RateLimitFields::new(
                        "r",
                        crate::ratelimit::Quota {
                            quota: 1,
                            window: Duration::from_secs(1),
                        },
                        &crate::ratelimit::Decision {
                            allowed: false,
                            remaining: 0,
                            reset: Duration::from_secs(1),
                            retry_after: Duration::from_millis(300),
                        },
                    )),
                },
                429,
                "rate_limited",
            ),
            (
                ProxyError::RateLimitUnavailable {
                    route: "r".into(),
                    source: crate::ratelimit::BackendError::Timeout(Duration::from_millis(50)),
                },
                503,
                "rate_limit_unavailable",
            ),
        ]);
        for (error, status, kind) in cases {
            let response = respond(&error);
            assert_eq!(
                response.status(),
                StatusCode::from_u16(status).unwrap(),
                "{kind}"
            );
            assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
            if status == 429 {
                assert_eq!(response.headers()[header::RETRY_AFTER], "1");
                assert_eq!(response.headers()["ratelimit"], "\"r\";r=0;t=1");
                assert_eq!(
                    response.headers()[names::header::REJECT_REASON],
                    "rate_limited"
                );
            }
            let body = body_json(response).await;
            assert_eq!(body["error"], kind);
            assert_eq!(body["status"], status);
        }
    }

    #[tokio::test]
    async fn respond_maps_auth_rejections_to_401_or_403_with_bearer_challenges() {
        use crate::auth::AuthRejection;
        let cases = [
            (
                AuthRejection::Missing,
                401,
                "unauthorized",
                r#"Bearer realm="gateway""#,
            ),
            (
                AuthRejection::Expired,
                401,
                "unauthorized",
                r#"Bearer realm="gateway", error="invalid_token""#,
            ),
            (
                AuthRejection::Forbidden,
                403,
                "forbidden",
                r#"Bearer realm="gateway", error="insufficient_scope""#,
            ),
        ];
        for (rejection, status, kind, challenge) in cases {
            let response = respond(&ProxyError::Auth {
                route: "r".into(),
                rejection,
            });
            assert_eq!(response.status().as_u16(), status, "{rejection:?}");
            assert_eq!(response.headers()[header::WWW_AUTHENTICATE], challenge);
            let body = body_json(response).await;
            assert_eq!(body["error"], kind);
            // The body never says which check failed (`forbidden` is the kind itself).
            if rejection != AuthRejection::Forbidden {
                assert!(!body.to_string().contains(rejection.reason()), "{body}");
            }
        }
    }

    #[tokio::test]
    async fn respond_body_does_not_leak_endpoint_addresses() {
        let error = ProxyError::Connect {
            upstream: "users".into(),
            endpoint: "10.1.2.3:9000".into(),
            source: io_error(),
        };
        let body = body_json(respond(&error)).await.to_string();
        assert!(!body.contains("10.1.2.3"), "{body}");
        assert!(!body.contains("users"), "{body}");
    }
}
