//! Expectations: `expect` lines, the checks of an exercise that checks
//! itself (`tests/conformance/FORMAT-expect.md`).
//!
//! An `expect` line asserts on what an earlier line printed or caused (its
//! result, the events it raised in the machine) or on the machine's state
//! at that point (residency as `mincore` reports it, frames by kind, the
//! map entry at an address, the bits of the page-table entry that
//! translates an address). It prints one result line like any operation:
//! `LINE expect pass`, or `LINE expect FAIL WHAT: expected E, found F`.
//!
//! The grammar is its own line kind beside the operations of
//! [`crate::parse`]: `[PROC:] expect CHECK`. This module parses it (pure
//! syntax; names are resolved by the [`crate::Runner`]) and tallies the
//! events of a line so that a later `expect ... events` can count them.

use crate::parse::{self, Expr, MAX_TOKENS};
use serde::Serialize;
use vmcore::event::{Event, FaultResolution, SignalCode};

/// The operation word of an expectation line.
pub const EXPECT: &str = "expect";

/// Which executed line an expectation talks about.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum LineRef {
    /// A line number (`7`).
    Number(usize),
    /// The last line whose comment starts with `@NAME` (`@cow`).
    Label(String),
    /// The last line that bound `$VAR`.
    Var(String),
    /// `last`: the last operation run before the expectation.
    Last,
}

impl LineRef {
    fn parse(tok: &str) -> Result<LineRef, String> {
        if tok == "last" {
            Ok(LineRef::Last)
        } else if let Some(name) = tok.strip_prefix('@') {
            if !valid_label(name) {
                return Err(format!("bad label '{tok}'"));
            }
            Ok(LineRef::Label(name.to_string()))
        } else if let Some(name) = tok.strip_prefix('$') {
            if !parse::valid_varname(name) || name == "arena" {
                return Err(format!("bad variable '{tok}'"));
            }
            Ok(LineRef::Var(name.to_string()))
        } else {
            match parse::parse_number(tok) {
                Ok(n) if n >= 1 && n <= u32::MAX as u64 => Ok(LineRef::Number(n as usize)),
                _ => Err(format!(
                    "'{tok}' is not a line: a line number, @label, $variable or last"
                )),
            }
        }
    }
}

/// A comparison of a count.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    /// The operator as written (`=`, `!=`, `<`, `<=`, `>`, `>=`).
    pub const fn symbol(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Ne => "!=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }
    pub fn holds(self, found: u64, want: u64) -> bool {
        match self {
            Cmp::Eq => found == want,
            Cmp::Ne => found != want,
            Cmp::Lt => found < want,
            Cmp::Le => found <= want,
            Cmp::Gt => found > want,
            Cmp::Ge => found >= want,
        }
    }
}

/// One `NAME OP N` condition (`cow_copy=1`, `anon>=3`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Count {
    pub name: &'static str,
    pub cmp: Cmp,
    pub value: u64,
}

impl Count {
    fn parse(tok: &str, names: &'static [&'static str], what: &str) -> Result<Count, String> {
        let Some(at) = tok.find(['=', '!', '<', '>']) else {
            return Err(format!("'{tok}' is not NAME=N (or !=, <, <=, >, >=)"));
        };
        let (name, rest) = tok.split_at(at);
        let (cmp, num) = [
            ("!=", Cmp::Ne),
            ("<=", Cmp::Le),
            (">=", Cmp::Ge),
            ("=", Cmp::Eq),
            ("<", Cmp::Lt),
            (">", Cmp::Gt),
        ]
        .into_iter()
        .find_map(|(s, c)| rest.strip_prefix(s).map(|n| (c, n)))
        .ok_or_else(|| format!("'{tok}' is not NAME=N (or !=, <, <=, >, >=)"))?;
        let name = names
            .iter()
            .copied()
            .find(|&n| n == name)
            .ok_or_else(|| format!("unknown {what} '{name}' (one of: {})", names.join(" ")))?;
        let value = parse::parse_number(num)?;
        Ok(Count { name, cmp, value })
    }

    fn text(&self, value: u64) -> String {
        format!("{}{}{}", self.name, self.cmp.symbol(), value)
    }
}

