//! The runner: errors of the line that need the scenario's state, output
//! format, variables, processes and descriptors.

use proptest::prelude::*;
use vmscript::runner::{Descriptor, Value};
use vmscript::{
    Failure, LineOutput, RunOutcome, Runner, ScriptError, Span, Touched, run_to_string,
};

const ANON: &str = "PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0";

fn run(text: &str) -> (String, Option<ScriptError>) {
    run_to_string(text, false)
}

/// The message of the error a scenario stops at, and on which line.
fn error_of(text: &str) -> (usize, String) {
    let (out, err) = run(text);
    let e = err.unwrap_or_else(|| panic!("no error in\n{text}\noutput:\n{out}"));
    assert!(
        out.ends_with(&format!("{e}\n")),
        "the error line is printed last: {out:?}"
    );
    (e.line, e.message)
}

fn assert_error(text: &str, line: usize, want: &str) {
    let (l, m) = error_of(text);
    assert_eq!(l, line, "{text:?}: error on line {l} ({m}), wanted {line}");
    assert!(m.contains(want), "{text:?}: message {m:?} lacks {want:?}");
}

#[test]
fn syntax_errors_are_errors_of_the_line() {
    assert_error(
        "maps\nfrobnicate\nmaps\n",
        2,
        "unknown operation 'frobnicate'",
    );
    assert_error("load\n", 1, "load takes 1 argument");
    assert_error("munmap $arena\n", 1, "munmap takes 2 arguments");
    assert_error("\n\nload 12z\n", 3, "bad number '12z'");
    assert_error("load 99999999999999999999\n", 1, "number too large");
    assert_error(
        "mprotect $arena 4K PROT_READ|PROT_BOGUS\n",
        1,
        "unknown PROT flag 'PROT_BOGUS'",
    );
    assert_error(
        "mprotect $arena 4K PROT_READ|4\n",
        1,
        "flags are names or 0",
    );
    assert_error("mlockall 1\n", 1, "flags are names or 0");
    assert_error("store $arena 256\n", 1, "value 256 is not a byte");
    assert_error("fill $arena 4K 0x1ff\n", 1, "not a byte");
    assert_error("open ../etc 4K\n", 1, "bad file name");
    assert_error("memfd a:b 4K\n", 1, "bad file name");
    assert_error("$x = store $arena 1\n", 1, "store has no result to bind");
    assert_error("$x = maps\n", 1, "maps has no result to bind");
    assert_error(
        "$arena = mmap 0 4K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS -1 0\n",
        1,
        "$arena cannot be assigned",
    );
    assert_error("p1\n", 1, "unknown operation 'p1'");
    assert_error("p1: # nothing\n", 1, "missing operation");
}

#[test]
fn undefined_variables() {
    assert_error("load $nowhere\n", 1, "undefined variable $nowhere");
    assert_error("load $arena+$gap\n", 1, "undefined variable $gap");
    assert_error("pread $f 0\n", 1, "undefined variable $f");
    assert_error("close $arena\n", 1, "undefined variable $arena");
    // A failed binding still binds; an error of the line binds nothing.
    assert_error(
        "$a = mmap $x 4K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS -1 0\nload $a\n",
        1,
        "undefined variable $x",
    );
    let (l, _) = error_of(&format!("$a = mmap $arena 4K {ANON} 7\nload $a\n"));
    assert_eq!(l, 1);
}

#[test]
fn descriptors_and_addresses_do_not_mix() {
    assert_error(
        "$f = open data.bin 4K\nload $f\n",
        2,
        "$f is a descriptor, not an address",
    );
    assert_error(
        "$f = open data.bin 4K\nload $arena+$f\n",
        2,
        "descriptor, not an address",
    );
    assert_error(
        &format!("$a = mmap $arena 4K {ANON}\npread $a 0\n"),
        2,
        "$a is not a descriptor",
    );
    assert_error(
        &format!("$a = mmap $arena 4K {ANON}\nmmap $arena 4K PROT_READ MAP_SHARED $a 0\n"),
        2,
        "$a is not a descriptor",
    );
    // Rebinding changes the kind.
    assert_error(
        &format!("$v = open d.bin 4K\n$v = mmap $arena 4K {ANON}\nclose $v\n"),
        3,
        "not a descriptor",
    );
}

