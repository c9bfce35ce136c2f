//! Lexing and parsing of one `.vms` line.
//!
//! The rules mirror the recorder (`shared/recorder/vmsoracle.c`) exactly:
//! which lines are errors, in which order the checks run, how numbers,
//! sums and flag arguments are read. Everything here is pure: checks that
//! need the scenario's state (variables, live processes, files already
//! created) are done by the [`crate::Runner`] while it resolves arguments.

use serde::Serialize;
use vmcore::Access;
use vmcore::personality::{self, AbiNames, Kernel, LINUX, Name, Personality};

/// The fixed address of `$arena`.
pub const ARENA: u64 = 0x3000_0000_0000;
/// Size of the arena: 64 GiB.
pub const ARENA_SIZE: u64 = 64 << 30;
/// The first address past the arena.
pub const ARENA_END: u64 = ARENA + ARENA_SIZE;

/// At most this many tokens on one line (comment excluded).
pub const MAX_TOKENS: usize = 16;

/// The blanks that separate tokens (`strtok(line, " \t\r\f\v")`).
pub fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\x0c' | '\x0b')
}

/// The lines of a scenario with their 1-based numbers. As the recorder does
/// (it reads the file as a C string), the text ends at its first NUL byte.
pub fn script_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let text = match text.find('\0') {
        Some(i) => &text[..i],
        None => text,
    };
    // `split` yields a final empty piece after a trailing newline: a blank
    // line, so it never prints anything.
    text.split('\n').enumerate().map(|(i, l)| (i + 1, l))
}

/// The tokens of one line: the comment cut off, split at blanks.
pub fn tokenize(line: &str) -> Vec<&str> {
    let code = match line.find('#') {
        Some(i) => &line[..i],
        None => line,
    };
    code.split(is_blank).filter(|t| !t.is_empty()).collect()
}

/// An operation of the language.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Mmap,
    Munmap,
    Mprotect,
    Madvise,
    Mincore,
    Mlock,
    Munlock,
    Mlockall,
    Munlockall,
    Msync,
    Mremap,
    Load,
    Store,
    Fill,
    Exec,
    Fork,
    Exit,
    Open,
    Memfd,
    Pread,
    Pwrite,
    Ftruncate,
    Close,
    Maps,
    // Version 2, swap and memory pressure (FORMAT-v2-swap.md).
    Swapon,
    Swapoff,
    Memlimit,
    Swapped,
    Procs,
    Pagemap,
    Smaps,
    Faults,
    // Version 2, BSD personalities (FORMAT-v2-bsd.md).
    Personality,
    Minherit,
    Mincorex,
    Setrlimit,
    Brk,
    Sbrk,
    Loan,
    Loanread,
    Unloan,
}

/// Which table a flag argument takes its names from.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagSet {
    Prot,
    Map,
    Madv,
    Ms,
    Mcl,
    Mremap,
    Inherit,
}

impl FlagSet {
    /// The names this argument accepts under Linux.
    pub fn table(self) -> &'static [Name] {
        self.table_in(&LINUX.names)
    }
    /// The names this argument accepts under a personality
    /// (`vmcore::personality::AbiNames`).
    pub fn table_in(self, names: &AbiNames) -> &'static [Name] {
        match self {
            FlagSet::Prot => names.prot,
            FlagSet::Map => names.map,
            FlagSet::Madv => names.madv,
            FlagSet::Ms => names.ms,
            FlagSet::Mcl => names.mcl,
            FlagSet::Mremap => names.mremap,
            FlagSet::Inherit => names.inherit,
        }
    }
    /// The common prefix of the names, for messages.
    pub fn prefix(self) -> &'static str {
        match self {
            FlagSet::Prot => "PROT",
            FlagSet::Map => "MAP",
            FlagSet::Madv => "MADV",
            FlagSet::Ms => "MS",
            FlagSet::Mcl => "MCL",
            FlagSet::Mremap => "MREMAP",
            FlagSet::Inherit => "INHERIT",
        }
    }
}

