//! The `vmplay` command: output, exit status, usage.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

mod common;
use common::{text, vmplay};

fn vmplay_stdin(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vmplay"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vmplay runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn scenario(name: &str, text: &str) -> PathBuf {
    common::scenario("cli", name, text)
}

const MAP: &str =
    "$a = mmap $arena 4K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\n";

#[test]
fn runs_a_scenario() {
    let p = scenario(
        "ok.vms",
        &format!("# a comment\n{MAP}store $a 0x41\nload $a\nmaps\n"),
    );
    let o = vmplay(&["run", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout),
        "2 mmap 0x300000000000\n3 store ok\n4 load 0x41\n5 maps ok\n  0x300000000000-0x300000001000 rw-p 0x0 anon\n"
    );
    assert_eq!(text(&o.stderr), "");
}

#[test]
fn a_line_error_exits_2_after_the_lines_before_it() {
    let p = scenario("err.vms", &format!("{MAP}load $a\nload $b\nload $a\n"));
    let o = vmplay(&["run", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        text(&o.stdout),
        "1 mmap 0x300000000000\n2 load 0x00\n3 error undefined variable $b\n"
    );
}

#[test]
fn trace_adds_indented_events() {
    let p = scenario("trace.vms", &format!("{MAP}store $a 1\n"));
    let o = vmplay(&["run", "--trace", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1 mmap 0x300000000000");
    assert!(lines.contains(&"2 store ok"));
    assert!(lines.iter().any(|l| l.starts_with("    ")), "{out}");
    // Without --trace only the result lines.
    let plain = vmplay(&["run", p.to_str().unwrap()]);
    assert_eq!(text(&plain.stdout), "1 mmap 0x300000000000\n2 store ok\n");
}

#[test]
fn check_runs_the_invariants_and_changes_no_output() {
    let s = format!(
        "{MAP}$h = mmap $arena+2M 2M PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\n\
         store $h+8K 1\nfork p2\nmadvise $h 2M MADV_COLLAPSE\np2: store $h+8K 2\nload $h+8K\n\
         munmap $h 2M\nmaps\nload $b\n"
    );
    let p = scenario("check.vms", &s);
    let plain = vmplay(&["run", p.to_str().unwrap()]);
    let checked = vmplay(&["run", "--check", p.to_str().unwrap()]);
    assert_eq!(plain.status.code(), Some(2));
    assert_eq!(checked.status.code(), Some(2), "{}", text(&checked.stderr));
    assert_eq!(text(&checked.stdout), text(&plain.stdout));
    assert!(text(&checked.stdout).contains("7 load 0x01\n"));
    assert_eq!(text(&checked.stderr), "");
    // Options may come in any order.
    let o = vmplay(&["run", p.to_str().unwrap(), "--check", "--trace"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn reads_standard_input() {
    let o = vmplay_stdin(&["run", "-"], "maps\n");
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(text(&o.stdout), "1 maps ok\n");
}

#[test]
fn help_and_usage_errors() {
    let o = vmplay(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        text(&o.stdout).contains("vmplay run [--trace] [--check] [--personality NAME] FILE.vms")
    );
    assert_eq!(vmplay(&["run", "--help"]).status.code(), Some(0));
    for args in [
        &[][..],
        &["run"],
        &["frob"],
        &["run", "--bogus", "x.vms"],
        &["run", "a.vms", "b.vms"],
        &["run", "--personality", "openbsd", "a.vms"],
        &["run", "--personality"],
    ] {
        let o = vmplay(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(!text(&o.stderr).is_empty(), "{args:?}: a message on stderr");
        assert_eq!(text(&o.stdout), "", "{args:?}");
    }
    let o = vmplay(&["run", "/nonexistent/x.vms"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("/nonexistent/x.vms"));
}

#[test]
fn run_prints_the_swap_operations() {
    let out = vmplay_stdin(
        &["run", "--check", "-"],
        "swapoff\nswapon 64M\nswapon 64M\nmemlimit 4M\n\
         $a = mmap $arena 8K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\n\
         store $a 1\npagemap $a 8K\nsmaps\nfaults\nswapped\nexit\nprocs\np1: swapped\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "1 swapoff -EINVAL\n2 swapon 0\n3 swapon -EBUSY\n4 memlimit 0\n\
         5 mmap 0x300000000000\n6 store ok\n7 pagemap 0 P.\n8 smaps ok\n\
         \x20 0x300000000000-0x300000002000 Rss=4 Pss=4 Private_Dirty=4 Anonymous=4\n\
         9 faults majflt=0\n10 swapped 0\n11 exit ok\n12 procs ok\n\
         13 error swapped is not run by a process\n"
    );
}

/// The exercise every runner shares (`tests/exercises/`): its text and the
/// output all of them print.
fn exercise(name: &str) -> (PathBuf, String) {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/exercises"
    ));
    let out = std::fs::read_to_string(dir.join(format!("{name}.out"))).unwrap();
    (dir.join(format!("{name}.vms")), out)
}

#[test]
fn an_exercise_answered_right_exits_0() {
    let (p, want) = exercise("cow_fork_pass");
    let o = vmplay(&["run", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), want);
    assert_eq!(text(&o.stdout).matches(" expect pass\n").count(), 8);
    assert_eq!(text(&o.stderr), "");
}

#[test]
fn an_exercise_answered_wrong_exits_4_after_running_to_the_end() {
    let (p, want) = exercise("cow_fork_fail");
    let o = vmplay(&["run", "--check", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(4));
    assert_eq!(text(&o.stdout), want);
    assert!(text(&o.stdout).contains("11 expect FAIL line 7 result: expected 0x42, found 0x41\n"));
    assert!(text(&o.stdout).ends_with("16 expect pass\n"));
    assert_eq!(text(&o.stderr), "vmplay: 3 of 8 expectations failed\n");
}

#[test]
fn a_malformed_expectation_exits_2_not_4() {
    let o = vmplay_stdin(
        &["run", "-"],
        &format!("{MAP}expect 1 result 0x1\nexpect mincore $a 4K 2\nexpect 1 result 0x2\n"),
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        text(&o.stdout),
        "1 mmap 0x300000000000\n2 expect FAIL line 1 result: expected 0x1, found 0x300000000000\n3 error mincore BITS are 0s and 1s, one per page, not '2'\n"
    );
}

#[test]
fn trace_prints_no_events_for_an_expectation() {
    let o = vmplay_stdin(
        &["run", "--trace", "-"],
        &format!("{MAP}store $a 1\nexpect mincore $a 4K 1\n"),
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(
        text(&o.stdout).ends_with("\n3 expect pass\n"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn personality_comes_from_the_line_or_the_option() {
    // MS_SYNC is 0 under FreeBSD, 4 under Linux: `msync ... 0` is the
    // same call as MS_SYNC only under FreeBSD; minherit exists only there.
    let text_bsd = "personality freebsd\nminherit $arena 4K INHERIT_NONE\n";
    let o = vmplay_stdin(&["run", "-"], text_bsd);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(text(&o.stdout), "1 personality ok\n2 minherit 0\n");
    let plain = "minherit $arena 4K INHERIT_NONE\n";
    let o = vmplay_stdin(&["run", "-"], plain);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stdout).starts_with("1 error minherit is not offered under linux"));
    let o = vmplay_stdin(&["run", "--personality", "netbsd", "-"], plain);
    assert_eq!(o.status.code(), Some(2), "MAP_INHERIT_ names under NetBSD");
    let o = vmplay_stdin(
        &["run", "--personality", "netbsd", "-"],
        "minherit $arena 4K MAP_INHERIT_NONE\n",
    );
    assert_eq!(text(&o.stdout), "1 minherit 0\n");
    // The line wins over the option; a second personality line is an error.
    let o = vmplay_stdin(&["run", "--personality", "netbsd", "-"], text_bsd);
    assert_eq!(text(&o.stdout), "1 personality ok\n2 minherit 0\n");
    let o = vmplay_stdin(&["run", "-"], "maps\npersonality netbsd\n");
    assert_eq!(o.status.code(), Some(2));
}
