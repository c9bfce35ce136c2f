//! The views of version 2 a scenario process reads of itself in `/proc`:
//! `pagemap`, `smaps` and `faults` (FORMAT-v2-swap.md).
//!
//! - `/proc/self/pagemap` holds one 64-bit word per virtual page, made by
//!   `pagemap_pmd_range`/`pte_to_pagemap_entry`: present, swap entry
//!   (type and offset in bits 0-54), file or shared-anonymous, exclusively
//!   mapped, guard region. `vmscript::swapfmt` turns a word into the
//!   format's character, as the simulator's runner does.
//! - `/proc/self/smaps` holds one block per mapping (`show_smap`): its
//!   range line, then `Name: N kB` lines (`__show_smap`); the format
//!   prints eleven of them for the mappings overlapping the arena.
//! - `/proc/self/stat` field 12 is `majflt`: faults that read a page from
//!   a device (`VM_FAULT_MAJOR`: a swap-in in `do_swap_page`).
//!
//! The results are built as the recorder builds them, with its output
//! limit: `None` means too long (the line is refused).

use crate::errname::errname;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use vmscript::parse::{ARENA, ARENA_END};
use vmscript::swapfmt::{pagemap_char, pagemap_slot};

const PAGE: u64 = 4096;
/// The longest result text (as the recorder: a longer one is refused).
const OUT_MAX: usize = 16 << 20;
/// The longest swap list of a `pagemap` result.
const SWAP_LIST_MAX: usize = 8 << 20;
/// Pages read from `/proc/self/pagemap` at a time.
const CHUNK: u64 = 4096;
/// The `smaps` fields printed, in the kernel's order.
const SMAPS_FIELDS: [&str; 11] = [
    "Rss",
    "Pss",
    "Shared_Clean",
    "Shared_Dirty",
    "Private_Clean",
    "Private_Dirty",
    "Anonymous",
    "AnonHugePages",
    "Swap",
    "SwapPss",
    "Locked",
];

fn err_text(e: &std::io::Error) -> String {
    format!("-{}", errname(e.raw_os_error().unwrap_or(libc::EIO)))
}

/// The slot list of `pagemap`'s result, built page by page: runs of slots
/// that each exceed the one before by 1 are written `FIRST-LAST`.
struct SlotList {
    text: String,
    run: Option<(u64, u64)>,
    too_long: bool,
}

impl SlotList {
    fn push(&mut self, slot: u64) {
        match &mut self.run {
            Some((_, last)) if last.checked_add(1) == Some(slot) => *last = slot,
            _ => {
                self.flush();
                self.run = Some((slot, slot));
            }
        }
    }

    fn flush(&mut self) {
        let Some((first, last)) = self.run.take() else {
            return;
        };
        if self.text.len() + 48 >= SWAP_LIST_MAX {
            self.too_long = true;
            return;
        }
        if !self.text.is_empty() {
            self.text.push(',');
        }
        self.text.push_str(&first.to_string());
        if last != first {
            self.text.push_str(&format!("-{last}"));
        }
    }
}

/// `pagemap ADDR LEN` (the driver checked the range): `0 CHARS`, then
/// ` swap LIST` when a page is a swap entry; `-ERRNO` when the pagemap
/// cannot be read.
pub fn pagemap(addr: u64, len: u64) -> Option<String> {
    let f = match std::fs::File::open("/proc/self/pagemap") {
        Ok(f) => f,
        Err(e) => return Some(err_text(&e)),
    };
    let mut out = String::from("0 ");
    let mut slots = SlotList {
        text: String::new(),
        run: None,
        too_long: false,
    };
    // As large as the range needs (every page touched here is charged to
    // a swap run's memory cgroup).
    let mut buf = vec![0u8; (len / PAGE).min(CHUNK) as usize * 8];
    let (mut cur, mut pages) = (addr, len / PAGE);
    while pages > 0 {
        let n = pages.min(CHUNK);
        let bytes = &mut buf[..(n * 8) as usize];
        match f.read_exact_at(bytes, (cur / PAGE) * 8) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Some("-EIO".into()),
            Err(e) => return Some(err_text(&e)),
        }
        if out.len() + n as usize >= OUT_MAX {
            return None;
        }
        for w in bytes.chunks_exact(8) {
            let word = u64::from_ne_bytes(w.try_into().expect("8 bytes"));
            if let Some(slot) = pagemap_slot(word) {
                slots.push(slot);
            }
            out.push(pagemap_char(word));
        }
        cur = cur.wrapping_add(n * PAGE);
        pages -= n;
    }
    slots.flush();
    if slots.too_long {
        return None;
    }
    if !slots.text.is_empty() {
        out.push_str(" swap ");
        if out.len() + slots.text.len() >= OUT_MAX {
            return None;
        }
        out.push_str(&slots.text);
    }
    Some(out)
}

