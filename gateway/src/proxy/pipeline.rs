//! A route's request pipeline: the one place that orders authentication, rate limiting and
//! the resilience concerns, each of which lives in its own module (`auth`, `ratelimit`,
//! `fault`, `fallback`, `retry`, `breaker`, `limits`, `outlier`, `upstream`).
//!
//! Outer to inner, and why:
//! 0. **Authentication** (`auth`) before everything else: a request that is not
//!    authenticated and authorized is answered 401/403 at once and never reaches the rate
//!    limiter, the fault filter, the fallback (no cached or static answer for it), the retry
//!    budget, the breaker or the upstream. Headers the route fills from claims are removed
//!    from the client's request first, then set from the verified token; `Authorization` is
//!    removed unless the route keeps it. (The design page once put the fault filter first;
//!    an injected fault must not answer an unauthenticated client, nor let one spend the
//!    `max_active` slots.)
//! 1. **Rate limit** next (its `claim:NAME` keys read the verified claims): it protects the
//!    gateway and the upstream from a client's excess, so a refused request must cost
//!    nothing downstream: no fault draw, no fallback (a 429 tells the client to slow down; a
//!    fallback answer would hide that), no retry budget, no breaker call, no upstream request.
//!    Refusals are 429 with `Retry-After` and the RateLimit fields; a failed Redis backend is
//!    a 503 `rate_limit_unavailable` (`fail_closed`) or a local decision (`fail_open`).
//!    Admitted responses (fallbacks and fault aborts included) carry `RateLimit-Policy` and
//!    `RateLimit` too. Limiting before the fault filter keeps drills' injected faults to
//!    admitted traffic, which is what a real upstream failure would see.
//! 2. **Fault filter**, as in Envoy: an injected abort or delay is what the client would
//!    see from a failing upstream, and an aborted request must not count against the breaker
//!    or the retry budget (nothing was sent).
//! 3. **Fallback** around everything that can fail: it answers for a breaker that is open, for
//!    no healthy endpoint, for a full concurrency limit, and for a request that still failed
//!    after its retries (an error, or a response the classifier calls a failure). Good
//!    responses on the way out feed the stale cache.
//! 4. **Total timeout** (`timeout`) around all attempts and backoff waits: each attempt's own
//!    timeout is the smaller of `per_try_timeout` and the time left, so an attempt cut short
//!    by the route timeout still counts as a timeout for the breaker; a retry that could not
//!    start before the deadline is not made, and waiting for a connection slot past it is a
//!    504 `total_timeout`.
//! 5. **Retries**: the budget is deposited once per request; each retry needs the policy (the
//!    condition, idempotency, a replayable body, attempts left) and a withdrawal from the
//!    budget, waits its jittered backoff, and prefers an endpoint not tried yet.
//! 6. Per attempt: **breaker** (an open breaker refuses at once: 503 `breaker_open`, never
//!    retried), **concurrency limits** (503 `max_requests` / `max_pending`), **endpoint
//!    choice** (health, ejection, panic mode, balancer), then the call under the **per-try
//!    timeout**. The attempt's classified outcome goes to the breaker, outlier detection,
//!    metrics and its span.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::request::Parts;
use http::{Request, Response};
use observability::names::{attr, auth_reason, rate_limit as rl, reject};
use opentelemetry::KeyValue;
use opentelemetry::trace::TraceContextExt as _;
use rand::SeedableRng;
use rand::rngs::StdRng;
use smallvec::SmallVec;
use tokio::time::Instant;

use super::ClientAddr;
use super::body::ProxyBody;
use super::forward::{Forward, Sent};
use crate::auth::RouteAuth;
use crate::balance::PickContext;
use crate::breaker::Breaker;
use crate::errors::ProxyError;
use crate::fallback::Fallback;
use crate::fault::FaultFilter;
use crate::instrument::{Instruments, RequestTrace};
use crate::metrics::{
    Name, RejectLabels, RouteBackendLabels, RouteKindLabels, RouteLabels, RouteOutcomeLabels,
    RouteReasonLabels,
};
use crate::ratelimit::{
    AuthClaims, ClientIpConfig, KeySource, RateLimitFields, RateLimiter, Verdict, key,
};
use crate::retry::{Attempt, Decision, NoRetry, ReplayBody, RetryPolicy};
use crate::route::RouteConfig;
use crate::upstream::Upstream;

