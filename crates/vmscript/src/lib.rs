//! The `.vms` scenario language: a parser and a runner.
//!
//! A scenario is a text of system calls and memory accesses against one
//! simulated machine (`tests/conformance/FORMAT.md` is the language, and
//! `tests/conformance/FORMAT-v2-swap.md` its swap operations, and
//! `tests/conformance/FORMAT-expect.md` the `expect` lines of exercises). The
//! parser ([`parse`]) mirrors the recorder that ran the conformance cases on
//! a real Linux kernel, rule for rule; the [`Runner`] executes lines on a
//! [`vmcore::Machine`] and prints their results exactly as recorded.
//!
//! ```
//! let (text, err) = vmscript::run_to_string("mmap $arena 4K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\n", false);
//! assert_eq!(text, "1 mmap 0x300000000000\n");
//! ```
#![forbid(unsafe_code)]

pub mod error;
pub mod expect;
pub mod parse;
pub mod runner;
pub mod swapfmt;

pub use error::ScriptError;
pub use expect::Expectation;
pub use parse::{Arg, ArgKind, Expr, FdRef, FlagSet, Op, Statement, Term, parse_line};
pub use runner::{Failure, LineOutput, RunOutcome, Runner, Span, Touched, run_to_string};

/// Check every line of a text (syntax only, no machine): all the errors,
/// not just the first. Names that only the running scenario knows
/// (variables, processes, files, labels) are not checked. The lines are
/// read under the personality of the text's `personality` line (Linux
/// without one); `expect` lines are read by [`expect::parse_expect`].
pub fn check_syntax(text: &str) -> Vec<ScriptError> {
    let p = scenario_personality(text).unwrap_or(&vmcore::personality::LINUX);
    parse::script_lines(text)
        .filter_map(|(n, l)| {
            let r = match expect::parse_expect(l) {
                Ok(None) => parse::parse_line_in(l, p).map(|_| ()),
                other => other.map(|_| ()),
            };
            r.err().map(|m| ScriptError::new(n, m))
        })
        .collect()
}

/// The personality a text's first line that is neither blank nor a comment
/// names, when it is a `personality` line with a known name.
pub fn scenario_personality(text: &str) -> Option<&'static vmcore::Personality> {
    let first = parse::script_lines(text)
        .map(|(_, l)| parse::tokenize(l))
        .find(|t| !t.is_empty())?;
    match first.as_slice() {
        ["personality", name] => vmcore::personality::by_name(name),
        _ => None,
    }
}
