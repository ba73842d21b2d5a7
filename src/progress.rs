//! Following and stopping a long job (an import, a bundle export or merge): the job reports
//! `Progress` through a callback and checks a cancel flag between batches. A cancelled job returns
//! an error whose code is `cancelled` and rolls its transaction back: nothing is half-written.

use std::sync::atomic::{AtomicBool, Ordering};

/// Progress of a job: units done (rows, records), and an estimate of the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    pub total_estimate: u64,
}

/// How the caller follows and stops a job. The progress callback may set the cancel flag.
#[derive(Default)]
pub struct Control<'a> {
    pub progress: Option<&'a mut dyn FnMut(Progress)>,
    pub cancel: Option<&'a AtomicBool>,
}

impl Control<'_> {
    pub fn report(&mut self, done: u64, total_estimate: u64) {
        if let Some(p) = self.progress.as_mut() {
            p(Progress {
                done,
                total_estimate: total_estimate.max(done),
            });
        }
    }
    pub fn cancelled(&self) -> bool {
        self.cancel
            .map(|c| c.load(Ordering::Relaxed))
            .unwrap_or(false)
    }
}
