//! The operations of version 2 (`tests/conformance/FORMAT-v2-swap.md`):
//! their errors of the line, how their results print, and the `killed`
//! results of processes the OOM killer killed (with a stub in place of the
//! machine's OOM killer).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use vmcore::view::SmapsView;
use vmscript::parse::{Op, check_values};
use vmscript::swapfmt::{
    pagemap_bits::*, pagemap_char, pagemap_result, pagemap_slot, procs_result, slot_list,
    smaps_fields, smaps_line, smaps_lines,
};
use vmscript::{Runner, ScriptError, check_syntax, parse_line, run_to_string};

const ANON: &str = "PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0";

fn run(text: &str) -> (String, Option<ScriptError>) {
    run_to_string(text, false)
}

// --- parsing -------------------------------------------------------------

#[test]
fn the_new_operations_parse() {
    for (line, op, nargs) in [
        ("swapon 64M", Op::Swapon, 1),
        ("swapoff", Op::Swapoff, 0),
        ("memlimit 4M", Op::Memlimit, 1),
        ("swapped", Op::Swapped, 0),
        ("procs", Op::Procs, 0),
        ("pagemap $arena 32K", Op::Pagemap, 2),
        ("p2: pagemap $a+4K 8K", Op::Pagemap, 2),
        ("smaps", Op::Smaps, 0),
        ("p3: smaps", Op::Smaps, 0),
        ("faults", Op::Faults, 0),
        ("swapon 40K", Op::Swapon, 1),
        ("swapon 1G", Op::Swapon, 1),
        ("memlimit 1M", Op::Memlimit, 1),
        ("memlimit 64G", Op::Memlimit, 1),
        ("pagemap 0x7ffffffff000 4K", Op::Pagemap, 2),
    ] {
        let s = parse_line(line)
            .unwrap_or_else(|e| panic!("{line:?}: {e}"))
            .unwrap();
        assert_eq!(s.op, op, "{line:?}");
        assert_eq!(s.args.len(), nargs, "{line:?}");
    }
}

#[test]
fn only_process_operations_take_a_process() {
    assert!(Op::Swapon.in_machine());
    assert!(Op::Swapoff.in_machine());
    assert!(Op::Memlimit.in_machine());
    assert!(Op::Swapped.in_machine());
    assert!(Op::Procs.in_machine());
    assert!(!Op::Pagemap.in_machine());
    assert!(!Op::Smaps.in_machine());
    assert!(!Op::Faults.in_machine());
    assert!(Op::ALL.iter().take(24).all(|op| !op.in_machine()));
}

#[test]
fn errors_of_the_line_in_the_new_operations() {
    const SWAPON: &str = "swapon SIZE must be a multiple of 4K from 40K to 1G";
    const MEMLIMIT: &str = "memlimit LIMIT must be a multiple of 4K, at least 1M";
    const PAGEMAP: &str = "pagemap needs a page-aligned range below 0x800000000000";
    let bad = [
        // a process prefix on a machine operation
        ("p1: swapon 64M", "swapon is not run by a process"),
        ("p2: swapoff", "swapoff is not run by a process"),
        ("p1: memlimit 4M", "memlimit is not run by a process"),
        ("p1: swapped", "swapped is not run by a process"),
        ("p3: procs", "procs is not run by a process"),
        // the argument count is checked first
        ("p1: swapon", "swapon takes 1 argument"),
        // argument counts
        ("swapon", "swapon takes 1 argument"),
        ("swapon 1M 2M", "swapon takes 1 argument"),
        ("swapoff 1", "swapoff takes 0 arguments"),
        ("memlimit", "memlimit takes 1 argument"),
        ("swapped 1", "swapped takes 0 arguments"),
        ("procs p1", "procs takes 0 arguments"),
        ("pagemap $arena", "pagemap takes 2 arguments"),
        ("smaps all", "smaps takes 0 arguments"),
        ("faults 1", "faults takes 0 arguments"),
        // nothing to bind
        ("$a = swapon 1M", "swapon has no result to bind"),
        ("$a = pagemap $arena 4K", "pagemap has no result to bind"),
        ("$a = procs", "procs has no result to bind"),
        // swapon SIZE: a multiple of 4K from 40K to 1G
        ("swapon 36K", SWAPON),
        ("swapon 0", SWAPON),
        ("swapon 41K", SWAPON),
        ("swapon 0x40001000", SWAPON),
        ("swapon 2G", SWAPON),
        ("swapon 1x", "bad number"),
        // memlimit LIMIT: a multiple of 4K, at least 1M
        ("memlimit 1020K", MEMLIMIT),
        ("memlimit 0", MEMLIMIT),
        ("memlimit 0x100001", MEMLIMIT),
        // pagemap ADDR LEN
        ("pagemap $arena+1 4K", PAGEMAP),
        ("pagemap $arena 0", PAGEMAP),
        ("pagemap $arena 6K", PAGEMAP),
        ("pagemap 0x7ffffffff000 8K", PAGEMAP),
        ("pagemap 0xfffffffffffff000 4K", PAGEMAP),
        ("pagemap 0x800000000000 4K", PAGEMAP),
        ("pagemap 4K 0x800000000000", PAGEMAP),
    ];
    for (line, want) in bad {
        match parse_line(line) {
            Err(m) => assert!(m.contains(want), "{line:?}: message {m:?} lacks {want:?}"),
            Ok(s) => panic!("{line:?} parsed as {s:?}"),
        }
        // The runner stops at the same line with the same message.
        let (out, err) = run(&format!("maps\n{line}\nmaps\n"));
        let e = err.unwrap_or_else(|| panic!("{line:?} ran: {out}"));
        assert_eq!(e.line, 2, "{line:?}");
        assert!(e.message.contains(want), "{line:?}: {:?}", e.message);
        assert_eq!(out, format!("1 maps ok\n2 error {}\n", e.message));
    }
}

