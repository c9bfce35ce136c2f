//! Parsing details: numbers, sums, flags, names, the head of a line.

use proptest::prelude::*;
use vmscript::parse::{
    self, ARENA, Arg, FdRef, FlagSet, Op, Statement, Term, parse_expr, parse_flags, parse_number,
    parse_procname, script_lines, tokenize,
};
use vmscript::{check_syntax, parse_line};

#[test]
fn decimal_and_hex_numbers() {
    assert_eq!(parse_number("0"), Ok(0));
    assert_eq!(parse_number("4096"), Ok(4096));
    assert_eq!(parse_number("007"), Ok(7));
    assert_eq!(parse_number("0x1000"), Ok(0x1000));
    assert_eq!(parse_number("0xABCdef"), Ok(0xabcdef));
    assert_eq!(parse_number("0x0000000000000000000000001"), Ok(1));
    assert_eq!(parse_number("18446744073709551615"), Ok(u64::MAX));
    assert_eq!(parse_number("0xffffffffffffffff"), Ok(u64::MAX));
}

#[test]
fn suffixes() {
    assert_eq!(parse_number("16K"), Ok(16 << 10));
    assert_eq!(parse_number("2M"), Ok(2 << 20));
    assert_eq!(parse_number("64G"), Ok(64 << 30));
    assert_eq!(parse_number("0x10K"), Ok(16 << 10));
    assert_eq!(parse_number("0K"), Ok(0));
    // As in the recorder, a lone suffix is a number with no digits: 0.
    assert_eq!(parse_number("K"), Ok(0));
    assert_eq!(parse_number("16777215G"), Ok(16_777_215 << 30));
    assert!(parse_number("17179869184G").is_err(), "2^34 G overflows");
    // Only upper-case suffixes, only one.
    assert!(parse_number("16k").is_err());
    assert!(parse_number("1KK").is_err());
    assert!(parse_number("1KB").is_err());
}

#[test]
fn malformed_numbers() {
    for s in [
        "", "0x", "0xK", "0X10", "-1", "+1", "1.5", "0xg", "12a", "1_000", " 1", "٣",
    ] {
        assert!(parse_number(s).is_err(), "{s:?} should not parse");
    }
    assert!(parse_number("18446744073709551616").is_err());
    assert!(parse_number("0x10000000000000000").is_err());
    assert!(parse_number("99999999999999999999999").is_err());
}

#[test]
fn sums_wrap_modulo_2_64() {
    let e = parse_expr("$arena+8K").unwrap();
    assert_eq!(e.0, vec![Term::Arena, Term::Num(8192)]);
    let e = parse_expr("$a+0x1000+$b_2").unwrap();
    assert_eq!(
        e.0,
        vec![
            Term::Var("a".into()),
            Term::Num(0x1000),
            Term::Var("b_2".into())
        ]
    );
    // Wrapping is done when the sum is evaluated (see the runner tests);
    // every term on its own must fit.
    assert!(parse_expr("0xffffffffffffffff+1").is_ok());
    for bad in [
        "",
        "+",
        "1+",
        "+1",
        "1++2",
        "$",
        "$1a",
        "$a-1",
        "$arena-4K",
        "1 +2",
        "$a$b",
    ] {
        assert!(parse_expr(bad).is_err(), "{bad:?} should not parse");
    }
}

#[test]
fn flags() {
    assert_eq!(parse_flags("PROT_READ|PROT_WRITE", FlagSet::Prot), Ok(3));
    assert_eq!(parse_flags("0", FlagSet::Prot), Ok(0));
    assert_eq!(parse_flags("0x0", FlagSet::Prot), Ok(0));
    assert_eq!(parse_flags("0K", FlagSet::Prot), Ok(0));
    assert_eq!(parse_flags("PROT_NONE", FlagSet::Prot), Ok(0));
    assert_eq!(parse_flags("PROT_READ|0", FlagSet::Prot), Ok(1));
    assert_eq!(
        parse_flags("MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED", FlagSet::Map),
        Ok(0x32)
    );
    assert_eq!(parse_flags("MAP_ANON", FlagSet::Map), Ok(0x20));
    assert_eq!(parse_flags("MAP_SHARED|MAP_SHARED", FlagSet::Map), Ok(1));
    assert_eq!(parse_flags("MADV_GUARD_REMOVE", FlagSet::Madv), Ok(103));
    assert_eq!(parse_flags("MS_ASYNC|MS_SYNC", FlagSet::Ms), Ok(5));
    assert_eq!(parse_flags("MCL_CURRENT|MCL_FUTURE", FlagSet::Mcl), Ok(3));
    assert_eq!(
        parse_flags("MREMAP_MAYMOVE|MREMAP_FIXED", FlagSet::Mremap),
        Ok(3)
    );
    // Names belong to their argument position.
    assert!(parse_flags("MAP_FIXED", FlagSet::Prot).is_err());
    assert!(parse_flags("PROT_READ", FlagSet::Map).is_err());
    assert!(parse_flags("MLOCK_ONFAULT", FlagSet::Mcl).is_err());
    // A number other than 0 is an error, so is a malformed one.
    for bad in [
        "1",
        "0x20",
        "4K",
        "0x",
        "PROT_READ|",
        "|PROT_READ",
        "PROT_READ||PROT_WRITE",
        "prot_read",
        "$x",
        "",
    ] {
        assert!(
            parse_flags(bad, FlagSet::Prot).is_err(),
            "{bad:?} should not parse"
        );
    }
}

