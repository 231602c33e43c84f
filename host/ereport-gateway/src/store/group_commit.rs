//! Group commit: the responses that several sessions have ready at the
//! same moment are stored by one statement, in one transaction, instead of
//! one each.
//!
//! Sessions hand their request to [`GroupCommit::submit`]. While fewer than
//! `max_leaders` batches are being stored, a session takes every request
//! waiting (up to `max_batch`, one per key) and stores them together; the
//! others wait for that batch to end. No session waits for a timer: a
//! batch forms only from requests that arrived while earlier batches were
//! being stored, so a quiet collector stores each response alone, at once,
//! and a busy one in batches as large as the load makes them.
//!
//! The leader stores a batch of one as a single store, and a larger batch
//! in one statement that stores every request in it or none; a request the
//! batch did not store comes back `None`, and its session stores it by
//! itself, with the conflict check and error reporting of a single store.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard};

struct State<R, O> {
    queue: VecDeque<(u64, R)>,
    /// Outcomes of requests whose callers have not taken them yet; `None`:
    /// the caller stores it alone.
    done: BTreeMap<u64, Option<O>>,
    leaders: usize,
    next_ticket: u64,
}

/// Requests of type `R` waiting to be stored together, each with an
/// outcome `O`.
pub(crate) struct GroupCommit<R, O> {
    state: Mutex<State<R, O>>,
    ended: Condvar,
    max_leaders: usize,
    max_batch: usize,
}

impl<R, O> GroupCommit<R, O> {
    /// At most `max_leaders` batches at once (the connections there are
    /// for them), each of at most `max_batch` requests.
    pub(crate) fn new(max_leaders: usize, max_batch: usize) -> Self {
        GroupCommit {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                done: BTreeMap::new(),
                leaders: 0,
                next_ticket: 0,
            }),
            ended: Condvar::new(),
            max_leaders: max_leaders.max(1),
            max_batch: max_batch.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<R, O>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Submits `req` and returns its outcome once its batch is stored, or
    /// `None` once it is up to the caller to store it alone. `key` tells
    /// requests apart that may not share a batch (one SP's two responses);
    /// `store` stores a batch (given in the order the requests came) and
    /// returns an outcome for each, `None` for one it did not store.
    pub(crate) fn submit(
        &self,
        req: R,
        key: impl Fn(&R) -> &str,
        store: impl Fn(Vec<R>) -> Vec<Option<O>>,
    ) -> Option<O> {
        let mut state = self.lock();
        let ticket = state.next_ticket;
        state.next_ticket = state.next_ticket.wrapping_add(1);
        state.queue.push_back((ticket, req));
        loop {
            if let Some(outcome) = state.done.remove(&ticket) {
                return outcome;
            }
            if state.leaders < self.max_leaders && !state.queue.is_empty() {
                state.leaders += 1;
                let batch = self.take_batch(&mut state, &key);
                drop(state);
                let (tickets, requests): (Vec<u64>, Vec<R>) = batch.into_iter().unzip();
                // Should `store` unwind, the guard still ends the batch
                // (its requests then left to their callers), so no caller
                // waits for ever.
                let mut guard = Leading {
                    group: self,
                    tickets,
                };
                let outcomes = store(requests);
                state = guard.end(outcomes);
                continue;
            }
            state = self.ended.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Ends a batch: its outcomes recorded, one leader fewer, the waiting
    /// callers woken.
    fn end_batch(
        &self,
        tickets: &mut Vec<u64>,
        outcomes: Vec<Option<O>>,
    ) -> MutexGuard<'_, State<R, O>> {
        let mut state = self.lock();
        state.leaders = state.leaders.saturating_sub(1);
        let mut outcomes = outcomes.into_iter();
        for t in tickets.drain(..) {
            state.done.insert(t, outcomes.next().flatten());
        }
        self.ended.notify_all();
        state
    }

    /// The oldest waiting requests, at most one per key and at most
    /// `max_batch`; the rest stay queued in order.
    fn take_batch(&self, state: &mut State<R, O>, key: &impl Fn(&R) -> &str) -> Vec<(u64, R)> {
        let mut batch: Vec<(u64, R)> = Vec::new();
        let mut rest = VecDeque::new();
        while let Some((t, r)) = state.queue.pop_front() {
            if batch.len() < self.max_batch && !batch.iter().any(|(_, b)| key(b) == key(&r)) {
                batch.push((t, r));
            } else {
                rest.push_back((t, r));
            }
        }
        state.queue = rest;
        batch
    }
}

/// A batch being stored: ends it when dropped if [`Leading::end`] did
/// not.
struct Leading<'a, R, O> {
    group: &'a GroupCommit<R, O>,
    tickets: Vec<u64>,
}

impl<'a, R, O> Leading<'a, R, O> {
    fn end(&mut self, outcomes: Vec<Option<O>>) -> MutexGuard<'a, State<R, O>> {
        self.group.end_batch(&mut self.tickets, outcomes)
    }
}

