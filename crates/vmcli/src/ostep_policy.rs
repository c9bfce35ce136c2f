//! `vmplay ostep-policy`: OSTEP's homework simulator `paging-policy.py`
//! (remzi-arpacidusseau/ostep-homework, `vm-beyondphys-policy/`, as of
//! 2020-05-30), flag for flag and byte for byte, over `vmcore`'s
//! replacement policies.
//!
//! What is reproduced, in the program's order:
//! - optparse's command line: short options clustered (`-cN`, `-C4`), long
//!   ones with `=` or a separate value and abbreviated to any unique
//!   prefix (`--cache 4`), `--` ending the options, other words ignored,
//!   `-b` read as optparse reads an `int` (`010` is octal 8, `0x10` is 16);
//! - the `ARG` header, printed before any value is converted, so a bad
//!   number still prints it (then fails, as Python's traceback does);
//! - the seed given to CPython's Mersenne Twister, addresses drawn as
//!   `int(maxpage * random.random())`, then the same stream for RAND and
//!   CLOCK;
//! - question mode (no `-c`) and solve mode with its trace and
//!   `FINALSTATS`; a negative cache size that never fills; a bad address
//!   that stops the run where Python's `int()` would raise.
//!
//! Bad flags are the CLI's usage errors (exit status 1, message on
//! standard error) rather than optparse's (status 2); runs Python ends with
//! a traceback end here with the output so far, a message on standard
//! error and status 1, as Python's.

use std::fmt::Write as _;
use std::io::{self, Write};
use vmcore::vm::policy::{Access, Frames, Mt19937, PolicyKind};

/// `paging-policy.py --help`, as optparse formats it on an 80-column
/// terminal (and whenever standard output is not a terminal).
pub const HELP: &str = "\
Usage: paging-policy.py [options]

Options:
  -h, --help            show this help message and exit
  -a ADDRESSES, --addresses=ADDRESSES
                        a set of comma-separated pages to access; -1 means
                        randomly generate
  -f ADDRESSFILE, --addressfile=ADDRESSFILE
                        a file with a bunch of addresses in it
  -n NUMADDRS, --numaddrs=NUMADDRS
                        if -a (--addresses) is -1, this is the number of addrs
                        to generate
  -p POLICY, --policy=POLICY
                        replacement policy: FIFO, LRU, OPT, UNOPT, RAND, CLOCK
  -b CLOCKBITS, --clockbits=CLOCKBITS
                        for CLOCK policy, how many clock bits to use
  -C CACHESIZE, --cachesize=CACHESIZE
                        size of the page cache, in pages
  -m MAXPAGE, --maxpage=MAXPAGE
                        if randomly generating page accesses, this is the max
                        page number
  -s SEED, --seed=SEED  random number seed
  -N, --notrace         do not print out a detailed trace
  -c, --compute         compute answers for me
";

/// The options as optparse stores them: strings, except `-b` (an `int`)
/// and the two flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub addresses: String,
    pub addressfile: String,
    pub numaddrs: String,
    pub policy: String,
    pub clockbits: i64,
    pub cachesize: String,
    pub maxpage: String,
    pub seed: String,
    pub notrace: bool,
    pub solve: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            addresses: "-1".into(),
            addressfile: String::new(),
            numaddrs: "10".into(),
            policy: "FIFO".into(),
            clockbits: 2,
            cachesize: "3".into(),
            maxpage: "10".into(),
            seed: "0".into(),
            notrace: false,
            solve: false,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Run(Options),
    Help,
}

/// The program's options: short name, long name, takes a value.
const OPTIONS: [(char, &str, bool); 11] = [
    ('h', "--help", false),
    ('a', "--addresses", true),
    ('f', "--addressfile", true),
    ('n', "--numaddrs", true),
    ('p', "--policy", true),
    ('b', "--clockbits", true),
    ('C', "--cachesize", true),
    ('m', "--maxpage", true),
    ('s', "--seed", true),
    ('N', "--notrace", false),
    ('c', "--compute", false),
];

