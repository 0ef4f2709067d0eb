//! Validation of `limits:` (client connections and requests) and of the admin token: ranges
//! checked here, each error at the path of the field to fix; defaults in
//! [`ServerLimits::default`].

use std::path::Path;

use config_yaml::FieldPath;

use super::ServerLimits;
use super::raw::{RawAdmin, RawBytesOrOff, RawCountOrOff, RawServerLimits};
use super::report::Report;

/// hyper's smallest read buffer: a header limit below it could never be reached.
const MIN_HEADER_BYTES: u64 = 8 * 1024;
/// A header limit above this is a typo, not a policy (hyper's default buffer is 400 KiB).
const MAX_HEADER_BYTES: u64 = 1024 * 1024;

/// `limits:`; defaults for what is left out.
pub(super) fn limits(
    report: &mut Report<'_>,
    path: &FieldPath,
    raw: Option<&RawServerLimits>,
) -> ServerLimits {
    let mut limits = ServerLimits::default();
    let Some(raw) = raw else {
        return limits;
    };
    if let Some(size) = raw.max_header_bytes {
        if (MIN_HEADER_BYTES..=MAX_HEADER_BYTES).contains(&size.bytes()) {
            limits.max_header_bytes = usize::try_from(size.bytes()).unwrap_or(usize::MAX);
        } else {
            report.invalid(
                path.key("max_header_bytes"),
                format!("{} bytes is out of range", size.bytes()),
                "a size from 8KiB to 1MiB, e.g. `64KiB`",
            );
        }
    }
    if let Some(n) = raw.max_headers {
        if (1..=10_000).contains(&n) {
            limits.max_headers = n as usize;
        } else {
            report.invalid(path.key("max_headers"), "out of range", "1 to 10000");
        }
    }
    match raw.max_body_bytes {
        Some(RawBytesOrOff::Off) => limits.max_body_bytes = None,
        Some(RawBytesOrOff::Bytes(size)) if size.bytes() == 0 => report.invalid(
            path.key("max_body_bytes"),
            "0 would refuse every body",
            "a size above 0, e.g. `10MiB`, or `off`",
        ),
        Some(RawBytesOrOff::Bytes(size)) => limits.max_body_bytes = Some(size.bytes()),
        None => {}
    }
    if let Some(timeout) = raw.header_read_timeout.map(std::time::Duration::from) {
        if timeout.is_zero() {
            report.invalid(
                path.key("header_read_timeout"),
                "0 would close every connection",
                "a duration above 0, e.g. `10s`",
            );
        } else {
            limits.header_read_timeout = timeout;
        }
    }
    match raw.max_connections {
        Some(RawCountOrOff::Off) => limits.max_connections = None,
        Some(RawCountOrOff::Count(0)) => report.invalid(
            path.key("max_connections"),
            "0 would accept no connection",
            "a count above 0, or `off`",
        ),
        Some(RawCountOrOff::Count(n)) => limits.max_connections = Some(n as usize),
        None => {}
    }
    if let Some(h2) = &raw.http2 {
        let path = path.key("http2");
        if let Some(n) = h2.max_concurrent_streams {
            if n == 0 {
                report.invalid(
                    path.key("max_concurrent_streams"),
                    "0 would refuse every request",
                    "a count above 0, e.g. 200",
                );
            } else {
                limits.http2_max_concurrent_streams = n;
            }
        }
        if let Some(n) = h2.max_pending_reset_streams {
            limits.http2_max_pending_reset_streams = n as usize;
        }
        if let Some(n) = h2.max_local_error_reset_streams {
            limits.http2_max_local_error_reset_streams = n as usize;
        }
    }
    limits
}

/// The admin token from `token_env` or `token_file` (at most one), trimmed; `None` without
/// either.
pub(super) fn admin_token(
    report: &mut Report<'_>,
    path: &FieldPath,
    raw: Option<&RawAdmin>,
    base_dir: &Path,
) -> Option<String> {
    let raw = raw?;
    let token = match (&raw.token_env, &raw.token_file) {
        (Some(_), Some(_)) => {
            report.invalid(
                path.key("token_file"),
                "both `token_env` and `token_file` are set",
                "one of them",
            );
            return None;
        }
        (Some(var), None) => match std::env::var(var) {
            Ok(value) => value,
            Err(_) => {
                report.invalid(
                    path.key("token_env"),
                    format!("environment variable `{var}` is not set or not UTF-8"),
                    "the name of a set variable holding the token",
                );
                return None;
            }
        },
        (None, Some(file)) => match std::fs::read_to_string(base_dir.join(file)) {
            Ok(text) => text,
            Err(e) => {
                report.invalid(
                    path.key("token_file"),
                    format!("cannot read `{file}`: {e}"),
                    "a readable file holding the token (relative to the config file)",
                );
                return None;
            }
        },
        (None, None) => return None,
    };
    let token = token.trim().to_owned();
    let field = if raw.token_env.is_some() {
        "token_env"
    } else {
        "token_file"
    };
    if token.len() < 16 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        report.invalid(
            path.key(field),
            "the token is shorter than 16 characters or holds spaces or control characters",
            "at least 16 visible ASCII characters",
        );
        return None;
    }
    Some(token)
}