/// Everything one route needs per request, built once per config version.
#[derive(Debug)]
pub(crate) struct Pipeline {
    pub(crate) route: RouteConfig,
    label: Name,
    upstream: Arc<Upstream>,
    breaker: Option<Breaker>,
    retry: Option<RetryPolicy>,
    fallback: Option<Arc<Fallback>>,
    fault: Option<Arc<FaultFilter>>,
    rate_limit: Option<RouteRateLimit>,
    auth: Option<RouteAuth>,
    forward: Forward,
    instruments: Arc<Instruments>,
    /// Seeds each request's backoff draws: reproducible for a given request order.
    draws: AtomicU64,
}

/// The parts a pipeline is built from.
#[derive(Debug)]
pub(crate) struct PipelineParts {
    pub(crate) route: RouteConfig,
    pub(crate) upstream: Arc<Upstream>,
    pub(crate) breaker: Option<Breaker>,
    pub(crate) retry: Option<RetryPolicy>,
    pub(crate) fallback: Option<Arc<Fallback>>,
    pub(crate) fault: Option<Arc<FaultFilter>>,
    pub(crate) rate_limit: Option<RouteRateLimit>,
    pub(crate) auth: Option<RouteAuth>,
    pub(crate) forward: Forward,
    pub(crate) instruments: Arc<Instruments>,
}

/// A route's rate limiter (kept across reloads) and the current version's client-IP rules.
#[derive(Debug)]
pub(crate) struct RouteRateLimit {
    pub(crate) limiter: Arc<RateLimiter>,
    pub(crate) client_ip: Arc<ClientIpConfig>,
}

impl Pipeline {
    pub(crate) fn new(parts: PipelineParts) -> Self {
        let label = Arc::new(parts.route.name.clone());
        Self {
            route: parts.route,
            label,
            upstream: parts.upstream,
            breaker: parts.breaker,
            retry: parts.retry,
            fallback: parts.fallback,
            fault: parts.fault,
            rate_limit: parts.rate_limit,
            auth: parts.auth,
            forward: parts.forward,
            instruments: parts.instruments,
            draws: AtomicU64::new(0),
        }
    }

    pub(crate) fn label(&self) -> Name {
        Arc::clone(&self.label)
    }

    /// The breaker this route's attempts go through (its own, or its upstream's).
    pub(crate) fn breaker(&self) -> Option<&Breaker> {
        self.breaker.as_ref()
    }

    pub(crate) fn retry(&self) -> Option<&RetryPolicy> {
        self.retry.as_ref()
    }

    pub(crate) fn fallback(&self) -> Option<&Fallback> {
        self.fallback.as_deref()
    }

    pub(crate) fn rate_limiter(&self) -> Option<&RateLimiter> {
        self.rate_limit.as_ref().map(|r| &*r.limiter)
    }

    /// Serves one prepared request (see the module docs for the order).
    pub(crate) async fn handle(
        &self,
        mut request: Request<ProxyBody>,
    ) -> Result<Response<ProxyBody>, ProxyError> {
        let trace = request.extensions().get::<RequestTrace>().cloned();
        if let Some(auth) = &self.auth {
            self.authenticate(auth, &mut request, trace.as_ref())
                .await?;
        }
        let limit_fields = match &self.rate_limit {
            Some(limit) => {
                let key = self.limit_key(limit, &request);
                Some(self.rate_limit(limit, &key, trace.as_ref()).await?)
            }
            None => None,
        };
        let mut response = self.limited_handle(request, trace).await?;
        if let Some(fields) = limit_fields {
            fields.apply(response.headers_mut());
        }
        Ok(response)
    }

    /// The bucket a request goes to.
    fn limit_key(&self, limit: &RouteRateLimit, request: &Request<ProxyBody>) -> String {
        let peer = request
            .extensions()
            .get::<ClientAddr>()
            .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        key::build(
            &limit.limiter.config().key,
            &KeySource {
                route: &self.route.name,
                client_ip: limit.client_ip.client_ip(peer, request.headers()),
                headers: request.headers(),
                claims: request.extensions().get::<AuthClaims>(),
            },
        )
    }

