//! Coalesced reads that stay linearizable.
//!
//! Busy services ask an upstream for the same small, fast-changing fact on every call
//! (the data revision, the latest version of a model). Caching it for a while would
//! serve stale answers after a write; asking on every call puts a round trip and an
//! upstream query in front of every cached read. [`Coalesced`] does neither: callers
//! that arrive while a read of a key is in flight wait for the *next* read, which one of
//! them starts as soon as the current one ends, and all of them share its result.
//!
//! Every caller therefore gets a value read after it arrived (what asking on its own
//! would give), while the upstream sees at most one read in flight per key and at most
//! two reads per round trip, however many callers there are.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::{ServiceError, ServiceResult};

/// Shared reads by key; see the module documentation.
pub struct Coalesced<K, T> {
    flights: Mutex<HashMap<K, Arc<Flight<T>>>>,
}

impl<K, T> Default for Coalesced<K, T> {
    fn default() -> Self {
        Coalesced {
            flights: Mutex::new(HashMap::new()),
        }
    }
}

impl<K, T> std::fmt::Debug for Coalesced<K, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coalesced").finish_non_exhaustive()
    }
}

struct Flight<T> {
    state: Mutex<FlightState<T>>,
    finished: Notify,
}

struct FlightState<T> {
    /// Generation of the last read started.
    started: u64,
    running: bool,
    /// Generation of the last read that finished, and its result.
    completed: u64,
    result: Option<Result<T, ServiceError>>,
}

fn lock<S>(m: &Mutex<S>) -> MutexGuard<'_, S> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn share<T: Clone>(result: &Result<T, ServiceError>) -> Result<T, ServiceError> {
    match result {
        Ok(value) => Ok(value.clone()),
        Err(e) => Err(e.duplicate()),
    }
}

/// What a caller does next.
enum Step<T> {
    /// A read that started after it arrived has finished: its result.
    Done(ServiceResult<T>),
    /// A read is in flight: wait for it to finish.
    Wait,
    /// Nothing is in flight: lead read number `.0`.
    Lead(u64),
}

impl<T: Clone> Flight<T> {
    fn next_step(&self, needed: u64) -> Step<T> {
        let mut state = lock(&self.state);
        if state.completed >= needed {
            if let Some(result) = &state.result {
                return Step::Done(share(result));
            }
        }
        if state.running {
            return Step::Wait;
        }
        state.running = true;
        state.started += 1;
        Step::Lead(state.started)
    }

    fn finish(&self, generation: u64, result: ServiceResult<T>) {
        {
            let mut state = lock(&self.state);
            state.running = false;
            state.completed = generation;
            state.result = Some(result);
        }
        self.finished.notify_waiters();
    }
}

/// Ends a leader's read; if the leader is dropped first (its caller went away), lets a
/// waiting caller lead the next read instead.
struct Lead<'a, T> {
    flight: &'a Flight<T>,
    done: bool,
}

impl<T> Drop for Lead<'_, T> {
    fn drop(&mut self) {
        if !self.done {
            lock(&self.flight.state).running = false;
            self.flight.finished.notify_waiters();
        }
    }
}

/// Flights kept before idle ones are dropped.
const MAX_KEYS: usize = 1024;

