//! Starting `p1` a chosen number of map slots below `vm.max_map_count`
//! (`vmplay host --map-slots N`).
//!
//! A process may hold at most `vm.max_map_count` VMAs (`mm->map_count`).
//! Linux checks the count in `do_mmap` (ENOMEM once it is past the limit),
//! in `__split_vma`'s callers (`split_vma` for mprotect, mlock and madvise;
//! `vms_gather_munmap_vmas` for a cut in the middle of one VMA by munmap,
//! MAP_FIXED or mremap) and in mremap (`prep_move_vma`,
//! `check_mremap_params`). A scenario meets those rules only near the
//! limit, some 65,000 mappings away; rather than 65,000 lines of `mmap`,
//! the scenario process makes the mappings itself before the first line:
//!
//! 1. it sets aside the memory it needs to answer lines (the buffer that
//!    `maps` reads `/proc/self/maps` into, `mincore`'s text ...): glibc's
//!    heap is grown once and never trimmed, and no allocation is large
//!    enough to get a mapping of its own (`sys::keep_heap`), so that
//!    answering a line never maps anything and the process's own count
//!    stays put during the scenario;
//! 2. it counts its own VMAs (`/proc/self/maps`, less the `[vsyscall]`
//!    gate area, which is no VMA of the process);
//! 3. it reserves one PROT_NONE region far from the arena and makes every
//!    other page of it PROT_READ: each mprotect in the middle splits the
//!    region (`split_vma` twice), so a region of F pages is F VMAs, made
//!    with some 32,000 system calls and no protocol lines;
//! 4. it checks the count as `do_mmap` sees it: N + 1 probe mappings
//!    succeed (the count may reach the limit + 1), the next one fails with
//!    ENOMEM; the probes are unmapped again.
//!
//! A process made by `fork` inherits the fillers, as `dup_mmap` copies the
//! count. The fillers lie outside the arena and outside every range the
//! driver lets a scenario line touch (`driver::unsafe_reason`); the
//! scenario's `maps` shows only the arena.

use crate::protocol::{self, Reply, ReplyHeader, Status};
use crate::sys::{self, VmCall};
use crate::{HostError, Options};
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

const PAGE: u64 = 4096;
/// Where the fillers are: 80 TiB, far above the arena (48 TiB + 64 GiB)
/// and the hints the classes draw, far below the libraries and the stack.
const FILL_AT: u64 = 0x5000_0000_0000;
/// Where the probes of the check are made (16 TiB above the fillers).
const PROBE_AT: u64 = 0x6000_0000_0000;
/// The heap set aside for answers: `maps` of a process at the limit reads
/// some 5 MiB of `/proc/self/maps`; a result text is at most 16 MiB.
const HEAP: usize = 64 << 20;
/// The most fillers made: each VMA costs the kernel some 200 bytes, and
/// some distributions raise `vm.max_map_count` to 2^31 - 6.
const MAX_FILLERS: u64 = 1 << 20;

const PROT_NONE: u64 = 0;
const PROT_READ: u64 = 1;
const MAP_PRIVATE_ANON_NORESERVE: u64 = 0x02 | 0x20 | 0x4000;
const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;

/// `vm.max_map_count` of this host.
pub fn host_limit() -> Result<u64, String> {
    let t = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .map_err(|e| format!("/proc/sys/vm/max_map_count: {e}"))?;
    t.trim()
        .parse()
        .map_err(|_| format!("/proc/sys/vm/max_map_count reads '{}'", t.trim()))
}

/// The VMAs of this process (`mm->map_count`): the lines of
/// `/proc/self/maps` but the gate area (`[vsyscall]`, `get_gate_vma`).
fn own_count() -> Result<u64, String> {
    let t =
        std::fs::read_to_string("/proc/self/maps").map_err(|e| format!("/proc/self/maps: {e}"))?;
    Ok(t.lines().filter(|l| !l.ends_with("[vsyscall]")).count() as u64)
}

