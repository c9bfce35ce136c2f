//! The conformance cases recorded on Linux (tests/conformance/cases, the
//! project's own recordings in tests/conformance/recorded, and the version-2
//! swap cases in tests/conformance/cases-swap), run in-process through
//! `vmscript::Runner`.
//!
//! Every case runs, even after failures; the machine's invariants
//! (`Machine::check`) are checked after every line; at the end every failing
//! case is reported with a diff (expected first). `VMPLAY_CASE=SUBSTRING`
//! runs only the cases whose name contains SUBSTRING.

use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use vmcore::{Machine, MachineConfig};
use vmscript::Runner;

fn case_dirs() -> [PathBuf; 3] {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance");
    [
        base.join("cases"),
        base.join("recorded"),
        base.join("cases-swap"),
    ]
}

/// The cases: (name, scenario, recorded output).
fn cases() -> Vec<(String, String, String)> {
    let filter = std::env::var("VMPLAY_CASE").unwrap_or_default();
    let mut v = Vec::new();
    for dir in case_dirs() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for e in entries {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "vms") {
                let name = p.file_stem().unwrap().to_string_lossy().into_owned();
                if !name.contains(&filter) {
                    continue;
                }
                let vms = std::fs::read(&p).unwrap();
                let out = std::fs::read(p.with_extension("out"))
                    .unwrap_or_else(|e| panic!("{name}: no recorded .out: {e}"));
                v.push((
                    name,
                    String::from_utf8_lossy(&vms).into_owned(),
                    String::from_utf8_lossy(&out).into_owned(),
                ));
            }
        }
    }
    v.sort();
    v
}

/// Run one scenario as `vmplay run` does, checking the invariants after
/// every line. Returns the output and, when something went wrong besides
/// the output (the first broken invariant, a panic), what. A broken
/// invariant does not stop the run, so the diff shows the whole output.
fn run_case(text: &str) -> (String, Option<String>) {
    let mut out = String::new();
    let mut broke = None;
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut runner = Runner::new(Machine::new(MachineConfig::reference()));
        for (lineno, line) in vmscript::parse::script_lines(text) {
            match runner.exec_line(lineno, line) {
                Ok(Some(o)) => {
                    out.push_str(&o.to_string());
                    out.push('\n');
                }
                Ok(None) => continue,
                Err(e) => {
                    out.push_str(&e.to_string());
                    out.push('\n');
                    return;
                }
            }
            if broke.is_none()
                && let Err(msg) = runner.machine().check()
            {
                broke = Some(format!("invariant broken after line {lineno}: {msg}"));
            }
        }
    }));
    if let Err(p) = result {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "non-string panic".into());
        let first = broke.map(|b| format!("{b}; then ")).unwrap_or_default();
        broke = Some(format!("{first}panicked: {msg}"));
    }
    (out, broke)
}

/// A line diff (longest common subsequence): ` ` same, `-` expected only,
/// `+` actual only.
fn diff(expected: &str, actual: &str) -> Vec<String> {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut d = Vec::new();
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            d.push(format!(" {}", a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            d.push(format!("-{}", a[i]));
            i += 1;
        } else {
            d.push(format!("+{}", b[j]));
            j += 1;
        }
    }
    d
}

#[test]
fn conformance_cases() {
    let cases = cases();
    if std::env::var("VMPLAY_CASE").is_err() {
        assert!(
            cases.len() >= 100,
            "expected the recorded cases in {:?}",
            case_dirs()
        );
    }
    let mut report = String::new();
    let mut failed = Vec::new();
    for (name, vms, expected) in &cases {
        let (actual, broke) = run_case(vms);
        if actual == *expected && broke.is_none() {
            continue;
        }
        failed.push(name.clone());
        let _ = writeln!(report, "FAIL {name}");
        if let Some(why) = &broke {
            let _ = writeln!(report, "  {why}");
        }
        if actual != *expected {
            let _ = writeln!(report, "--- {name}.out (expected)\n+++ {name} (actual)");
            for l in diff(expected, &actual).into_iter().take(40) {
                let _ = writeln!(report, "{l}");
            }
        }
    }
    let passed = cases.len() - failed.len();
    let _ = writeln!(
        report,
        "{passed} passed, {} failed: {}",
        failed.len(),
        failed.join(" ")
    );
    assert!(failed.is_empty(), "\n{report}");
    eprintln!("{report}");
}

#[test]
fn diff_marks_changes() {
    let d = diff("1 a\n2 b\n3 c\n", "1 a\n2 x\n3 c\n4 d\n");
    assert_eq!(d, vec![" 1 a", "-2 b", "+2 x", " 3 c", "+4 d"]);
}
