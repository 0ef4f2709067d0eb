//! Jaeger's api_v3 over HTTP (`/api/v3/...`): OTLP/JSON answers wrapped in `{"result": …}`.
//!
//! | route                                   | answer                                            |
//! |-----------------------------------------|---------------------------------------------------|
//! | `GET /api/v3/services`                  | `{"services":[…]}` (sorted; `[]` when empty)      |
//! | `GET /api/v3/operations?service=&spanKind=` | `{"operations":[{"name","spanKind"}]}`        |
//! | `GET /api/v3/traces?query.*`            | `{"result":TracesData}`, 404 when nothing matches |
//! | `GET /api/v3/traces/{trace_id}`         | `{"result":TracesData}`, 404 when unknown         |
//!
//! Errors are `{"error":{"httpCode":N,"message":"…"}}` with Jaeger's messages, sent as Go's
//! `http.Error` sends them (`text/plain; charset=utf-8`, trailing newline).
//!
//! Two deliberate choices where Jaeger's bytes are not what a client should rely on: empty
//! listings are written as `[]` (Jaeger's protobuf JSON marshaler may omit an empty repeated
//! field), and successful answers carry `Content-Type: application/json` (Jaeger's gateway
//! sets none, so Go sniffs `text/plain`).

pub(crate) mod handler;
mod otlp_json;