impl<K: Hash + Eq + Clone, T: Clone> Coalesced<K, T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `key` as read by a `read` that started after this call did: this
    /// call's own, or one shared with callers that arrived at about the same time.
    /// Callers bound the wait with their own deadline (drop the future to give up).
    pub async fn get<F, Fut>(&self, key: &K, read: F) -> ServiceResult<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ServiceResult<T>>,
    {
        let flight = self.flight(key);
        // The first read that starts after this point is the one this call may use.
        let needed = lock(&flight.state).started + 1;
        let mut read = Some(read);
        loop {
            let finished = flight.finished.notified();
            tokio::pin!(finished);
            finished.as_mut().enable();
            match flight.next_step(needed) {
                Step::Done(result) => return result,
                Step::Wait => finished.await,
                Step::Lead(generation) => {
                    let mut lead = Lead {
                        flight: &flight,
                        done: false,
                    };
                    let read = read.take().expect("a caller leads at most one read");
                    let result = read().await;
                    flight.finish(generation, share(&result));
                    lead.done = true;
                    return result;
                }
            }
        }
    }

    fn flight(&self, key: &K) -> Arc<Flight<T>> {
        let mut flights = lock(&self.flights);
        if let Some(f) = flights.get(key) {
            return f.clone();
        }
        if flights.len() >= MAX_KEYS {
            flights.retain(|_, f| Arc::strong_count(f) > 1);
        }
        let f = Arc::new(Flight {
            state: Mutex::new(FlightState {
                started: 0,
                running: false,
                completed: 0,
                result: None,
            }),
            finished: Notify::new(),
        });
        flights.insert(key.clone(), f.clone());
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;
    use tokio::sync::Semaphore;

    /// A read that counts itself, answers with its own number, and waits for a permit.
    struct Upstream {
        reads: AtomicU64,
        gate: Semaphore,
    }

    impl Upstream {
        fn new() -> Arc<Self> {
            Arc::new(Upstream {
                reads: AtomicU64::new(0),
                gate: Semaphore::new(0),
            })
        }

        async fn read(&self) -> ServiceResult<u64> {
            let n = self.reads.fetch_add(1, Ordering::SeqCst) + 1;
            self.gate.acquire().await.unwrap().forget();
            Ok(n)
        }
    }

    async fn settle() {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    #[tokio::test]
    async fn callers_arriving_during_a_read_share_the_next_one() {
        let c = Arc::new(Coalesced::<(), u64>::new());
        let up = Upstream::new();
        let first = tokio::spawn({
            let (c, up) = (c.clone(), up.clone());
            async move { c.get(&(), || up.read()).await }
        });
        settle().await;
        assert_eq!(up.reads.load(Ordering::SeqCst), 1);
        // Ten callers arrive while read 1 is in flight: it began before them, so they
        // must not be given its answer.
        let late: Vec<_> = (0..10)
            .map(|_| {
                let (c, up) = (c.clone(), up.clone());
                tokio::spawn(async move { c.get(&(), || up.read()).await })
            })
            .collect();
        settle().await;
        assert_eq!(
            up.reads.load(Ordering::SeqCst),
            1,
            "nobody reads in parallel"
        );
        up.gate.add_permits(1);
        assert_eq!(first.await.unwrap().unwrap(), 1);
        settle().await;
        assert_eq!(up.reads.load(Ordering::SeqCst), 2, "one read for all ten");
        up.gate.add_permits(1);
        for l in late {
            assert_eq!(l.await.unwrap().unwrap(), 2);
        }
        // A caller arriving when nothing is in flight reads anew.
        up.gate.add_permits(1);
        assert_eq!(c.get(&(), || up.read()).await.unwrap(), 3);
    }

    #[tokio::test]
    async fn keys_do_not_wait_for_each_other() {
        let c = Arc::new(Coalesced::<&'static str, u64>::new());
        let up = Upstream::new();
        let a = tokio::spawn({
            let (c, up) = (c.clone(), up.clone());
            async move { c.get(&"a", || up.read()).await }
        });
        settle().await;
        let b = c.get(&"b", || async { Ok(42) }).await.unwrap();
        assert_eq!(b, 42);
        up.gate.add_permits(1);
        assert_eq!(a.await.unwrap().unwrap(), 1);
    }

    #[tokio::test]
    async fn a_failed_read_fails_its_sharers_too() {
        let c = Arc::new(Coalesced::<(), u64>::new());
        let gate = Arc::new(Semaphore::new(0));
        let leader = tokio::spawn({
            let (c, gate) = (c.clone(), gate.clone());
            async move {
                c.get(&(), || async move {
                    gate.acquire().await.unwrap().forget();
                    Ok(1)
                })
                .await
            }
        });
        settle().await;
        let follower = tokio::spawn({
            let (c, gate) = (c.clone(), gate.clone());
            async move {
                c.get(&(), || async move {
                    gate.acquire().await.unwrap().forget();
                    Err(ServiceError::Unavailable("upstream down".into()))
                })
                .await
            }
        });
        let other = tokio::spawn({
            let c = c.clone();
            async move { c.get(&(), || async { Ok(7) }).await }
        });
        settle().await;
        gate.add_permits(2);
        assert_eq!(leader.await.unwrap().unwrap(), 1);
        let results = [follower.await.unwrap(), other.await.unwrap()];
        // Whichever of the two led the second read, both got its result.
        let down = results
            .iter()
            .filter(|r| matches!(r, Err(ServiceError::Unavailable(m)) if m == "upstream down"))
            .count();
        let sevens = results.iter().filter(|r| matches!(r, Ok(7))).count();
        assert!(down == 2 || sevens == 2, "{results:?}");
    }

    #[tokio::test]
    async fn a_caller_that_gives_up_hands_the_read_to_a_waiting_one() {
        let c = Arc::new(Coalesced::<(), u64>::new());
        let up = Upstream::new();
        let impatient = tokio::spawn({
            let (c, up) = (c.clone(), up.clone());
            async move {
                tokio::time::timeout(Duration::from_millis(50), c.get(&(), || up.read())).await
            }
        });
        settle().await;
        let patient = tokio::spawn({
            let c = c.clone();
            async move { c.get(&(), || async { Ok(99) }).await }
        });
        assert!(impatient.await.unwrap().is_err(), "timed out");
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(5), patient)
                .await
                .expect("the waiting caller is not stranded")
                .unwrap()
                .unwrap(),
            99
        );
    }
}
