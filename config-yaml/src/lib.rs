//! YAML configuration with located errors, shared by the gateway (config files) and the chaos
//! runner (scenario files).
//!
//! This crate owns turning YAML text into the caller's serde types, and reporting **every**
//! problem in one pass, each with its file, line and column, the field path, what is wrong,
//! the value received and what is allowed. It also owns the unit-bearing value types used in
//! those files ([`units`]).
//!
//! Components:
//! - [`Document`]: parses text ([`Document::parse`]), deserializes it
//!   ([`Document::deserialize`]), and locates paths for later semantic checks
//!   ([`Document::locate`], [`Document::diagnostic`]).
//! - [`Diagnostic`] / [`Diagnostics`]: located problems; `Diagnostics` is the error type.
//! - [`FieldPath`] and [`Location`]: where a problem is, logically and in the text.
//! - [`units`]: [`Duration`](units::Duration), [`Percent`](units::Percent),
//!   [`Rate`](units::Rate), [`ByteSize`](units::ByteSize).
//!
//! The path from text to a typed value:
//!
//! ```text
//! text --parse--> node tree (with positions) --deserialize--> T --caller's validate--> Config
//!        |                                      |                   |
//!        syntax, duplicate keys, ...            type errors, ...    semantic errors,
//!        located by the parser                  located by path     via Document::diagnostic
//! ```
//!
//! # Example
//!
//! ```
//! use config_yaml::Document;
//! use config_yaml::units::Duration;
//! use serde::Deserialize;
//!
//! #[derive(Debug, Deserialize)]
//! struct Config {
//!     routes: Vec<Route>,
//! }
//!
//! #[derive(Debug, Deserialize)]
//! struct Route {
//!     name: String,
//!     port: u16,
//!     timeout: Option<Duration>,
//! }
//!
//! let text = "\
//! routes:
//!   - name: users
//!     port: 8080
//!     timeout: 2s
//!   - name: orders
//!     port: \"8081\"
//!     tiemout: 5
//! ";
//! let document = Document::parse("gateway.yaml", text).unwrap();
//! let errors = document.deserialize::<Config>().unwrap_err();
//! assert_eq!(
//!     errors.to_string(),
//!     "gateway.yaml:6:11: routes[1].port: invalid type (got \"8081\"; expected u16; \
//!      hint: quoted values are always strings: remove the quotes)\n\
//!      gateway.yaml:7:5: routes[1].tiemout: unknown field `tiemout` \
//!      (expected one of: name, port, timeout; hint: did you mean `timeout`?)",
//! );
//! ```
//!
//! # Diagnostic format
//!
//! Each [`Diagnostic`] displays on one line:
//!
//! ```text
//! SOURCE:LINE:COLUMN: PATH: PROBLEM (got VALUE; expected EXPECTED; hint: HINT)
//! gateway.yaml:12:7: routes[2].upstream: unknown upstream (got "users2"; expected one of: users, orders)
//! ```
//!
//! - `LINE` and `COLUMN` are 1-based; columns count characters. Without a location the
//!   line reads `SOURCE: PATH: ...`.
//! - `PATH` is a [`FieldPath`]: keys joined by `.`, indexes in brackets, keys with other
//!   characters than letters, digits, `_` and `-` quoted (`upstreams["a.b"]`); the document
//!   root is `(root)`.
//! - `PROBLEM` is lowercase, without a final period.
//! - The parenthesis holds whichever of value, expected and hint are known, and is left out
//!   when none is. Values are rendered as written: strings quoted (`"users2"`), numbers,
//!   booleans and null bare, collections as `a mapping` / `a sequence`.
//!
//! [`Diagnostics`] displays one diagnostic per line, in document order.
//!
//! # Collecting every error
//!
//! [`Document::deserialize`] keeps going after an error and returns `Ok` only when nothing was
//! wrong:
//!
//! - **Unknown keys.** A struct's keys are checked against its field names (and aliases); each
//!   unknown key is reported (`unknown field`) with the allowed names and, for a name within
//!   two edits of one, ``hint: did you mean `x`?``. This needs no `#[serde(deny_unknown_fields)]`,
//!   and is harmless with it. Structs with a `#[serde(flatten)]` field accept every key, as the
//!   flattened field may take it.
//! - **Invalid values** (a struct field, a sequence element, a map entry or key) are reported
//!   at the value's path and position, and left out; deserialization goes on with the rest. A
//!   required field that was left out this way is not reported again as `missing field`.
//! - **Missing required fields** are reported at the enclosing mapping (`missing field `x``).
//!   If that mapping also has an invalid field declared before the missing one, the missing
//!   one shows up once the invalid one is fixed (serde stops at the first missing field).
//! - **Custom errors** from `Deserialize` impls (`de::Error::custom`) keep their message and
//!   get the path and position of the value being deserialized.
//! - **Internally tagged and untagged enums** are buffered by serde before deserialization, so
//!   errors inside them are reported at the enum's own path and position, and unknown keys
//!   inside them are only caught with `#[serde(deny_unknown_fields)]`.
//!
//! # Scalars
//!
//! Plain scalars follow the YAML 1.2 core schema where a type is not fixed (`deserialize_any`,
//! untagged enums): `null`, `~` and nothing are null; `true`/`false`; decimal, `0x` and `0o`
//! integers; decimals, exponents, `.inf` and `.nan` as floats; anything else a string.
//! Quoted and block scalars are always strings, so `port: "8080"` does not fit a `u16` (with a
//! hint to remove the quotes), while `name: 8080` does fit a `String`. Integers out of the
//! target type's range are errors. Anchors and aliases work (an alias is a copy of its anchored
//! value, and errors inside point at the anchored text); merge keys (`<<`) and custom tags are
//! rejected.

mod de;
mod diagnostic;
mod document;
mod load;
mod location;
mod node;
mod path;
mod scalar;
mod suggest;
pub mod units;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use document::Document;
pub use location::Location;
pub use path::{FieldPath, Segment};
pub use suggest::did_you_mean;

/// Parses `text` and deserializes it into `T`: [`Document::parse`] then
/// [`Document::deserialize`], for callers that need no semantic checks afterwards.
pub fn from_str<T: serde::de::DeserializeOwned>(
    source: &str,
    text: &str,
) -> Result<T, Diagnostics> {
    Document::parse(source, text)?.deserialize()
}
