//! The weighted request mix: validated request templates and the seeded choice among them.

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use rand::{Rng, RngExt};

/// A validated mix entry: everything needed to build the request but its trace context.
#[derive(Clone, Debug)]
pub(crate) struct RequestTemplate {
    pub(crate) method: Method,
    /// Absolute URI: the target's authority plus the entry's path and query.
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// At least 1.
    pub(crate) weight: u32,
}

/// Templates with their cumulative weights, for an O(log n) weighted choice.
#[derive(Clone, Debug)]
pub(crate) struct Mix {
    templates: Vec<RequestTemplate>,
    /// `ends[i]` = sum of the weights of templates `0..=i`; strictly increasing.
    ends: Vec<u64>,
}

// === impl Mix ===

impl Mix {
    /// The mix of `templates`; `None` when there are none (every weight is at least 1, so a
    /// non-empty mix has a positive total).
    pub(crate) fn new(templates: Vec<RequestTemplate>) -> Option<Self> {
        if templates.is_empty() {
            return None;
        }
        let ends = templates
            .iter()
            .scan(0u64, |sum, t| {
                *sum += u64::from(t.weight.max(1));
                Some(*sum)
            })
            .collect();
        Some(Mix { templates, ends })
    }

    /// Draws a template index with probability weight / total.
    pub(crate) fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        let total = self.ends.last().copied().unwrap_or(1);
        let ticket = rng.random_range(0..total);
        // The first entry whose cumulative weight passes the ticket.
        self.ends
            .partition_point(|&end| end <= ticket)
            .min(self.templates.len().saturating_sub(1))
    }

    /// The template at `index` (as returned by [`Mix::pick`]).
    pub(crate) fn get(&self, index: usize) -> Option<&RequestTemplate> {
        self.templates.get(index)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn template(weight: u32) -> RequestTemplate {
        RequestTemplate {
            method: Method::GET,
            uri: Uri::from_static("http://127.0.0.1:1/"),
            headers: HeaderMap::new(),
            body: Bytes::new(),
            weight,
        }
    }

    #[test]
    fn mix_without_templates_is_none() {
        assert!(Mix::new(Vec::new()).is_none());
    }

    #[test]
    fn mix_picks_each_template_in_proportion_to_its_weight() {
        let mix = Mix::new(vec![template(1), template(3), template(6)]);
        let mix = mix.unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        let n = 20_000u32;
        let mut counts = [0u32; 3];
        for _ in 0..n {
            counts[mix.pick(&mut rng)] += 1;
        }
        for (count, p) in counts.iter().zip([0.1, 0.3, 0.6]) {
            // Four standard deviations of a binomial(n, p).
            let expected = f64::from(n) * p;
            let sigma = (f64::from(n) * p * (1.0 - p)).sqrt();
            assert!(
                (f64::from(*count) - expected).abs() < 4.0 * sigma,
                "{counts:?}"
            );
        }
    }

    #[test]
    fn single_template_is_always_picked() {
        let mix = Mix::new(vec![template(5)]).unwrap();
        let mut rng = StdRng::seed_from_u64(1);
        assert!((0..100).all(|_| mix.pick(&mut rng) == 0));
    }
}
