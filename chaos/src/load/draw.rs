//! The seeded decisions for each request, made in sequence order before anything is sent:
//! when it is due, which mix entry it uses, and its trace context.
//!
//! Drawing in a fixed order from one seeded generator makes a run's requests, and so its
//! trace ids, the same for the same seed, whatever the network does: a dropped request
//! still consumes its draws.

use std::time::Duration;

use observability::tracecontext::{Extracted, TraceContext};
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::spec::LoadSpec;

/// Everything decided about request `seq` before it is due.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Draw {
    pub(crate) seq: u64,
    /// Due time, offset from the run's start.
    pub(crate) intended: Duration,
    /// Index into the spec's mix.
    pub(crate) template: usize,
    /// A new root context: random trace and span ids, `random-trace-id` flag, `sampled` by
    /// the spec's share.
    pub(crate) trace: TraceContext,
}

/// The run's draws in sequence order.
pub(crate) struct Draws<'a> {
    spec: &'a LoadSpec,
    rng: StdRng,
    next: u64,
}

// === impl Draws ===

impl<'a> Draws<'a> {
    /// The draws of `spec`, seeded by its seed.
    pub(crate) fn new(spec: &'a LoadSpec) -> Self {
        Draws {
            spec,
            rng: StdRng::seed_from_u64(spec.seed),
            next: 0,
        }
    }
}

impl Iterator for Draws<'_> {
    type Item = Draw;

    fn next(&mut self) -> Option<Draw> {
        let seq = self.next;
        let intended = self.spec.schedule.intended(seq)?;
        self.next += 1;
        let template = self.spec.mix.pick(&mut self.rng);
        // A request with no incoming context starts a trace exactly as the gateway would:
        // ids from the generator, the ratio sampler deciding on the trace id.
        let trace = Extracted::Missing.continue_or_start(&self.spec.sampler, &mut self.rng);
        Some(Draw {
            seq,
            intended,
            template,
            trace,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::load::spec::{LoadInput, Rate, RequestInput};

    fn spec(seed: u64, sample_traces: f64) -> LoadSpec {
        let mut input = LoadInput::new(
            "http://127.0.0.1:9",
            Rate::Constant {
                per_second: 1_000.0,
            },
            Duration::from_secs(4),
        );
        input.seed = seed;
        input.sample_traces = Some(sample_traces);
        input.mix = vec![
            RequestInput::new("GET", "/a"),
            RequestInput::new("POST", "/b"),
        ];
        input.mix[1].weight = 3;
        LoadSpec::validate(input).unwrap()
    }

    #[test]
    fn draws_are_identical_for_the_same_seed() {
        let draws = |seed| Draws::new(&spec(seed, 0.5)).collect::<Vec<Draw>>();
        let first = draws(42);
        assert_eq!(first.len(), 4_000);
        assert_eq!(first, draws(42));
        let ids = |draws: &[Draw]| draws.iter().map(|d| d.trace.trace_id()).collect::<Vec<_>>();
        let templates = |draws: &[Draw]| draws.iter().map(|d| d.template).collect::<Vec<_>>();
        let other = draws(43);
        assert_ne!(ids(&first), ids(&other));
        assert_ne!(templates(&first), templates(&other));
    }

    #[test]
    fn draws_follow_the_mix_weights_within_binomial_tolerance() {
        let spec = spec(9, 1.0);
        let n = 4_000.0;
        let heavy = Draws::new(&spec).filter(|d| d.template == 1).count() as f64;
        let sigma = (n * 0.75 * 0.25f64).sqrt();
        assert!((heavy - 0.75 * n).abs() < 4.0 * sigma, "{heavy} of {n}");
    }

    #[test]
    fn draws_have_unique_valid_trace_ids_and_the_sampled_share() {
        let spec = spec(3, 0.25);
        let draws: Vec<Draw> = Draws::new(&spec).collect();
        let ids: HashSet<_> = draws.iter().map(|d| d.trace.trace_id()).collect();
        assert_eq!(ids.len(), draws.len());
        assert!(draws.iter().all(|d| d.trace.trace_id().is_valid()));
        let sampled = draws
            .iter()
            .filter(|d| d.trace.parent.flags().is_sampled())
            .count();
        let n = draws.len() as f64;
        let sigma = (n * 0.25 * 0.75f64).sqrt();
        assert!(
            (sampled as f64 - 0.25 * n).abs() < 4.0 * sigma,
            "{sampled} of {n}"
        );
        assert!(
            draws
                .iter()
                .all(|d| d.trace.parent.flags().is_random_trace_id())
        );
    }

    #[test]
    fn draws_carry_the_schedule_times_in_order() {
        let spec = spec(1, 1.0);
        for draw in Draws::new(&spec).take(10) {
            assert_eq!(draw.intended, Duration::from_millis(draw.seq));
        }
    }
}