fn mmap_page(at: u64, prot: u64, pages: u64) -> Result<u64, sys::Errno> {
    sys::vm_call(
        VmCall::Mmap,
        [
            at,
            pages * PAGE,
            prot,
            MAP_PRIVATE_ANON_NORESERVE | MAP_FIXED_NOREPLACE,
            u64::MAX,
            0,
        ],
    )
}

/// Make this process hold `vm.max_map_count - slots` VMAs. Run by `p1`
/// before the first line; the error says why it could not.
pub fn fill(slots: u64) -> Result<(), String> {
    sys::keep_heap(HEAP)?;
    floor()?;
    let limit = host_limit()?;
    let own = own_count()?;
    let Some(fillers) = limit.checked_sub(own).and_then(|f| f.checked_sub(slots)) else {
        return Err(format!(
            "--map-slots {slots}: the scenario process holds {own} mappings of its own and \
             vm.max_map_count is {limit}, so at most {} slots can be free",
            limit.saturating_sub(own)
        ));
    };
    if fillers > MAX_FILLERS {
        return Err(format!(
            "--map-slots {slots}: vm.max_map_count is {limit}, which would take {fillers} filler \
             mappings (at most {MAX_FILLERS} are made); the recordings' machine has 65530 \
             (sysctl vm.max_map_count=65530)"
        ));
    }
    if fillers > 0 {
        // One region of `fillers` pages; every odd page made PROT_READ
        // splits it (the last one at its end, once), leaving one VMA per
        // page.
        mmap_page(FILL_AT, PROT_NONE, fillers)
            .map_err(|e| format!("the fillers' region: errno {e}"))?;
        for i in (1..fillers).step_by(2) {
            sys::vm_call(
                VmCall::Mprotect,
                [FILL_AT + i * PAGE, PAGE, PROT_READ, 0, 0, 0],
            )
            .map_err(|e| format!("filler {i}: mprotect errno {e}"))?;
        }
    }
    check(slots, limit, own)
}

/// Where the simulator's mappings are placed from: its `mmap_base`,
/// 0x7ffff7fff000, is 4 KiB short of a 2 MiB boundary.
const SIM_TOP_IN_PMD: u64 = 0x1f_f000;
const PMD: u64 = 2 << 20;
const MAP_SHARED_ANON: u64 = 0x01 | 0x20;

/// Give the mappings the kernel places for the scenario the neighbours
/// they have in the simulator. Top down, a placed mapping lands in the
/// highest gap below `mmap_base` that fits: in a small gap between the
/// runtime's own mappings (libraries, malloc's, the signal stack) or
/// right below the lowest of them, where an anonymous one may merge with
/// it (`vma_merge_new_range`) and leave the count one short of the
/// simulator's, whose process has nothing there. So every such gap is
/// filled, and below the lowest mapping goes a floor no mapping can merge
/// with (shared anonymous memory: a shmem file of its own), ending where
/// the simulator's search starts modulo 2 MiB, so that THP-aligned
/// placements below it leave the same holes as in the simulator. The
/// filling mappings are part of the process's own count.
fn floor() -> Result<(), String> {
    let t =
        std::fs::read_to_string("/proc/self/maps").map_err(|e| format!("/proc/self/maps: {e}"))?;
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for line in t.lines() {
        if line.ends_with("[stack]") || line.ends_with("[vsyscall]") {
            continue;
        }
        let Some((s, e)) = line.split(' ').next().and_then(|r| r.split_once('-')) else {
            continue;
        };
        if let (Ok(s), Ok(e)) = (u64::from_str_radix(s, 16), u64::from_str_radix(e, 16)) {
            ranges.push((s, e));
        }
    }
    ranges.sort_unstable();
    // The mmap area: the mappings above the widest gap (the one between
    // the program and its heap below, the libraries above).
    let Some(first) = (1..ranges.len()).max_by_key(|&i| ranges[i].0 - ranges[i - 1].1) else {
        return Ok(());
    };
    let area = &ranges[first..];
    for w in area.windows(2) {
        let (gap_start, gap_end) = (w[0].1, w[1].0);
        if gap_end > gap_start {
            mmap_at(gap_start, (gap_end - gap_start) / PAGE, MAP_SHARED_ANON)
                .map_err(|e| format!("a gap between the runtime's mappings: errno {e}"))?;
        }
    }
    let low = area[0].0;
    let below = (low - SIM_TOP_IN_PMD) % PMD;
    let floor_len = if below == 0 { PMD } else { below };
    mmap_at(low - floor_len, floor_len / PAGE, MAP_SHARED_ANON)
        .map_err(|e| format!("the floor below the runtime's mappings: errno {e}"))?;
    Ok(())
}

