//! Page replacement: which resident page goes when a new one needs a frame
//! (OSTEP chapter 22, "Beyond Physical Memory: Policies"; Linux's
//! `mm/vmscan.c` is the machine's own policy and is not modelled here).
//!
//! ```text
//!   access p ──> resident? ──yes──> Replacement::referenced(p)      (hit)
//!                   │
//!                   no ──> frames full? ──yes──> Replacement::evict(future)
//!                                │                     │ the victim leaves
//!                                no                    v
//!                                └──────────> Replacement::inserted(p) (miss)
//! ```
//!
//! [`Frames`] is the mechanism: a fixed number of frames holding abstract
//! page numbers, deciding hit or miss and when a victim is needed. The
//! policy is a [`Replacement`]: it is told about every hit and every newly
//! resident page, keeps the resident pages in its own order, and chooses
//! the victim, seeing the accesses still to come (only OPT and UNOPT look).
//! The machine's reclaim can drive the same trait with frame numbers as
//! pages; nothing here knows about frames' contents.
//!
//! The policies are OSTEP's `paging-policy.py` ones, with its orders and
//! tie breaks, so that `vmplay ostep-policy` prints what it prints:
//!
//! | policy | list order, left to right | victim |
//! |---|---|---|
//! | FIFO | arrival | the leftmost (first in) |
//! | LRU | last use; a hit moves the page right | the leftmost |
//! | MRU | last use; a hit moves the page right | the rightmost |
//! | OPT | arrival | next used furthest ahead (Belady); ties: the rightmost |
//! | UNOPT | arrival | next used soonest; ties: the leftmost |
//! | RAND | arrival | the one at `int(random() * count)` |
//! | CLOCK | arrival | random frames, each use count above 0 decremented, until one at 0 |
//!
//! OSTEP's CLOCK is not the textbook sweeping hand: it picks frames at
//! random (the program calls it a hack) and its "bits" are a use counter
//! capped at `-b`. RAND and CLOCK draw from [`Mt19937`], CPython's
//! generator, so a seed gives the same victims as under `python3`.

mod belady;
mod mt19937;
mod queue;
mod seeded;

pub use belady::{Opt, Unopt};
pub use mt19937::Mt19937;
pub use queue::{Fifo, Lru, Mru};
pub use seeded::{Clock, Rand};

/// A replacement policy over pages of type `P` (OSTEP's page numbers, or
/// frame numbers for the machine). The policy owns the list of resident
/// pages; [`Frames`] tells it what happened and asks it for victims.
pub trait Replacement<P> {
    /// The resident pages in the policy's order, leftmost first (the order
    /// OSTEP prints; the table in the module doc says what it means).
    fn resident(&self) -> &[P];

    /// A resident page was accessed again: a hit.
    /// => caller guarantees `page` is resident.
    fn referenced(&mut self, page: P);

    /// `page` became resident after a miss (after the victim, if any, left).
    /// => caller guarantees `page` was not resident and a frame is free.
    fn inserted(&mut self, page: P);

    /// The frames are full: choose a victim, forget it and return it.
    /// `future` holds the accesses after the current one, nearest first
    /// (what OPT and UNOPT look at; a machine that cannot know its future
    /// passes what its scenario says, or nothing).
    /// => we return `None` only when no page is resident.
    fn evict(&mut self, future: &[P]) -> Option<P>;
}

/// The policies by OSTEP's names (`paging-policy.py -p NAME`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PolicyKind {
    Fifo,
    Lru,
    Mru,
    Opt,
    Unopt,
    Rand,
    Clock,
}

impl PolicyKind {
    /// Every policy, in the order OSTEP's help lists them (MRU, which it
    /// implements without listing, last).
    pub const ALL: [PolicyKind; 7] = [
        PolicyKind::Fifo,
        PolicyKind::Lru,
        PolicyKind::Opt,
        PolicyKind::Unopt,
        PolicyKind::Rand,
        PolicyKind::Clock,
        PolicyKind::Mru,
    ];

    /// The policy OSTEP calls `name`; as in `paging-policy.py`, the match
    /// is exact (`fifo` is not FIFO).
    pub fn from_ostep_name(name: &str) -> Option<PolicyKind> {
        PolicyKind::ALL.into_iter().find(|k| k.ostep_name() == name)
    }

    /// OSTEP's name for the policy.
    pub fn ostep_name(self) -> &'static str {
        match self {
            PolicyKind::Fifo => "FIFO",
            PolicyKind::Lru => "LRU",
            PolicyKind::Mru => "MRU",
            PolicyKind::Opt => "OPT",
            PolicyKind::Unopt => "UNOPT",
            PolicyKind::Rand => "RAND",
            PolicyKind::Clock => "CLOCK",
        }
    }

    /// A fresh policy with nothing resident. `rng` is used by RAND and
    /// CLOCK only; `clock_bits` is CLOCK's cap on a page's use count
    /// (OSTEP's `-b`).
    pub fn build<P: Copy + Eq + 'static>(
        self,
        rng: Mt19937,
        clock_bits: i64,
    ) -> Box<dyn Replacement<P>> {
        match self {
            PolicyKind::Fifo => Box::new(Fifo::default()),
            PolicyKind::Lru => Box::new(Lru::default()),
            PolicyKind::Mru => Box::new(Mru::default()),
            PolicyKind::Opt => Box::new(Opt::default()),
            PolicyKind::Unopt => Box::new(Unopt::default()),
            PolicyKind::Rand => Box::new(Rand::new(rng)),
            PolicyKind::Clock => Box::new(Clock::new(rng, clock_bits)),
        }
    }
}

