//! `--map-slots N`: `p1` starts N map slots below `vm.max_map_count`, in
//! the simulator (`vmplay run`) and on the host (`vmplay host`, which makes
//! filler mappings before the first line), so that the map-count rules
//! (vmcore's `vm/split.rs`) are met within a few lines.
//!
//! The host side runs only on Linux x86_64 as root (the machine of
//! tests/conformance/FORMAT.md); elsewhere it says why it is skipped and
//! passes.

use std::io::Write;
use std::path::PathBuf;

mod common;
use common::{text, vmplay};

fn scenario(name: &str, content: &str) -> PathBuf {
    common::scenario("map-slots", name, content)
}

/// Splits, an edge and a middle cut, and mmap, at and past the limit.
const NEAR_THE_LIMIT: &str = "\
mmap $arena 16K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0
mprotect $arena+4K 4K PROT_READ
mprotect $arena 4K PROT_READ
madvise $arena+4K 4K MADV_RANDOM
mmap $arena+1M 4K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0
mmap $arena+2M 4K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0
munmap $arena+1M 4K
munmap $arena+12K 4K
munmap $arena+4K 4K
maps
";

/// With one free slot the first mmap leaves none: every split is refused
/// (`split_vma`: mprotect ENOMEM, madvise EAGAIN), one more mmap still
/// succeeds (`do_mmap` refuses only past the limit) and the next does not;
/// munmap may cut an edge past the limit but not the middle
/// (`vms_gather_munmap_vmas`).
const ONE_SLOT: &str = "\
1 mmap 0x300000000000
2 mprotect -ENOMEM
3 mprotect -ENOMEM
4 madvise -EAGAIN
5 mmap 0x300000100000
6 mmap -ENOMEM
7 munmap 0
8 munmap 0
9 munmap -ENOMEM
10 maps ok
  0x300000000000-0x300000003000 rw-p 0x0 anon
";

/// With three, the splits are made and only the third mmap is refused.
const THREE_SLOTS: &str = "\
1 mmap 0x300000000000
2 mprotect 0
3 mprotect 0
4 madvise 0
5 mmap 0x300000100000
6 mmap -ENOMEM
7 munmap 0
8 munmap 0
9 munmap 0
10 maps ok
  0x300000000000-0x300000001000 r--p 0x0 anon
  0x300000002000-0x300000003000 rw-p 0x0 anon
";

#[test]
fn the_simulator_starts_n_slots_below_the_limit() {
    let f = scenario("near.vms", NEAR_THE_LIMIT);
    let f = f.to_str().unwrap();
    for (slots, want) in [("1", ONE_SLOT), ("3", THREE_SLOTS)] {
        let o = vmplay(&["run", "--check", "--map-slots", slots, f]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        assert_eq!(text(&o.stdout), want, "--map-slots {slots}");
    }
    // Without the option the limit is far away: no refusal at all.
    let o = vmplay(&["run", f]);
    assert!(!text(&o.stdout).contains("-E"), "{}", text(&o.stdout));
}

#[test]
fn bad_slot_counts_are_usage_errors() {
    let f = scenario("bad.vms", "maps\n");
    let f = f.to_str().unwrap();
    for (args, msg) in [
        (vec!["run", "--map-slots", "x", f], "not 'x'"),
        (vec!["run", "--map-slots", "-1", f], "not '-1'"),
        (vec!["run", f, "--map-slots"], "--map-slots needs N"),
        (
            vec!["run", "--map-slots", "2147483647", f],
            "above 2147483647",
        ),
        (vec!["host", "--map-slots", "1e3", f], "not '1e3'"),
        (vec!["diff", "--map-slots", "", f], "not ''"),
    ] {
        let o = vmplay(&args);
        assert!(!o.status.success(), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}: {}", text(&o.stdout));
        assert!(
            text(&o.stderr).contains(msg),
            "{args:?}: {}",
            text(&o.stderr)
        );
    }
}

/// Whether `vmplay host` can run here; says why not.
fn host_can_run(test: &str) -> bool {
    let why = if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        Some("not Linux on x86_64")
    } else if !std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    {
        Some("not run as root")
    } else {
        None
    };
    if let Some(w) = why {
        let _ = writeln!(std::io::stderr(), "{test}: skipped: {w}");
    }
    why.is_none()
}

#[test]
fn the_host_starts_n_slots_below_the_limit() {
    if !host_can_run("the_host_starts_n_slots_below_the_limit") {
        return;
    }
    let f = scenario("host.vms", NEAR_THE_LIMIT);
    let f = f.to_str().unwrap();
    for (slots, want) in [("1", ONE_SLOT), ("3", THREE_SLOTS)] {
        let o = vmplay(&["host", "--map-slots", slots, f]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        assert_eq!(text(&o.stdout), want, "host --map-slots {slots}");
        let o = vmplay(&["diff", "--map-slots", slots, f]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    }
    // A fork inherits the fillers: the child is as near the limit.
    let f = scenario(
        "fork.vms",
        "fork p2\n\
         p2: mmap $arena 4K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\n\
         p2: mmap $arena+8K 4K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\n",
    );
    let o = vmplay(&["host", "--map-slots", "0", f.to_str().unwrap()]);
    assert_eq!(
        text(&o.stdout),
        "1 fork ok\n2 mmap 0x300000000000\n3 mmap -ENOMEM\n"
    );
    // A placed mapping meets the neighbours it has in the simulator: below
    // the host's floor, aligned as the simulator's search start, a 4 MiB
    // THP-aligned mapping leaves a hole of 2 MiB - 4 KiB above it; 12 KiB
    // go at its top, and 2,032 KiB fill the rest, merging with both (one
    // entry for three: three more mmaps succeed), 2,036 KiB do not fit.
    for (len, made) in [("2032K", 3), ("2036K", 2)] {
        let mut lines = format!(
            "$a = mmap 0 4M PROT_READ MAP_PRIVATE|MAP_ANONYMOUS -1 0\n\
             $b = mmap 0 12K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS -1 0\n\
             $c = mmap 0 {len} PROT_READ MAP_PRIVATE|MAP_ANONYMOUS -1 0\n"
        );
        for i in 0..5 {
            lines += &format!(
                "mmap $arena+{}M 4K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\n",
                2 * i
            );
        }
        let f = scenario(&format!("placed-{len}.vms"), &lines);
        let f = f.to_str().unwrap();
        let host = vmplay(&["host", "--map-slots", "3", f]);
        let sim = vmplay(&["run", "--map-slots", "3", f]);
        assert_eq!(text(&host.stdout), text(&sim.stdout), "{len}");
        assert_eq!(
            text(&sim.stdout).matches(" mmap 0x3").count(),
            made,
            "{len}"
        );
    }
    // More free slots than the limit leaves is an error, not a run.
    let o = vmplay(&["host", "--map-slots", "2000000000", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert!(
        text(&o.stderr).contains("mappings of its own"),
        "{}",
        text(&o.stderr)
    );
}
