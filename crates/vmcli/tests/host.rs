//! `vmplay host` (a scenario on this machine's own kernel) and `vmplay
//! diff` (the simulator beside it, or beside a recorded output).
//!
//! The host tests run only where the recordings can be reproduced: Linux
//! on x86_64, as root, transparent huge pages in `madvise` mode (the
//! machine of tests/conformance/FORMAT.md); the swap tests also need the
//! machine of FORMAT-v2-swap.md (`/dev/zram0` free, no swap on, zswap
//! off, `vm.page-cluster` 3, the cgroup v1 memory controller with swap
//! accounting). Elsewhere they print why they are skipped and pass.
//!
//! The version-1 and the swap tests run side by side: `vmplay host` keeps
//! them apart with the swap lock (a swap run holds it alone, a version-1
//! run shared), as it keeps them apart from the recorder.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{text, vmplay};

fn conformance() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance")
}

fn scratch(name: &str, content: &str) -> PathBuf {
    common::scenario("host-test", name, content)
}

/// Whether this machine can reproduce the recordings; says why not.
fn host_like_the_recordings(test: &str) -> bool {
    let why = if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        Some("not Linux on x86_64".to_string())
    } else if !std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    {
        Some("not run as root".to_string())
    } else if !std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .unwrap_or_default()
        .contains("[madvise]")
    {
        Some("transparent huge pages are not in madvise mode".to_string())
    } else if vmhost::foreign_swap_areas().unwrap_or(0) > 0 {
        // The version-1 recordings assume no swap: with an area on,
        // MADV_PAGEOUT writes shmem out and mincore says so. (The areas
        // of swap runs, vmplay's or the recorder's, are never seen: they
        // hold the swap lock that version-1 runs wait for.)
        Some("a swap area is on that no swap run of vmplay or the recorder made".to_string())
    } else {
        None
    };
    match why {
        Some(w) => {
            // Straight to standard error, past the test harness's capture,
            // so that the skip shows in `cargo test`'s output.
            let _ = writeln!(
                std::io::stderr(),
                "{test}: skipped: {w} (the recordings' machine is in FORMAT.md)"
            );
            false
        }
        None => true,
    }
}

/// Whether this machine can also reproduce the swap recordings; says why
/// not.
fn host_like_the_swap_recordings(test: &str) -> bool {
    if !host_like_the_recordings(test) {
        return false;
    }
    match vmhost::swap_machine_ready() {
        Ok(()) => true,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "{test}: skipped: {e} (the swap recordings' machine is in FORMAT-v2-swap.md)"
            );
            false
        }
    }
}

/// The recorded cases of the project: (scenario, recorded output).
fn recorded_cases() -> Vec<(PathBuf, PathBuf)> {
    cases_in(&["cases", "recorded"])
}

/// The recorded swap cases of the project (version 2).
fn swap_cases() -> Vec<(PathBuf, PathBuf)> {
    cases_in(&["recorded-swap", "cases-swap"])
}

fn cases_in(dirs: &[&str]) -> Vec<(PathBuf, PathBuf)> {
    let mut v = Vec::new();
    for dir in dirs {
        for e in std::fs::read_dir(conformance().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "vms") {
                let out = p.with_extension("out");
                v.push((p, out));
            }
        }
    }
    v.sort();
    v
}

/// Run a recorded case with `vmplay host`: what differs from its recorded
/// output, if anything. A recording ends at its parse error (exit 2) or
/// runs through (0).
fn host_differs(vms: &Path, out: &Path) -> Option<String> {
    let o = vmplay(&["host", vms.to_str().unwrap()]);
    let want = text(&std::fs::read(out).unwrap());
    let got = text(&o.stdout);
    let status_ok = matches!(o.status.code(), Some(0 | 2));
    (got != want || !status_ok).then(|| {
        format!(
            "{}: exit {:?} {}\n--- recorded\n{want}--- vmplay host\n{got}",
            vms.display(),
            o.status.code(),
            text(&o.stderr)
        )
    })
}

