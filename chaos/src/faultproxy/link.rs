//! One link (one direction of one connection): its chain of running stages, and the
//! rewiring that applies toxic changes to it while it carries traffic.
//!
//! Mirrors Toxiproxy's `link.go`. Stage 0 is a hidden `noop`; stage `i` runs the chain's
//! toxic `i` in its own task, reading the channel the previous stage writes. A chain change
//! interrupts the affected stages, rewires their channels and restarts them:
//!
//! - add: the last stage is interrupted, the new stage is spliced in after it, both start;
//! - update: the toxic's stage is interrupted and restarted with the new attributes;
//! - remove: the toxic's stage is interrupted (a latency stage releases its held chunk),
//!   the previous stage is interrupted while the removed stage's queue is flushed onward,
//!   then the previous stage is wired to the removed one's output and restarted. Removing
//!   a `timeout` instead closes the link.
//!
//! Every (re)start rolls the toxicity once from the link's seeded RNG: below `toxicity` the
//! toxic runs, otherwise a noop runs in its place until the next restart.

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::connection::{LinkEnds, Sockets};
use super::model::Toxic;
use super::toxics::{Chunk, StageExit, Stub, UNBUFFERED, pipe_noop};

/// A running stage: its interrupt switch and the task that hands the stub back.
#[derive(Debug)]
struct StageRun {
    interrupt: CancellationToken,
    task: JoinHandle<(Stub, StageExit)>,
}

#[derive(Debug)]
struct Stage {
    toxic: Arc<Toxic>,
    /// `None` once the stage closed or was killed: the link is finishing.
    run: Option<StageRun>,
}

/// The stages of one live link.
#[derive(Debug)]
pub(crate) struct LinkChain {
    stages: Vec<Stage>,
    rng: StdRng,
    sockets: Arc<Sockets>,
    kill: CancellationToken,
}

// === impl LinkChain ===

impl LinkChain {
    /// Starts a link running `chain` (head noop included), with its RNG seeded by `seed`.
    pub(crate) fn start(
        chain: &[Arc<Toxic>],
        sockets: Arc<Sockets>,
        kill: CancellationToken,
        seed: u64,
    ) -> (Self, LinkEnds) {
        let mut link = LinkChain {
            stages: Vec::with_capacity(chain.len()),
            rng: StdRng::seed_from_u64(seed),
            sockets,
            kill,
        };
        let (input, mut previous) = mpsc::channel(UNBUFFERED);
        let mut stubs = Vec::with_capacity(chain.len());
        for (index, toxic) in chain.iter().enumerate() {
            let capacity = chain
                .get(index + 1)
                .map_or(UNBUFFERED, |next| next.kind.buffer_size());
            let (tx, rx) = mpsc::channel(capacity);
            stubs.push(Stub::new(previous, tx, Arc::clone(&link.sockets)));
            previous = rx;
            link.stages.push(Stage {
                toxic: Arc::clone(toxic),
                run: None,
            });
        }
        for (index, stub) in stubs.into_iter().enumerate() {
            link.spawn(index, stub);
        }
        let ends = LinkEnds {
            input,
            output: previous,
        };
        (link, ends)
    }

    /// Appends `toxic` to the end of the chain.
    pub(crate) async fn add(&mut self, toxic: Arc<Toxic>) {
        let index = self.stages.len();
        let (tx, rx) = mpsc::channel(toxic.kind.buffer_size());
        self.stages.push(Stage { toxic, run: None });
        let Some(last) = index.checked_sub(1) else {
            return;
        };
        // A closed link keeps the new stage closed; the indexes stay aligned anyway.
        let Some(mut previous) = self.interrupt(last).await else {
            return;
        };
        let mut stub = Stub::new(rx, tx, Arc::clone(&self.sockets));
        std::mem::swap(&mut stub.output, &mut previous.output);
        self.spawn(index, stub);
        self.spawn(last, previous);
    }

    /// Restarts stage `index` with `toxic` (new attributes or toxicity).
    pub(crate) async fn update(&mut self, index: usize, toxic: Arc<Toxic>) {
        let Some(stage) = self.stages.get_mut(index) else {
            return;
        };
        stage.toxic = toxic;
        if let Some(stub) = self.interrupt(index).await {
            self.spawn(index, stub);
        }
    }

    /// Takes stage `index` out of the chain (see the module docs).
    pub(crate) async fn remove(&mut self, index: usize) {
        let (Some(stage), Some(before)) = (self.stages.get(index), index.checked_sub(1)) else {
            return;
        };
        let closes = stage.toxic.kind.closes_on_removal();
        let stub = self.interrupt(index).await;
        self.stages.remove(index);
        let Some(mut stub) = stub else {
            return;
        };
        if closes {
            // Dropping the stub closes its output (ending the link) and its input (the
            // previous stage closes at its next send).
            return;
        }

        // Interrupt the previous stage; meanwhile keep flushing what it sends, since it
        // may be blocked handing a chunk to the stage being removed.
        let mut input_open = true;
        let previous = {
            let interrupted = self.interrupt(before);
            tokio::pin!(interrupted);
            loop {
                tokio::select! {
                    result = &mut interrupted => break result,
                    chunk = stub.input.recv(), if input_open => match chunk {
                        Some(chunk) => forward(&mut stub, chunk).await,
                        None => input_open = false,
                    },
                }
            }
        };
        let Some(mut previous) = previous else {
            // The previous stage closed: pass on what it left, then the end.
            while let Some(chunk) = stub.input.recv().await {
                forward(&mut stub, chunk).await;
            }
            return;
        };
        while let Ok(chunk) = stub.input.try_recv() {
            forward(&mut stub, chunk).await;
        }
        previous.output = stub.output.take();
        self.spawn(before, previous);
    }

    /// Stops stage `index` and returns its stub, or `None` when it had closed, was killed,
    /// or failed: the link is finishing and nothing is restarted.
    async fn interrupt(&mut self, index: usize) -> Option<Stub> {
        let run = self.stages.get_mut(index)?.run.take()?;
        run.interrupt.cancel();
        match run.task.await {
            Ok((stub, StageExit::Interrupted)) => Some(stub),
            _ => None,
        }
    }

    /// Starts stage `index` on `stub`: rolls the toxicity, seeds the stage's own RNG.
    fn spawn(&mut self, index: usize, mut stub: Stub) {
        let Some(stage) = self.stages.get_mut(index) else {
            return;
        };
        let toxic = Arc::clone(&stage.toxic);
        let active = self.rng.random::<f32>() < toxic.toxicity;
        let mut rng = StdRng::seed_from_u64(self.rng.random());
        let interrupt = CancellationToken::new();
        let stage_interrupt = interrupt.clone();
        let kill = self.kill.clone();
        let task = tokio::spawn(async move {
            let exit = {
                let run = async {
                    if active {
                        toxic.kind.pipe(&mut stub, &stage_interrupt, &mut rng).await
                    } else {
                        pipe_noop(&mut stub, &stage_interrupt).await
                    }
                };
                tokio::select! {
                    biased;
                    () = kill.cancelled() => StageExit::Killed,
                    exit = run => exit,
                }
            };
            (stub, exit)
        });
        stage.run = Some(StageRun { interrupt, task });
    }
}

async fn forward(stub: &mut Stub, chunk: Chunk) {
    // A closed output means the link is finishing; the chunk has nowhere to go.
    let _ = stub.forward(chunk).await;
}

#[cfg(test)]
mod tests;
