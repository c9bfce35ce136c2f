//! The BSD part of version 2 (FORMAT-v2-bsd.md) in the language: the
//! personality line, each personality's names and flag syntax, the
//! operations on offer, and the loan variables.

use vmcore::personality::{FREEBSD, LINUX, NETBSD};
use vmscript::parse::{FlagSet, parse_flags_in, parse_line_in};
use vmscript::run_to_string;

fn run(text: &str) -> String {
    run_to_string(text, false).0
}

#[test]
fn the_personality_line_comes_first_and_once() {
    assert_eq!(
        run("# a case\n\npersonality freebsd\n"),
        "3 personality ok\n"
    );
    assert!(
        run("maps\npersonality netbsd\n").ends_with(
            "2 error personality must be the first line that is not blank or a comment\n"
        )
    );
    assert!(
        run("personality netbsd\npersonality netbsd\n").starts_with("1 personality ok\n2 error")
    );
    assert!(run("personality openbsd\n").starts_with("1 error unknown personality 'openbsd'"));
    assert!(run("p1: personality netbsd\n").starts_with("1 error"));
}

#[test]
fn each_personality_has_its_names_and_values() {
    let f = &FREEBSD.names;
    let n = &NETBSD.names;
    assert_eq!(parse_flags_in("MS_SYNC", FlagSet::Ms, f), Ok(0));
    assert_eq!(parse_flags_in("MS_SYNC", FlagSet::Ms, n), Ok(4));
    assert_eq!(parse_flags_in("MAP_ANON", FlagSet::Map, f), Ok(0x1000));
    assert_eq!(
        parse_flags_in("MAP_ANON", FlagSet::Map, &LINUX.names),
        Ok(0x20)
    );
    assert_eq!(parse_flags_in("INHERIT_ZERO", FlagSet::Inherit, f), Ok(3));
    assert_eq!(
        parse_flags_in("MAP_INHERIT_ZERO", FlagSet::Inherit, n),
        Ok(4)
    );
    assert!(parse_flags_in("MAP_INHERIT_ZERO", FlagSet::Inherit, f).is_err());
    assert!(parse_flags_in("MAP_GUARD", FlagSet::Map, n).is_err());
    assert!(parse_flags_in("MAP_POPULATE", FlagSet::Map, f).is_err());
}

#[test]
fn bsd_flags_take_macros_and_numbers() {
    let f = &FREEBSD.names;
    let n = &NETBSD.names;
    assert_eq!(
        parse_flags_in("PROT_READ|PROT_MAX(PROT_READ|PROT_WRITE)", FlagSet::Prot, f),
        Ok(1 | (3 << 16))
    );
    assert_eq!(
        parse_flags_in("PROT_READ|PROT_MPROTECT(PROT_EXEC)", FlagSet::Prot, n),
        Ok(1 | (4 << 3))
    );
    assert!(parse_flags_in("PROT_MPROTECT(PROT_EXEC)", FlagSet::Prot, f).is_err());
    assert!(parse_flags_in("PROT_MAX(PROT_MAX(PROT_READ))", FlagSet::Prot, f).is_err());
    assert_eq!(
        parse_flags_in("MAP_PRIVATE|MAP_ALIGNED(21)", FlagSet::Map, f),
        Ok(2 | (21 << 24))
    );
    assert!(parse_flags_in("MAP_ALIGNED(256)", FlagSet::Map, f).is_err());
    assert!(parse_flags_in("MAP_ALIGNED(x)", FlagSet::Map, n).is_err());
    assert!(parse_flags_in("MAP_ALIGNED(1)", FlagSet::Map, &LINUX.names).is_err());
    // Numbers: below 2^32 under the BSDs, 0 only under Linux.
    assert_eq!(
        parse_flags_in("0xffffffff", FlagSet::Map, f),
        Ok(0xffff_ffff)
    );
    assert_eq!(
        parse_flags_in("MAP_SHARED|666", FlagSet::Map, n),
        Ok(1 | 666)
    );
    assert!(parse_flags_in("0x100000000", FlagSet::Map, n).is_err());
    assert!(parse_flags_in("0x40", FlagSet::Map, &LINUX.names).is_err());
}