/// Parse the command line as optparse's `parse_args` does
/// (`_process_args`, `_process_long_opt`, `_process_short_opts`); options
/// take effect in order, so `-h` wins over a bad option only after it.
/// => we return optparse's error message on a bad command line.
pub fn parse_args(args: &[String]) -> Result<Command, String> {
    let mut o = Options::default();
    let mut rest = args.iter().map(String::as_str);
    while let Some(arg) = rest.next() {
        if arg == "--" {
            break;
        } else if let Some(body) = arg.strip_prefix("--") {
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (format!("--{n}"), Some(v)),
                None => (arg.to_string(), None),
            };
            let (short, long, takes) = match_long(&name)?;
            let value = match (takes, value) {
                (true, Some(v)) => Some(v),
                (true, None) => Some(
                    rest.next()
                        .ok_or(format!("{long} option requires 1 argument"))?,
                ),
                (false, Some(_)) => return Err(format!("{long} option does not take a value")),
                (false, None) => None,
            };
            if set(&mut o, short, long, value)? {
                return Ok(Command::Help);
            }
        } else if arg.len() > 1 && arg.starts_with('-') {
            for (at, ch) in arg.char_indices().skip(1) {
                let opt = format!("-{ch}");
                let &(short, _, takes) = OPTIONS
                    .iter()
                    .find(|(s, _, _)| *s == ch)
                    .ok_or(format!("no such option: {opt}"))?;
                let mut value = None;
                if takes {
                    // The rest of the word is the value, else the next word.
                    let tail = &arg[at + ch.len_utf8()..];
                    value = Some(if tail.is_empty() {
                        rest.next()
                            .ok_or(format!("{opt} option requires 1 argument"))?
                    } else {
                        tail
                    });
                }
                if set(&mut o, short, &opt, value)? {
                    return Ok(Command::Help);
                }
                if takes {
                    break;
                }
            }
        }
        // Any other word is a positional argument, which the program ignores.
    }
    Ok(Command::Run(o))
}

/// optparse's `_match_abbrev`: the exact long name, or the only one it
/// begins.
fn match_long(name: &str) -> Result<(char, &'static str, bool), String> {
    if let Some(&o) = OPTIONS.iter().find(|(_, l, _)| *l == name) {
        return Ok(o);
    }
    let mut found: Vec<_> = OPTIONS
        .iter()
        .filter(|(_, l, _)| l.starts_with(name))
        .collect();
    match found.len() {
        0 => Err(format!("no such option: {name}")),
        1 => Ok(*found[0]),
        _ => {
            found.sort_by_key(|(_, l, _)| *l);
            let names: Vec<&str> = found.iter().map(|(_, l, _)| *l).collect();
            Err(format!("ambiguous option: {name} ({}?)", names.join(", ")))
        }
    }
}

/// Store one option; `true` when it is `-h`.
fn set(o: &mut Options, short: char, opt: &str, value: Option<&str>) -> Result<bool, String> {
    let v = || value.unwrap_or_default().to_string();
    match short {
        'h' => return Ok(true),
        'a' => o.addresses = v(),
        'f' => o.addressfile = v(),
        'n' => o.numaddrs = v(),
        'p' => o.policy = v(),
        'b' => {
            o.clockbits = optparse_int(&v())
                .ok_or(format!("option {opt}: invalid integer value: '{}'", v()))?
        }
        'C' => o.cachesize = v(),
        'm' => o.maxpage = v(),
        's' => o.seed = v(),
        'N' => o.notrace = true,
        'c' => o.solve = true,
        _ => unreachable!("every option is in OPTIONS"),
    }
    Ok(false)
}

/// optparse's `_parse_num` for `type='int'`: a `0x` prefix means hex, `0b`
/// binary, any other leading `0` octal, else decimal.
fn optparse_int(val: &str) -> Option<i64> {
    let lower = val.get(..2).map(str::to_ascii_lowercase);
    if lower.as_deref() == Some("0x") {
        PyInt::parse(val, 16)?.to_i64()
    } else if lower.as_deref() == Some("0b") {
        let rest = &val[2..];
        PyInt::parse(if rest.is_empty() { "0" } else { rest }, 2)?.to_i64()
    } else if val.starts_with('0') {
        PyInt::parse(val, 8)?.to_i64()
    } else {
        PyInt::parse(val, 10)?.to_i64()
    }
}

/// An integer as Python's `int(text, base)` reads it: surrounding white
/// space, a sign, a `0x`/`0o`/`0b` prefix matching the base, digits with
/// single underscores between them. Kept as digits so a seed of any size
/// works.
struct PyInt {
    negative: bool,
    digits: Vec<u32>,
    base: u32,
}