#[test]
fn value_checks_apply_to_sums_with_variables_when_they_run() {
    // Not known before the scenario runs: the syntax check lets it through.
    let text = format!("$a = mmap $arena+4K 4K {ANON}\npagemap $a+1K 4K\n");
    assert!(check_syntax(&text).is_empty());
    let (out, err) = run(&text);
    assert_eq!(
        out,
        "1 mmap 0x300000001000\n2 error pagemap needs a page-aligned range below 0x800000000000\n"
    );
    assert_eq!(err.unwrap().line, 2);
    let (out, _) = run(&format!("$a = mmap $arena 4K {ANON}\nswapon $a\n"));
    assert!(
        out.ends_with("2 error swapon SIZE must be a multiple of 4K from 40K to 1G\n"),
        "{out}"
    );
}

#[test]
fn check_values_edges() {
    assert!(check_values(Op::Swapon, &[40 << 10]).is_ok());
    assert!(check_values(Op::Swapon, &[(40 << 10) - 4096]).is_err());
    assert!(check_values(Op::Swapon, &[1 << 30]).is_ok());
    assert!(check_values(Op::Swapon, &[(1 << 30) + 4096]).is_err());
    assert!(check_values(Op::Memlimit, &[1 << 20]).is_ok());
    assert!(check_values(Op::Memlimit, &[!4095]).is_ok());
    assert!(check_values(Op::Pagemap, &[0, 4096]).is_ok());
    assert!(check_values(Op::Pagemap, &[0, 0x8000_0000_0000]).is_ok());
    assert!(check_values(Op::Pagemap, &[4096, 0x8000_0000_0000]).is_err());
    // Version-1 operations have no value checks here.
    assert!(check_values(Op::Load, &[1]).is_ok());
    assert!(check_values(Op::Munmap, &[1, 0]).is_ok());
}

// --- pagemap formatting ----------------------------------------------------

/// A swap entry word for a slot (type 0), as `Machine::pagemap` builds it.
fn swap(slot: u64) -> u64 {
    SWAP | (slot << 5)
}

#[test]
fn pagemap_chars() {
    assert_eq!(pagemap_char(0), '.');
    assert_eq!(pagemap_char(PRESENT | EXCLUSIVE | 1234), 'P');
    assert_eq!(pagemap_char(PRESENT | 1234), 'p');
    // The shared zero page: neither file nor exclusive.
    assert_eq!(pagemap_char(PRESENT), 'p');
    assert_eq!(pagemap_char(PRESENT | FILE | EXCLUSIVE | 7), 'F');
    assert_eq!(pagemap_char(PRESENT | FILE | 7), 'f');
    assert_eq!(pagemap_char(swap(1)), 'S');
    assert_eq!(pagemap_char(GUARD), 'G');
    // A guard marker is a swap-type entry too: the guard bit wins.
    assert_eq!(pagemap_char(GUARD | SWAP | (1 << 5)), 'G');
    // A swap-type entry of another type (a migration entry).
    assert_eq!(pagemap_char(SWAP | (9 << 5) | 0x1f), '?');
    assert_eq!(pagemap_slot(SWAP | (9 << 5) | 0x1f), None);
    assert_eq!(pagemap_slot(swap(77)), Some(77));
    assert_eq!(pagemap_slot(PRESENT | EXCLUSIVE | 5), None);
    assert_eq!(pagemap_slot(0), None);
}

