//! `expect` lines: their grammar, their errors of the line, and what each
//! check finds (FORMAT-expect.md).

use vmscript::expect::{Check, Cmp, LineRef, parse_expect};
use vmscript::{Failure, Runner, check_syntax, run_to_string};

const MAP: &str =
    "$a = mmap $arena 16K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\n";

/// The result each `expect` line printed, by line.
fn results(text: &str) -> Vec<(usize, String)> {
    let out = Runner::default().run_text(text);
    assert_eq!(out.error, None, "{text}");
    out.outputs
        .iter()
        .filter(|o| o.op == "expect")
        .map(|o| (o.line, o.result.clone()))
        .collect()
}

fn error_of(text: &str) -> (usize, String) {
    let (_, e) = run_to_string(text, false);
    let e = e.unwrap_or_else(|| panic!("no error in {text:?}"));
    (e.line, e.message)
}

#[test]
fn other_lines_are_not_expectations() {
    assert_eq!(parse_expect("load $a"), Ok(None));
    assert_eq!(parse_expect("# expect 1 result ok"), Ok(None));
    assert_eq!(parse_expect(""), Ok(None));
    assert_eq!(parse_expect("p2: load $expect"), Ok(None));
}

#[test]
fn the_grammar_parses_each_check() {
    let x = parse_expect("expect @cow events cow_copy=1 tlb_flush>=2")
        .unwrap()
        .unwrap();
    let Check::Events { line, counts } = x.check else {
        panic!("{x:?}")
    };
    assert_eq!(line, LineRef::Label("cow".into()));
    assert_eq!(counts[0].name, "cow_copy");
    assert_eq!((counts[1].cmp, counts[1].value), (Cmp::Ge, 2));
    let x = parse_expect("p2: expect pte $a+4K P !RW  # comment")
        .unwrap()
        .unwrap();
    assert_eq!(x.proc, Some(2));
    assert!(matches!(x.check, Check::Pte { ref bits, .. } if bits.len() == 2 && !bits[1].set));
    let x = parse_expect("expect 12 result 0 1010").unwrap().unwrap();
    assert_eq!(
        x.check,
        Check::Result {
            line: LineRef::Number(12),
            text: "0 1010".into()
        }
    );
}

#[test]
fn malformed_expectations_are_errors_with_their_line() {
    for (line, want) in [
        ("expect", "expect what?"),
        ("expect frames", "expect frames takes NAME=N"),
        ("expect frames anon", "is not NAME=N"),
        ("expect frames anon=x", "bad number"),
        ("expect frames pages=3", "unknown frame count 'pages'"),
        ("expect 3 events cow=1", "unknown event count 'cow'"),
        ("expect 0 result ok", "is not a line"),
        ("expect @ result ok", "bad label"),
        ("expect 3 result", "takes result TEXT or events"),
        ("expect 3 smiles", "takes result TEXT or events"),
        ("expect mincore $a 4K", "takes ADDR LEN BITS"),
        ("expect mincore $a 4K 12", "0s and 1s"),
        ("expect entry $a rwx", "PERMS are as maps prints them"),
        ("expect entry $a", "takes ADDR PERMS"),
        ("expect entries", "takes a number"),
        ("expect pte $a", "takes ADDR and bits"),
        ("expect pte $a P XX", "unknown PTE bit 'XX'"),
        ("p2: expect frames free>0", "not about a process"),
        ("p2: expect 3 result ok", "not about a process"),
        ("$x = expect frames free>0", "no result to bind"),
        ("q: expect frames free>0", "bad process name"),
    ] {
        let text = format!("{MAP}store $a 1\n{line}\n");
        let (l, m) = error_of(&text);
        assert_eq!(l, 3, "{line}: {m}");
        assert!(m.contains(want), "{line}: {m:?} lacks {want:?}");
        // check_syntax finds the same error without running anything
        let errs = check_syntax(&text);
        assert_eq!(errs.len(), 1, "{line}: {errs:?}");
        assert_eq!(errs[0].line, 3);
    }
}

#[test]
fn names_that_only_the_run_knows_are_errors_of_the_line() {
    for (line, want) in [
        ("expect 9 result ok", "line 9 has not run an operation"),
        ("expect 1 result ok", ""),
        ("expect @nope result ok", "no line labelled @nope has run"),
        ("expect $b result ok", "no line has bound $b"),
        ("expect mincore $b 4K 1", "undefined variable $b"),
        ("p3: expect entries 1", "no process p3"),
    ] {
        let text = format!("{MAP}{line}\n");
        let (_, e) = run_to_string(&text, false);
        if want.is_empty() {
            assert_eq!(e, None, "{line}");
            continue;
        }
        let e = e.unwrap_or_else(|| panic!("{line}: no error"));
        assert_eq!(e.line, 2);
        assert!(e.message.contains(want), "{line}: {:?}", e.message);
    }
    assert_eq!(
        error_of("expect last result ok\n"),
        (1, "no line has run yet".into())
    );
}

#[test]
fn results_are_compared_as_printed() {
    let r = results(&format!(
        "{MAP}load $a+4K # @read\nstore $a+1G 1\nexpect @read result 0x00\nexpect 3 result SIGSEGV\nexpect $a result 0x300000000000\nexpect last result 0x00\n"
    ));
    assert_eq!(
        r,
        vec![
            (4, "pass".into()),
            (5, "pass".into()),
            (6, "pass".into()),
            (7, "FAIL line 3 result: expected 0x00, found SIGSEGV".into()),
        ]
    );
}