#[test]
fn process_names() {
    assert_eq!(parse_procname("p1"), Ok(1));
    assert_eq!(parse_procname("p42"), Ok(42));
    assert_eq!(parse_procname("p100000"), Ok(100_000));
    for bad in [
        "p",
        "p0",
        "p01",
        "P1",
        "q1",
        "p1a",
        "p-1",
        "1",
        "",
        "p99999999",
    ] {
        assert!(parse_procname(bad).is_err(), "{bad:?} should not parse");
    }
}

#[test]
fn tokens_and_comments() {
    assert_eq!(
        tokenize("  p2:\tload\x0b$a+1\x0c# load it\r"),
        vec!["p2:", "load", "$a+1"]
    );
    assert_eq!(tokenize("#mmap"), Vec::<&str>::new());
    assert_eq!(tokenize("load 1#2"), vec!["load", "1"]);
    assert_eq!(tokenize(" \t\r "), Vec::<&str>::new());
    let lines: Vec<_> = script_lines("a\n\nb\r\n").collect();
    assert_eq!(lines, vec![(1, "a"), (2, ""), (3, "b\r"), (4, "")]);
    // The recorder reads the scenario as a C string: a NUL ends it.
    let lines: Vec<_> = script_lines("a\nb\0c\nd").collect();
    assert_eq!(lines, vec![(1, "a"), (2, "b")]);
}

fn stmt(line: &str) -> Statement {
    parse_line(line).unwrap().unwrap()
}

#[test]
fn whole_lines() {
    assert_eq!(parse_line(""), Ok(None));
    assert_eq!(parse_line("   # only a comment"), Ok(None));
    let s = stmt("p2: $b = mremap $a 8K 16K MREMAP_MAYMOVE   # grow");
    assert_eq!(s.proc, Some(2));
    assert_eq!(s.bind.as_deref(), Some("b"));
    assert_eq!(s.op, Op::Mremap);
    assert_eq!(s.args.len(), 4);
    assert_eq!(s.args[3], Arg::Flags(1));
    let s = stmt("$f = open data.bin 4K");
    assert_eq!(s.proc_num(), 1);
    assert_eq!(
        s.args,
        vec![
            Arg::Name("data.bin".into()),
            Arg::Expr(parse::Expr(vec![Term::Num(4096)]))
        ]
    );
    let s = stmt("mmap 0 4K PROT_READ MAP_SHARED $f 0");
    assert_eq!(s.args[4], Arg::Fd(FdRef::Var("f".into())));
    let s = stmt("mmap 0 4K PROT_READ MAP_SHARED -1 0");
    assert_eq!(s.args[4], Arg::Fd(FdRef::None));
    assert_eq!(stmt("store $arena 255").args[1], Arg::Byte(255));
    assert_eq!(stmt("fork p7").args, vec![Arg::Proc(7)]);
    assert_eq!(stmt("p3: exit").proc, Some(3));
    assert_eq!(stmt("munlockall").args, vec![]);
    // `$x=` is one token, not a binding.
    assert!(parse_line("$x= mmap 0 4K 0 MAP_PRIVATE|MAP_ANONYMOUS -1 0").is_err());
    let _ = ARENA;
}