    /// The route's rate-limit decision for the bucket `key`: the fields for an admitted
    /// request's response, or the refusal.
    async fn rate_limit(
        &self,
        limit: &RouteRateLimit,
        key: &str,
        trace: Option<&RequestTrace>,
    ) -> Result<RateLimitFields, ProxyError> {
        let limiter = &limit.limiter;
        let span = trace.map(|t| t.cx.span());
        let metrics = &self.instruments.metrics;
        let Verdict {
            decision,
            decider,
            backend_error,
        } = match limiter.check(key).await {
            Ok(verdict) => verdict,
            Err(source) => {
                metrics
                    .rate_limit_backend_errors
                    .get_or_create(&RouteOutcomeLabels {
                        route: self.label(),
                        outcome: rl::FAIL_CLOSED,
                    })
                    .inc();
                if let Some(span) = &span {
                    span.set_attribute(KeyValue::new(attr::RATE_LIMIT, rl::FAIL_CLOSED));
                    span.add_event(
                        rl::EVENT_BACKEND_ERROR,
                        vec![KeyValue::new(attr::ERROR_TYPE, source.kind())],
                    );
                }
                tracing::debug!(route = %self.route.name, error = %source, "Rate-limit backend failed; refusing");
                return Err(ProxyError::RateLimitUnavailable {
                    route: self.route.name.clone(),
                    source,
                });
            }
        };
        if let Some(error) = &backend_error {
            metrics
                .rate_limit_backend_errors
                .get_or_create(&RouteOutcomeLabels {
                    route: self.label(),
                    outcome: rl::FAIL_OPEN,
                })
                .inc();
            if let Some(span) = &span {
                span.add_event(
                    rl::EVENT_BACKEND_ERROR,
                    vec![KeyValue::new(attr::ERROR_TYPE, error.kind())],
                );
            }
            tracing::debug!(route = %self.route.name, %error, "Rate-limit backend failed; deciding locally");
        }
        let fields = RateLimitFields::new(&self.route.name, limiter.quota(), &decision);
        let verdict = match (decision.allowed, backend_error.is_some()) {
            (false, _) => rl::LIMITED,
            (true, true) => rl::FAIL_OPEN,
            (true, false) => rl::ADMITTED,
        };
        if let Some(span) = &span {
            span.set_attributes([
                KeyValue::new(attr::RATE_LIMIT, verdict),
                KeyValue::new(attr::RATE_LIMIT_BACKEND, decider.as_str()),
            ]);
        }
        if decision.allowed {
            return Ok(fields);
        }
        metrics
            .rate_limited
            .get_or_create(&RouteBackendLabels {
                route: self.label(),
                backend: decider.as_str(),
            })
            .inc();
        if let Some(span) = &span {
            let retry_ms = i64::try_from(decision.retry_after.as_millis()).unwrap_or(i64::MAX);
            span.add_event(
                rl::EVENT_LIMITED,
                vec![KeyValue::new(attr::RATE_LIMIT_RETRY_AFTER_MS, retry_ms)],
            );
        }
        Err(ProxyError::RateLimited {
            route: self.route.name.clone(),
            fields: Box::new(fields),
        })
    }

    /// Everything after the rate limit (see the module docs for the order).
    async fn limited_handle(
        &self,
        request: Request<ProxyBody>,
        trace: Option<RequestTrace>,
    ) -> Result<Response<ProxyBody>, ProxyError> {
        let decision = self.fault.as_ref().map(|f| f.decide(request.headers()));
        if let Some(decision) = &decision {
            for kind in decision.kinds() {
                self.instruments
                    .metrics
                    .faults_injected
                    .get_or_create(&RouteKindLabels {
                        route: self.label(),
                        kind: kind.as_str(),
                    })
                    .inc();
                if let Some(t) = &trace {
                    t.cx.span()
                        .set_attribute(KeyValue::new(attr::FAULT, kind.as_str()));
                }
            }
            decision.apply_delay().await;
            if let Some(aborted) = decision.abort_response() {
                return Ok(aborted);
            }
        }

        let (parts, body) = request.into_parts();
        let recorder = self.fallback.as_ref().and_then(|f| f.recorder(&parts));
        let deadline = Instant::now() + self.route.timeout;
        let result = self
            .attempts(parts.clone(), body, deadline, trace.as_ref())
            .await;

        let mut response = match result {
            Ok(response) if !self.is_failure(&response) => match recorder {
                Some(recorder) => recorder.record(response, Instant::now()),
                None => response,
            },
            outcome => match self.fallback_for(&parts, &outcome, trace.as_ref()) {
                Some(degraded) => degraded,
                None => outcome?,
            },
        };
        if let Some(decision) = &decision {
            decision.mark(&mut response);
        }
        Ok(response)
    }