#[test]
fn processes_must_be_alive() {
    assert_error("p2: maps\n", 1, "no process p2");
    assert_error("fork p2\np3: maps\n", 2, "no process p3");
    assert_error("fork p2\np2: exit\np2: maps\n", 3, "no process p2");
    assert_error("exit\nmaps\n", 2, "no process p1");
    assert_error("fork p1\n", 1, "process p1 already exists");
    assert_error("fork p2\np2: fork p2\n", 2, "process p2 already exists");
    assert_error("fork p2\nfork p2\n", 2, "process p2 already exists");
    // A name is free again once its process exited.
    let (out, err) = run("fork p2\np2: exit\nfork p2\np2: maps\n");
    assert_eq!(err, None);
    assert_eq!(out, "1 fork ok\n2 exit ok\n3 fork ok\n4 maps ok\n");
    // Any process may exit, p1 included; the others carry on.
    let (out, err) = run("fork p2\nexit\np2: fork p3\np3: maps\n");
    assert_eq!(err, None, "{out}");
    // The process is checked before the arguments (as the recorder does).
    assert_error("p5: load $undefined\n", 1, "no process p5");
    // But the number of arguments before the process.
    assert_error("p5: load\n", 1, "load takes 1 argument");
}

#[test]
fn a_file_is_created_once() {
    assert_error(
        "$f = open a.bin 4K\n$g = open a.bin 4K\n",
        2,
        "file a.bin was already created",
    );
    assert_error(
        "open a.bin 4K\nfork p2\np2: open a.bin 8K\n",
        3,
        "already created",
    );
    // memfd names may repeat, and do not create files.
    let (out, err) = run("$m = memfd a.bin 4K\n$n = memfd a.bin 4K\n$f = open a.bin 4K\n");
    assert_eq!(err, None);
    assert_eq!(out, "1 memfd ok\n2 memfd ok\n3 open ok\n");
}

#[test]
fn run_stops_at_the_first_error() {
    let mut r = Runner::default();
    let RunOutcome { outputs, error } =
        r.run_text(&format!("# hi\nmmap $arena 4K {ANON}\n\nbogus\nmaps\n"));
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0].line, 2);
    let e = error.unwrap();
    assert_eq!(
        (e.line, e.to_string()),
        (4, "4 error unknown operation 'bogus'".to_string())
    );
    let (text, _) = run(&format!("mmap $arena 4K {ANON}\nload 0x\nmaps\n"));
    assert_eq!(text, "1 mmap 0x300000000000\n2 error bad number '0x'\n");
}

#[test]
fn output_format() {
    let text = format!(
        "$a = mmap $arena 8K {ANON}   # two pages\n\
         store $a+4K 0x41\n\
         load $a+4K\n\
         load $a\n\
         mprotect $a 4K PROT_READ\n\
         store $a 1\n\
         mincore $a 8K\n\
         mincore $a 0\n\
         mmap 0 4K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS -1 0\n\
         maps\n"
    );
    let (out, err) = run(&text);
    assert_eq!(err, None);
    assert_eq!(
        out,
        "1 mmap 0x300000000000\n\
         2 store ok\n\
         3 load 0x41\n\
         4 load 0x00\n\
         5 mprotect 0\n\
         6 store SIGSEGV\n\
         7 mincore 0 11\n\
         8 mincore 0\n\
         9 mmap <addr>\n\
         10 maps ok\n\
         \x20 0x300000000000-0x300000001000 r--p 0x0 anon\n\
         \x20 0x300000001000-0x300000002000 rw-p 0x0 anon\n"
    );
}

#[test]
fn line_output_display_and_fields() {
    let mut r = Runner::default();
    let o: LineOutput = r
        .exec_line(7, &format!("$a = mmap $arena 4K {ANON}"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (o.line, o.pid, o.op, o.result.as_str()),
        (7, 1, "mmap", "0x300000000000")
    );
    assert_eq!(o.to_string(), "7 mmap 0x300000000000");
    assert!(
        !o.events.is_empty(),
        "the machine records events by default"
    );
    let o = r.exec_line(8, "  maps  ").unwrap().unwrap();
    assert_eq!(
        o.extra,
        vec!["  0x300000000000-0x300000001000 rw-p 0x0 anon".to_string()]
    );
    assert_eq!(
        o.to_string(),
        "8 maps ok\n  0x300000000000-0x300000001000 rw-p 0x0 anon"
    );
    assert_eq!(r.exec_line(9, "   # comment"), Ok(None));
    assert_eq!(r.exec_line(10, ""), Ok(None));
    assert_eq!(
        r.exec_line(11, "nope"),
        Err(ScriptError::new(11, "unknown operation 'nope'"))
    );
}

/// Runs `lines` in order on one runner and gives what each touched.
fn touched(lines: &[&str]) -> Vec<Touched> {
    let mut r = Runner::default();
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            r.exec_line(i + 1, l)
                .unwrap_or_else(|e| panic!("{l}: {e}"))
                .unwrap_or_else(|| panic!("{l}: no output"))
                .touched
        })
        .collect()
}