/// The kind of one argument position.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgKind {
    /// An address or length: a sum of numbers, `$VAR` and `$arena`.
    Expr,
    /// Flag names joined by `|`, or `0`.
    Flags(FlagSet),
    /// A byte value, one number up to 255.
    Byte,
    /// A descriptor: `-1` or a `$VAR` bound by `open`/`memfd`.
    Fd,
    /// A file name (`open`, `memfd`).
    Name,
    /// The name of a new process (`fork`).
    Proc,
    /// A personality's name (`personality`).
    Kernel,
    /// A resource of `setrlimit`: `RLIMIT_MEMLOCK`, the only one offered.
    Resource,
    /// A limit: a number of bytes or `RLIM_INFINITY`.
    Rlim,
    /// An access mode of `open`: `RDWR`, `RDONLY` or `WRONLY`.
    Mode,
    /// A loan: a `$VAR` bound by `loan`.
    LoanVar,
}

/// What `$VAR =` binds for an operation.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Binds {
    Nothing,
    Address,
    Descriptor,
    /// A loan (`loan`), used only by `loanread` and `unloan`.
    Loan,
}

/// The personality a scenario follows, by its `personality` line.
pub fn personality_named(name: &str) -> Result<&'static Personality, String> {
    personality::by_name(name).ok_or_else(|| {
        let known: Vec<&str> = personality::ALL.iter().map(|p| p.name).collect();
        format!("unknown personality '{name}' (known: {})", known.join(", "))
    })
}

impl Op {
    /// Every operation, in the order of the format's tables (version 1,
    /// then the swap operations of version 2).
    pub const ALL: [Op; 41] = [
        Op::Mmap,
        Op::Munmap,
        Op::Mprotect,
        Op::Madvise,
        Op::Mincore,
        Op::Mlock,
        Op::Munlock,
        Op::Mlockall,
        Op::Munlockall,
        Op::Msync,
        Op::Mremap,
        Op::Load,
        Op::Store,
        Op::Fill,
        Op::Exec,
        Op::Fork,
        Op::Exit,
        Op::Open,
        Op::Memfd,
        Op::Pread,
        Op::Pwrite,
        Op::Ftruncate,
        Op::Close,
        Op::Maps,
        Op::Swapon,
        Op::Swapoff,
        Op::Memlimit,
        Op::Swapped,
        Op::Procs,
        Op::Pagemap,
        Op::Smaps,
        Op::Faults,
        Op::Personality,
        Op::Minherit,
        Op::Mincorex,
        Op::Setrlimit,
        Op::Brk,
        Op::Sbrk,
        Op::Loan,
        Op::Loanread,
        Op::Unloan,
    ];