/// What one access did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Access<P> {
    /// The page was resident.
    Hit,
    /// The page was brought in, evicting `victim` if the frames were full.
    Miss { victim: Option<P> },
}

/// A miss with no frame at all to put the page in (a cache of size 0;
/// `paging-policy.py` dies popping from an empty list there).
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[error("no frame to hold the page: the cache has 0 frames")]
pub struct NoFrames;

/// A fixed number of frames managed by a replacement policy.
pub struct Frames<P> {
    /// How many pages fit; `usize::MAX` never fills (what OSTEP's program
    /// does with a negative size, which its `count == cachesize` never
    /// reaches).
    capacity: usize,
    policy: Box<dyn Replacement<P>>,
}

impl<P: Copy + Eq> Frames<P> {
    /// `capacity` empty frames under `policy`.
    pub fn new(capacity: usize, policy: Box<dyn Replacement<P>>) -> Frames<P> {
        Frames { capacity, policy }
    }

    /// The resident pages in the policy's order.
    pub fn resident(&self) -> &[P] {
        self.policy.resident()
    }

    /// Access `page`; `future` holds the accesses after this one.
    /// => we return [`NoFrames`] on a miss when the capacity is 0.
    pub fn access(&mut self, page: P, future: &[P]) -> Result<Access<P>, NoFrames> {
        if self.policy.resident().contains(&page) {
            self.policy.referenced(page);
            return Ok(Access::Hit);
        }
        let victim = if self.policy.resident().len() >= self.capacity {
            Some(self.policy.evict(future).ok_or(NoFrames)?)
        } else {
            None
        };
        self.policy.inserted(page);
        Ok(Access::Miss { victim })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run `trace` through `frames` frames under `kind` (seed 0, 2 clock
    /// bits); returns the misses and the final resident list.
    fn run(kind: PolicyKind, frames: usize, trace: &[i64]) -> (usize, Vec<i64>) {
        let mut f = Frames::new(frames, kind.build(Mt19937::python_seed(0), 2));
        let mut misses = 0;
        for (i, &p) in trace.iter().enumerate() {
            if f.access(p, &trace[i + 1..]).unwrap() != Access::Hit {
                misses += 1;
            }
        }
        (misses, f.resident().to_vec())
    }

    const BELADY: [i64; 12] = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5];

    #[test]
    fn fifo_shows_beladys_anomaly_9_misses_with_3_frames_10_with_4() {
        assert_eq!(run(PolicyKind::Fifo, 3, &BELADY), (9, vec![5, 3, 4]));
        assert_eq!(run(PolicyKind::Fifo, 4, &BELADY), (10, vec![2, 3, 4, 5]));
    }

    #[test]
    fn lru_has_no_anomaly_on_beladys_trace() {
        assert_eq!(run(PolicyKind::Lru, 3, &BELADY).0, 10);
        assert_eq!(run(PolicyKind::Lru, 4, &BELADY).0, 8);
    }

    #[test]
    fn opt_misses_7_times_on_beladys_trace_with_3_frames() {
        assert_eq!(run(PolicyKind::Opt, 3, &BELADY).0, 7);
        assert_eq!(run(PolicyKind::Opt, 4, &BELADY).0, 6);
    }

    #[test]
    fn a_hit_evicts_nothing_and_a_miss_into_a_free_frame_evicts_nothing() {
        let mut f = Frames::new(2, PolicyKind::Fifo.build(Mt19937::python_seed(0), 2));
        assert_eq!(f.access(7, &[]), Ok(Access::Miss { victim: None }));
        assert_eq!(f.access(7, &[]), Ok(Access::Hit));
        assert_eq!(f.access(8, &[]), Ok(Access::Miss { victim: None }));
        assert_eq!(f.access(9, &[]), Ok(Access::Miss { victim: Some(7) }));
        assert_eq!(f.resident(), &[8, 9]);
    }

    #[test]
    fn zero_frames_cannot_take_a_miss() {
        let mut f = Frames::new(0, PolicyKind::Lru.build(Mt19937::python_seed(0), 2));
        assert_eq!(f.access(1, &[]), Err(NoFrames));
    }

    #[test]
    fn an_unbounded_capacity_never_evicts() {
        let (misses, resident) = run(PolicyKind::Fifo, usize::MAX, &BELADY);
        assert_eq!((misses, resident), (5, vec![1, 2, 3, 4, 5]));
    }

    #[test]
    fn policy_names_are_ostep_names_matched_exactly() {
        for k in PolicyKind::ALL {
            assert_eq!(PolicyKind::from_ostep_name(k.ostep_name()), Some(k));
        }
        assert_eq!(PolicyKind::from_ostep_name("fifo"), None);
        assert_eq!(PolicyKind::from_ostep_name("LFU"), None);
    }
}