/// The frame counts `expect frames` takes: the machine's frames by kind
/// (`Machine::frames_summary`), `used` (not free) and `swapped` (pages in
/// the swap area and not in memory, as the `swapped` operation prints).
pub const FRAME_COUNTS: &[&str] = &[
    "free",
    "used",
    "anon",
    "cache",
    "page-table",
    "zero",
    "swapped",
];

/// The event counts `expect ... events` takes. Each event type counts under
/// its name in the event log (`page_fault`, `tlb_flush_page`, ...); a
/// resolved fault also counts under how it was resolved (`zero_fill`,
/// `cow_copy`, ...), a signal under `sigsegv` or `sigbus`, and both TLB
/// flushes under `tlb_flush`.
pub const EVENT_COUNTS: &[&str] = &[
    "page_fault",
    "fault_resolved",
    "zero_page",
    "zero_fill",
    "cow_copy",
    "cow_reuse",
    "page_cache",
    "file_promote",
    "huge_zero_fill",
    "huge_zero_page",
    "remap",
    "write_enable",
    "signal",
    "sigsegv",
    "sigbus",
    "tlb_miss",
    "tlb_flush",
    "tlb_flush_page",
    "tlb_flush_asid",
    "frame_alloc",
    "huge_frame_alloc",
    "frame_free",
    "frame_copy",
    "table_alloc",
    "table_free",
    "pte_write",
    "huge_demote",
    "huge_collapse",
    "entry_insert",
    "entry_remove",
    "entry_split",
    "entry_merge",
    "amap_copy",
    "page_drop",
    "fork",
    "exit",
    "swap_out",
    "swap_in",
    "swap_readahead",
    "oom_kill",
    "loan",
    "loan_page",
    "loan_refused",
    "loan_break",
    "loan_orphan",
    "unloan",
    "syscall",
    "syscall_return",
];

/// The PTE bits `expect pte` takes, as the walk names them
/// (`PteFlags::flag_names`).
pub const PTE_BITS: &[&str] = &[
    "P", "RW", "US", "PWT", "PCD", "A", "D", "PS", "G", "SW9", "SW10", "SW11", "NX", "PROTNONE",
];

/// One bit of `expect pte`: set (`RW`) or clear (`!RW`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct PteBit {
    pub name: &'static str,
    pub set: bool,
}

/// What an expectation checks.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(tag = "check", rename_all = "snake_case")]
pub enum Check {
    /// `expect LINE result TEXT...`: the line printed TEXT after its
    /// operation's name.
    Result { line: LineRef, text: String },
    /// `expect LINE events COUNT...`: the events the line caused.
    Events { line: LineRef, counts: Vec<Count> },
    /// `expect frames COUNT...`: the machine's frames by kind.
    Frames { counts: Vec<Count> },
    /// `[PROC:] expect mincore ADDR LEN BITS`: residency of the range, as
    /// `mincore` prints it (`1` resident, `0` not, one per page).
    Mincore { addr: Expr, len: Expr, bits: String },
    /// `[PROC:] expect entry ADDR PERMS [BACKING]` or `... entry ADDR none`:
    /// the map entry holding ADDR (`maps`' columns).
    Entry {
        addr: Expr,
        /// `None` for `none`: no entry holds ADDR.
        perms: Option<String>,
        backing: Option<String>,
    },
    /// `[PROC:] expect entries N`: how many lines `maps` prints.
    Entries { count: u64 },
    /// `[PROC:] expect pte ADDR BIT...` or `... pte ADDR none`: the
    /// page-table entry that translates ADDR (the last one the walk reads).
    Pte {
        addr: Expr,
        /// Empty for `none`: the entry is all zero (or its table missing).
        bits: Vec<PteBit>,
    },
}

impl Check {
    /// Whether the check reads a process's address space (and so may have
    /// a `PROC:` prefix).
    pub const fn in_process(&self) -> bool {
        matches!(
            self,
            Check::Mincore { .. } | Check::Entry { .. } | Check::Entries { .. } | Check::Pte { .. }
        )
    }
}

/// A parsed `expect` line.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Expect {
    /// The `PROC:` prefix as a process number, if written.
    pub proc: Option<u32>,
    pub check: Check,
}

/// What one expectation found.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Expectation {
    pub passed: bool,
    /// What was checked, in words (`line 7 result`, `frames`).
    pub what: String,
    /// What was expected (on a failure, only the conditions that failed).
    pub expected: String,
    /// What was found.
    pub found: String,
}