    /// The name as written in scenarios and printed in results.
    pub const fn name(self) -> &'static str {
        match self {
            Op::Mmap => "mmap",
            Op::Munmap => "munmap",
            Op::Mprotect => "mprotect",
            Op::Madvise => "madvise",
            Op::Mincore => "mincore",
            Op::Mlock => "mlock",
            Op::Munlock => "munlock",
            Op::Mlockall => "mlockall",
            Op::Munlockall => "munlockall",
            Op::Msync => "msync",
            Op::Mremap => "mremap",
            Op::Load => "load",
            Op::Store => "store",
            Op::Fill => "fill",
            Op::Exec => "exec",
            Op::Fork => "fork",
            Op::Exit => "exit",
            Op::Open => "open",
            Op::Memfd => "memfd",
            Op::Pread => "pread",
            Op::Pwrite => "pwrite",
            Op::Ftruncate => "ftruncate",
            Op::Close => "close",
            Op::Maps => "maps",
            Op::Swapon => "swapon",
            Op::Swapoff => "swapoff",
            Op::Memlimit => "memlimit",
            Op::Swapped => "swapped",
            Op::Procs => "procs",
            Op::Pagemap => "pagemap",
            Op::Smaps => "smaps",
            Op::Faults => "faults",
            Op::Personality => "personality",
            Op::Minherit => "minherit",
            Op::Mincorex => "mincorex",
            Op::Setrlimit => "setrlimit",
            Op::Brk => "brk",
            Op::Sbrk => "sbrk",
            Op::Loan => "loan",
            Op::Loanread => "loanread",
            Op::Unloan => "unloan",
        }
    }

    /// The operation of a name.
    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == name)
    }

    /// The kinds of its arguments, in order.
    pub const fn args(self) -> &'static [ArgKind] {
        use ArgKind::*;
        match self {
            Op::Mmap => &[
                Expr,
                Expr,
                Flags(FlagSet::Prot),
                Flags(FlagSet::Map),
                Fd,
                Expr,
            ],
            Op::Munmap | Op::Mincore | Op::Mincorex | Op::Mlock | Op::Munlock => &[Expr, Expr],
            Op::Minherit => &[Expr, Expr, Flags(FlagSet::Inherit)],
            Op::Personality => &[Kernel],
            Op::Setrlimit => &[Resource, Rlim],
            Op::Brk | Op::Sbrk => &[Expr],
            Op::Loan => &[Expr, Expr],
            Op::Loanread => &[LoanVar, Expr],
            Op::Unloan => &[LoanVar],
            Op::Mprotect => &[Expr, Expr, Flags(FlagSet::Prot)],
            Op::Madvise => &[Expr, Expr, Flags(FlagSet::Madv)],
            Op::Mlockall => &[Flags(FlagSet::Mcl)],
            Op::Munlockall | Op::Exit | Op::Maps => &[],
            Op::Swapon | Op::Memlimit => &[Expr],
            Op::Swapoff | Op::Swapped | Op::Procs | Op::Smaps | Op::Faults => &[],
            Op::Pagemap => &[Expr, Expr],
            Op::Msync => &[Expr, Expr, Flags(FlagSet::Ms)],
            Op::Mremap => &[Expr, Expr, Expr, Flags(FlagSet::Mremap), Expr],
            Op::Load | Op::Exec => &[Expr],
            Op::Store => &[Expr, Byte],
            Op::Fill => &[Expr, Expr, Byte],
            Op::Fork => &[Proc],
            Op::Open => &[Name, Expr, Mode],
            Op::Memfd => &[Name, Expr],
            Op::Pread | Op::Ftruncate => &[Fd, Expr],
            Op::Pwrite => &[Fd, Expr, Byte],
            Op::Close => &[Fd],
        }
    }

    /// How many arguments are required (the rest are optional: only
    /// `mremap`'s NEWADDR, which defaults to 0).
    pub const fn required_args(self) -> usize {
        match self {
            Op::Mremap => 4,
            Op::Open => 2,
            _ => self.args().len(),
        }
    }

    /// Whether the operation runs in the machine rather than in a process
    /// (`swapon`, `swapoff`, `memlimit`, `swapped`, `procs`): a `PROC:`
    /// prefix on its line is an error, and it runs with no process left.
    pub const fn in_machine(self) -> bool {
        matches!(
            self,
            Op::Swapon | Op::Swapoff | Op::Memlimit | Op::Swapped | Op::Procs
        )
    }

    /// Whether the personality offers the operation (FORMAT-v2-bsd.md):
    /// the swap operations only under Linux, `minherit` and `setrlimit`
    /// only under the BSDs, `mremap` not under FreeBSD, `memfd` not under
    /// NetBSD, `brk` and `sbrk` only under FreeBSD.
    pub const fn offered(self, kernel: Kernel) -> bool {
        use Kernel::*;
        match self {
            Op::Swapon
            | Op::Swapoff
            | Op::Memlimit
            | Op::Swapped
            | Op::Procs
            | Op::Pagemap
            | Op::Smaps
            | Op::Faults => matches!(kernel, Linux),
            Op::Minherit | Op::Setrlimit => !matches!(kernel, Linux),
            Op::Mremap => !matches!(kernel, FreeBsd),
            Op::Memfd => !matches!(kernel, NetBsd),
            Op::Brk | Op::Sbrk => matches!(kernel, FreeBsd),
            Op::Loan | Op::Loanread | Op::Unloan => matches!(kernel, NetBsd),
            _ => true,
        }
    }

    /// What `$VAR =` binds on this operation.
    pub const fn binds(self) -> Binds {
        match self {
            Op::Mmap | Op::Mremap | Op::Sbrk => Binds::Address,
            Op::Open | Op::Memfd => Binds::Descriptor,
            Op::Loan => Binds::Loan,
            _ => Binds::Nothing,
        }
    }
}

/// One term of a sum.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Term {
    Num(u64),
    Arena,
    Var(String),
}

/// An address or length argument: terms added modulo 2^64.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(transparent)]
pub struct Expr(pub Vec<Term>);

