//! Where a long job's time goes, for whoever tunes it: with `BAOXUE_TRACE_MERGE=1` (a bundle
//! merge) or `BAOXUE_TRACE_IMPORT=1` (a roll import; of other imports, the reading thread) in the
//! environment, each step prints one line to stderr with the CPU time of the thread that did it,
//! how long that thread waited for a core meanwhile, and the wall time since the job began (wall
//! minus both is time the thread was blocked: on the other thread or on the disk). Silent
//! otherwise (one check of a flag per step); never prints record contents.

use std::sync::OnceLock;
use std::time::Instant;

/// The jobs that can be traced, each switched on by its own variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Merge,
    Import,
}

impl Job {
    fn on(self) -> bool {
        static MERGE: OnceLock<bool> = OnceLock::new();
        static IMPORT: OnceLock<bool> = OnceLock::new();
        let (cell, var) = match self {
            Job::Merge => (&MERGE, "BAOXUE_TRACE_MERGE"),
            Job::Import => (&IMPORT, "BAOXUE_TRACE_IMPORT"),
        };
        *cell.get_or_init(|| std::env::var_os(var).is_some_and(|v| v != "0"))
    }

    fn tag(self) -> &'static str {
        match self {
            Job::Merge => "merge",
            Job::Import => "import",
        }
    }
}

/// CPU time of the calling thread, in milliseconds (0 where unknown).
fn thread_cpu_ms() -> f64 {
    #[cfg(target_os = "linux")]
    {
        let mut t = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: plain system call filling the struct we own.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) } == 0 {
            return t.tv_sec as f64 * 1e3 + t.tv_nsec as f64 / 1e6;
        }
    }
    0.0
}

/// Time the calling thread has spent ready to run but waiting for a core, in milliseconds
/// (`/proc/thread-self/schedstat`; 0 where unknown): what other threads and processes took.
fn thread_queued_ms() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |ns| ns / 1e6)
}

/// One thread's clock for tracing: `step` prints the CPU time since the previous step.
pub struct Clock {
    job: Job,
    on: bool,
    who: &'static str,
    start: Instant,
    cpu: f64,
    first_cpu: f64,
    queued: f64,
}

impl Clock {
    /// A merge's clock (`BAOXUE_TRACE_MERGE`).
    pub fn new(who: &'static str, start: Instant) -> Clock {
        Clock::of(Job::Merge, who, start)
    }

    /// A clock of `job` for the thread `who`, counting from `start`.
    pub fn of(job: Job, who: &'static str, start: Instant) -> Clock {
        let on = job.on();
        let cpu = if on { thread_cpu_ms() } else { 0.0 };
        Clock {
            job,
            on,
            who,
            start,
            cpu,
            first_cpu: cpu,
            queued: if on { thread_queued_ms() } else { 0.0 },
        }
    }

    pub fn step(&mut self, what: impl FnOnce() -> String) {
        if !self.on {
            return;
        }
        let now = thread_cpu_ms();
        let queued = thread_queued_ms();
        eprintln!(
            "[{}] {:<7} {:<32} {:>7.0} ms cpu (thread total {:>6.0}), {:>4.0} ms queued, at {:>6} ms",
            self.job.tag(),
            self.who,
            what(),
            now - self.cpu,
            now - self.first_cpu,
            queued - self.queued,
            self.start.elapsed().as_millis()
        );
        self.cpu = now;
        self.queued = queued;
    }
}
