//! HTTP-level faults: `http_errors` through the builtin upstream's behaviour switch, and
//! `gateway_fault` headers on every load request.

use std::sync::Arc;

use futures_util::future::join_all;
use http::{HeaderMap, HeaderName, HeaderValue};
use observability::names::header;
use serde_json::{Map, Value, json};

use super::{FaultContext, Partial, Undo, finish};
use crate::run::control::Control;
use crate::run::environment::Instance;
use crate::run::error::FaultError;
use crate::scenario::{GatewayFault, HttpErrors};
pub(super) async fn http_errors(ctx: &FaultContext, errors: &HttpErrors) -> Partial {
    let instances = match ctx.targets(&errors.target) {
        Ok(found) => found,
        Err(error) => return Partial::failed(error),
    };
    let mut change = Map::new();
    change.insert("error_rate".into(), json!(errors.rate));
    change.insert("error_status".into(), json!(errors.status));
    change.insert("hang".into(), json!(errors.hang));
    if let Some(latency) = errors.latency {
        change.insert(
            "latency".into(),
            json!(format!("{}us", latency.as_micros())),
        );
    }
    let change = Value::Object(change);
    let results = join_all(instances.iter().map(|i| {
        let change = &change;
        async move {
            let url = i.control_url("/_chaos/behavior");
            let before =
                ctx.control
                    .get_json(&url)
                    .await
                    .map_err(|source| FaultError::Behavior {
                        instance: i.name.clone(),
                        source,
                    })?;
            set_behavior(&ctx.control, i, change).await?;
            Ok::<_, FaultError>((Arc::clone(i), before))
        }
    }))
    .await;
    let mut restore = Vec::new();
    let mut error = None;
    for result in results {
        match result {
            Ok(pair) => restore.push(pair),
            Err(e) => {
                error.get_or_insert(e);
            }
        }
    }
    finish(Undo::Behavior(restore), error)
}

pub(super) fn gateway_fault(ctx: &FaultContext, fault: &GatewayFault) -> Partial {
    let mut wanted = Vec::new();
    if let Some(abort) = &fault.abort {
        wanted.push((header::FAULT_ABORT, abort.status.to_string()));
        wanted.push((header::FAULT_ABORT_PERCENTAGE, percent(abort.ratio)));
    }
    if let Some(delay) = &fault.delay {
        wanted.push((header::FAULT_DELAY, delay.duration.as_millis().to_string()));
        wanted.push((header::FAULT_DELAY_PERCENTAGE, percent(delay.ratio)));
    }
    let mut headers = HeaderMap::new();
    for (name, value) in wanted {
        match HeaderValue::from_str(&value) {
            Ok(parsed) => {
                headers.insert(HeaderName::from_static(name), parsed);
            }
            Err(_) => return Partial::failed(FaultError::Header { name, value }),
        }
    }
    ctx.headers.set(headers);
    finish(Undo::ClearHeaders, None)
}

pub(super) async fn set_behavior(
    control: &Control,
    instance: &Instance,
    body: &Value,
) -> Result<(), FaultError> {
    control
        .post_json(&instance.control_url("/_chaos/behavior"), Some(body))
        .await
        .map(drop)
        .map_err(|source| FaultError::Behavior {
            instance: instance.name.clone(),
            source,
        })
}

/// A ratio as the fault filter's percentage header (0-100).
pub(super) fn percent(ratio: f64) -> String {
    let value = (ratio * 100.0).clamp(0.0, 100.0);
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_header_is_a_plain_number() {
        assert_eq!(percent(1.0), "100");
        assert_eq!(percent(0.25), "25");
        assert_eq!(percent(0.125), "12.5");
        assert_eq!(percent(2.0), "100");
    }
}