impl Expr {
    /// The value when no term is a variable (`$arena` is a constant).
    pub fn constant(&self) -> Option<u64> {
        self.0.iter().try_fold(0u64, |sum, t| match t {
            Term::Num(v) => Some(sum.wrapping_add(*v)),
            Term::Arena => Some(sum.wrapping_add(ARENA)),
            Term::Var(_) => None,
        })
    }
}

/// A descriptor argument.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum FdRef {
    /// `-1`.
    None,
    /// `$VAR` (the name after `$`, not checked: an unknown name is an
    /// undefined variable when the line runs).
    Var(String),
}

/// One parsed argument.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Arg {
    Expr(Expr),
    Flags(u64),
    Byte(u8),
    Fd(FdRef),
    Name(String),
    /// A process number (`p3` is 3).
    Proc(u32),
    /// A personality (`personality`), by name.
    Kernel(String),
    /// `RLIMIT_MEMLOCK`.
    Resource,
    /// A limit in bytes; `None` is RLIM_INFINITY.
    Rlim(Option<u64>),
    /// An access mode of `open`.
    Mode(Access),
    /// A loan variable (the name after `$`).
    Loan(String),
}

/// The head of a line: process, binding and operation, with the argument
/// tokens counted but not yet parsed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Header<'a> {
    /// The `PROC:` prefix as a process number, if written.
    pub proc: Option<u32>,
    /// The variable of `$VAR =`, without the `$`.
    pub bind: Option<&'a str>,
    pub op: Op,
    pub args: Vec<&'a str>,
}

/// A whole parsed line.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Statement {
    /// The `PROC:` prefix as a process number, if written (`p1` otherwise).
    pub proc: Option<u32>,
    pub bind: Option<String>,
    pub op: Op,
    pub args: Vec<Arg>,
}

impl Statement {
    /// The number of the process that executes the line.
    pub fn proc_num(&self) -> u32 {
        self.proc.unwrap_or(1)
    }
}

/// Parse a number: decimal or `0x` hex, with an optional `K`, `M` or `G`
/// suffix. A number that does not fit in 64 bits is an error.
///
/// As in the recorder, a lone suffix (`K`) reads as 0.
pub fn parse_number(s: &str) -> Result<u64, String> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err("empty number".into());
    }
    let (digits, mul): (&[u8], u64) = match b[b.len() - 1] {
        b'K' => (&b[..b.len() - 1], 1 << 10),
        b'M' => (&b[..b.len() - 1], 1 << 20),
        b'G' => (&b[..b.len() - 1], 1 << 30),
        _ => (b, 1),
    };
    // The recorder's messages: the number without its suffix, and no
    // number at all for one too large.
    let shown = &s[..digits.len()];
    let bad = || format!("bad number '{shown}'");
    let too_large = || "number too large".to_string();
    let mut v: u64 = 0;
    if digits.len() >= 2 && digits[0] == b'0' && digits[1] == b'x' {
        if digits.len() == 2 {
            return Err(bad());
        }
        for &c in &digits[2..] {
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => return Err(bad()),
            };
            if v >> 60 != 0 {
                return Err(too_large());
            }
            v = v * 16 + u64::from(d);
        }
    } else {
        for &c in digits {
            if !c.is_ascii_digit() {
                return Err(bad());
            }
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(c - b'0')))
                .ok_or_else(too_large)?;
        }
    }
    v.checked_mul(mul).ok_or_else(too_large)
}

