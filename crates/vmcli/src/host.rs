//! `vmplay host` and `vmplay diff`: the scenario on this machine's own
//! Linux kernel (the `vmhost` crate), and side by side with the simulator.
//!
//! ```text
//! vmplay host [--timeout SECS] [--map-slots N] FILE.vms
//! vmplay diff [--timeout SECS] [--map-slots N] [--against FILE.out] FILE.vms
//! ```
//!
//! `host` prints what the recorder would print, with its exit statuses (0
//! done, 2 a line error, 3 a process hung or died, 4 refused, 1 usage).
//! `diff` runs the simulator and the host (or reads a recorded output with
//! `--against`) and prints the two outputs in two columns, the lines
//! aligned by a longest-common-subsequence diff: exit 0 when they agree, 1
//! when they differ, 2 when they cannot be compared.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;
use vmcore::{Machine, MachineConfig};
use vmscript::Runner;

/// Options shared by `host` and `diff`.
struct Args {
    timeout: Duration,
    against: Option<String>,
    /// `--map-slots N` (`map_slots.rs`).
    map_slots: Option<u64>,
    file: String,
}

fn parse_args(args: &[String], diff: bool) -> Result<Args, String> {
    let mut timeout = Duration::from_secs(5);
    let mut against = None;
    let mut map_slots = None;
    let mut file = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--timeout" => {
                let v = it.next().ok_or("--timeout needs SECS")?;
                let secs: u64 = v
                    .parse()
                    .ok()
                    .filter(|&s| s > 0)
                    .ok_or_else(|| format!("--timeout takes whole seconds, not '{v}'"))?;
                timeout = Duration::from_secs(secs);
            }
            "--map-slots" => map_slots = Some(super::map_slots::parse(it.next())?),
            "--against" if diff => {
                against = Some(it.next().ok_or("--against needs FILE.out")?.clone());
            }
            s if s.starts_with('-') && s != "-" => return Err(format!("unknown option '{s}'")),
            s => {
                if file.replace(s.to_string()).is_some() {
                    return Err("takes one FILE".into());
                }
            }
        }
    }
    let file = file.ok_or("needs a FILE")?;
    Ok(Args {
        timeout,
        against,
        map_slots,
        file,
    })
}

fn host_options(a: &Args) -> vmhost::Options {
    vmhost::Options {
        timeout: a.timeout,
        map_slots: a.map_slots,
        ..vmhost::Options::default()
    }
}

fn refused_message(line: usize, why: &str) -> String {
    format!("vmplay host: line {line}: refused: {why}")
}

/// `vmplay host ARGS`.
pub fn host_main(args: &[String]) -> ExitCode {
    let a = match parse_args(args, false) {
        Ok(a) => a,
        Err(m) => return usage(&format!("host: {m}"), 1),
    };
    let text = match super::read_input(&a.file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("vmplay: {}: {e}", a.file);
            return ExitCode::from(1);
        }
    };
    let mut out = io::stdout().lock();
    match vmhost::run(&text, &host_options(&a), &mut out) {
        Ok(end) => {
            if let vmhost::Ended::Refused { line, why } = &end {
                eprintln!("{}", refused_message(*line, why));
            }
            ExitCode::from(end.exit_status())
        }
        // A reader that stopped reading (`| head`), as `vmplay run` treats it.
        Err(vmhost::HostError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vmplay host: {e}");
            ExitCode::from(1)
        }
    }
}

fn usage(msg: &str, status: u8) -> ExitCode {
    eprintln!("vmplay: {msg}");
    eprintln!("Try 'vmplay --help'.");
    ExitCode::from(status)
}

/// The simulator's output, as `vmplay run` prints it, and its exit status.
fn simulate(text: &str, cfg: MachineConfig) -> (String, u8) {
    let mut runner = Runner::new(Machine::new(cfg));
    let mut s = String::new();
    for (lineno, line) in vmscript::parse::script_lines(text) {
        match runner.exec_line(lineno, line) {
            Ok(Some(o)) => {
                s.push_str(&o.to_string());
                s.push('\n');
            }
            Ok(None) => {}
            Err(e) => {
                s.push_str(&format!("{e}\n"));
                return (s, 2);
            }
        }
    }
    (s, 0)
}

