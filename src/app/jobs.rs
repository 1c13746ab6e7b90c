//! Slow work off the request path: a small pool of worker threads runs submitted jobs in
//! order; callers poll a job's progress by id and take its result once it is done.
//! Finished jobs are kept for `keep_for`, then forgotten; the queue is bounded.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A job's identifier (a random UUID).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobId(pub String);

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a job is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for a worker.
    Queued,
    /// Being worked on.
    Running,
    /// Done; the result can be taken.
    Done,
    /// Failed, with a message for the caller.
    Failed(String),
}

/// A snapshot of a job for polling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStatus {
    /// The job.
    pub id: JobId,
    /// Its state.
    pub state: JobState,
    /// Units of work done (pages).
    pub done: u64,
    /// Units of work in total (0 while unknown).
    pub total: u64,
}

/// Why a job cannot be submitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobsError {
    /// Too many jobs are waiting.
    #[error("{0} jobs are already waiting: try again later")]
    QueueFull(usize),
}

/// A full queue is a request over a limit (RESOURCE_EXHAUSTED), with the same message.
impl From<JobsError> for crate::error::Error {
    fn from(e: JobsError) -> Self {
        match e.kind() {
            crate::error_kind::ErrorKind::ResourceExhausted => Self::TooLarge(e.to_string()),
            _ => Self::Internal(e.to_string()),
        }
    }
}

impl JobsError {
    /// The kind of this failure: a full queue is exhausted resources.
    pub fn kind(&self) -> crate::error_kind::ErrorKind {
        match self {
            Self::QueueFull(_) => crate::error_kind::ErrorKind::ResourceExhausted,
        }
    }
}

/// What a running job reports its progress through.
#[derive(Clone)]
pub struct Progress {
    entry: Arc<Mutex<(u64, u64)>>,
}

impl Progress {
    /// Sets `done` out of `total` units.
    pub fn set(&self, done: u64, total: u64) {
        if let Ok(mut e) = self.entry.lock() {
            *e = (done, total);
        }
    }
}

type Work<T> = Box<dyn FnOnce(&Progress) -> Result<T, String> + Send>;

struct Entry<T> {
    state: JobState,
    progress: Arc<Mutex<(u64, u64)>>,
    result: Option<T>,
    finished: Option<Instant>,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    wake: Condvar,
}

struct State<T> {
    entries: HashMap<JobId, Entry<T>>,
    queue: VecDeque<(JobId, Work<T>)>,
    stopping: bool,
}

/// A pool of workers running jobs that produce a `T`.
pub struct Jobs<T: Send + 'static> {
    shared: Arc<Shared<T>>,
    max_queued: usize,
    keep_for: Duration,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl<T: Send + 'static> Jobs<T> {
    /// Starts `workers` threads (at least one); at most `max_queued` jobs may wait.
    pub fn new(workers: usize, max_queued: usize, keep_for: Duration) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                entries: HashMap::new(),
                queue: VecDeque::new(),
                stopping: false,
            }),
            wake: Condvar::new(),
        });
        let workers = (0..workers.max(1))
            .map(|_| {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || worker(&shared))
            })
            .collect();
        Self {
            shared,
            max_queued,
            keep_for,
            workers,
        }
    }

    /// Queues `work`; returns its id at once.
    pub fn submit(
        &self,
        work: impl FnOnce(&Progress) -> Result<T, String> + Send + 'static,
    ) -> Result<JobId, JobsError> {
        self.submit_sized(0, work)
    }

    /// Queues `work` of `total` units (shown while it waits); returns its id at once.
    pub fn submit_sized(
        &self,
        total: u64,
        work: impl FnOnce(&Progress) -> Result<T, String> + Send + 'static,
    ) -> Result<JobId, JobsError> {
        let mut st = lock(&self.shared.state);
        self.forget_old(&mut st);
        if st.queue.len() >= self.max_queued {
            return Err(JobsError::QueueFull(st.queue.len()));
        }
        let id = JobId(uuid::Uuid::new_v4().to_string());
        st.entries.insert(
            id.clone(),
            Entry {
                state: JobState::Queued,
                progress: Arc::new(Mutex::new((0, total))),
                result: None,
                finished: None,
            },
        );
        st.queue.push_back((id.clone(), Box::new(work)));
        drop(st);
        self.shared.wake.notify_one();
        Ok(id)
    }

    /// The job's state and progress, or `None` for an unknown (or forgotten) id.
    pub fn status(&self, id: &JobId) -> Option<JobStatus> {
        let mut st = lock(&self.shared.state);
        self.forget_old(&mut st);
        let e = st.entries.get(id)?;
        let (done, total) = *e.progress.lock().ok()?;
        Some(JobStatus {
            id: id.clone(),
            state: e.state.clone(),
            done,
            total,
        })
    }

    /// Reads the result of a finished job with `f` (the job stays until forgotten).
    pub fn with_result<R>(&self, id: &JobId, f: impl FnOnce(&T) -> R) -> Option<R> {
        let st = lock(&self.shared.state);
        st.entries.get(id)?.result.as_ref().map(f)
    }

    fn forget_old(&self, st: &mut State<T>) {
        let keep = self.keep_for;
        st.entries
            .retain(|_, e| e.finished.is_none_or(|t| t.elapsed() < keep));
    }
}

