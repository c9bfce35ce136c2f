//! `vmplay ostep-policy` against OSTEP's `paging-policy.py`: every fixture
//! in `tests/ostep-policy/` (see its README) is a command line and the
//! program's complete output; vmplay must print the same bytes.

use std::path::Path;
use std::process::Command;

/// Run one fixture; `Err` describes the difference.
fn check(dir: &Path, file: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(file).unwrap();
    let (cmdline, expected) = text.split_once('\n').expect("a command line");
    let args = cmdline
        .strip_prefix("$ python3 paging-policy.py")
        .expect("fixture starts with the command line");
    let out = Command::new(env!("CARGO_BIN_EXE_vmplay"))
        .arg("ostep-policy")
        .args(args.split_whitespace())
        .current_dir(dir)
        .output()
        .expect("vmplay runs");
    let name = file.file_name().unwrap().to_string_lossy();
    let status = if name.contains("-exit1") { 1 } else { 0 };
    let stdout = String::from_utf8_lossy(&out.stdout);
    if stdout != expected {
        return Err(format!(
            "{name}: stdout differs\n--- expected\n{expected}--- vmplay\n{stdout}--- stderr\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    if out.status.code() != Some(status) {
        return Err(format!(
            "{name}: exit status {:?}, expected {status}",
            out.status.code()
        ));
    }
    Ok(())
}

#[test]
fn every_fixture_prints_what_paging_policy_py_prints() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ostep-policy");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    assert!(files.len() >= 50, "fixtures missing: {}", files.len());
    let failures: Vec<String> = files.iter().filter_map(|f| check(&dir, f).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} fixtures differ:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn the_shared_reference_runs_are_among_the_fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ostep-policy");
    for name in [
        "01-fifo-readme",
        "02-lru-readme",
        "04-fifo-belady-C3",
        "07-opt-ties",
        "08-clock-seed0-random",
        "11-fifo-question-seed10",
    ] {
        assert!(dir.join(format!("{name}.txt")).exists(), "{name}");
    }
}

fn vmplay(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vmplay"))
        .arg("ostep-policy")
        .args(args)
        .output()
        .expect("vmplay runs")
}

#[test]
fn an_unknown_option_is_a_usage_error_with_status_1() {
    let o = vmplay(&["-x"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(o.stdout, b"");
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "vmplay ostep-policy: no such option: -x\nTry 'vmplay ostep-policy --help'.\n"
    );
}

#[test]
fn an_ambiguous_abbreviation_names_the_candidates() {
    let o = vmplay(&["--c", "4"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).lines().next(),
        Some("vmplay ostep-policy: ambiguous option: --c (--cachesize, --clockbits, --compute?)")
    );
}

#[test]
fn an_option_missing_its_value_says_so() {
    let o = vmplay(&["-c", "-a"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).lines().next(),
        Some("vmplay ostep-policy: -a option requires 1 argument")
    );
}

#[test]
fn clock_bits_that_are_not_an_optparse_int_are_refused() {
    let o = vmplay(&["-b", "08"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).lines().next(),
        Some("vmplay ostep-policy: option -b: invalid integer value: '08'")
    );
}

#[test]
fn a_flag_given_a_value_is_refused() {
    let o = vmplay(&["--compute=yes"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).lines().next(),
        Some("vmplay ostep-policy: --compute option does not take a value")
    );
}

#[test]
fn addresses_with_blanks_around_them_are_read_as_python_reads_them() {
    let o = vmplay(&["-a", " 1, 2,3 ", "-c", "-N"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .ends_with("\nARG notrace True\n\n\nFINALSTATS hits 0   misses 3   hitrate 0.00\n\n")
    );
}