/// A mapping's first line in smaps, `START-END PERMS ...`: its range.
fn range_line(line: &str) -> Option<(u64, u64)> {
    let (range, rest) = line.split_once(' ')?;
    let (s, e) = range.split_once('-')?;
    let perms = rest.split(' ').next()?;
    if perms.len() != 4 {
        return None;
    }
    Some((
        u64::from_str_radix(s, 16).ok()?,
        u64::from_str_radix(e, 16).ok()?,
    ))
}

/// A field line, `Name:   N kB`: its name and value.
fn field_line(line: &str) -> Option<(&str, u64)> {
    let (name, rest) = line.split_once(':')?;
    let mut it = rest.split_ascii_whitespace();
    let kb = it.next()?.parse().ok()?;
    (it.next()? == "kB").then_some((name, kb))
}

/// `smaps`: `ok`, then per mapping overlapping the arena `  START-END`
/// and ` NAME=VALUE` for each printed field that is not 0.
pub fn smaps() -> Option<String> {
    let text = match std::fs::read_to_string("/proc/self/smaps") {
        Ok(t) => t,
        Err(e) => return Some(err_text(&e)),
    };
    Some(smaps_of(&text))
}

fn smaps_of(text: &str) -> String {
    let mut out = String::from("ok");
    let mut inside = false;
    for line in text.lines() {
        if let Some((s, e)) = range_line(line) {
            inside = s < ARENA_END && e > ARENA;
            if inside {
                out.push_str(&format!("\n  {s:#x}-{e:#x}"));
            }
        } else if inside
            && let Some((name, kb)) = field_line(line)
            && kb != 0
            && SMAPS_FIELDS.contains(&name)
        {
            out.push_str(&format!(" {name}={kb}"));
        }
    }
    out
}

/// The process's major faults at its previous `faults` (or its start).
static LAST_MAJFLT: AtomicU64 = AtomicU64::new(0);

/// `majflt` of `/proc/self/stat` (0 when it cannot be read).
fn major_faults() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0;
    };
    // After `(comm)`: state ppid pgrp session tty_nr tpgid flags minflt
    // cminflt majflt.
    stat.rfind(')')
        .and_then(|i| stat[i + 1..].split_ascii_whitespace().nth(9))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Start counting major faults from now: `p1` at its start, a forked
/// process at its `fork`.
pub fn start_fault_count() {
    LAST_MAJFLT.store(major_faults(), Ordering::Relaxed);
}

/// `faults`: `majflt=N` since the previous `faults` or the start.
pub fn faults() -> String {
    let m = major_faults();
    let last = LAST_MAJFLT.swap(m, Ordering::Relaxed);
    format!("majflt={}", m.wrapping_sub(last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_runs_are_joined_as_the_format_writes_them() {
        let mut l = SlotList {
            text: String::new(),
            run: None,
            too_long: false,
        };
        for s in [4, 3, 5, 6, 7, 2, 8, 1] {
            l.push(s);
        }
        l.flush();
        assert_eq!(l.text, "4,3,5-7,2,8,1");
    }

    #[test]
    fn smaps_keeps_the_arena_and_the_eleven_fields() {
        let text = "\
55d0c0000000-55d0c0001000 r--p 00000000 08:01 12 /usr/bin/x
Rss:                   4 kB
300000000000-300000008000 rw-p 00000000 00:00 0 
Size:                 32 kB
KernelPageSize:        4 kB
Rss:                   0 kB
Pss:                   0 kB
Pss_Dirty:             0 kB
Swap:                 24 kB
SwapPss:              24 kB
Locked:                0 kB
THPeligible:    0
VmFlags: rd wr mr mw me ac 
300000100000-300000101000 rw-s 00000000 00:01 7 /dev/zero (deleted)
Rss:                   4 kB
Pss:                   2 kB
Shared_Clean:          4 kB
";
        assert_eq!(
            smaps_of(text),
            "ok\n  0x300000000000-0x300000008000 Swap=24 SwapPss=24\n  \
             0x300000100000-0x300000101000 Rss=4 Pss=2 Shared_Clean=4"
        );
    }
}