#[test]
fn line_syntax_errors() {
    let bad = [
        ("frobnicate 1", "unknown operation"),
        ("MMAP 0 4K 0 MAP_PRIVATE -1 0", "unknown operation"),
        ("p1:", "missing operation"),
        ("$a =", "missing operation"),
        ("p1: $a =", "missing operation"),
        (": load 1", "bad process name"),
        ("p0: load 1", "bad process name"),
        ("P1: load 1", "bad process name"),
        ("load", "takes 1 argument"),
        ("load 1 2", "takes 1 argument"),
        ("munmap 1", "takes 2 arguments"),
        ("mremap 1 2 3", "takes 4 to 5 arguments"),
        ("mremap 1 2 3 0 4 5", "takes 4 to 5 arguments"),
        ("exit now", "takes 0 arguments"),
        ("maps all", "takes 0 arguments"),
        ("load 0xZZ", "bad number"),
        ("load 99999999999999999999", "number too large"),
        ("load $arena+", "bad expression"),
        ("load $9", "bad variable"),
        ("mprotect 0 4K PROT_RAED", "unknown PROT flag 'PROT_RAED'"),
        ("mprotect 0 4K 1", "flags are names or 0"),
        ("mprotect 0 4K 0x", "bad number"),
        ("madvise 0 4K MAP_FIXED", "unknown MADV flag"),
        ("mlockall MS_SYNC", "unknown MCL flag"),
        ("msync 0 4K MCL_CURRENT", "unknown MS flag"),
        ("mremap 0 4K 8K MAP_FIXED", "unknown MREMAP flag"),
        (
            "mmap 0 4K PROT_READ MAP_PRIVATE 3 0",
            "descriptor must be -1 or a $variable",
        ),
        ("store 0 256", "not a byte"),
        ("store 0 1K", "not a byte"),
        ("store 0 $v", "bad number"),
        ("fill 0 1 0x100", "not a byte"),
        ("pwrite $f 0 300", "not a byte"),
        ("open a/b 4K", "bad file name"),
        ("open .. 4K", "bad file name"),
        ("memfd na*me 4K", "bad file name"),
        ("fork p0", "bad process name"),
        ("fork p2:", "bad process name"),
        ("$a = munmap 0 4K", "munmap has no result to bind"),
        ("$a = load 0", "load has no result to bind"),
        ("$a = fork p2", "fork has no result to bind"),
        (
            "$arena = mmap 0 4K 0 MAP_PRIVATE|MAP_ANONYMOUS -1 0",
            "$arena cannot be assigned",
        ),
        (
            "$1 = mmap 0 4K 0 MAP_PRIVATE|MAP_ANONYMOUS -1 0",
            "bad variable name",
        ),
        (
            "$ = mmap 0 4K 0 MAP_PRIVATE|MAP_ANONYMOUS -1 0",
            "bad variable name",
        ),
        (
            "load 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
            "too many tokens",
        ),
    ];
    for (line, want) in bad {
        match parse_line(line) {
            Err(m) => assert!(m.contains(want), "{line:?}: message {m:?} lacks {want:?}"),
            Ok(s) => panic!("{line:?} parsed as {s:?}"),
        }
    }
    // Sixteen tokens are allowed (and then the count is wrong).
    assert!(
        parse_line("load 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15")
            .unwrap_err()
            .contains("takes")
    );
}

#[test]
fn check_syntax_reports_every_line() {
    let errs = check_syntax("load 1\nfoo\n\nload 0xq # x\nmaps\n");
    let lines: Vec<_> = errs.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![2, 4]);
    assert_eq!(errs[0].to_string(), "2 error unknown operation 'foo'");
}

#[test]
fn every_op_round_trips_by_name() {
    for op in Op::ALL {
        assert_eq!(Op::from_name(op.name()), Some(op));
    }
}

/// Valid lines to mutate in the fuzz tests.
const VALID: &[&str] = &[
    "$a = mmap $arena 16K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0",
    "p2: $b = mremap $a+4K 8K 16K MREMAP_MAYMOVE|MREMAP_FIXED $arena+1M",
    "mprotect $a 4K PROT_NONE  # comment",
    "madvise $a 0x2000 MADV_DONTNEED",
    "mincore $a 16K",
    "msync $a 4K MS_SYNC",
    "mlockall MCL_CURRENT|MCL_FUTURE",
    "store $a+1 0xff",
    "fill $a 4K 7",
    "fork p3",
    "p3: exit",
    "$f = open data.bin 8K",
    "$m = memfd buf_1 2M",
    "pwrite $f 4095 1",
    "pread $f 0",
    "ftruncate $f 0",
    "close $f",
    "maps",
    "swapon 64M",
    "swapoff",
    "memlimit 4M",
    "swapped",
    "procs",
    "p2: pagemap $a+4K 8K",
    "smaps",
    "faults",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_any_string(s in any::<String>()) {
        let _ = parse_line(&s);
        let _ = check_syntax(&s);
    }

    #[test]
    fn parse_never_panics_on_language_like_text(s in "[ \t#:$=+|a-zA-Z0-9_.\\-]{0,80}") {
        let _ = parse_line(&s);
    }

    #[test]
    fn parse_never_panics_on_mutated_lines(
        idx in 0..VALID.len(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0..3u8), 0..6),
    ) {
        let mut b: Vec<u8> = VALID[idx].as_bytes().to_vec();
        for (pos, byte, kind) in edits {
            let at = if b.is_empty() { 0 } else { pos % (b.len() + 1) };
            match kind {
                0 => b.insert(at, byte),
                1 => if at < b.len() { b.remove(at); },
                _ => if at < b.len() { b[at] = byte; },
            }
        }
        let s = String::from_utf8_lossy(&b);
        let _ = parse_line(&s);
    }

    #[test]
    fn numbers_round_trip(v in any::<u64>()) {
        prop_assert_eq!(parse_number(&v.to_string()), Ok(v));
        prop_assert_eq!(parse_number(&format!("{v:#x}")), Ok(v));
        prop_assert_eq!(parse_number(&format!("{v:#X}").replacen("0X", "0x", 1)), Ok(v));
        let k = parse_number(&format!("{v}K"));
        prop_assert_eq!(k.ok(), v.checked_mul(1024));
    }
}
