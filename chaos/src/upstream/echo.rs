//! The echo answer: what the request looked like, with its body counted as it streams past.

use std::collections::BTreeMap;
use std::pin::pin;

use bytes::Buf;
use http::HeaderMap;
use http::request::Parts;
use http_body::Body;
use http_body_util::BodyExt;
use serde_json::{Value, json};

use super::name::UpstreamName;

/// Reads the body to its end, keeping only a running count, so a 200 MB upload costs one
/// frame of memory at a time.
pub(crate) async fn count_body<B: Body>(body: B) -> Result<u64, B::Error> {
    let mut body = pin!(body);
    let mut total: u64 = 0;
    while let Some(frame) = body.as_mut().frame().await {
        if let Some(data) = frame?.data_ref() {
            total = total.saturating_add(data.remaining() as u64);
        }
    }
    Ok(total)
}

/// The echo JSON: `upstream`, `method`, `path`, `query` (string or null), `headers`,
/// `body_bytes`.
pub(crate) fn describe(name: &UpstreamName, parts: &Parts, body_bytes: u64) -> Value {
    json!({
        "upstream": name.as_str(),
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "headers": joined_headers(&parts.headers),
        "body_bytes": body_bytes,
    })
}

/// Header names (already lowercase in `http`) to values, repeated headers joined with ", "
/// in arrival order, as RFC 9110 allows for list-valued fields. Non-UTF-8 bytes are replaced
/// rather than dropped so the echo still shows the header was there.
fn joined_headers(headers: &HeaderMap) -> BTreeMap<&str, String> {
    let mut joined: BTreeMap<&str, String> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        joined
            .entry(name.as_str())
            .and_modify(|existing| {
                existing.push_str(", ");
                existing.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    joined
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::Request;
    use http_body::Frame;
    use http_body_util::{Full, StreamBody};

    use super::*;

    #[tokio::test]
    async fn count_body_over_many_frames_sums_their_lengths() {
        let frames = (0..10)
            .map(|i| Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from(vec![0; i]))));
        let body = StreamBody::new(futures_util::stream::iter(frames));
        assert_eq!(count_body(body).await.unwrap(), 45);
        assert_eq!(count_body(Full::new(Bytes::new())).await.unwrap(), 0);
    }

    #[test]
    fn describe_repeated_headers_are_joined_in_order() {
        let request = Request::post("/x/y?a=1&b=2")
            .header("X-Multi", "one")
            .header("x-multi", "two")
            .header("accept", "*/*")
            .body(())
            .unwrap();
        let (parts, ()) = request.into_parts();
        let name = "users".parse().unwrap();
        assert_eq!(
            describe(&name, &parts, 7),
            json!({
                "upstream": "users",
                "method": "POST",
                "path": "/x/y",
                "query": "a=1&b=2",
                "headers": {"x-multi": "one, two", "accept": "*/*"},
                "body_bytes": 7,
            })
        );
    }
}