fn span(start: u64, end: u64) -> Span {
    Span { start, end }
}

fn t(pids: &[u32], ranges: &[Span]) -> Touched {
    Touched {
        pids: pids.to_vec(),
        ranges: ranges.to_vec(),
    }
}

const A: u64 = 0x3000_0000_0000;

#[test]
fn an_mmap_touches_the_range_it_mapped_rounded_to_pages() {
    assert_eq!(
        touched(&[
            &format!("$a = mmap $arena 5000 {ANON}"),
            "mmap 0 4K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS -1 0",
        ]),
        vec![
            t(&[1], &[span(A, A + 0x2000)]),
            // placed top-down from mmap_base (the result prints as <addr>)
            t(&[1], &[span(0x7fff_f7ff_e000, 0x7fff_f7ff_f000)]),
        ]
    );
}

#[test]
fn a_failed_mmap_touches_the_range_it_asked_for() {
    assert_eq!(
        touched(&["mmap $arena+1 4K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0"]),
        vec![t(&[1], &[span(A + 1, A + 1 + 0x1000)])]
    );
}

#[test]
fn range_operations_touch_their_arguments_as_written() {
    let got = touched(&[
        &format!("$a = mmap $arena 64K {ANON}"),
        "munmap $a+60K 4K",
        "mprotect $a 8K PROT_READ",
        "madvise $a+8K 100 MADV_DONTNEED",
        "mincore $a 16K",
        "mlock $a+4K 4K",
        "munlock $a+4K 4K",
        "msync $a 4K MS_SYNC",
        "fill $a+16K 3 0x7",
        "mincore $a 0",
    ]);
    assert_eq!(
        got[1..],
        [
            t(&[1], &[span(A + 0xf000, A + 0x10000)]),
            t(&[1], &[span(A, A + 0x2000)]),
            t(&[1], &[span(A + 0x2000, A + 0x2000 + 100)]),
            t(&[1], &[span(A, A + 0x4000)]),
            t(&[1], &[span(A + 0x1000, A + 0x2000)]),
            t(&[1], &[span(A + 0x1000, A + 0x2000)]),
            t(&[1], &[span(A, A + 0x1000)]),
            t(&[1], &[span(A + 0x4000, A + 0x4003)]),
            t(&[1], &[span(A, A)]),
        ]
    );
}

#[test]
fn accesses_touch_one_byte_even_when_they_fault() {
    let got = touched(&[
        &format!("$a = mmap $arena 8K {ANON}"),
        "load $a+5",
        "store $a+4K 0x41",
        "exec $a",
        "load $a+64K",
    ]);
    assert_eq!(
        got[1..],
        [
            t(&[1], &[span(A + 5, A + 6)]),
            t(&[1], &[span(A + 0x1000, A + 0x1001)]),
            t(&[1], &[span(A, A + 1)]),
            t(&[1], &[span(A + 0x10000, A + 0x10001)]),
        ]
    );
}

#[test]
fn mremap_touches_the_old_range_then_the_new_one() {
    let got = touched(&[
        &format!("$a = mmap $arena 8K {ANON}"),
        "$b = mremap $a 8K 12K MREMAP_MAYMOVE|MREMAP_FIXED $arena+1M",
        "mremap $arena+2M 4K 8K 0",
    ]);
    assert_eq!(
        got[1..],
        [
            t(
                &[1],
                &[span(A, A + 0x2000), span(A + 0x10_0000, A + 0x10_3000)]
            ),
            // failed (nothing mapped there): the old range only
            t(&[1], &[span(A + 0x20_0000, A + 0x20_1000)]),
        ]
    );
}

#[test]
fn fork_touches_parent_and_child_and_exit_its_process() {
    let got = touched(&[
        "fork p2",
        "fork p3",
        "p2: exit",
        "p3: maps",
        "mlockall MCL_CURRENT",
    ]);
    assert_eq!(
        got,
        [
            t(&[1, 2], &[]),
            t(&[1, 3], &[]),
            t(&[2], &[]),
            t(&[3], &[]),
            t(&[1], &[]),
        ]
    );
}