fn mmap_at(at: u64, pages: u64, flags: u64) -> Result<u64, sys::Errno> {
    sys::vm_call(
        VmCall::Mmap,
        [
            at,
            pages * PAGE,
            PROT_NONE,
            flags | 0x4000 | MAP_FIXED_NOREPLACE,
            u64::MAX,
            0,
        ],
    )
}

/// `do_mmap` refuses a mapping once the count is past the limit: with
/// `slots` free, `slots + 1` new mappings succeed and the next fails.
fn check(slots: u64, limit: u64, own: u64) -> Result<(), String> {
    let mut made = 0u64;
    let failed = loop {
        match mmap_page(PROBE_AT + 2 * made * PAGE, PROT_READ, 1) {
            Ok(_) => made += 1,
            Err(e) => break e,
        }
        if made > slots + 1 {
            break 0;
        }
    };
    for i in 0..made {
        sys::vm_call(VmCall::Munmap, [PROBE_AT + 2 * i * PAGE, PAGE, 0, 0, 0, 0])
            .map_err(|e| format!("probe {i}: munmap errno {e}"))?;
    }
    if failed != libc::ENOMEM || made != slots + 1 {
        return Err(format!(
            "the map count is not where it should be: {} probe mappings succeeded \
             (expected {}; vm.max_map_count {limit}, {own} mappings of its own counted)",
            made,
            slots + 1
        ));
    }
    Ok(())
}

/// In `p1`, before its first line: fill, and tell the driver how it went
/// (a reply with no line: `Ok`, or `Refuse` and why, after which `p1`
/// leaves).
pub fn start(chan: RawFd, slots: u64) {
    let (status, text) = match fill(slots) {
        Ok(()) => (Status::Ok, String::new()),
        Err(why) => (Status::Refuse, why),
    };
    let h = ReplyHeader {
        status,
        len: text.len() as u64,
        val: 0,
        pid: 0,
    };
    if sys::send(chan, &h.encode(), None).is_err()
        || sys::send(chan, text.as_bytes(), None).is_err()
        || status != Status::Ok
    {
        sys::exit_now(1);
    }
}

/// In the driver: wait for `p1`'s word that it starts where it should.
pub fn started(chan: RawFd, opts: &Options) -> Result<(), HostError> {
    // Some 65,000 system calls: well under a second, but give a loaded
    // machine room.
    let deadline = Instant::now() + opts.timeout + Duration::from_secs(60);
    let Reply {
        got,
        header: h,
        text,
    } = protocol::recv_reply(chan, deadline, &mut None);
    match got {
        sys::Recv::Done if h.status == Status::Ok => Ok(()),
        sys::Recv::Done => Err(HostError::Internal(
            String::from_utf8_lossy(&text).into_owned(),
        )),
        sys::Recv::TimedOut => Err(HostError::Internal(
            "--map-slots: the scenario process took too long to make its fillers".into(),
        )),
        sys::Recv::Closed => Err(HostError::Internal(
            "--map-slots: the scenario process died making its fillers".into(),
        )),
    }
}