impl<R, O> Drop for Leading<'_, R, O> {
    fn drop(&mut self) {
        if !self.tickets.is_empty() {
            drop(self.group.end_batch(&mut self.tickets, Vec::new()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test store: records each batch, stores batches of two or more,
    /// leaves a lone request to its caller.
    fn store_batches(batches: &Mutex<Vec<Vec<String>>>, batch: Vec<String>) -> Vec<Option<usize>> {
        let n = batch.len();
        batches.lock().unwrap().push(batch);
        (0..n).map(|_| (n > 1).then_some(n)).collect()
    }

    #[test]
    fn a_lone_request_is_stored_by_its_own_leader() {
        let g = GroupCommit::new(2, 8);
        let batches = Mutex::new(Vec::new());
        let outcome = g.submit(
            "a".to_string(),
            |r| r.as_str(),
            |b| store_batches(&batches, b),
        );
        assert_eq!(outcome, None, "this store leaves a batch of one alone");
        assert_eq!(batches.into_inner().unwrap(), vec![vec!["a".to_string()]]);
    }

    /// Requests that arrive while a batch is being stored wait, and are
    /// stored together by the next leader; each caller hears its own
    /// outcome, and every request is in exactly one batch.
    #[test]
    fn requests_arriving_during_a_batch_form_the_next() {
        let g = GroupCommit::new(1, 64);
        // Two requests already waiting (their callers are not needed).
        {
            let mut state = g.lock();
            state.queue.push_back((0, "p0".to_string()));
            state.queue.push_back((1, "p1".to_string()));
            state.next_ticket = 2;
        }
        let batches = Mutex::new(Vec::<Vec<String>>::new());
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let hold = Mutex::new(hold);
        let record = |batch: Vec<String>| {
            let first = batches.lock().unwrap().is_empty();
            let out = store_batches(&batches, batch);
            if first {
                // The first batch is held until the others are queued.
                let _ = hold.lock().unwrap().recv();
            }
            out
        };
        std::thread::scope(|s| {
            let leader = s.spawn(|| g.submit("lead".to_string(), |r| r.as_str(), record));
            while batches.lock().unwrap().is_empty() {
                std::thread::yield_now();
            }
            let others: Vec<_> = (0..4)
                .map(|i| {
                    let (g, record) = (&g, &record);
                    s.spawn(move || g.submit(format!("sp-{i}"), |r| r.as_str(), record))
                })
                .collect();
            while g.lock().queue.len() < 4 {
                std::thread::yield_now();
            }
            release.send(()).unwrap();
            assert_eq!(leader.join().unwrap(), Some(3));
            for o in others {
                assert_eq!(o.join().unwrap(), Some(4));
            }
        });
        let mut batches = batches.into_inner().unwrap();
        for b in &mut batches {
            b.sort();
        }
        assert_eq!(
            batches,
            vec![
                vec!["lead".to_string(), "p0".into(), "p1".into()],
                vec![
                    "sp-0".to_string(),
                    "sp-1".into(),
                    "sp-2".into(),
                    "sp-3".into()
                ],
            ]
        );
    }

    #[test]
    fn one_key_never_twice_in_a_batch_and_failures_come_back_alone() {
        let g: GroupCommit<String, usize> = GroupCommit::new(1, 8);
        let mut state = g.lock();
        for (i, k) in ["a", "b", "a", "c"].iter().enumerate() {
            state.queue.push_back((i as u64, k.to_string()));
        }
        let batch = g.take_batch(&mut state, &|r: &String| r.as_str());
        let keys: Vec<&str> = batch.iter().map(|(_, r)| r.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c"]);
        assert_eq!(state.queue.len(), 1, "the second 'a' waits");
        drop(state);
        // A batch that fails leaves each request to its caller.
        let g: GroupCommit<String, usize> = GroupCommit::new(1, 8);
        let mut state = g.lock();
        state.queue.push_back((7, "x".to_string()));
        state.next_ticket = 8;
        drop(state);
        let outcome = g.submit("y".to_string(), |r| r.as_str(), |b| vec![None; b.len()]);
        assert_eq!(outcome, None);
        assert_eq!(g.lock().done.get(&7), Some(&None));
    }

    /// A store that unwinds still ends its batch: the others in it are
    /// left to their callers, and the next caller can lead.
    #[test]
    fn a_store_that_unwinds_ends_its_batch() {
        let g: GroupCommit<String, usize> = GroupCommit::new(1, 8);
        {
            let mut state = g.lock();
            state.queue.push_back((0, "waiting".to_string()));
            state.next_ticket = 1;
        }
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            g.submit(
                "lead".to_string(),
                |r| r.as_str(),
                |_| panic!("store failed"),
            )
        }));
        assert!(unwound.is_err());
        {
            let state = g.lock();
            assert_eq!(state.leaders, 0);
            assert_eq!(state.done.get(&0), Some(&None));
        }
        let batches = Mutex::new(Vec::new());
        assert_eq!(
            g.submit(
                "next".to_string(),
                |r| r.as_str(),
                |b| store_batches(&batches, b)
            ),
            None
        );
    }
}