#[test]
fn a_range_past_the_top_of_the_address_space_ends_at_2_64_minus_1() {
    assert_eq!(
        touched(&["munmap 0xfffffffffffff000 8K"]),
        vec![t(&[1], &[span(0xffff_ffff_ffff_f000, u64::MAX)])]
    );
}

#[test]
fn sums_wrap_modulo_2_64() {
    let (out, err) = run(&format!(
        "mmap $arena 4K {ANON}\n\
         store 0xffffffffffffffff+$arena+1 0x5a\n\
         load $arena+0x8000000000000000+0x8000000000000000\n"
    ));
    assert_eq!(err, None);
    assert_eq!(out, "1 mmap 0x300000000000\n2 store ok\n3 load 0x5a\n");
}

#[test]
fn failed_calls_bind_what_the_kernel_returns() {
    let mut r = Runner::default();
    let o = r
        .exec_line(1, &format!("$a = mmap $arena+1 4K {ANON}"))
        .unwrap()
        .unwrap();
    assert_eq!(o.result, "-EINVAL");
    assert_eq!(r.variable("a"), Some(Value::Address(-22i64 as u64)));
    // -EINVAL+22 is 0, computed modulo 2^64.
    let o = r
        .exec_line(2, "mmap $a+22 4K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS -1 0")
        .unwrap()
        .unwrap();
    assert_eq!(o.result, "<addr>");
    r.exec_line(3, "$f = open data.bin 4K").unwrap();
    assert!(matches!(
        r.variable("f"),
        Some(Value::Descriptor(Some(Descriptor { .. })))
    ));
}

#[test]
fn descriptors_follow_the_process_that_holds_them() {
    let text = "$f = open data.bin 4K\n\
                fork p2\n\
                close $f\n\
                pread $f 1\n\
                p2: pread $f 1\n\
                $g = open more.bin 4K\n\
                p2: pread $g 0\n\
                p2: mmap $arena 4K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED $g 0\n\
                $h = open third.bin 4K\n\
                pread $f 0\n\
                pread $h 2\n";
    let (out, err) = run(text);
    assert_eq!(err, None);
    assert_eq!(
        out,
        "1 open ok\n2 fork ok\n3 close 0\n4 pread -EBADF\n5 pread 0x01\n6 open ok\n\
         7 pread -EBADF\n8 mmap 0x300000000000\n9 open ok\n10 pread -EBADF\n11 pread 0x02\n"
    );
}

#[test]
fn process_names_and_pids() {
    let mut r = Runner::default();
    assert_eq!(r.process_names(), vec![("p1".to_string(), 1)]);
    assert_eq!(r.pid_of("p1"), Some(1));
    r.run_text("fork p5\np5: fork p2\n");
    let names = r.process_names();
    assert_eq!(
        names.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["p1", "p2", "p5"]
    );
    let p5 = r.pid_of("p5").unwrap();
    assert_ne!(p5, 1);
    let o = r.exec_line(3, "p5: exit").unwrap().unwrap();
    assert_eq!(o.pid, p5);
    assert_eq!(r.pid_of("p5"), None);
    assert_eq!(r.pid_of("q"), None);
    assert!(!r.machine().is_alive(p5));
}

#[test]
fn trace_prints_events_indented() {
    let (out, err) = run_to_string(&format!("mmap $arena 4K {ANON}\nstore $arena 1\n"), true);
    assert_eq!(err, None);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1 mmap 0x300000000000");
    assert!(lines.iter().any(|l| l.starts_with("2 store ok")));
    assert!(
        lines.iter().filter(|l| l.starts_with("    ")).count() > 1,
        "{out}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("    ") || l.starts_with("1 ") || l.starts_with("2 "))
    );
}

#[test]
fn state_is_serializable() {
    fn ser<T: serde::Serialize>(_: &T) {}
    let mut r = Runner::default();
    let out = r.run_text("$f = open a 4K\n");
    ser(&r);
    ser(&out);
    ser(&r.variables());
    ser(&r.processes());
}

const POOL_EXPR: &[&str] = &[
    "0",
    "1",
    "4K",
    "8K",
    "2M",
    "$arena",
    "$arena+4K",
    "$a",
    "$a+4K",
    "$f",
    "0xfffffffffffff000",
];
const POOL_FLAGS: &[&str] = &[
    "0",
    "PROT_READ|PROT_WRITE",
    "PROT_EXEC",
    "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED",
    "MAP_SHARED|MAP_FIXED",
    "MAP_SHARED",
    "MADV_DONTNEED",
    "MADV_HUGEPAGE",
    "MS_SYNC",
    "MCL_CURRENT",
    "MREMAP_MAYMOVE",
    "MREMAP_MAYMOVE|MREMAP_FIXED",
];
const POOL_OPS: &[&str] = &[
    "mmap",
    "munmap",
    "mprotect",
    "madvise",
    "mincore",
    "mlock",
    "munlock",
    "mlockall",
    "munlockall",
    "msync",
    "mremap",
    "load",
    "store",
    "fill",
    "exec",
    "fork",
    "exit",
    "open",
    "memfd",
    "pread",
    "pwrite",
    "ftruncate",
    "close",
    "maps",
];