impl<T: Send + 'static> Drop for Jobs<T> {
    fn drop(&mut self) {
        lock(&self.shared.state).stopping = true;
        self.shared.wake.notify_all();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn worker<T: Send + 'static>(shared: &Arc<Shared<T>>) {
    loop {
        let (id, work, progress) = {
            let mut st = lock(&shared.state);
            loop {
                if st.stopping {
                    return;
                }
                if let Some((id, work)) = st.queue.pop_front() {
                    let progress = match st.entries.get_mut(&id) {
                        Some(e) => {
                            e.state = JobState::Running;
                            Arc::clone(&e.progress)
                        }
                        None => continue,
                    };
                    break (id, work, progress);
                }
                st = shared
                    .wake
                    .wait(st)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
        };
        let reporter = Progress { entry: progress };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&reporter)))
            .unwrap_or_else(|_| Err("the job failed unexpectedly".into()));
        let mut st = lock(&shared.state);
        if let Some(e) = st.entries.get_mut(&id) {
            e.finished = Some(Instant::now());
            match outcome {
                Ok(v) => {
                    e.result = Some(v);
                    e.state = JobState::Done;
                }
                Err(msg) => e.state = JobState::Failed(msg),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_done<T: Send + 'static>(jobs: &Jobs<T>, id: &JobId) -> JobStatus {
        for _ in 0..500 {
            let s = jobs.status(id).unwrap();
            if matches!(s.state, JobState::Done | JobState::Failed(_)) {
                return s;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("job did not finish");
    }

    #[test]
    fn jobs_run_report_progress_and_fail_cleanly() {
        let jobs: Jobs<u32> = Jobs::new(1, 4, Duration::from_secs(60));
        let ok = jobs
            .submit(|p| {
                p.set(1, 2);
                p.set(2, 2);
                Ok(42)
            })
            .unwrap();
        let bad = jobs.submit(|_| Err("no".into())).unwrap();
        let boom = jobs.submit(|_| panic!("boom")).unwrap();
        let s = wait_done(&jobs, &ok);
        assert_eq!((s.state, s.done, s.total), (JobState::Done, 2, 2));
        assert_eq!(jobs.with_result(&ok, |v| *v), Some(42));
        assert_eq!(wait_done(&jobs, &bad).state, JobState::Failed("no".into()));
        assert!(matches!(wait_done(&jobs, &boom).state, JobState::Failed(_)));
        assert!(jobs.status(&JobId("unknown".into())).is_none());
    }

    #[test]
    fn queue_is_bounded() {
        let jobs: Jobs<()> = Jobs::new(1, 1, Duration::from_secs(60));
        let gate = Arc::new(Mutex::new(()));
        let held = gate.lock().unwrap();
        let g = Arc::clone(&gate);
        jobs.submit(move |_| {
            let _g = g.lock();
            Ok(())
        })
        .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        jobs.submit(|_| Ok(())).unwrap();
        assert_eq!(jobs.submit(|_| Ok(())), Err(JobsError::QueueFull(1)));
        drop(held);
    }
}