/// `vmplay diff ARGS`.
pub fn diff_main(args: &[String]) -> ExitCode {
    let a = match parse_args(args, true) {
        Ok(a) => a,
        Err(m) => return usage(&format!("diff: {m}"), 2),
    };
    let text = match super::read_input(&a.file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("vmplay: {}: {e}", a.file);
            return ExitCode::from(2);
        }
    };
    let cfg = match super::map_slots::config(MachineConfig::reference(), a.map_slots) {
        Ok(c) => c,
        Err(m) => return usage(&format!("diff: {m}"), 2),
    };
    let (sim, sim_status) = simulate(&text, cfg);
    let (other, other_status, title) = match &a.against {
        Some(path) => match std::fs::read(path) {
            Ok(b) => (String::from_utf8_lossy(&b).into_owned(), None, path.clone()),
            Err(e) => {
                eprintln!("vmplay: {path}: {e}");
                return ExitCode::from(2);
            }
        },
        None => {
            let mut buf = Vec::new();
            match vmhost::run(&text, &host_options(&a), &mut buf) {
                Ok(vmhost::Ended::Refused { line, why }) => {
                    eprintln!("{}", refused_message(line, &why));
                    eprintln!("vmplay diff: cannot compare with the host");
                    return ExitCode::from(2);
                }
                Ok(end) => (
                    String::from_utf8_lossy(&buf).into_owned(),
                    Some(end.exit_status()),
                    host_title(),
                ),
                Err(e) => {
                    eprintln!("vmplay diff: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    };
    let report = render(&a.file, &sim, &other, &title, sim_status, other_status);
    let mut out = io::stdout().lock();
    let _ = out
        .write_all(report.text.as_bytes())
        .and_then(|()| out.flush());
    ExitCode::from(if report.agree { 0 } else { 1 })
}

/// "this host (Linux 6.18.44)".
fn host_title() -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("this host (Linux {})", release.trim())
}

/// One row of the aligned outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Row {
    Same(usize, usize),
    Changed(usize, usize),
    Left(usize),
    Right(usize),
}

/// Align two lists of lines: a longest common subsequence (after the
/// common head and tail), with a run of removed lines facing a run of
/// added ones paired as changed lines.
fn align(a: &[&str], b: &[&str]) -> Vec<Row> {
    let head = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (ma, mb) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
    let mut rows: Vec<Row> = (0..head).map(|i| Row::Same(i, i)).collect();
    // The edit script of the middle: Some(true) kept, Left, Right.
    let mut script = Vec::new();
    if ma.len().saturating_mul(mb.len()) <= 4_000_000 {
        let (n, m) = (ma.len(), mb.len());
        let mut l = vec![0u32; (n + 1) * (m + 1)];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                l[i * (m + 1) + j] = if ma[i] == mb[j] {
                    l[(i + 1) * (m + 1) + j + 1] + 1
                } else {
                    l[(i + 1) * (m + 1) + j].max(l[i * (m + 1) + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && ma[i] == mb[j] {
                script.push(Row::Same(i, j));
                i += 1;
                j += 1;
            } else if j < m && (i == n || l[i * (m + 1) + j + 1] >= l[(i + 1) * (m + 1) + j]) {
                script.push(Row::Right(j));
                j += 1;
            } else {
                script.push(Row::Left(i));
                i += 1;
            }
        }
    } else {
        // Too large to align: line against line.
        for k in 0..ma.len().max(mb.len()) {
            script.push(match (k < ma.len(), k < mb.len()) {
                (true, true) if ma[k] == mb[k] => Row::Same(k, k),
                (true, true) => Row::Changed(k, k),
                (true, false) => Row::Left(k),
                _ => Row::Right(k),
            });
        }
    }
    // Pair runs of Left and Right between kept lines.
    let mut k = 0;
    while k < script.len() {
        if matches!(script[k], Row::Same(..) | Row::Changed(..)) {
            rows.push(shift(script[k], head));
            k += 1;
            continue;
        }
        let start = k;
        while k < script.len() && matches!(script[k], Row::Left(_) | Row::Right(_)) {
            k += 1;
        }
        let lefts: Vec<usize> = script[start..k]
            .iter()
            .filter_map(|r| if let Row::Left(i) = r { Some(*i) } else { None })
            .collect();
        let rights: Vec<usize> = script[start..k]
            .iter()
            .filter_map(|r| {
                if let Row::Right(j) = r {
                    Some(*j)
                } else {
                    None
                }
            })
            .collect();
        let (mut p, mut q) = (0, 0);
        while p < lefts.len() || q < rights.len() {
            let row = match (lefts.get(p), rights.get(q)) {
                (Some(&i), Some(&j)) => match pairing(ma[i], mb[j]) {
                    std::cmp::Ordering::Equal => Row::Changed(i, j),
                    std::cmp::Ordering::Less => Row::Left(i),
                    std::cmp::Ordering::Greater => Row::Right(j),
                },
                (Some(&i), None) => Row::Left(i),
                (None, Some(&j)) => Row::Right(j),
                (None, None) => unreachable!("one side has lines left"),
            };
            match row {
                Row::Changed(..) => (p, q) = (p + 1, q + 1),
                Row::Left(_) => p += 1,
                _ => q += 1,
            }
            rows.push(shift(row, head));
        }
    }
    let (ta, tb) = (a.len() - tail, b.len() - tail);
    rows.extend((0..tail).map(|t| Row::Same(ta + t, tb + t)));
    rows
}

/// Whether a removed line and an added one face each other (`Equal`: the
/// results of the same scenario line, or two indented lines of one), or
/// which comes first alone (`Less`: the removed one).
fn pairing(l: &str, r: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    let number = |s: &str| {
        if s.starts_with(' ') {
            None
        } else {
            s.split(' ').next().and_then(|n| n.parse::<u64>().ok())
        }
    };
    match (number(l), number(r)) {
        (Some(a), Some(b)) => a.cmp(&b),
        (None, None) => Equal,
        // An indented line belongs to the result line before it: it comes
        // before the next result line.
        (Some(_), None) => Greater,
        (None, Some(_)) => Less,
    }
}

fn shift(r: Row, by: usize) -> Row {
    match r {
        Row::Same(i, j) => Row::Same(i + by, j + by),
        Row::Changed(i, j) => Row::Changed(i + by, j + by),
        Row::Left(i) => Row::Left(i + by),
        Row::Right(j) => Row::Right(j + by),
    }
}

struct Report {
    text: String,
    agree: bool,
}

/// The widest left column (the right one, the last, is never cut).
const COLUMN: usize = 46;

fn cell(s: &str) -> String {
    if s.chars().count() > COLUMN {
        let cut: String = s.chars().take(COLUMN - 3).collect();
        format!("{cut}...")
    } else {
        s.to_string()
    }
}

/// The two outputs side by side, each row marked: blank where they agree,
/// `!` where the lines differ, `<` a line only the simulator printed, `>`
/// a line only the other side printed.
fn render(
    file: &str,
    sim: &str,
    other: &str,
    title: &str,
    sim_status: u8,
    other_status: Option<u8>,
) -> Report {
    let a: Vec<&str> = sim.lines().collect();
    let b: Vec<&str> = other.lines().collect();
    let rows = align(&a, &b);
    let width = a
        .iter()
        .map(|l| cell(l).chars().count())
        .max()
        .unwrap_or(0)
        .max("simulator".len());
    let mut t = format!("vmplay diff {file}\n");
    t.push_str(&format!("  {:width$} | {title}\n", "simulator"));
    t.push_str(&format!(
        "  {:-<width$}-+-{:-<w2$}\n",
        "",
        "",
        w2 = title.len()
    ));
    let mut differ = 0;
    let mut long = Vec::new();
    for r in &rows {
        let (mark, l, rt) = match *r {
            Row::Same(i, j) => (' ', a[i], b[j]),
            Row::Changed(i, j) => {
                if a[i].chars().count() > COLUMN {
                    long.push((a[i], Some(b[j])));
                }
                ('!', a[i], b[j])
            }
            Row::Left(i) => {
                if a[i].chars().count() > COLUMN {
                    long.push((a[i], None));
                }
                ('<', a[i], "")
            }
            Row::Right(j) => ('>', "", b[j]),
        };
        if mark != ' ' {
            differ += 1;
        }
        t.push_str(&format!("{mark} {:width$} | {rt}\n", cell(l)));
    }
    // A cut simulator line that differs, in full.
    for (l, r) in long {
        match r {
            Some(r) => {
                let at = l.chars().zip(r.chars()).take_while(|(x, y)| x == y).count();
                t.push_str(&format!(
                    "\n! in full (first difference at column {}):\n  simulator: {l}\n  {title}: {r}\n",
                    at + 1
                ));
            }
            None => t.push_str(&format!("\n< in full:\n  simulator: {l}\n")),
        }
    }
    let status_differs = other_status.is_some_and(|s| s != sim_status);
    if status_differs {
        t.push_str(&format!(
            "\nexit status: simulator {sim_status}, {title} {}\n",
            other_status.unwrap_or(0)
        ));
    }
    let agree = differ == 0 && !status_differs;
    if agree {
        t.push_str(&format!(
            "\nAGREE: all {} lines are the same.\n",
            rows.len()
        ));
    } else {
        t.push_str(&format!(
            "\nDISAGREE: {differ} of {} lines differ (! differs, < only the simulator, > only {title}).\n",
            rows.len()
        ));
    }
    Report { text: t, agree }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_pairs_changed_lines_and_keeps_the_rest() {
        let a = ["1 a", "2 b", "  x", "  y", "3 c"];
        let b = ["1 a", "2 B", "  x", "  z", "  y", "3 c"];
        let rows = align(&a, &b);
        assert_eq!(
            rows,
            vec![
                Row::Same(0, 0),
                Row::Changed(1, 1),
                Row::Same(2, 2),
                Row::Right(3),
                Row::Same(3, 4),
                Row::Same(4, 5),
            ]
        );
        // Results of the same line face each other; extra indented lines
        // stand alone beside nothing.
        let a = ["6 mmap -ENOMEM", "10 maps ok", "11 load SIGSEGV"];
        let b = [
            "6 mmap 0x300000200000",
            "10 maps ok",
            "  0x300000200000-0x300000400000 r-xp",
            "11 load SIGBUS",
        ];
        assert_eq!(
            align(&a, &b),
            vec![
                Row::Changed(0, 0),
                Row::Same(1, 1),
                Row::Right(2),
                Row::Changed(2, 3)
            ]
        );
        assert_eq!(align(&[], &["x"]), vec![Row::Right(0)]);
        assert_eq!(align(&["x"], &[]), vec![Row::Left(0)]);
    }

    #[test]
    fn the_report_marks_each_difference_and_the_verdict() {
        let r = render(
            "f.vms",
            "1 mmap 0x300000000000\n2 load 0x00\n",
            "1 mmap 0x300000000000\n2 load SIGSEGV\n",
            "host",
            0,
            Some(0),
        );
        assert!(!r.agree);
        assert!(
            r.text
                .contains("! 2 load 0x00           | 2 load SIGSEGV\n"),
            "{}",
            r.text
        );
        assert!(
            r.text
                .contains("  1 mmap 0x300000000000 | 1 mmap 0x300000000000\n"),
            "{}",
            r.text
        );
        assert!(
            r.text.contains("DISAGREE: 1 of 2 lines differ"),
            "{}",
            r.text
        );
        let same = render("f.vms", "1 maps ok\n", "1 maps ok\n", "host", 0, Some(0));
        assert!(same.agree);
        assert!(same.text.contains("AGREE: all 1 lines are the same."));
        let status = render("f.vms", "1 maps ok\n", "1 maps ok\n", "host", 0, Some(3));
        assert!(!status.agree);
        assert!(status.text.contains("exit status: simulator 0, host 3"));
        // A long simulator line is cut in its column and shown in full
        // below; the other side's column is never cut.
        let sim = format!("1 mincore 0 {}1\n", "0".repeat(60));
        let host = format!("1 mincore 0 {}0\n", "0".repeat(60));
        let long = render("f.vms", &sim, &host, "host", 0, Some(0));
        assert!(!long.agree);
        assert!(
            long.text.contains(&format!("... | {}", host.trim_end())),
            "{}",
            long.text
        );
        assert!(
            long.text.contains("first difference at column 73"),
            "{}",
            long.text
        );
        assert!(
            long.text
                .contains(&format!("  simulator: {}", sim.trim_end()))
        );
    }
}