    /// Runs the route's authentication on `request`, recording the outcome on the server span
    /// and rejections in `gateway_auth_rejections_total`.
    async fn authenticate(
        &self,
        auth: &RouteAuth,
        request: &mut Request<ProxyBody>,
        trace: Option<&RequestTrace>,
    ) -> Result<(), ProxyError> {
        let result = auth.authenticate(request.headers_mut()).await;
        let outcome = match &result {
            Ok(_) => auth_reason::OK,
            Err(rejection) => rejection.reason(),
        };
        if let Some(t) = trace {
            t.cx.span().set_attributes([
                KeyValue::new(attr::AUTH_PROVIDER, auth.provider().to_owned()),
                KeyValue::new(attr::AUTH_OUTCOME, outcome),
            ]);
        }
        let rejection = match result {
            Ok(claims) => {
                // For `claim:NAME` rate-limit keys, next in the pipeline.
                request.extensions_mut().insert(AuthClaims(claims));
                return Ok(());
            }
            Err(rejection) => rejection,
        };
        self.instruments
            .metrics
            .auth_rejections
            .get_or_create(&RouteReasonLabels {
                route: self.label(),
                reason: outcome,
            })
            .inc();
        // The reason only: never the token, the header or claim values.
        tracing::debug!(
            route = %self.route.name,
            provider = auth.provider(),
            reason = outcome,
            "Request rejected by authentication"
        );
        Err(ProxyError::Auth {
            route: self.route.name.clone(),
            rejection,
        })
    }

    /// Whether a response is a failure by the upstream's classifier.
    fn is_failure(&self, response: &Response<ProxyBody>) -> bool {
        self.upstream
            .config()
            .classifier
            .response(response.status())
            .is_failure()
    }

    /// The route's fallback answer for a failed request, if it has one.
    fn fallback_for(
        &self,
        parts: &Parts,
        outcome: &Result<Response<ProxyBody>, ProxyError>,
        trace: Option<&RequestTrace>,
    ) -> Option<Response<ProxyBody>> {
        let fallback = self.fallback.as_ref()?;
        let eligible = match outcome {
            Ok(_) => true,
            Err(e) => {
                e.call_outcome().is_some()
                    || e.reject_reason().is_some()
                    || matches!(e, ProxyError::TotalTimeout { .. })
            }
        };
        if !eligible {
            return None;
        }
        let degraded = fallback.respond(parts, Instant::now())?;
        let kind = degraded.kind.as_str();
        self.instruments
            .metrics
            .fallbacks
            .get_or_create(&RouteKindLabels {
                route: self.label(),
                kind,
            })
            .inc();
        if let Some(t) = trace {
            t.cx.span()
                .set_attribute(KeyValue::new(attr::FALLBACK, kind));
        }
        Some(degraded.response)
    }

    /// Every attempt of one request, with retries when the route has a policy, all before
    /// `deadline` (the route timeout).
    async fn attempts(
        &self,
        parts: Parts,
        body: ProxyBody,
        deadline: Instant,
        trace: Option<&RequestTrace>,
    ) -> Result<Response<ProxyBody>, ProxyError> {
        let Some(policy) = &self.retry else {
            return self
                .attempt(parts, body, 1, &[], deadline, trace)
                .await
                .0
                .result;
        };
        policy.budget().deposit();
        let replay = ReplayBody::new(body, policy.config().max_replay_body_bytes);
        let mut rng = StdRng::seed_from_u64(self.draws.fetch_add(1, Ordering::Relaxed));
        let mut tried: SmallVec<[usize; 4]> = SmallVec::new();
        let mut number = NonZeroU32::MIN;
        loop {
            let Some(attempt_body) = replay.try_clone() else {
                return Err(ProxyError::BadRequest {
                    reason: "request body could not be replayed",
                });
            };
            let (sent, endpoint) = self
                .attempt(
                    parts.clone(),
                    ProxyBody::new(attempt_body),
                    number.get(),
                    &tried,
                    deadline,
                    trace,
                )
                .await;
            let Some(outcome) = sent.outcome.filter(|o| o.is_failure()) else {
                return sent.result;
            };
            if Instant::now() >= deadline {
                return sent.result;
            }
            let attempt = Attempt {
                method: &parts.method,
                headers: &parts.headers,
                number,
                body_replayable: replay.is_replayable(),
            };
            match policy.should_retry(&attempt, &outcome) {
                Decision::Retry(reason) => {
                    let backoff = policy.backoff().delay(number, &mut rng);
                    // A retry that could not start before the route timeout is not made (its
                    // budget withdrawal is not returned: the budget errs on the safe side).
                    if Instant::now() + backoff >= deadline {
                        return sent.result;
                    }
                    self.instruments
                        .metrics
                        .retries
                        .get_or_create(&RouteReasonLabels {
                            route: self.label(),
                            reason: reason.as_str(),
                        })
                        .inc();
                    if let Some(t) = trace {
                        t.cx.span().add_event(
                            "retry",
                            vec![
                                KeyValue::new(attr::RETRY_REASON, reason.as_str()),
                                KeyValue::new(attr::ATTEMPT, i64::from(number.get())),
                            ],
                        );
                    }
                    tried.extend(endpoint);
                    // The failed attempt's response (a failure status) is dropped unread.
                    drop(sent.result);
                    tokio::time::sleep(backoff).await;
                    number = number.saturating_add(1);
                }
                Decision::NoRetry(why) => {
                    if why == NoRetry::BudgetExhausted {
                        self.instruments
                            .metrics
                            .retry_budget_exhausted
                            .get_or_create(&RouteLabels {
                                route: self.label(),
                            })
                            .inc();
                    }
                    return sent.result;
                }
            }
        }
    }