impl PyInt {
    fn parse(text: &str, base: u32) -> Option<PyInt> {
        // Python's str.isspace also holds the separators \x1c..\x1f.
        let s = text.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c));
        let (negative, mut s) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let prefix = match base {
            16 => "0x",
            8 => "0o",
            2 => "0b",
            _ => "",
        };
        if !prefix.is_empty() && s.len() >= 2 && s[..2].eq_ignore_ascii_case(prefix) {
            s = &s[2..];
            s = s.strip_prefix('_').unwrap_or(s);
        }
        let mut digits = Vec::new();
        let mut after_underscore = true; // no leading underscore
        for c in s.chars() {
            if c == '_' {
                if after_underscore {
                    return None;
                }
                after_underscore = true;
            } else {
                digits.push(c.to_digit(base)?);
                after_underscore = false;
            }
        }
        if digits.is_empty() || after_underscore {
            return None;
        }
        Some(PyInt {
            negative,
            digits,
            base,
        })
    }

    fn to_i64(&self) -> Option<i64> {
        let mut n: i64 = 0;
        for &d in &self.digits {
            let d = i64::from(d);
            n = n.checked_mul(i64::from(self.base))?;
            n = if self.negative {
                n.checked_sub(d)?
            } else {
                n.checked_add(d)?
            };
        }
        Some(n)
    }

    /// `abs(n)` in 32-bit words, least significant first, no high zeros:
    /// what CPython's `random.seed` feeds the generator.
    fn abs_words(&self) -> Vec<u32> {
        let mut words: Vec<u32> = Vec::new();
        for &d in &self.digits {
            let mut carry = u64::from(d);
            for w in &mut words {
                let x = u64::from(*w) * u64::from(self.base) + carry;
                *w = x as u32;
                carry = x >> 32;
            }
            if carry > 0 {
                words.push(carry as u32);
            }
        }
        words
    }
}

/// How a run ended, with the exit status Python would give.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// Everything printed; status 0.
    Done,
    /// Python stops here (a traceback, or `exit(1)` for an unknown
    /// policy); status 1, with this message for standard error if any.
    Failed(Option<String>),
}

/// `int(text)` in base 10, or Python's `ValueError` message.
fn int10(text: &str) -> Result<PyInt, String> {
    PyInt::parse(text, 10)
        .ok_or_else(|| format!("invalid literal for int() with base 10: '{text}'"))
}

/// `int(text)` that must also fit in 64 bits here.
fn int64(text: &str) -> Result<i64, String> {
    int10(text)?
        .to_i64()
        .ok_or_else(|| format!("{text}: vmplay handles integers of 64 bits only"))
}

/// Python's `repr` of a list of ints: `[6, 3, 2]`.
fn list_repr(pages: &[i64]) -> String {
    let mut s = String::from("[");
    for (i, p) in pages.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        let _ = write!(s, "{p}");
    }
    s.push(']');
    s
}

/// Read `-f`'s file as Python's text mode does: universal newlines, then
/// `int(line)` for every line.
fn read_address_file(path: &str) -> Result<Vec<i64>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|e| format!("{path}: {e}"))?;
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    text.split_inclusive('\n').map(int64).collect()
}

/// Run the program on parsed options, printing as it prints.
pub fn run(o: &Options, out: &mut impl Write) -> io::Result<Ended> {
    // The header comes first, before any value is converted.
    writeln!(out, "ARG addresses {}", o.addresses)?;
    writeln!(out, "ARG addressfile {}", o.addressfile)?;
    writeln!(out, "ARG numaddrs {}", o.numaddrs)?;
    writeln!(out, "ARG policy {}", o.policy)?;
    writeln!(out, "ARG clockbits {}", o.clockbits)?;
    writeln!(out, "ARG cachesize {}", o.cachesize)?;
    writeln!(out, "ARG maxpage {}", o.maxpage)?;
    writeln!(out, "ARG seed {}", o.seed)?;
    writeln!(
        out,
        "ARG notrace {}",
        if o.notrace { "True" } else { "False" }
    )?;
    writeln!(out)?;
    match body(o, out)? {
        Ok(()) => Ok(Ended::Done),
        Err(e) => Ok(Ended::Failed(e)),
    }
}

