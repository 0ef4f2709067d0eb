//! Fetches a `/metrics` page and parses it into a [`MetricSet`].
//!
//! The scraper asks for text format 0.0.4 first (what `promtool check metrics` lints and
//! what prometheus-client serves on request) but accepts OpenMetrics; the parser tells them
//! apart by content, not by Content-Type, because servers commonly label OpenMetrics output
//! `text/plain`.

use std::time::Duration;

use super::error::{ClientError, ParseError, ParseErrorKind};
use super::exposition::MetricSet;
use super::transport::{Transport, parse_url};

const ACCEPT: &str = "text/plain;version=0.0.4;q=1.0,\
                      application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1";

/// Scrapes `/metrics` endpoints. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Scraper {
    transport: Transport,
}

// === impl Scraper ===

impl Scraper {
    /// A scraper whose requests (connect, request, body) each end after `timeout`.
    pub fn new(timeout: Duration) -> Result<Self, ClientError> {
        Ok(Self {
            transport: Transport::new(timeout)?,
        })
    }

    /// GETs `url` and parses the body. Anything but a 2xx is [`ClientError::Status`]; a body
    /// that is not valid exposition text is [`ClientError::Exposition`] with the line.
    pub async fn scrape(&self, url: &str) -> Result<MetricSet, ClientError> {
        let url = parse_url(url)?;
        let response = self.transport.get(url, ACCEPT).await?;
        if !response.is_success() {
            return Err(response.status_error());
        }
        let exposition = |source| ClientError::Exposition {
            url: response.url.to_string(),
            source,
        };
        let text = std::str::from_utf8(&response.body).map_err(|e| {
            let before = response.body.get(..e.valid_up_to()).unwrap_or_default();
            exposition(ParseError {
                line: 1 + before.iter().filter(|b| **b == b'\n').count(),
                kind: ParseErrorKind::InvalidUtf8,
            })
        })?;
        tracing::debug!(url = %response.url, content_type = ?response.content_type, "Scraped");
        MetricSet::parse(text).map_err(exposition)
    }
}