impl Expectation {
    /// The result printed after `expect`.
    pub fn result_text(&self) -> String {
        if self.passed {
            "pass".to_string()
        } else {
            format!(
                "FAIL {}: expected {}, found {}",
                self.what, self.expected, self.found
            )
        }
    }
}

/// A label: letters, digits, `_` and `-`, at most 63 characters.
pub fn valid_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() < 64
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// The label of a line: `@NAME` as the first word of its comment
/// (`store $a 1   # @first-write the zero-fill`).
pub fn line_label(line: &str) -> Option<&str> {
    let comment = &line[line.find('#')? + 1..];
    let word = comment.split(parse::is_blank).find(|w| !w.is_empty())?;
    word.strip_prefix('@').filter(|n| valid_label(n))
}

/// Parse an `expect` line. `Ok(None)` when the line is not one (blank, a
/// comment, or another operation); `Err` for a malformed expectation.
pub fn parse_expect(line: &str) -> Result<Option<Expect>, String> {
    let toks = parse::tokenize(line);
    let mut ti = 0;
    let mut proc = None;
    if let Some(name) = toks.first().and_then(|t| t.strip_suffix(':')) {
        proc = Some(name);
        ti = 1;
    }
    let bound = toks.get(ti + 1) == Some(&"=") && toks.get(ti + 2) == Some(&EXPECT);
    if bound {
        return Err("expect has no result to bind".into());
    }
    if toks.get(ti) != Some(&EXPECT) {
        return Ok(None);
    }
    if toks.len() > MAX_TOKENS {
        return Err("too many tokens".into());
    }
    let proc = proc.map(parse::parse_procname).transpose()?;
    let args = &toks[ti + 1..];
    let check = parse_check(args)?;
    if proc.is_some() && !check.in_process() {
        return Err(format!(
            "expect {} is not about a process (no PROC: prefix)",
            check_word(&check)
        ));
    }
    Ok(Some(Expect { proc, check }))
}

fn check_word(c: &Check) -> &'static str {
    match c {
        Check::Result { .. } => "result",
        Check::Events { .. } => "events",
        Check::Frames { .. } => "frames",
        Check::Mincore { .. } => "mincore",
        Check::Entry { .. } => "entry",
        Check::Entries { .. } => "entries",
        Check::Pte { .. } => "pte",
    }
}

const FORMS: &str = "expect LINE result TEXT, expect LINE events NAME=N..., \
expect frames NAME=N..., expect mincore ADDR LEN BITS, expect entry ADDR PERMS [BACKING] \
(or none), expect entries N, expect pte ADDR BIT... (or none)";