/// A variable name: a letter or `_`, then letters, digits and `_`; at most
/// 63 characters.
pub fn valid_varname(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() < 64
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b[1..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

/// A file name for `open`/`memfd`: letters, digits, `.`, `_`, `-`, at most
/// 200 characters, not `.` or `..`.
pub fn valid_filename(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
}

/// A process name `pN` (N from 1, no leading zero) as its number.
pub fn parse_procname(s: &str) -> Result<u32, String> {
    let b = s.as_bytes();
    let bad = || format!("bad process name '{s}'");
    if b.len() < 2 || b[0] != b'p' || !(b'1'..=b'9').contains(&b[1]) {
        return Err(bad());
    }
    let mut v: u32 = 0;
    for &c in &b[1..] {
        if !c.is_ascii_digit() || v > 100_000 {
            return Err(bad());
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Ok(v)
}

/// Parse a sum `TERM+TERM...` (variables are resolved later).
pub fn parse_expr(tok: &str) -> Result<Expr, String> {
    let mut terms = Vec::new();
    for part in tok.split('+') {
        if part.is_empty() {
            return Err(format!("bad expression '{tok}'"));
        }
        if let Some(name) = part.strip_prefix('$') {
            if !valid_varname(name) {
                return Err(format!("bad variable in '{tok}'"));
            }
            terms.push(if name == "arena" {
                Term::Arena
            } else {
                Term::Var(name.to_string())
            });
        } else {
            terms.push(Term::Num(parse_number(part)?));
        }
    }
    Ok(Expr(terms))
}

/// Parse a flag argument under Linux: names of one table joined by `|`; a
/// number in it must be 0.
pub fn parse_flags(tok: &str, set: FlagSet) -> Result<u64, String> {
    parse_flags_in(tok, set, &LINUX.names)
}

/// The parts of a flag argument: split on the `|` outside parentheses
/// (`PROT_READ|PROT_MAX(PROT_READ|PROT_WRITE)` is two parts).
fn flag_parts(tok: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in tok.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '|' if depth == 0 => {
                parts.push(&tok[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&tok[start..]);
    parts
}

/// Parse a flag argument under a personality's names:
///
/// - names of the argument's table joined by `|`;
/// - under the BSDs, numbers below 2^32 too (the undefined bits their
///   test suites pass), the result cut to the low 32 bits as the C `int`
///   the system call receives; under Linux a number must be 0;
/// - `PROT_MAX(P)` (FreeBSD) or `PROT_MPROTECT(P)` (NetBSD) in a PROT
///   argument, P itself a PROT argument;
/// - `MAP_ALIGNED(N)`, N from 0 to 255 in decimal, in a MAP (or NetBSD
///   mremap) argument.
pub fn parse_flags_in(tok: &str, set: FlagSet, names: &AbiNames) -> Result<u64, String> {
    let mut v: u64 = 0;
    for part in flag_parts(tok) {
        if part.is_empty() {
            return Err(format!("bad flags '{tok}'"));
        }
        if part.as_bytes()[0].is_ascii_digit() {
            let n = parse_number(part)?;
            if names.raw_numbers {
                if n >> 32 != 0 {
                    return Err(format!("flag number '{part}' does not fit in 32 bits"));
                }
                v |= n;
            } else if n != 0 {
                return Err(format!("flags are names or 0, not '{part}'"));
            }
        } else if let Some((func, inner)) = part.strip_suffix(')').and_then(|p| p.split_once('(')) {
            v |= flag_macro(func, inner, set, names)
                .ok_or_else(|| format!("unknown {} flag '{part}'", set.prefix()))??;
        } else {
            match personality::lookup(set.table_in(names), part) {
                Some(f) => v |= f,
                None => return Err(format!("unknown {} flag '{part}'", set.prefix())),
            }
        }
    }
    Ok(if names.raw_numbers {
        v & 0xffff_ffff
    } else {
        v
    })
}

/// `NAME(ARG)` in a flag argument: `None` when the personality has no such
/// macro for this argument.
fn flag_macro(
    func: &str,
    inner: &str,
    set: FlagSet,
    names: &AbiNames,
) -> Option<Result<u64, String>> {
    match set {
        FlagSet::Prot => {
            let m = names.prot_macro.filter(|m| m.name == func)?;
            if inner.contains('(') {
                return Some(Err(format!("{func}(...) cannot nest")));
            }
            Some(parse_flags_in(inner, FlagSet::Prot, names).map(|p| p << m.shift))
        }
        FlagSet::Map | FlagSet::Mremap if names.map_aligned && func == "MAP_ALIGNED" => {
            let ok =
                !inner.is_empty() && inner.len() <= 3 && inner.bytes().all(|c| c.is_ascii_digit());
            Some(match inner.parse::<u64>() {
                Ok(n) if ok && n <= 255 => Ok(n << 24),
                _ => Err(format!(
                    "MAP_ALIGNED takes a number from 0 to 255, not '{inner}'"
                )),
            })
        }
        _ => None,
    }
}

/// Parse one argument of the given kind under Linux (pure syntax).
pub fn parse_arg(kind: ArgKind, tok: &str) -> Result<Arg, String> {
    parse_arg_in(kind, tok, &LINUX.names)
}

/// Parse one argument of the given kind under a personality's names.
pub fn parse_arg_in(kind: ArgKind, tok: &str, names: &AbiNames) -> Result<Arg, String> {
    Ok(match kind {
        ArgKind::Expr => Arg::Expr(parse_expr(tok)?),
        ArgKind::Flags(set) => Arg::Flags(parse_flags_in(tok, set, names)?),
        ArgKind::Kernel => Arg::Kernel(personality_named(tok)?.name.to_string()),
        ArgKind::Resource => {
            if tok != "RLIMIT_MEMLOCK" {
                return Err(format!("setrlimit offers RLIMIT_MEMLOCK only, not '{tok}'"));
            }
            Arg::Resource
        }
        ArgKind::Rlim => Arg::Rlim(if tok == "RLIM_INFINITY" {
            None
        } else {
            Some(parse_number(tok)?)
        }),
        ArgKind::LoanVar => match tok.strip_prefix('$') {
            Some(name) if valid_varname(name) && name != "arena" => Arg::Loan(name.to_string()),
            _ => return Err(format!("a loan is a $variable bound by loan, not '{tok}'")),
        },
        ArgKind::Mode => Arg::Mode(match tok {
            "RDWR" => Access::ReadWrite,
            "RDONLY" => Access::ReadOnly,
            "WRONLY" => Access::WriteOnly,
            _ => return Err(format!("open mode is RDWR, RDONLY or WRONLY, not '{tok}'")),
        }),
        ArgKind::Byte => {
            let v = parse_number(tok)?;
            match u8::try_from(v) {
                Ok(b) => Arg::Byte(b),
                Err(_) => return Err(format!("value {tok} is not a byte")),
            }
        }
        ArgKind::Fd => {
            if tok == "-1" {
                Arg::Fd(FdRef::None)
            } else if let Some(name) = tok.strip_prefix('$') {
                Arg::Fd(FdRef::Var(name.to_string()))
            } else {
                return Err("descriptor must be -1 or a $variable".into());
            }
        }
        ArgKind::Name => {
            if !valid_filename(tok) {
                return Err(format!("bad file name '{tok}'"));
            }
            Arg::Name(tok.to_string())
        }
        ArgKind::Proc => Arg::Proc(parse_procname(tok)?),
    })
}

/// Parse the head of a line under Linux. `Ok(None)` for a blank or
/// comment line.
pub fn parse_header(line: &str) -> Result<Option<Header<'_>>, String> {
    parse_header_in(line, &LINUX)
}

/// Parse the head of a line under a personality: an operation the
/// personality does not offer is an error of the line.
pub fn parse_header_in<'a>(line: &'a str, p: &Personality) -> Result<Option<Header<'a>>, String> {
    let toks = tokenize(line);
    if toks.is_empty() {
        return Ok(None);
    }
    if toks.len() > MAX_TOKENS {
        return Err("too many tokens".into());
    }
    let mut ti = 0;
    let mut proc = None;
    if let Some(name) = toks[0].strip_suffix(':') {
        proc = Some(parse_procname(name)?);
        ti += 1;
    }
    let mut bind = None;
    if ti + 1 < toks.len() && toks[ti].starts_with('$') && toks[ti + 1] == "=" {
        let name = &toks[ti][1..];
        if !valid_varname(name) {
            return Err(format!("bad variable name '{}'", toks[ti]));
        }
        if name == "arena" {
            return Err("$arena cannot be assigned".into());
        }
        bind = Some(name);
        ti += 2;
    }
    let Some(&optok) = toks.get(ti) else {
        return Err("missing operation".into());
    };
    let op = Op::from_name(optok).ok_or_else(|| format!("unknown operation '{optok}'"))?;
    if !op.offered(p.kernel) {
        return Err(format!("{} is not offered under {}", op.name(), p.name));
    }
    if bind.is_some() && op.binds() == Binds::Nothing {
        return Err(format!("{} has no result to bind", op.name()));
    }
    let args = toks[ti + 1..].to_vec();
    let (min, max) = (op.required_args(), op.args().len());
    if args.len() < min || args.len() > max {
        return Err(if min == max {
            format!(
                "{} takes {} argument{}",
                op.name(),
                max,
                if max == 1 { "" } else { "s" }
            )
        } else {
            format!("{} takes {} to {} arguments", op.name(), min, max)
        });
    }
    // After the count, as in the recorder.
    if proc.is_some() && op.in_machine() {
        return Err(format!("{} is not run by a process", op.name()));
    }
    Ok(Some(Header {
        proc,
        bind,
        op,
        args,
    }))
}

/// Parse a whole line under Linux (syntax only). `Ok(None)` for a blank or
/// comment line.
pub fn parse_line(line: &str) -> Result<Option<Statement>, String> {
    parse_line_in(line, &LINUX)
}

/// Parse a whole line under a personality (syntax only).
pub fn parse_line_in(line: &str, p: &Personality) -> Result<Option<Statement>, String> {
    let Some(h) = parse_header_in(line, p)? else {
        return Ok(None);
    };
    let args =
        h.op.args()
            .iter()
            .zip(&h.args)
            .map(|(&kind, tok)| parse_arg_in(kind, tok, &p.names))
            .collect::<Result<Vec<_>, _>>()?;
    // Range checks of the version-2 operations, when every argument is
    // known without the scenario's variables (the runner checks the values
    // of sums with variables when it resolves them).
    let consts: Option<Vec<u64>> = args
        .iter()
        .map(|a| match a {
            Arg::Expr(e) => e.constant(),
            _ => None,
        })
        .collect();
    if let Some(v) = consts {
        check_values(h.op, &v)?;
    }
    Ok(Some(Statement {
        proc: h.proc,
        bind: h.bind.map(str::to_string),
        op: h.op,
        args,
    }))
}

/// The smallest swap area `swapon` takes: 40 KiB.
pub const SWAP_MIN: u64 = 40 << 10;
/// The largest swap area `swapon` takes: 1 GiB.
pub const SWAP_MAX: u64 = 1 << 30;
/// The smallest `memlimit`: 1 MiB.
pub const MEMLIMIT_MIN: u64 = 1 << 20;
/// The end of the user address space that `pagemap` may read
/// (47-bit addresses).
pub const USER_END: u64 = 0x8000_0000_0000;

/// The checks of argument values that make a line an error, for the
/// operations of version 2 (`vals`: the operation's arguments as numbers,
/// sums computed). Version-1 operations have none here.
///
/// - `swapon SIZE`: a multiple of 4 KiB from 40K to 1G;
/// - `memlimit LIMIT`: a multiple of 4 KiB, at least 1M;
/// - `pagemap ADDR LEN`: multiples of 4 KiB, LEN not 0, ADDR+LEN at most
///   `0x800000000000`.
///
/// The messages are the recorder's.
pub fn check_values(op: Op, vals: &[u64]) -> Result<(), String> {
    const PAGE: u64 = 4096;
    let v = |i: usize| vals.get(i).copied().unwrap_or(0);
    match op {
        Op::Swapon => {
            let size = v(0);
            if size % PAGE != 0 || !(SWAP_MIN..=SWAP_MAX).contains(&size) {
                return Err("swapon SIZE must be a multiple of 4K from 40K to 1G".into());
            }
        }
        Op::Memlimit => {
            let limit = v(0);
            if limit % PAGE != 0 || limit < MEMLIMIT_MIN {
                return Err("memlimit LIMIT must be a multiple of 4K, at least 1M".into());
            }
        }
        Op::Pagemap => {
            let (addr, len) = (v(0), v(1));
            if addr % PAGE != 0
                || len % PAGE != 0
                || len == 0
                || addr > USER_END
                || len > USER_END - addr
            {
                return Err(format!(
                    "pagemap needs a page-aligned range below {USER_END:#x}"
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

/// Whether an address is inside the arena (printed as hex) or not
/// (printed as `<addr>`).
pub fn in_arena(addr: u64) -> bool {
    (ARENA..ARENA_END).contains(&addr)
}

/// An address as results print it.
pub fn format_addr(addr: u64) -> String {
    if in_arena(addr) {
        format!("{addr:#x}")
    } else {
        "<addr>".to_string()
    }
}