#[test]
fn host_reproduces_every_recorded_case() {
    if !host_like_the_recordings("host_reproduces_every_recorded_case") {
        return;
    }
    let cases = recorded_cases();
    assert!(cases.len() > 100, "the recorded cases are found");
    let mut failures = Vec::new();
    let mut version_2 = 0;
    for (vms, out) in &cases {
        let scenario = text(&std::fs::read(vms).unwrap());
        if vmhost::version(&scenario) == 2 {
            // Swap operations: host_reproduces_every_swap_case.
            version_2 += 1;
            continue;
        }
        failures.extend(host_differs(vms, out));
    }
    if version_2 > 0 {
        let _ = writeln!(
            std::io::stderr(),
            "host_reproduces_every_recorded_case: {version_2} version-2 cases left to host_reproduces_every_swap_case"
        );
    }
    assert!(cases.len() - version_2 > 100, "most cases run");
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn host_reproduces_every_swap_case() {
    if !host_like_the_swap_recordings("host_reproduces_every_swap_case") {
        return;
    }
    let cases = swap_cases();
    assert!(cases.len() >= 60, "the recorded swap cases are found");
    let mut failures = Vec::new();
    for (vms, out) in &cases {
        assert_eq!(
            vmhost::version(&text(&std::fs::read(vms).unwrap())),
            2,
            "{}",
            vms.display()
        );
        failures.extend(host_differs(vms, out));
    }
    assert!(
        failures.is_empty(),
        "{} of {} swap cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // Every run cleaned up after itself: swap off, zram0 free.
    vmhost::swap_machine_ready().expect("the machine is left as it was found");
}

#[test]
fn host_runs_the_machine_lines_as_the_recorder_does() {
    if !host_like_the_swap_recordings("host_runs_the_machine_lines_as_the_recorder_does") {
        return;
    }
    // The kernel's answers to a second swapon and to a swapoff with no
    // area (recorded with the recorder), then a line error.
    let p = scratch(
        "machine.vms",
        "swapon 1M\nswapon 1M\nswapped\nprocs\nswapoff\nswapoff\nmemlimit 1M\np1: swapped\n",
    );
    let o = vmplay(&["host", p.to_str().unwrap()]);
    assert_eq!(
        text(&o.stdout),
        "1 swapon 0\n2 swapon -EBUSY\n3 swapped 0\n4 procs ok p1\n5 swapoff 0\n\
         6 swapoff -EINVAL\n7 memlimit 0\n8 error swapped is not run by a process\n",
        "{}",
        text(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(2));
    vmhost::swap_machine_ready().expect("the machine is left as it was found");
}

#[test]
fn a_stopped_swap_run_leaves_the_machine_clean() {
    if !host_like_the_swap_recordings("a_stopped_swap_run_leaves_the_machine_clean") {
        return;
    }
    use std::io::BufRead;
    // Swap on, a memory limit, then fills that go through reclaim to swap
    // for many seconds: SIGTERM arrives during one of them.
    let mut scenario = String::from(
        "swapon 1G\nmemlimit 4M\n\
         $a = mmap $arena 512M PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\n",
    );
    for v in 1..=40 {
        scenario.push_str(&format!("fill $a 512M {v}\n"));
    }
    let p = scratch("stopped.vms", &scenario);
    let mut child = Command::new(env!("CARGO_BIN_EXE_vmplay"))
        .args(["host", "--timeout", "120", p.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("vmplay runs");
    let pid = child.id();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    for want in ["1 swapon 0", "2 memlimit 0", "3 mmap 0x300000000000"] {
        assert_eq!(lines.next().unwrap().unwrap(), want);
    }
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let o = child.wait_with_output().unwrap();
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(rest.len() < 40, "stopped before the end: {rest:?}");
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(err.contains("vmplay host: stopped by signal 15"), "{err}");
    // Swap off, zram0 reset, the run's cgroup gone.
    vmhost::swap_machine_ready().expect("the machine is left as it was found");
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .unwrap()
        .lines()
        .find_map(|l| {
            l.split_once(":memory:")
                .map(|(_, p)| p.trim_end_matches('/').to_string())
        })
        .unwrap();
    let cg = format!("/sys/fs/cgroup/memory{own}/vmplay-host-{pid}");
    assert!(!Path::new(&cg).exists(), "{cg} was removed");
}

#[test]
fn host_refuses_what_it_does_not_run() {
    let bsd = scratch("bsd.vms", "# c\npersonality freebsd\nmaps\n");
    let outside = scratch(
        "outside.vms",
        "munmap 0x1000 4K\n", // below the arena: the driver's own memory
    );
    for (p, line, what) in [
        (&bsd, 2, "only `personality linux`"),
        (&outside, 1, "munmap outside the arena"),
    ] {
        let o = vmplay(&["host", p.to_str().unwrap()]);
        if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            assert_eq!(o.status.code(), Some(1));
            assert!(text(&o.stderr).contains("needs Linux on x86_64"));
            continue;
        }
        assert_eq!(o.status.code(), Some(4), "{}", text(&o.stderr));
        let err = text(&o.stderr);
        assert!(
            err.contains(&format!("vmplay host: line {line}: refused: ")) && err.contains(what),
            "{err}"
        );
        assert_eq!(text(&o.stdout), "", "nothing runs before a refusal here");
    }
}

#[test]
fn host_ends_as_the_recorder_does() {
    if !host_like_the_recordings("host_ends_as_the_recorder_does") {
        return;
    }
    // A line error after the lines before it, status 2.
    let p = scratch("err.vms", "personality linux\nload $b\n");
    let o = vmplay(&["host", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        text(&o.stdout),
        "1 personality ok\n2 error undefined variable $b\n"
    );
    // A fault is an answer; a forked process sees its parent's memory;
    // `exec` of a `ret` made executable runs; an exited process is gone.
    let p = scratch(
        "run.vms",
        "$a = mmap $arena 8K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\n\
         store $a 0xc3\nload $a+8K\nfork p2\np2: load $a\nmprotect $a 4K PROT_READ|PROT_EXEC\n\
         p2: exec $a\nexec $a\np2: exit\np2: maps\n",
    );
    let o = vmplay(&["host", p.to_str().unwrap()]);
    assert_eq!(
        text(&o.stdout),
        "1 mmap 0x300000000000\n2 store ok\n3 load SIGSEGV\n4 fork ok\n5 load 0xc3\n\
         6 mprotect 0\n7 exec SIGSEGV\n8 exec ok\n9 exit ok\n10 error no process p2\n"
    );
    assert_eq!(o.status.code(), Some(2));
}

/// A recorded case with a fork, files and `maps`, to diff.
fn a_case() -> (PathBuf, PathBuf) {
    recorded_cases()
        .into_iter()
        .find(|(v, _)| v.file_stem().unwrap() == "cow_after_fork")
        .expect("the case cow_after_fork is recorded")
}

#[test]
fn diff_against_a_recording_agrees() {
    let (vms, out) = a_case();
    let o = vmplay(&[
        "diff",
        "--against",
        out.to_str().unwrap(),
        vms.to_str().unwrap(),
    ]);
    let t = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{t}{}", text(&o.stderr));
    assert!(t.contains("AGREE: all"), "{t}");
    assert!(
        !t.lines()
            .any(|l| l.starts_with('!') || l.starts_with('<') || l.starts_with('>'))
    );
}

#[test]
fn diff_against_a_wrong_expectation_shows_the_lines_that_differ() {
    let (vms, out) = a_case();
    let recorded = text(&std::fs::read(out).unwrap());
    let lines: Vec<&str> = recorded.lines().collect();
    assert!(lines.len() >= 4);
    // One line changed, one line dropped: the deliberate mistakes.
    let changed = format!("{} WRONG", lines[1]);
    let mut wrong: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    wrong[1] = changed.clone();
    let dropped = wrong.remove(3);
    let p = scratch("wrong.out", &(wrong.join("\n") + "\n"));
    let o = vmplay(&[
        "diff",
        "--against",
        p.to_str().unwrap(),
        vms.to_str().unwrap(),
    ]);
    let t = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("DISAGREE: 2 of"), "{t}");
    let row = |mark: char, left: &str, right: &str| {
        t.lines().any(|l| {
            l.starts_with(mark)
                && l.split(" | ").next().is_some_and(|s| s[1..].trim() == left)
                && l.split(" | ").nth(1).is_some_and(|s| s.trim() == right)
        })
    };
    assert!(row('!', lines[1], &changed), "changed line aligned:\n{t}");
    assert!(
        row('<', &dropped, ""),
        "dropped line shown on the left only:\n{t}"
    );
    assert!(row(' ', lines[0], lines[0]), "agreeing line unmarked:\n{t}");
}

#[test]
fn diff_with_the_host_agrees_on_a_recorded_case() {
    if !host_like_the_recordings("diff_with_the_host_agrees_on_a_recorded_case") {
        return;
    }
    let (vms, _) = a_case();
    let o = vmplay(&["diff", vms.to_str().unwrap()]);
    let t = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{t}{}", text(&o.stderr));
    assert!(t.contains("| this host (Linux "), "{t}");
    assert!(t.contains("AGREE: all"), "{t}");
}

#[test]
fn diff_with_the_host_agrees_on_swap_cases() {
    if !host_like_the_swap_recordings("diff_with_the_host_agrees_on_swap_cases") {
        return;
    }
    // Swap out and back (pagemap, smaps, faults), and an OOM kill.
    for name in ["lesson_05_swapping", "oom_bigger"] {
        let (vms, _) = swap_cases()
            .into_iter()
            .find(|(v, _)| v.file_stem().unwrap() == name)
            .expect("the swap case is recorded");
        let o = vmplay(&["diff", vms.to_str().unwrap()]);
        let t = text(&o.stdout);
        assert_eq!(o.status.code(), Some(0), "{t}{}", text(&o.stderr));
        assert!(t.contains("| this host (Linux "), "{t}");
        assert!(t.contains("AGREE: all"), "{t}");
    }
}

#[test]
fn usage_errors() {
    assert_eq!(vmplay(&["host"]).status.code(), Some(1));
    assert_eq!(vmplay(&["host", "--bogus", "x.vms"]).status.code(), Some(1));
    assert_eq!(vmplay(&["diff"]).status.code(), Some(2));
    assert_eq!(vmplay(&["diff", "--against"]).status.code(), Some(2));
    let o = vmplay(&["diff", "--against", "/nonexistent.out", "/nonexistent.vms"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("/nonexistent"));
    let help = vmplay(&["host", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(
        text(&help.stdout).contains("vmplay diff [--timeout SECS] [--against FILE.out] FILE.vms")
    );
}

#[test]
fn diff_with_the_host_shows_each_pending_disagreement() {
    if !host_like_the_recordings("diff_with_the_host_shows_each_pending_disagreement") {
        return;
    }
    // tests/conformance/pending: recorded cases the simulator does not pass
    // yet. On the host each is a disagreement, marked where it is.
    let dir = conformance().join("pending");
    for e in std::fs::read_dir(&dir).unwrap() {
        let vms = e.unwrap().path();
        if vms.extension().is_none_or(|x| x != "vms") {
            continue;
        }
        let o = vmplay(&["diff", vms.to_str().unwrap()]);
        let t = text(&o.stdout);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}: the simulator now agrees with the host? Move it to recorded/.\n{t}",
            vms.display()
        );
        assert!(t.contains("DISAGREE: "), "{t}");
        assert!(t.lines().any(|l| l.starts_with("! ")), "{t}");
        // The host's column is the recording.
        let recorded = text(&std::fs::read(vms.with_extension("out")).unwrap());
        let host: Vec<&str> = t
            .lines()
            .filter(|l| l.contains(" | "))
            .skip(1) // the titles
            .filter_map(|l| l.split_once(" | ").map(|(_, r)| r))
            .filter(|r| !r.is_empty())
            .collect();
        assert_eq!(host, recorded.lines().collect::<Vec<_>>(), "{t}");
    }
}