fn fuzz_line() -> impl Strategy<Value = String> {
    let tok = prop_oneof![
        proptest::sample::select(POOL_EXPR).prop_map(str::to_string),
        proptest::sample::select(POOL_FLAGS).prop_map(str::to_string),
        Just("-1".to_string()),
        Just("p2".to_string()),
        Just("data".to_string()),
        Just("255".to_string()),
    ];
    (
        proptest::option::of(proptest::sample::select(&["p1:", "p2:", "p3:"][..])),
        proptest::option::of(proptest::sample::select(&["$a =", "$f ="][..])),
        proptest::sample::select(POOL_OPS),
        proptest::collection::vec(tok, 0..7),
    )
        .prop_map(|(p, b, op, args)| {
            let mut s = String::new();
            for part in [p.unwrap_or(""), b.unwrap_or(""), op] {
                s.push_str(part);
                s.push(' ');
            }
            s.push_str(&args.join(" "));
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any text: the runner answers with output or an error of a line, never
    /// a panic.
    #[test]
    fn runner_never_panics_on_any_text(s in any::<String>()) {
        let mut r = Runner::default();
        let _ = r.run_text(&s);
    }

    /// Scenarios made of language-shaped lines (most of them errors of the
    /// line): every line either runs or is refused, the machine stays
    /// consistent, and an error changes nothing.
    #[test]
    fn runner_survives_random_scenarios(lines in proptest::collection::vec(fuzz_line(), 1..16)) {
        let mut r = Runner::default();
        for (i, l) in lines.iter().enumerate() {
            let _ = r.exec_line(i + 1, l);
            if let Err(m) = r.machine().check() {
                return Err(TestCaseError::fail(format!("line {}: {l:?}: {m}\n{lines:#?}", i + 1)));
            }
        }
    }
}

#[test]
fn a_failed_operation_says_how_it_failed() {
    let config = vmcore::MachineConfig {
        frames: 1024,
        ..vmcore::MachineConfig::default()
    };
    let mut r = Runner::new(vmcore::Machine::new(config));
    let failure =
        |r: &mut Runner, n: usize, line: &str| r.exec_line(n, line).unwrap().unwrap().failure;
    assert_eq!(
        failure(&mut r, 1, &format!("$a = mmap $arena 3M {ANON}")),
        None
    );
    assert_eq!(
        failure(&mut r, 6, &format!("$b = mmap $arena+4M 3M {ANON}")),
        None
    );
    assert_eq!(failure(&mut r, 2, "store $a 1"), None);
    assert_eq!(failure(&mut r, 3, "munmap $a+1 4K"), Some(Failure::Errno));
    assert_eq!(failure(&mut r, 4, "load $arena+1G"), Some(Failure::Signal));
    // 6 MiB of stores in a 4 MiB machine without swap: when no frame is
    // left and nothing can be reclaimed, the OOM killer kills the only
    // process, during its own line.
    assert_eq!(failure(&mut r, 7, "fill $a 3M 7"), None);
    let out = r.exec_line(5, "fill $b 3M 7").unwrap().unwrap();
    assert_eq!(out.result, "killed");
    assert_eq!(out.failure, Some(Failure::Killed));
    assert!(r.machine().processes().is_empty());
    assert!(r.machine().check().is_ok());
}

#[test]
fn number_errors_read_as_the_recorder_prints_them() {
    // The suffix is not part of the number shown; a number too large is
    // not shown at all (vmsoracle.c `parse_number`).
    for (line, want) in [
        ("load 1KK\n", "1 error bad number '1K'\n"),
        ("load 0xgM\n", "1 error bad number '0xg'\n"),
        ("load 99999999999999999999\n", "1 error number too large\n"),
        ("load 0x10000000000000000\n", "1 error number too large\n"),
        ("load 0xfffffffffffG\n", "1 error number too large\n"),
    ] {
        assert_eq!(vmscript::run_to_string(line, false).0, want, "{line:?}");
    }
}