#[test]
fn operations_are_offered_by_their_personalities() {
    let minherit = "minherit $arena 4K 0";
    assert!(parse_line_in(minherit, &LINUX).is_err());
    assert!(parse_line_in(minherit, &FREEBSD).is_ok());
    assert!(parse_line_in("mremap $arena 4K 8K 0", &FREEBSD).is_err());
    assert!(parse_line_in("mremap $arena 4K 8K MAP_REMAPDUP", &NETBSD).is_ok());
    assert!(parse_line_in("memfd m 4K", &NETBSD).is_err());
    assert!(parse_line_in("$b = sbrk 4K", &FREEBSD).is_ok());
    assert!(parse_line_in("sbrk 4K", &NETBSD).is_err());
    assert!(parse_line_in("$l = loan $arena 4K", &NETBSD).is_ok());
    assert!(parse_line_in("loan $arena 4K", &FREEBSD).is_err());
    assert!(parse_line_in("swapon 1M", &NETBSD).is_err());
    assert!(parse_line_in("setrlimit RLIMIT_MEMLOCK RLIM_INFINITY", &FREEBSD).is_ok());
    assert!(parse_line_in("setrlimit RLIMIT_STACK 4K", &FREEBSD).is_err());
    assert!(parse_line_in("open f 4K RDONLY", &LINUX).is_ok());
    assert!(parse_line_in("open f 4K APPEND", &LINUX).is_err());
    assert!(parse_line_in("mincorex $arena 4K", &LINUX).is_ok());
}

#[test]
fn loan_variables_are_checked_before_the_line_runs() {
    let head = "personality netbsd\n$a = mmap $arena 4K PROT_READ MAP_PRIVATE|MAP_FIXED|0x20 -1 0\n$m = loan $a 4K\n";
    let out = run(&format!("{head}loanread $m 0\nunloan $m\nloanread $m 0\n"));
    assert!(
        out.contains("3 loan ok\n4 loanread 0x00\n5 unloan ok\n6 error the loan $m has ended"),
        "{out}"
    );
    let out = run(&format!("{head}loanread $m 4096\n"));
    assert!(
        out.contains("4 error offset 0x1000 is outside the loan"),
        "{out}"
    );
    let out = run(&format!("{head}store $m 1\n"));
    assert!(
        out.contains("4 error $m is a loan, not an address"),
        "{out}"
    );
    let out = run(&format!("{head}loanread $a 0\n"));
    assert!(out.contains("4 error $a is not a loan"), "{out}");
    let out = run("personality netbsd\n$l = loan $arena 4K\nunloan $l\n");
    assert_eq!(
        out,
        "1 personality ok\n2 loan -ENOENT\n3 error the loan $l failed\n"
    );
}

#[test]
fn an_open_mode_limits_the_descriptor() {
    let out = run(
        "$f = open f 8K RDONLY\nmmap $arena 8K PROT_READ|PROT_WRITE MAP_SHARED|MAP_FIXED $f 0\nmmap $arena 8K PROT_READ MAP_SHARED|MAP_FIXED $f 0\npwrite $f 0 1\npread $f 0\n",
    );
    assert_eq!(
        out,
        "1 open ok\n2 mmap -EACCES\n3 mmap 0x300000000000\n4 pwrite -EBADF\n5 pread 0x00\n"
    );
    let out = run(
        "$f = open f 8K WRONLY\nmmap $arena 8K PROT_READ MAP_PRIVATE|MAP_FIXED $f 0\npread $f 0\n",
    );
    assert_eq!(out, "1 open ok\n2 mmap -EACCES\n3 pread -EBADF\n");
}
