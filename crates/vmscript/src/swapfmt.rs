//! How the operations of version 2 (`FORMAT-v2-swap.md`: swap and memory
//! pressure) print their results. Pure functions of what the machine
//! reports, so that they can be tested without the kernel side.

use vmcore::view::SmapsView;

/// Bits of a `/proc/PID/pagemap` word (`Machine::pagemap`).
pub mod pagemap_bits {
    /// The page is present; bits 0-54 hold its frame number.
    pub const PRESENT: u64 = 1 << 63;
    /// A swap entry; bits 0-54 hold `type | offset << 5`.
    pub const SWAP: u64 = 1 << 62;
    /// Not anonymous: a file, shmem or memfd page, or the huge zero page.
    pub const FILE: u64 = 1 << 61;
    /// A guard region (`MADV_GUARD_INSTALL`).
    pub const GUARD: u64 = 1 << 58;
    /// A present page that only this entry maps.
    pub const EXCLUSIVE: u64 = 1 << 56;
    /// The low 55 bits: frame number or swap entry.
    pub const PFN_MASK: u64 = (1 << 55) - 1;
    /// The swap type in a swap entry (the low 5 bits); the one swap area
    /// is type 0.
    pub const SWAP_TYPE: u64 = 0x1f;
}

/// The character `pagemap` prints for one page table entry:
///
/// | char | entry |
/// |---|---|
/// | `.` | none |
/// | `P` | present anonymous, mapped only here |
/// | `p` | present anonymous mapped more than once, or the shared zero page |
/// | `F` | present file/shmem/memfd page mapped only here |
/// | `f` | such a page mapped more than once, or the huge zero page |
/// | `S` | a swap entry |
/// | `G` | a guard region |
/// | `?` | another swap-type entry (a migration entry: swap type not 0) |
///
/// As in the recorder, the guard bit is tested before the swap bit (Linux
/// reports a guard marker as a swap-type entry too).
pub fn pagemap_char(word: u64) -> char {
    use pagemap_bits::*;
    if word & PRESENT != 0 {
        match (word & FILE != 0, word & EXCLUSIVE != 0) {
            (false, true) => 'P',
            (false, false) => 'p',
            (true, true) => 'F',
            (true, false) => 'f',
        }
    } else if word & GUARD != 0 {
        'G'
    } else if word & SWAP != 0 && word & SWAP_TYPE != 0 {
        '?'
    } else if word & SWAP != 0 {
        'S'
    } else {
        '.'
    }
}

/// The swap slot (the swap entry's offset) of a page that prints `S`:
/// bits 0-54 hold `type | offset << 5`.
pub fn pagemap_slot(word: u64) -> Option<u64> {
    use pagemap_bits::*;
    (pagemap_char(word) == 'S').then_some((word & PFN_MASK) >> 5)
}

/// Slot numbers in the order given, separated by `,`; a run of two or more
/// numbers that each exceed the one before by 1 is written `FIRST-LAST`:
/// `[1, 3, 4]` is `1,3-4`.
pub fn slot_list(slots: &[u64]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < slots.len() {
        let first = slots[i];
        let mut j = i;
        while j + 1 < slots.len() && slots[j].checked_add(1) == Some(slots[j + 1]) {
            j += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if j > i {
            out.push_str(&format!("{first}-{}", slots[j]));
        } else {
            out.push_str(&first.to_string());
        }
        i = j + 1;
    }
    out
}

/// The result of `pagemap` for these pagemap words: `0 CHARS`, then
/// ` swap LIST` when at least one page is a swap entry.
pub fn pagemap_result(words: &[u64]) -> String {
    let mut s = String::with_capacity(2 + words.len());
    s.push_str("0 ");
    s.extend(words.iter().map(|&w| pagemap_char(w)));
    let slots: Vec<u64> = words.iter().filter_map(|&w| pagemap_slot(w)).collect();
    if !slots.is_empty() {
        s.push_str(" swap ");
        s.push_str(&slot_list(&slots));
    }
    s
}

/// The fields `smaps` prints, in order, with their values in KiB.
pub fn smaps_fields(v: &SmapsView) -> [(&'static str, u64); 11] {
    [
        ("Rss", v.rss),
        ("Pss", v.pss),
        ("Shared_Clean", v.shared_clean),
        ("Shared_Dirty", v.shared_dirty),
        ("Private_Clean", v.private_clean),
        ("Private_Dirty", v.private_dirty),
        ("Anonymous", v.anonymous),
        ("AnonHugePages", v.anon_huge_pages),
        ("Swap", v.swap),
        ("SwapPss", v.swap_pss),
        ("Locked", v.locked),
    ]
}

/// One indented line of `smaps`: `  START-END` as in `maps`, then
/// ` NAME=VALUE` for each field whose value is not 0.
pub fn smaps_line(start: u64, end: u64, fields: &[(&str, u64)]) -> String {
    let mut s = format!("  {start:#x}-{end:#x}");
    for &(name, value) in fields {
        if value != 0 {
            s.push_str(&format!(" {name}={value}"));
        }
    }
    s
}

/// The lines `smaps` prints after `ok`: the mappings that overlap
/// `[lo, hi)` (the arena), lowest first, as the machine gives them (one
/// per map entry, so merged mappings are one line, as in `maps`).
pub fn smaps_lines(views: &[SmapsView], lo: u64, hi: u64) -> Vec<String> {
    let mut v: Vec<&SmapsView> = views
        .iter()
        .filter(|v| v.start < hi && v.end > lo)
        .collect();
    v.sort_by_key(|v| v.start);
    v.into_iter()
        .map(|v| smaps_line(v.start, v.end, &smaps_fields(v)))
        .collect()
}

/// The result of `procs`: `ok`, then a blank and the name of each live
/// process, in ascending order of its number.
pub fn procs_result(numbers: impl IntoIterator<Item = u32>) -> String {
    let mut s = "ok".to_string();
    for n in numbers {
        s.push_str(&format!(" p{n}"));
    }
    s
}

/// The result of `faults`.
pub fn faults_result(major: u64) -> String {
    format!("majflt={major}")
}

/// The result a line of an OOM-killed process prints.
pub const KILLED: &str = "killed";