#[test]
fn slot_lists() {
    assert_eq!(slot_list(&[]), "");
    assert_eq!(slot_list(&[1]), "1");
    assert_eq!(slot_list(&[1, 2]), "1-2");
    assert_eq!(slot_list(&[1, 3, 4]), "1,3-4");
    assert_eq!(slot_list(&[1, 2, 3, 4, 5, 6]), "1-6");
    assert_eq!(slot_list(&[4, 3, 5, 6, 7, 2, 8, 1]), "4,3,5-7,2,8,1");
    assert_eq!(slot_list(&[2, 4]), "2,4");
    assert_eq!(slot_list(&[5, 5, 6]), "5,5-6");
    assert_eq!(slot_list(&[512, 513, 1, 2, 1024]), "512-513,1-2,1024");
}

#[test]
fn pagemap_results() {
    let p = PRESENT | EXCLUSIVE;
    assert_eq!(
        pagemap_result(&[swap(1), p, swap(3), swap(4), 0, 0]),
        "0 SPSS.. swap 1,3-4"
    );
    let order = [4, 3, 5, 6, 7, 2, 8, 1].map(swap);
    assert_eq!(pagemap_result(&order), "0 SSSSSSSS swap 4,3,5-7,2,8,1");
    assert_eq!(
        pagemap_result(&[p, PRESENT, GUARD, 0, p, 0, 0, 0]),
        "0 PpG.P..."
    );
    assert_eq!(pagemap_result(&[0]), "0 .");
    // `?` pages take no place in the list: the run goes on over them.
    assert_eq!(
        pagemap_result(&[swap(1), SWAP | (2 << 5) | 1, swap(2)]),
        "0 S?S swap 1-2"
    );
}

// --- smaps formatting -------------------------------------------------------

fn view(start: u64, end: u64) -> SmapsView {
    SmapsView {
        start,
        end,
        perms: "rw-p".into(),
        size: (end - start) / 1024,
        rss: 0,
        pss: 0,
        shared_clean: 0,
        shared_dirty: 0,
        private_clean: 0,
        private_dirty: 0,
        anonymous: 0,
        anon_huge_pages: 0,
        shmem_pmd_mapped: 0,
        swap: 0,
        swap_pss: 0,
        locked: 0,
        vm_flags: "rd wr mr mw me ac".into(),
    }
}

#[test]
fn smaps_lines_print_only_nonzero_fields_in_order() {
    let a = 0x3000_0000_0000;
    assert_eq!(
        smaps_line(a, a + 0x8000, &[]),
        "  0x300000000000-0x300000008000"
    );
    let mut v = view(a, a + 0x8000);
    assert_eq!(
        smaps_line(v.start, v.end, &smaps_fields(&v)),
        "  0x300000000000-0x300000008000"
    );
    v.swap = 24;
    v.swap_pss = 24;
    assert_eq!(
        smaps_line(v.start, v.end, &smaps_fields(&v)),
        "  0x300000000000-0x300000008000 Swap=24 SwapPss=24"
    );
    let mut w = view(a, a + 0x4000);
    // Set in reverse order: printing follows the format's order.
    w.locked = 1;
    w.swap_pss = 2;
    w.swap = 3;
    w.anon_huge_pages = 4;
    w.anonymous = 5;
    w.private_dirty = 6;
    w.private_clean = 7;
    w.shared_dirty = 8;
    w.shared_clean = 9;
    w.pss = 10;
    w.rss = 11;
    w.shmem_pmd_mapped = 99; // not printed
    assert_eq!(
        smaps_line(w.start, w.end, &smaps_fields(&w)),
        "  0x300000000000-0x300000004000 Rss=11 Pss=10 Shared_Clean=9 Shared_Dirty=8 \
         Private_Clean=7 Private_Dirty=6 Anonymous=5 AnonHugePages=4 Swap=3 SwapPss=2 Locked=1"
    );
}

#[test]
fn smaps_lists_the_mappings_overlapping_the_arena_lowest_first() {
    let a = 0x3000_0000_0000u64;
    let end = a + (64 << 30);
    let mut hi = view(a + 0x10000, a + 0x12000);
    hi.rss = 8;
    let lo = view(a, a + 0x1000);
    let outside = view(0x7f00_0000_0000, 0x7f00_0000_1000);
    let straddling = view(a - 0x1000, a + 0x1000);
    let past = view(end, end + 0x1000);
    let lines = smaps_lines(&[hi, outside, straddling, lo, past], a, end);
    assert_eq!(
        lines,
        [
            "  0x2ffffffff000-0x300000001000",
            "  0x300000000000-0x300000001000",
            "  0x300000010000-0x300000012000 Rss=8",
        ]
    );
}