#[test]
fn events_count_what_the_line_caused() {
    let r = results(&format!(
        "{MAP}store $a 1\nload $a+4K\nfork p2\np2: store $a 2\nstore $a+8K 3 # @late\n\
         expect 2 events zero_fill=1 page_fault=1 tlb_flush=0\n\
         expect 3 events zero_page=1 frame_alloc=0\n\
         expect 5 events cow_copy=1 frame_copy=1 tlb_flush=1\n\
         expect 4 events amap_copy=0 fork=1\n\
         expect @late events zero_fill!=1\n"
    ));
    assert_eq!(r[0].1, "pass");
    assert_eq!(r[1].1, "pass");
    assert_eq!(r[2].1, "pass");
    assert_eq!(r[3].1, "pass");
    assert_eq!(
        r[4].1,
        "FAIL line 6 events: expected zero_fill!=1, found zero_fill=1"
    );
}

#[test]
fn events_off_make_an_events_expectation_an_error() {
    let mut r = Runner::default();
    r.machine_mut().events_mut().set_enabled(false);
    let out = r.run_text(&format!("{MAP}store $a 1\nexpect 2 events zero_fill=1\n"));
    let e = out.error.expect("an error");
    assert_eq!(e.line, 3);
    assert!(e.message.contains("not all recorded"), "{}", e.message);
}

#[test]
fn state_checks_read_the_machine_at_that_point() {
    let r = results(&format!(
        "{MAP}store $a 1\nmprotect $a+4K 4K PROT_READ\n\
         expect entries 3\n\
         expect entry $a+4K r--p anon\n\
         expect entry $a+4K r--p shmem\n\
         expect entry $a+64K none\n\
         expect entry $a+64K rw-p\n\
         expect pte $a P RW US A D\n\
         expect pte $a !D\n\
         expect pte $a+8K none\n\
         expect mincore $a 16K 1000\n\
         expect mincore $a+1G 4K 1\n\
         expect frames anon>=1 page-table>=1 swapped=0\n\
         expect frames anon=0\n"
    ));
    let got: Vec<&str> = r.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(
        got,
        vec![
            "pass",
            "pass",
            "FAIL entry at 0x300000001000: expected r--p shmem, found r--p anon 0x300000001000-0x300000002000",
            "pass",
            "FAIL entry at 0x300000010000: expected rw-p, found no entry",
            "pass",
            "FAIL pte for 0x300000000000: expected !D, found P RW US A D NX (PT)",
            "pass",
            "pass",
            "FAIL mincore of 1 pages at 0x300040000000: expected 1, found -ENOMEM",
            "pass",
            got[11],
        ]
    );
    assert!(got[11].starts_with("FAIL frames: expected anon=0, found anon="));
}

#[test]
fn an_expectation_leaves_no_events_and_changes_nothing() {
    let mut r = Runner::default();
    let text = format!("{MAP}store $a 1\n");
    r.run_text(&text);
    r.machine_mut()
        .events_mut()
        .push(vmcore::Event::Exit { pid: 9 });
    let o = r
        .exec_line(3, "expect mincore $a 16K 1000")
        .unwrap()
        .unwrap();
    assert!(o.events.is_empty());
    assert_eq!(o.failure, None);
    assert_eq!(o.touched.pids, vec![1]);
    // the event that was pending before the expect line is still there
    assert_eq!(
        r.machine_mut().take_events(),
        vec![vmcore::Event::Exit { pid: 9 }]
    );
    let o = r
        .exec_line(4, "expect mincore $a 16K 1111")
        .unwrap()
        .unwrap();
    assert_eq!(o.failure, Some(Failure::Expectation));
    assert!(!o.expectation.as_ref().unwrap().passed);
    r.machine().check().unwrap();
}

#[test]
fn scenarios_without_expect_print_what_they_printed() {
    // `expect` inside a comment or a file name is no expectation
    let (t, e) = run_to_string("$f = open expect.txt 8K # expect nothing\nmaps\n", false);
    assert_eq!(e, None);
    assert_eq!(t, "1 open ok\n2 maps ok\n");
}

#[test]
fn the_shared_exercise_prints_its_recorded_output() {
    for name in ["cow_fork_pass", "cow_fork_fail"] {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/exercises/");
        let text = std::fs::read_to_string(format!("{dir}{name}.vms")).unwrap();
        let want = std::fs::read_to_string(format!("{dir}{name}.out")).unwrap();
        let (got, e) = run_to_string(&text, false);
        assert_eq!(e, None);
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn an_expect_line_counts_as_a_line_before_the_personality_line() {
    let (_, e) = run_to_string("expect frames free>0\npersonality freebsd\n", false);
    let e = e.expect("an error");
    assert_eq!(e.line, 2);
    assert!(
        e.message.contains("must be the first line"),
        "{}",
        e.message
    );
    let (t, e) = run_to_string("personality freebsd\nexpect frames free>0 anon=0\n", false);
    assert_eq!(e, None);
    assert_eq!(t, "1 personality ok\n2 expect pass\n");
}
