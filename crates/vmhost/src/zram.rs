//! The swap device of a swap scenario: `/dev/zram0`, a compressed RAM disk.
//!
//! zram is a synchronous block device (`SWP_SYNCHRONOUS_IO`): a page
//! written to it has left memory when `MADV_PAGEOUT` returns, and a
//! swap-in of a page no one else holds reads it within the fault, without
//! the swap cache (`do_swap_page`'s synchronous path) — the behaviour
//! FORMAT-v2-swap.md records. The device is sized by writing
//! `/sys/block/zram0/disksize` and freed by writing `1` to `reset`;
//! `swapon SIZE` then writes the header `mkswap` would write and calls
//! `swapon(2)`, which reads it (`read_swap_header`).
//!
//! ```text
//!   page 0 of the device: the swap header (union swap_header)
//!   offset 1024     u32 version = 1
//!          1028     u32 last_page = SIZE/4096 - 1   (slots 1..=last_page)
//!          1032     u32 nr_badpages = 0
//!          4086     "SWAPSPACE2"                     (the magic, last 10 bytes)
//! ```

use crate::sys::{self, Errno};
use std::io::Write;
use std::os::unix::fs::FileExt;

/// The device swap runs use.
pub const DEVICE: &str = "/dev/zram0";
/// Its sysfs folder.
const SYSFS: &str = "/sys/block/zram0";
const PAGE: u64 = 4096;

/// The errno of an I/O error (EIO when it has none).
pub fn errno_of(e: &std::io::Error) -> Errno {
    e.raw_os_error().unwrap_or(libc::EIO)
}

/// Write `text` to a sysfs or cgroup file in one `write(2)`, as `echo`
/// does: the kernel's answer to that write is the result (`EBUSY` from
/// `reset` or `memory.limit_in_bytes`, `EINVAL` from `disksize` ...).
pub fn write_file(path: &str, text: &str) -> Result<(), Errno> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| errno_of(&e))?;
    f.write(text.as_bytes())
        .map(|_| ())
        .map_err(|e| errno_of(&e))
}

/// The number at the start of a sysfs, cgroup or proc file (`strtoll`:
/// blanks, a sign, digits), or `None` when it cannot be read or is empty.
pub fn read_number(path: &str) -> Option<i64> {
    parse_number(&std::fs::read_to_string(path).ok()?)
}

/// The number at the start of `text` as `strtoll` reads it (0 when no
/// digits follow), or `None` for an empty text.
pub fn parse_number(text: &str) -> Option<i64> {
    if text.is_empty() {
        return None;
    }
    let t = text.trim_start();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    let v: i64 = digits[..end].parse().unwrap_or(0);
    Some(if neg { -v } else { v })
}

/// The file that says whether the device is in use: `0` when it is
/// free, `1` when it has a size.
pub const INITSTATE: &str = "/sys/block/zram0/initstate";

/// `Some(false)` when the device is free, `Some(true)` when it has a
/// size (someone uses it), `None` when there is no zram0.
pub fn in_use() -> Option<bool> {
    read_number(INITSTATE).map(|v| v != 0)
}

/// Free the device (`reset`): its memory and its size. The kernel answers
/// `EBUSY` while the device is still open (a swap area on it, or a
/// swapoff's last reference not yet dropped): retried for up to 2 s.
pub fn reset() -> Result<(), Errno> {
    let mut r = Ok(());
    for _ in 0..100 {
        r = write_file(&format!("{SYSFS}/reset"), "1");
        if r != Err(libc::EBUSY) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    r
}

/// Give the device `size` bytes (`disksize`).
pub fn set_size(size: u64) -> Result<(), Errno> {
    write_file(&format!("{SYSFS}/disksize"), &size.to_string())
}

/// The swap header of an area of `size` bytes (what `mkswap` writes):
/// version 1, `last_page`, no bad pages, the magic at the end of the page.
pub fn swap_header(size: u64) -> Vec<u8> {
    let mut h = vec![0u8; PAGE as usize];
    let last_page = (size / PAGE - 1) as u32;
    for (i, v) in [1u32, last_page, 0].iter().enumerate() {
        h[1024 + 4 * i..1028 + 4 * i].copy_from_slice(&v.to_ne_bytes());
    }
    h[PAGE as usize - 10..].copy_from_slice(b"SWAPSPACE2");
    h
}

/// Write the swap header of an area of `size` bytes to the device and
/// flush it to the device (`fsync`), so that `swapon` reads it.
pub fn write_header(size: u64) -> std::io::Result<()> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(DEVICE)?;
    f.write_all_at(&swap_header(size), 0)?;
    f.sync_all()
}

/// `swapon(2)` of the device.
pub fn swapon() -> Result<(), Errno> {
    sys::swapon(DEVICE)
}

/// `swapoff(2)` of the device.
pub fn swapoff() -> Result<(), Errno> {
    sys::swapoff(DEVICE)
}

/// The number of swap areas in the text of `/proc/swaps` (one per line
/// after its heading).
pub fn swap_areas(proc_swaps: &str) -> usize {
    proc_swaps.lines().count().saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_of_a_40k_area_has_nine_slots_and_the_magic() {
        let h = swap_header(40 << 10);
        assert_eq!(h.len(), 4096);
        assert_eq!(&h[1024..1036], &[1, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&h[4086..], b"SWAPSPACE2");
        assert!(h[..1024].iter().all(|&b| b == 0));
        assert!(h[1036..4086].iter().all(|&b| b == 0));
    }

    #[test]
    fn numbers_are_read_as_strtoll_reads_them() {
        for (text, want) in [
            ("0\n", Some(0)),
            ("1\n", Some(1)),
            ("  8388608\n", Some(8388608)),
            ("-3 x", Some(-3)),
            ("max\n", Some(0)),
            ("", None),
        ] {
            assert_eq!(parse_number(text), want, "{text:?}");
        }
    }

    #[test]
    fn swap_areas_are_the_lines_after_the_heading() {
        let head = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
        assert_eq!(swap_areas(head), 0);
        assert_eq!(
            swap_areas(&format!("{head}/dev/zram0 partition 1020 0 -2\n")),
            1
        );
        assert_eq!(swap_areas(""), 0);
    }
}