#[test]
fn procs_results() {
    assert_eq!(procs_result([]), "ok");
    assert_eq!(procs_result([1, 3]), "ok p1 p3");
}

// --- running -----------------------------------------------------------------

#[test]
fn machine_operations_print_their_results() {
    let (out, err) =
        run("swapoff\nswapon 64M\nswapon 64M\nmemlimit 4M\nswapped\nswapoff\nswapon 40K\n");
    assert_eq!(err, None);
    assert_eq!(
        out,
        "1 swapoff -EINVAL\n2 swapon 0\n3 swapon -EBUSY\n4 memlimit 0\n5 swapped 0\n6 swapoff 0\n7 swapon 0\n"
    );
}

#[test]
fn procs_lists_live_processes_and_runs_with_none_left() {
    let (out, err) = run(
        "procs\nfork p3\nfork p2\np3: exit\nprocs\np1: exit\np2: exit\nprocs\nswapped\nswapon 1M\n",
    );
    assert_eq!(err, None);
    assert_eq!(
        out,
        "1 procs ok p1\n2 fork ok\n3 fork ok\n4 exit ok\n5 procs ok p1 p2\n6 exit ok\n\
         7 exit ok\n8 procs ok\n9 swapped 0\n10 swapon 0\n"
    );
    // A process operation still needs its process.
    let (out, err) = run("exit\nsmaps\n");
    assert_eq!(out, "1 exit ok\n2 error no process p1\n");
    assert_eq!(err.unwrap().line, 2);
}

#[test]
fn machine_lines_touch_no_process() {
    let mut r = Runner::default();
    let o = r.exec_line(1, "swapon 1M").unwrap().unwrap();
    assert_eq!(o.pid, 0);
    assert!(o.touched.pids.is_empty() && o.touched.ranges.is_empty());
    let o = r.exec_line(2, "pagemap $arena 8K").unwrap().unwrap();
    assert_eq!(o.pid, 1);
    assert_eq!(o.touched.pids, [1]);
    assert_eq!(o.touched.ranges[0].start, 0x3000_0000_0000);
    assert_eq!(o.touched.ranges[0].end, 0x3000_0000_2000);
}

#[test]
fn pagemap_smaps_and_faults_without_swap() {
    let text = format!(
        "$a = mmap $arena 32K {ANON}\n\
         store $a 0x01\n\
         load $a+4K\n\
         madvise $a+8K 4K MADV_GUARD_INSTALL\n\
         store $a+16K 0x02\n\
         pagemap $a 32K\n\
         $s = mmap $arena+1M 16K PROT_READ|PROT_WRITE MAP_SHARED|MAP_ANONYMOUS|MAP_FIXED -1 0\n\
         store $s+4K 0x03\n\
         pagemap $s 16K\n\
         smaps\n\
         faults\n\
         pagemap 0x10000 4K\n"
    );
    let (out, err) = run(&text);
    assert_eq!(err, None);
    assert_eq!(
        out,
        "1 mmap 0x300000000000\n2 store ok\n3 load 0x00\n4 madvise 0\n5 store ok\n\
         6 pagemap 0 PpG.P...\n7 mmap 0x300000100000\n8 store ok\n9 pagemap 0 .F..\n\
         10 smaps ok\n  0x300000000000-0x300000008000 Rss=8 Pss=8 Private_Dirty=8 Anonymous=8\n\
         \x20 0x300000100000-0x300000104000 Rss=4 Pss=4 Private_Dirty=4\n\
         11 faults majflt=0\n12 pagemap 0 .\n"
    );
}

// --- killed ------------------------------------------------------------------

/// A runner whose OOM killer is a list the test fills: a pid in it is
/// reported killed after the next line.
fn runner_with_stub_killer() -> (Runner, Arc<Mutex<BTreeSet<u32>>>) {
    let doomed = Arc::new(Mutex::new(BTreeSet::new()));
    let mut r = Runner::default();
    let d = Arc::clone(&doomed);
    r.set_oom_probe(move |_, pid| d.lock().unwrap().contains(&pid));
    (r, doomed)
}

