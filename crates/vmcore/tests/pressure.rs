//! Memory under pressure, as a property: random scenarios on a small
//! machine with a swap area and a memory limit (page-outs, MADV_COLD and
//! WILLNEED, forks, stores that make reclaim run and the OOM killer kill,
//! munmap, mremap, exits, swapoff) keep every invariant — `Machine::check`
//! after each step, which counts every swap slot's users against the page
//! tables, anons and objects — and once every process is gone, every frame
//! but the zero page and every slot is free.

use proptest::prelude::*;
use vmcore::personality::linux::abi::*;
use vmcore::{AccessError, Machine, MachineConfig};

const ARENA: u64 = 0x3000_0000_0000;
const PAGE: u64 = 4096;
/// Pages of the window the steps work in.
const WINDOW: u64 = 256;

#[derive(Clone, Debug)]
enum Step {
    Mmap {
        proc: u8,
        page: u64,
        pages: u64,
        shared: bool,
    },
    Fill {
        proc: u8,
        page: u64,
        pages: u64,
        value: u8,
    },
    Load {
        proc: u8,
        page: u64,
    },
    Advise {
        proc: u8,
        page: u64,
        pages: u64,
        advice: u64,
    },
    Munmap {
        proc: u8,
        page: u64,
        pages: u64,
    },
    Mremap {
        proc: u8,
        page: u64,
        pages: u64,
        to: u64,
    },
    Mlock {
        proc: u8,
        page: u64,
        pages: u64,
    },
    Fork {
        proc: u8,
    },
    Exit {
        proc: u8,
    },
    Swapoff,
    Swapon {
        pages: u64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let proc = 0u8..4;
    let page = 0..WINDOW;
    let pages = 1u64..96;
    prop_oneof![
        6 => (proc.clone(), page.clone(), pages.clone(), any::<bool>())
            .prop_map(|(proc, page, pages, shared)| Step::Mmap { proc, page, pages, shared }),
        10 => (proc.clone(), page.clone(), pages.clone(), any::<u8>())
            .prop_map(|(proc, page, pages, value)| Step::Fill { proc, page, pages, value }),
        3 => (proc.clone(), page.clone()).prop_map(|(proc, page)| Step::Load { proc, page }),
        4 => (
            proc.clone(),
            page.clone(),
            pages.clone(),
            prop::sample::select(vec![MADV_PAGEOUT, MADV_COLD, MADV_WILLNEED, MADV_DONTNEED, MADV_FREE])
        )
            .prop_map(|(proc, page, pages, advice)| Step::Advise { proc, page, pages, advice }),
        2 => (proc.clone(), page.clone(), pages.clone())
            .prop_map(|(proc, page, pages)| Step::Munmap { proc, page, pages }),
        1 => (proc.clone(), page.clone(), pages.clone(), page.clone())
            .prop_map(|(proc, page, pages, to)| Step::Mremap { proc, page, pages, to }),
        1 => (proc.clone(), page.clone(), pages.clone())
            .prop_map(|(proc, page, pages)| Step::Mlock { proc, page, pages }),
        2 => proc.clone().prop_map(|proc| Step::Fork { proc }),
        1 => proc.prop_map(|proc| Step::Exit { proc }),
        1 => Just(Step::Swapoff),
        1 => (3u64..200).prop_map(|pages| Step::Swapon { pages }),
    ]
}

/// The live process numbered `n` among the live ones (wrapping).
fn pick(m: &Machine, n: u8) -> Option<u32> {
    let ps = m.processes();
    (!ps.is_empty()).then(|| ps[n as usize % ps.len()])
}

fn run(m: &mut Machine, s: &Step) {
    let rw = PROT_READ | PROT_WRITE;
    let at = |page: u64| ARENA + page * PAGE;
    match *s {
        Step::Mmap {
            proc,
            page,
            pages,
            shared,
        } => {
            if let Some(p) = pick(m, proc) {
                let kind = if shared { MAP_SHARED } else { MAP_PRIVATE };
                let _ = m.mmap(
                    p,
                    at(page),
                    pages * PAGE,
                    rw,
                    kind | MAP_ANONYMOUS | MAP_FIXED,
                    -1,
                    0,
                );
            }
        }
        Step::Fill {
            proc,
            page,
            pages,
            value,
        } => {
            if let Some(p) = pick(m, proc) {
                match m.fill(p, at(page), pages * PAGE, value) {
                    Ok(()) | Err(AccessError::Signal(_) | AccessError::Killed) => {}
                    Err(e) => panic!("fill: {e}"),
                }
            }
        }
        Step::Load { proc, page } => {
            if let Some(p) = pick(m, proc) {
                let _ = m.load(p, at(page));
            }
        }
        Step::Advise {
            proc,
            page,
            pages,
            advice,
        } => {
            if let Some(p) = pick(m, proc) {
                let _ = m.madvise(p, at(page), pages * PAGE, advice);
            }
        }
        Step::Munmap { proc, page, pages } => {
            if let Some(p) = pick(m, proc) {
                let _ = m.munmap(p, at(page), pages * PAGE);
            }
        }
        Step::Mremap {
            proc,
            page,
            pages,
            to,
        } => {
            if let Some(p) = pick(m, proc) {
                let flags = MREMAP_MAYMOVE | MREMAP_FIXED;
                let _ = m.mremap(
                    p,
                    at(page),
                    pages * PAGE,
                    pages * PAGE,
                    flags,
                    at(to + WINDOW),
                );
            }
        }
        Step::Mlock { proc, page, pages } => {
            if let Some(p) = pick(m, proc) {
                let _ = m.mlock(p, at(page), pages * PAGE);
            }
        }
        Step::Fork { proc } => {
            if let Some(p) = pick(m, proc)
                && m.processes().len() < 4
            {
                let _ = m.fork(p);
            }
        }
        Step::Exit { proc } => {
            if let Some(p) = pick(m, proc) {
                m.exit(p).unwrap();
            }
        }
        Step::Swapoff => {
            let _ = m.swapoff();
        }
        Step::Swapon { pages } => {
            let _ = m.swapon(pages * PAGE);
        }
    }
}

fn machine() -> Machine {
    // A 4 MiB machine, a 64-page limit and a 128-slot area: reclaim, full
    // areas and the OOM killer all happen.
    let mut m = Machine::new(MachineConfig {
        frames: 1024,
        events: false,
        ..MachineConfig::default()
    });
    m.swapon(129 * PAGE).unwrap();
    m.memlimit(64 * PAGE).unwrap();
    m
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn random_pressure_keeps_every_invariant(steps in prop::collection::vec(step(), 1..80)) {
        let mut m = machine();
        for (i, s) in steps.iter().enumerate() {
            run(&mut m, s);
            if let Err(e) = m.check() {
                return Err(TestCaseError::fail(format!("after step {i} {s:?}: {e}")));
            }
        }
        for p in m.processes() {
            m.exit(p).unwrap();
        }
        prop_assert!(m.check().is_ok(), "{:?}", m.check());
        if let Some(area) = m.swap_area() {
            prop_assert_eq!(area.inuse(), 0, "slots left after every exit");
        }
        prop_assert_eq!(m.swapped(), 0);
        let used = m.phys().total_frames() - m.phys().free_frames();
        prop_assert_eq!(used, 1, "only the zero page is left");
    }
}

#[test]
fn regression_mlock_after_failed_swapoff_and_forks() {
    let steps = vec![
        Step::Mmap {
            proc: 0,
            page: 84,
            pages: 46,
            shared: false,
        },
        Step::Mmap {
            proc: 0,
            page: 182,
            pages: 86,
            shared: false,
        },
        Step::Mmap {
            proc: 0,
            page: 0,
            pages: 51,
            shared: false,
        },
        Step::Fork { proc: 0 },
        Step::Mmap {
            proc: 2,
            page: 18,
            pages: 66,
            shared: false,
        },
        Step::Mlock {
            proc: 1,
            page: 234,
            pages: 34,
        },
        Step::Mmap {
            proc: 1,
            page: 78,
            pages: 73,
            shared: false,
        },
        Step::Fill {
            proc: 2,
            page: 59,
            pages: 51,
            value: 0,
        },
        Step::Mmap {
            proc: 1,
            page: 226,
            pages: 39,
            shared: false,
        },
        Step::Fill {
            proc: 1,
            page: 107,
            pages: 37,
            value: 0,
        },
        Step::Mmap {
            proc: 2,
            page: 110,
            pages: 1,
            shared: false,
        },
        Step::Swapoff,
        Step::Load { proc: 0, page: 0 },
        Step::Fork { proc: 2 },
        Step::Fork { proc: 2 },
        Step::Mlock {
            proc: 0,
            page: 44,
            pages: 27,
        },
    ];
    // The swap cache's slot was given up twice when the copy-on-write
    // after a swap-in could not get a frame and the fault was taken again.
    let mut m = machine();
    for (i, s) in steps.iter().enumerate() {
        run(&mut m, s);
        if let Err(e) = m.check() {
            panic!("after step {i} {s:?}: {e}");
        }
    }
}