fn parse_check(args: &[&str]) -> Result<Check, String> {
    let Some(&first) = args.first() else {
        return Err(format!("expect what? ({FORMS})"));
    };
    let rest = &args[1..];
    Ok(match first {
        "frames" => Check::Frames {
            counts: counts(rest, FRAME_COUNTS, "frame count", "frames")?,
        },
        "mincore" => {
            let [addr, len, bits] = rest else {
                return Err("expect mincore takes ADDR LEN BITS".into());
            };
            if bits.is_empty() || !bits.bytes().all(|b| b == b'0' || b == b'1') {
                return Err(format!(
                    "mincore BITS are 0s and 1s, one per page, not '{bits}'"
                ));
            }
            Check::Mincore {
                addr: parse::parse_expr(addr)?,
                len: parse::parse_expr(len)?,
                bits: bits.to_string(),
            }
        }
        "entry" => match rest {
            [addr, "none"] => Check::Entry {
                addr: parse::parse_expr(addr)?,
                perms: None,
                backing: None,
            },
            [addr, perms, backing @ ..] if backing.len() <= 1 => {
                if !valid_perms(perms) {
                    return Err(format!(
                        "entry PERMS are as maps prints them (rw-p, r--s ...), not '{perms}'"
                    ));
                }
                Check::Entry {
                    addr: parse::parse_expr(addr)?,
                    perms: Some(perms.to_string()),
                    backing: backing.first().map(|b| b.to_string()),
                }
            }
            _ => return Err("expect entry takes ADDR PERMS [BACKING], or ADDR none".into()),
        },
        "entries" => {
            let [n] = rest else {
                return Err("expect entries takes a number".into());
            };
            Check::Entries {
                count: parse::parse_number(n)?,
            }
        }
        "pte" => {
            let Some((addr, bits)) = rest.split_first() else {
                return Err("expect pte takes ADDR and bits (P RW !D ...), or ADDR none".into());
            };
            let addr = parse::parse_expr(addr)?;
            let bits = match bits {
                [] => {
                    return Err("expect pte takes ADDR and bits (P RW !D ...), or ADDR none".into());
                }
                ["none"] => Vec::new(),
                bits => bits
                    .iter()
                    .map(|b| {
                        let (set, name) = match b.strip_prefix('!') {
                            Some(n) => (false, n),
                            None => (true, *b),
                        };
                        PTE_BITS
                            .iter()
                            .find(|&&n| n == name)
                            .map(|&name| PteBit { name, set })
                            .ok_or_else(|| {
                                format!("unknown PTE bit '{name}' (one of: {})", PTE_BITS.join(" "))
                            })
                    })
                    .collect::<Result<_, _>>()?,
            };
            Check::Pte { addr, bits }
        }
        _ => {
            let line = LineRef::parse(first).map_err(|e| format!("{e} ({FORMS})"))?;
            match rest.split_first() {
                Some((&"result", text)) if !text.is_empty() => Check::Result {
                    line,
                    text: text.join(" "),
                },
                Some((&"events", counts_)) => Check::Events {
                    line,
                    counts: counts(counts_, EVENT_COUNTS, "event count", "events")?,
                },
                _ => {
                    return Err(format!(
                        "expect {first} takes result TEXT or events NAME=N..."
                    ));
                }
            }
        }
    })
}

fn counts(
    toks: &[&str],
    names: &'static [&'static str],
    what: &str,
    word: &str,
) -> Result<Vec<Count>, String> {
    if toks.is_empty() {
        return Err(format!("expect {word} takes NAME=N..."));
    }
    toks.iter().map(|t| Count::parse(t, names, what)).collect()
}

/// `rwxp` as `/proc/PID/maps` prints it.
fn valid_perms(p: &str) -> bool {
    let b = p.as_bytes();
    b.len() == 4
        && matches!(b[0], b'r' | b'-')
        && matches!(b[1], b'w' | b'-')
        && matches!(b[2], b'x' | b'-')
        && matches!(b[3], b'p' | b's')
}

/// The events of one line, counted by the names of [`EVENT_COUNTS`]:
/// `(index, count)` for each name counted at least once, in index order.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct EventTally(Vec<(u8, u32)>);

impl EventTally {
    /// Count a line's events.
    pub fn of(events: &[Event]) -> EventTally {
        let mut n = [0u32; EVENT_COUNTS.len()];
        for e in events {
            for slot in event_slots(e) {
                if let Some(c) = n.get_mut(usize::from(slot)) {
                    *c = c.saturating_add(1);
                }
            }
        }
        EventTally(
            n.iter()
                .enumerate()
                .filter(|&(_, &c)| c > 0)
                .map(|(i, &c)| (i as u8, c))
                .collect(),
        )
    }

    /// How many events counted under `name`.
    pub fn get(&self, name: &str) -> u64 {
        let Some(i) = EVENT_COUNTS.iter().position(|&x| x == name) else {
            return 0;
        };
        self.0
            .iter()
            .find(|&&(j, _)| usize::from(j) == i)
            .map_or(0, |&(_, c)| u64::from(c))
    }
}

/// No slot (an event that counts under one name only).
const NONE: u8 = u8::MAX;

/// The slot of a name of [`EVENT_COUNTS`], found at compile time (a name
/// that is not there does not compile).
const fn slot(name: &str) -> u8 {
    let mut i = 0;
    while i < EVENT_COUNTS.len() {
        let (a, b) = (EVENT_COUNTS[i].as_bytes(), name.as_bytes());
        if a.len() == b.len() {
            let mut k = 0;
            while k < a.len() && a[k] == b[k] {
                k += 1;
            }
            if k == a.len() {
                return i as u8;
            }
        }
        i += 1;
    }
    panic!("not a name of EVENT_COUNTS")
}

macro_rules! at {
    ($name:literal) => {
        const { slot($name) }
    };
}

