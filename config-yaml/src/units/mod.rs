//! Unit-bearing values for config fields: durations, percentages, rates and byte sizes.
//!
//! Each type is written as one string with a mandatory unit (`250ms`, `50%`, `200/s`,
//! `64KiB`); bare numbers are rejected, with a hint showing the fix. Each implements
//! [`FromStr`](std::str::FromStr) (for CLI flags, with [`UnitError`] as the error),
//! [`Display`](std::fmt::Display) (which parses back to the same value), and serde's
//! `Serialize`/`Deserialize` as that text. Through [`Document::deserialize`](crate::Document::deserialize),
//! a bad value becomes a located diagnostic with the problem, what is allowed and the hint:
//!
//! ```text
//! gateway.yaml:4:14: routes[0].timeout: invalid duration: missing unit (got 5; expected a number with a unit: us, ms, s, m or h, e.g. `250ms` or `1.5s`; hint: add a unit, e.g. `5s`)
//! ```

mod byte_size;
mod duration;
mod error;
mod number;
mod percent;
mod rate;
mod text;

pub use byte_size::ByteSize;
pub use duration::Duration;
pub use error::UnitError;
pub use percent::Percent;
pub use rate::Rate;