    /// One attempt: breaker, limits, endpoint choice, call (within the per-try timeout and
    /// the time left before `deadline`); returns what it produced and the endpoint it went to.
    async fn attempt(
        &self,
        parts: Parts,
        body: ProxyBody,
        number: u32,
        tried: &[usize],
        deadline: Instant,
        trace: Option<&RequestTrace>,
    ) -> (Sent, Option<usize>) {
        let refused = |error: ProxyError| {
            (
                Sent {
                    result: Err(error),
                    outcome: None,
                    elapsed: Duration::ZERO,
                },
                None,
            )
        };
        let total_timeout = || ProxyError::TotalTimeout {
            route: self.route.name.clone(),
            timeout: self.route.timeout,
        };
        let permit = match self.breaker.as_ref().map(Breaker::try_acquire) {
            None => None,
            Some(Ok(permit)) => Some(permit),
            Some(Err(rejected)) => {
                self.rejected(reject::BREAKER_OPEN, trace);
                return refused(ProxyError::BreakerOpen {
                    upstream: self.upstream.name().to_owned(),
                    reason: rejected.reason,
                    retry_after: rejected.retry_after,
                });
            }
        };
        // Waiting for a connection slot counts against the route timeout.
        let admitted = tokio::time::timeout_at(deadline, self.upstream.limits().admit()).await;
        let admission = match admitted {
            Err(_) => return refused(total_timeout()),
            Ok(Ok(admission)) => admission,
            Ok(Err(limit)) => {
                let error = ProxyError::Overloaded {
                    upstream: self.upstream.name().to_owned(),
                    limit,
                };
                self.rejected(error.reject_reason().unwrap_or(reject::MAX_REQUESTS), trace);
                return refused(error);
            }
        };
        let client_ip = parts
            .extensions
            .get::<ClientAddr>()
            .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        let selected = match self.upstream.select(
            &PickContext {
                client_ip,
                headers: &parts.headers,
            },
            tried,
        ) {
            Ok(selected) => selected,
            Err(error) => {
                self.rejected(reject::NO_HEALTHY_ENDPOINT, trace);
                return refused(error);
            }
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return refused(total_timeout());
        }
        // The attempt times out itself (rather than being cancelled by the route timeout) so
        // its timeout is recorded by the breaker, outlier detection and metrics.
        let limit = self
            .route
            .per_try_timeout
            .map_or(remaining, |per_try| per_try.min(remaining));
        let request = Request::from_parts(parts, body);
        let sent = self
            .forward
            .send(request, &selected, number, Some(limit))
            .await;
        drop(admission);
        if let (Some(permit), Some(outcome)) = (permit, sent.outcome) {
            permit.record(outcome, sent.elapsed);
        }
        if let (Some(detector), Some(outcome)) = (self.upstream.outlier(), sent.outcome)
            && let Some(ejection) = detector.on_outcome(selected.index, outcome, Instant::now())
        {
            self.instruments.ejected(&self.upstream, &ejection);
        }
        (sent, Some(selected.index))
    }

    fn rejected(&self, reason: &'static str, trace: Option<&RequestTrace>) {
        self.instruments
            .metrics
            .upstream_rejected
            .get_or_create(&RejectLabels {
                upstream: self.upstream.label(),
                reason,
            })
            .inc();
        if let Some(t) = trace {
            t.cx.span()
                .set_attribute(KeyValue::new(attr::REJECT_REASON, reason));
        }
    }
}