/// Everything after the header; the inner error is where Python stops.
fn body(o: &Options, out: &mut impl Write) -> io::Result<Result<(), Option<String>>> {
    macro_rules! tryp {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(msg) => return Ok(Err(Some(msg))),
            }
        };
    }
    let numaddrs = tryp!(int64(&o.numaddrs));
    let cachesize = tryp!(int64(&o.cachesize));
    let seed = tryp!(int10(&o.seed));
    let maxpage = tryp!(int64(&o.maxpage));
    let mut rng = Mt19937::python_seed_words(&seed.abs_words());

    // The accesses; `-a`'s are only converted when the program reaches
    // them, so a bad one is kept as its text.
    let addrs: Vec<Result<i64, String>> = if !o.addressfile.is_empty() {
        tryp!(read_address_file(&o.addressfile))
            .into_iter()
            .map(Ok)
            .collect()
    } else if o.addresses == "-1" {
        (0..numaddrs.max(0))
            .map(|_| Ok((maxpage as f64 * rng.random()) as i64))
            .collect()
    } else {
        o.addresses.split(',').map(int64).collect()
    };
    // The well-formed ones before the first bad one.
    let good: Vec<i64> = addrs.iter().map_while(|a| a.clone().ok()).collect();
    let bad = addrs.get(good.len()).and_then(|a| a.clone().err());

    if !o.solve {
        writeln!(
            out,
            "Assuming a replacement policy of {}, and a cache of size {} pages,",
            o.policy, cachesize
        )?;
        writeln!(
            out,
            "figure out whether each of the following page references hit or miss"
        )?;
        writeln!(out, "in the page cache.\n")?;
        for n in &good {
            writeln!(out, "Access: {n}  Hit/Miss?  State of Memory?")?;
        }
        if let Some(msg) = bad {
            return Ok(Err(Some(msg)));
        }
        writeln!(out)?;
        return Ok(Ok(()));
    }

    if !o.notrace {
        writeln!(out, "Solving...\n")?;
    }
    let Some(kind) = PolicyKind::from_ostep_name(&o.policy) else {
        writeln!(out, "Policy {} is not yet implemented", o.policy)?;
        return Ok(Err(None));
    };
    let (left, right) = match kind {
        PolicyKind::Fifo => ("FirstIn", "Lastin "),
        PolicyKind::Lru | PolicyKind::Mru => ("LRU", "MRU"),
        _ => ("Left ", "Right"),
    };
    // A negative size is never equal to the count of pages: no eviction.
    let capacity = usize::try_from(cachesize).unwrap_or(usize::MAX);
    let mut frames = Frames::new(capacity, kind.build(rng, o.clockbits));
    let (mut hits, mut misses) = (0u64, 0u64);
    for (i, &n) in good.iter().enumerate() {
        let future = &good[i + 1..];
        let resident = frames.resident();
        let evicts = !resident.contains(&n) && resident.len() >= capacity;
        if evicts
            && let Some(msg) = &bad
            && matches!(kind, PolicyKind::Opt | PolicyKind::Unopt)
            && resident.iter().any(|p| !future.contains(p))
        {
            // OPT's look-ahead converts the accesses after this one and
            // reaches the bad one before finding some resident page.
            return Ok(Err(Some(msg.clone())));
        }
        let (hit, victim) = match frames.access(n, future) {
            Ok(Access::Hit) => {
                hits += 1;
                ("HIT ", None)
            }
            Ok(Access::Miss { victim }) => {
                misses += 1;
                ("MISS", victim)
            }
            Err(e) => return Ok(Err(Some(e.to_string()))),
        };
        if !o.notrace {
            writeln!(
                out,
                "Access: {n}  {hit} {left} -> {:>12} <- {right} Replaced:{} [Hits:{hits} Misses:{misses}]",
                list_repr(frames.resident()),
                victim.map_or("-".to_string(), |v| v.to_string()),
            )?;
        }
    }
    if let Some(msg) = bad {
        return Ok(Err(Some(msg)));
    }
    writeln!(out)?;
    if hits + misses == 0 {
        return Ok(Err(Some("division by zero: no accesses".into())));
    }
    let rate = (100.0 * hits as f64) / (hits as f64 + misses as f64);
    writeln!(
        out,
        "FINALSTATS hits {hits}   misses {misses}   hitrate {rate:.2}"
    )?;
    writeln!(out)?;
    Ok(Ok(()))
}