/// Run the lines of `text` one by one; before line N, kill the pids that
/// `kills` lists for N. Returns the printed text.
fn run_killing(text: &str, kills: &[(usize, u32)]) -> (String, Runner) {
    let (mut r, doomed) = runner_with_stub_killer();
    let mut s = String::new();
    for (n, line) in vmscript::parse::script_lines(text) {
        for &(at, pid) in kills {
            if at == n {
                doomed.lock().unwrap().insert(pid);
            }
        }
        match r.exec_line(n, line) {
            Ok(Some(o)) => {
                s.push_str(&o.to_string());
                s.push('\n');
            }
            Ok(None) => {}
            Err(e) => {
                s.push_str(&format!("{e}\n"));
                break;
            }
        }
    }
    (s, r)
}

#[test]
fn a_process_killed_during_its_own_operation_prints_killed_from_then_on() {
    let text = format!(
        "memlimit 2M\n\
         $a = mmap $arena 4M {ANON}\n\
         fill $a 4M 0x5a\n\
         procs\n\
         load $a\n\
         $b = mmap $arena+8M 4K {ANON}\n\
         pagemap $a 4K\n\
         smaps\n\
         faults\n\
         swapped\n"
    );
    let (out, r) = run_killing(&text, &[(3, 1)]);
    assert_eq!(
        out,
        "1 memlimit 0\n2 mmap 0x300000000000\n3 fill killed\n4 procs ok\n5 load killed\n\
         6 mmap killed\n7 pagemap killed\n8 smaps killed\n9 faults killed\n10 swapped 0\n"
    );
    // Nothing was bound by the killed line.
    assert!(r.variable("b").is_none());
    assert_eq!(r.killed_names(), [("p1".to_string(), 1)]);
    assert!(r.process_names().is_empty());
}

#[test]
fn a_killed_line_binds_nothing() {
    // As in the recorder, the variable stays undefined, and a later line
    // that uses it is an error of the line even in a killed process.
    let text = format!("$a = mmap $arena 4K {ANON}\nload $arena\nload $a\n");
    let (out, r) = run_killing(&text, &[(1, 1)]);
    assert_eq!(
        out,
        "1 mmap killed\n2 load killed\n3 error undefined variable $a\n"
    );
    assert!(r.variable("a").is_none());
}

#[test]
fn a_process_killed_during_another_operation_prints_nothing_then() {
    let text = format!(
        "memlimit 4M\n\
         $a = mmap $arena 3M {ANON}\n\
         fill $a 3M 0x11\n\
         fork p2\n\
         p2: munmap $a 3M\n\
         p2: $b = mmap $arena+4M 2M {ANON}\n\
         p2: fill $b 2M 0x22\n\
         procs\n\
         p1: load $a\n\
         p2: load $b+1M\n\
         p2: fork p3\n\
         procs\n"
    );
    // p1 (pid 1) dies during p2's fill (line 7).
    let (out, r) = run_killing(&text, &[(7, 1)]);
    assert_eq!(
        out,
        "1 memlimit 0\n2 mmap 0x300000000000\n3 fill ok\n4 fork ok\n5 munmap 0\n\
         6 mmap 0x300000400000\n7 fill ok\n8 procs ok p2\n9 load killed\n10 load 0x22\n\
         11 fork ok\n12 procs ok p2 p3\n"
    );
    assert!(r.variable("b").is_some());
}

#[test]
fn a_killed_name_stays_taken() {
    // p2 (pid 2) dies during p1's store (line 3): p1 may not fork to p2,
    // while an exited p3's name is free again.
    let text = format!(
        "$a = mmap $arena 4K {ANON}\n\
         fork p2\n\
         store $a 1\n\
         procs\n\
         p2: load $a\n\
         fork p3\n\
         p3: exit\n\
         fork p3\n\
         procs\n\
         fork p2\n"
    );
    let (out, r) = run_killing(&text, &[(3, 2)]);
    assert_eq!(
        out,
        "1 mmap 0x300000000000\n2 fork ok\n3 store ok\n4 procs ok p1\n5 load killed\n\
         6 fork ok\n7 exit ok\n8 fork ok\n9 procs ok p1 p3\n\
         10 error process p2 already exists\n"
    );
    assert_eq!(r.killed_names(), [("p2".to_string(), 2)]);
}

#[test]
fn a_killed_process_line_still_has_its_errors() {
    let text = format!("$a = mmap $arena 4K {ANON}\nload $a\nload $nope\n");
    let (out, _) = run_killing(&text, &[(2, 1)]);
    assert_eq!(
        out,
        "1 mmap 0x300000000000\n2 load killed\n3 error undefined variable $nope\n"
    );
}