fn event_slots(e: &Event) -> [u8; 2] {
    use Event::*;
    match e {
        Syscall { .. } => [at!("syscall"), NONE],
        SyscallReturn { .. } => [at!("syscall_return"), NONE],
        FrameAlloc { .. } => [at!("frame_alloc"), NONE],
        HugeFrameAlloc { .. } => [at!("huge_frame_alloc"), NONE],
        FrameFree { .. } => [at!("frame_free"), NONE],
        FrameCopy { .. } => [at!("frame_copy"), NONE],
        TableAlloc { .. } => [at!("table_alloc"), NONE],
        TableFree { .. } => [at!("table_free"), NONE],
        PteWrite { .. } => [at!("pte_write"), NONE],
        HugeDemote { .. } => [at!("huge_demote"), NONE],
        HugeCollapse { .. } => [at!("huge_collapse"), NONE],
        TlbMiss { .. } => [at!("tlb_miss"), NONE],
        TlbFlushPage { .. } => [at!("tlb_flush_page"), at!("tlb_flush")],
        TlbFlushAsid { .. } => [at!("tlb_flush_asid"), at!("tlb_flush")],
        PageFault { .. } => [at!("page_fault"), NONE],
        FaultResolved { how, .. } => [
            at!("fault_resolved"),
            match how {
                FaultResolution::ZeroPage => at!("zero_page"),
                FaultResolution::ZeroFill => at!("zero_fill"),
                FaultResolution::CowCopy => at!("cow_copy"),
                FaultResolution::CowReuse => at!("cow_reuse"),
                FaultResolution::PageCache => at!("page_cache"),
                FaultResolution::FilePromote => at!("file_promote"),
                FaultResolution::HugeZeroFill => at!("huge_zero_fill"),
                FaultResolution::HugeZeroPage => at!("huge_zero_page"),
                FaultResolution::Remap => at!("remap"),
                FaultResolution::WriteEnable => at!("write_enable"),
                FaultResolution::LoanBreak => at!("loan_break"),
            },
        ],
        Signal { code, .. } => [
            at!("signal"),
            match code {
                SignalCode::SegvMaperr | SignalCode::SegvAccerr => at!("sigsegv"),
                SignalCode::BusAdrerr => at!("sigbus"),
            },
        ],
        EntryInsert { .. } => [at!("entry_insert"), NONE],
        EntryRemove { .. } => [at!("entry_remove"), NONE],
        EntrySplit { .. } => [at!("entry_split"), NONE],
        EntryMerge { .. } => [at!("entry_merge"), NONE],
        AmapCopy { .. } => [at!("amap_copy"), NONE],
        PageDrop { .. } => [at!("page_drop"), NONE],
        Fork { .. } => [at!("fork"), NONE],
        Exit { .. } => [at!("exit"), NONE],
        SwapOut { .. } => [at!("swap_out"), NONE],
        SwapIn { .. } => [at!("swap_in"), NONE],
        OomKill { .. } => [at!("oom_kill"), NONE],
        SwapReadahead { .. } => [at!("swap_readahead"), NONE],
        Loan { .. } => [at!("loan"), NONE],
        LoanPage { .. } => [at!("loan_page"), NONE],
        LoanRefused { .. } => [at!("loan_refused"), NONE],
        LoanBreak { .. } => [at!("loan_break"), NONE],
        LoanOrphan { .. } => [at!("loan_orphan"), NONE],
        Unloan { .. } => [at!("unloan"), NONE],
    }
}

/// Compare counts: `(passed, expected, found)`, the texts naming only the
/// conditions that failed (all of them when every one held).
pub fn compare_counts(counts: &[Count], found: impl Fn(&str) -> u64) -> (bool, String, String) {
    let failed: Vec<&Count> = counts
        .iter()
        .filter(|c| !c.cmp.holds(found(c.name), c.value))
        .collect();
    let passed = failed.is_empty();
    let shown: Vec<&Count> = if passed {
        counts.iter().collect()
    } else {
        failed
    };
    let expected = shown
        .iter()
        .map(|c| c.text(c.value))
        .collect::<Vec<_>>()
        .join(" ");
    let found = shown
        .iter()
        .map(|c| format!("{}={}", c.name, found(c.name)))
        .collect::<Vec<_>>()
        .join(" ");
    (passed, expected, found)
}
