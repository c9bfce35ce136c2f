//! The machine: one value that owns the physical memory, the CPU's TLB, the
//! processes with their address spaces, the anon/amap/object tables and the
//! file system. Every operation of the simulator is a method on it.

use crate::addr::{PAGE_SIZE, Pfn, PhysAddr, VirtAddr};
use crate::arch::x86_64::mmu::{self, Access};
use crate::arch::x86_64::tlb::Tlb;
use crate::errno::{SysResult, esrch};
use crate::event::{Event, EventLog, Pid, SignalCode};
use crate::flags::{Prot, VmFlags};
use crate::personality::{LINUX, Layout, Personality};
use crate::phys::{FrameOwner, PhysMem};
use crate::pmap::{Pmap, PteProt};
use crate::vm::amap::Amap;
use crate::vm::anon::Anon;
use crate::vm::map::{Entry, VmMap};
use crate::vm::object::{Object, OpenFile};
use crate::vm::slab::Slab;
use core::fmt;
use serde::Serialize;
use std::collections::BTreeMap;

/// A file descriptor number.
pub type Fd = i32;

/// How the machine is built.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct MachineConfig {
    /// The kernel its processes see: layout, errno numbers, ABI names,
    /// system calls and map policy (Linux unless said otherwise).
    #[serde(serialize_with = "personality_name")]
    pub personality: &'static Personality,
    /// Physical memory in 4 KiB frames (default 262,144 = 1 GiB).
    pub frames: u64,
    /// TLB geometry: sets (a power of two) and ways.
    pub tlb_sets: usize,
    pub tlb_ways: usize,
    /// Record events (off for benchmarks).
    pub events: bool,
    /// Give each new process the usual stack mapping below `TASK_SIZE`.
    pub stack: bool,
    /// `vm.max_map_count`: the most entries a process may hold (the stack
    /// entry counts, as every VMA does in Linux; vm/split.rs).
    pub max_map_count: usize,
    /// Frames the kernel kept for itself at boot (its image, the `struct
    /// page` array, firmware reservations): Linux's `totalram_pages()`,
    /// which `/proc/meminfo` shows as MemTotal, is `frames` less these,
    /// and the heuristic overcommit compares a charge with it. Only that
    /// heuristic reads it; the simulator still hands those frames out.
    pub ram_reserved: u64,
}

/// The recording machine of the conformance cases: 24 GiB of RAM
/// (6,291,456 frames) of which MemTotal is 24,683,784 kB (6,170,946
/// pages); tests/conformance/tools/FIDELITY.md lists its constants.
const REFERENCE_FRAMES: u64 = 24 << 18;
const REFERENCE_TOTALRAM: u64 = 24_683_784 / 4;

fn personality_name<S: serde::Serializer>(
    p: &&'static Personality,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(p.name)
}

impl MachineConfig {
    /// The machine the recorded conformance cases assume (FORMAT.md): 24 GiB
    /// of RAM, no swap. RAM matters beyond placement: Linux's heuristic
    /// overcommit refuses a single accounted mapping larger than MemTotal +
    /// swap (case overcommit_memtotal).
    pub fn reference() -> Self {
        MachineConfig {
            frames: REFERENCE_FRAMES,
            ram_reserved: REFERENCE_FRAMES - REFERENCE_TOTALRAM,
            ..MachineConfig::default()
        }
    }
}

impl Default for MachineConfig {
    fn default() -> Self {
        MachineConfig {
            personality: &LINUX,
            frames: 262_144,
            tlb_sets: 16,
            tlb_ways: 4,
            events: true,
            stack: true,
            max_map_count: crate::personality::linux::MAX_MAP_COUNT,
            ram_reserved: 0,
        }
    }
}

/// A signal raised by an access (`force_sig_fault`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub struct Signal {
    pub addr: VirtAddr,
    pub code: SignalCode,
}

impl Signal {
    pub fn name(&self) -> &'static str {
        match self.code {
            SignalCode::SegvMaperr | SignalCode::SegvAccerr => "SIGSEGV",
            SignalCode::BusAdrerr => "SIGBUS",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an access did not complete.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, thiserror::Error)]
pub enum AccessError {
    /// The process got a signal.
    #[error("{0}")]
    Signal(Signal),
    /// No such process.
    #[error("no process {0}")]
    NoProcess(Pid),
    /// Physical memory ran out while resolving the fault and nothing could
    /// be reclaimed or killed: the access fails and nothing changes.
    #[error("out of memory")]
    OutOfMemory,
    /// The OOM killer killed the process during this access.
    #[error("killed by the OOM killer")]
    Killed,
}

/// Why [`Machine::translate`] stopped: an error the access ends with, or
/// a page fault (its error code) for the fault handler.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Trap {
    Error(AccessError),
    PageFault(u32),
}

/// The backing column of a `maps` line.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Backing {
    Anon,
    Shmem,
    File(String),
    Memfd(String),
    /// The unlinked hugetlbfs file of `MAP_HUGETLB|MAP_ANONYMOUS`, which
    /// the kernel names `/anon_hugepage (deleted)`.
    AnonHugepage,
    /// FreeBSD: a `MAP_GUARD` entry or the gap below a `MAP_STACK` one.
    Guard,
}

impl fmt::Display for Backing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backing::Anon => f.write_str("anon"),
            Backing::Shmem => f.write_str("shmem"),
            Backing::File(n) => write!(f, "file:{n}"),
            Backing::Memfd(n) => write!(f, "memfd:{n}"),
            Backing::AnonHugepage => f.write_str("/anon_hugepage (deleted)"),
            Backing::Guard => f.write_str("guard"),
        }
    }
}

/// One line of `/proc/PID/maps`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct MapsLine {
    pub start: u64,
    pub end: u64,
    pub perms: String,
    pub offset: u64,
    pub backing: Backing,
}

/// A process: an address space (map + page tables) and descriptors.
#[derive(Clone, Debug)]
pub struct Process {
    pub pid: Pid,
    pub parent: Option<Pid>,
    pub map: VmMap,
    pub pmap: Pmap,
    /// Descriptor table: fd -> open file id.
    pub fds: BTreeMap<Fd, u32>,
    /// Guard pages (MADV_GUARD_INSTALL): any access raises SIGSEGV. Linux
    /// keeps them as PTE markers; here they are a set of page addresses.
    pub guards: std::collections::BTreeSet<u64>,
    /// `mm->def_flags`: VM_LOCKED (| VM_LOCKONFAULT) after mlockall(MCL_FUTURE).
    pub def_flags: VmFlags,
    pub brk_start: u64,
    pub brk: u64,
    /// `RLIMIT_MEMLOCK` in bytes (`None`: RLIM_INFINITY, root's default).
    pub memlock_limit: Option<u64>,
    /// Major faults (a page read from the swap device) not yet taken by
    /// [`Machine::take_major_faults`] (`min_flt`/`maj_flt` of the task).
    pub maj_flt: u64,
}

/// The process table, indexed by pid (pids are never reused, so a slot
/// stays empty after its process exits).
#[derive(Clone, Debug, Default)]
pub struct ProcTable {
    slots: Vec<Option<Process>>,
    live: usize,
}

impl ProcTable {
    #[inline]
    pub fn get(&self, pid: &Pid) -> Option<&Process> {
        self.slots.get(*pid as usize)?.as_ref()
    }
    #[inline]
    pub fn get_mut(&mut self, pid: &Pid) -> Option<&mut Process> {
        self.slots.get_mut(*pid as usize)?.as_mut()
    }
    pub fn contains_key(&self, pid: &Pid) -> bool {
        self.get(pid).is_some()
    }
    pub fn insert(&mut self, pid: Pid, p: Process) {
        let i = pid as usize;
        if self.slots.len() <= i {
            self.slots.resize_with(i + 1, || None);
        }
        if self.slots[i].replace(p).is_none() {
            self.live += 1;
        }
    }
    pub fn remove(&mut self, pid: &Pid) -> Option<Process> {
        let p = self.slots.get_mut(*pid as usize)?.take();
        if p.is_some() {
            self.live -= 1;
        }
        p
    }
    pub fn len(&self) -> usize {
        self.live
    }
    /// Two different live processes at once, the first to read and the
    /// second to change (fork copies from parent to child).
    pub fn pair_mut(&mut self, a: &Pid, b: &Pid) -> Option<(&Process, &mut Process)> {
        let (a, b) = (*a as usize, *b as usize);
        if a == b || a.max(b) >= self.slots.len() {
            return None;
        }
        let (lo, hi) = self.slots.split_at_mut(a.max(b));
        let (x, y) = (lo[a.min(b)].as_mut()?, hi[0].as_mut()?);
        if a < b { Some((x, y)) } else { Some((y, x)) }
    }
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }
    /// Live processes, lowest pid first.
    pub fn iter(&self) -> impl Iterator<Item = (&Pid, &Process)> {
        self.slots
            .iter()
            .filter_map(|p| p.as_ref().map(|p| (&p.pid, p)))
    }
    pub fn keys(&self) -> impl Iterator<Item = &Pid> {
        self.iter().map(|(k, _)| k)
    }
    pub fn values(&self) -> impl Iterator<Item = &Process> {
        self.iter().map(|(_, v)| v)
    }
}

impl<'a> IntoIterator for &'a ProcTable {
    type Item = (&'a Pid, &'a Process);
    type IntoIter = Box<dyn Iterator<Item = (&'a Pid, &'a Process)> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl core::ops::Index<&Pid> for ProcTable {
    type Output = Process;
    #[inline]
    fn index(&self, pid: &Pid) -> &Process {
        self.get(pid).expect("no such process")
    }
}

/// The whole simulated machine.
#[derive(Clone, Debug)]
pub struct Machine {
    pub(crate) cfg: MachineConfig,
    pub(crate) phys: PhysMem,
    pub(crate) tlb: Tlb,
    pub(crate) ev: EventLog,
    pub(crate) procs: ProcTable,
    pub(crate) next_pid: Pid,
    pub(crate) anons: Slab<Anon>,
    pub(crate) amaps: Slab<Amap>,
    pub(crate) objects: Slab<Object>,
    pub(crate) open_files: Slab<OpenFile>,
    /// The serial the next open file description gets.
    pub(crate) next_file_serial: u64,
    /// The file system's namespace: name -> object.
    pub(crate) files: BTreeMap<String, u32>,
    /// The shared zero page (`ZERO_PAGE(0)`).
    pub(crate) zero_pfn: Pfn,
    /// The huge zero page, allocated on first use (`mm_get_huge_zero_page`).
    pub(crate) huge_zero: Option<Pfn>,
    pub(crate) next_anon_vma: u32,
    /// The CPU's current context: pid, CR3 and PCID (pid 0: none).
    pub(crate) cpu: (Pid, Pfn, u16),
    /// The personality's `TASK_SIZE`, kept at hand for the access path.
    task_size: u64,
    /// The swap area, when one is on (`swapon`).
    pub(crate) swap: Option<crate::vm::swap::SwapArea>,
    /// The memory limit of the processes' memory cgroup, in pages
    /// (`memory.limit_in_bytes`); `None`: unlimited.
    pub(crate) memlimit: Option<u64>,
    /// What reclaiming anonymous pages has cost lately
    /// (`lruvec->anon_cost`, `lru_note_cost`): it weighs how hard reclaim
    /// scans them (`get_scan_count`).
    pub(crate) anon_cost: u64,
    /// Evictions and activations so far in the memory cgroup's lists
    /// (`lruvec->nonresident_age`): the clock of refault distances.
    pub(crate) nonresident_age: u64,
    /// The anon a fault is working on (swapping it in, mapping it,
    /// copying it): reclaim leaves it alone, as the kernel's reference to
    /// the folio keeps it (`folio_get` in `do_swap_page`, `wp_page_copy`).
    pub(crate) reclaim_pin: Option<u32>,
    /// Processes the OOM killer killed (their names stay taken).
    pub(crate) oom_killed: std::collections::BTreeSet<Pid>,
    /// The running process chosen by the OOM killer during its own
    /// operation: it dies when that operation unwinds.
    pub(crate) oom_pending: Option<Pid>,
    /// The process whose operation runs (a system call or an access).
    pub(crate) running: Pid,
    /// Whether running out of memory may call the OOM killer (not while
    /// swapoff brings pages back).
    pub(crate) oom_allowed: bool,
    /// Pages lent to the kernel (`vm/loan.rs`), by loan.
    pub(crate) loans: BTreeMap<crate::vm::loan::LoanId, crate::vm::loan::Loan>,
    /// The number the next loan gets (never reused).
    pub(crate) next_loan: u64,
}

impl Machine {
    /// A machine with one process, `p1` (pid 1), and nothing mapped but
    /// its stack.
    pub fn new(cfg: MachineConfig) -> Machine {
        let ev = EventLog::new(cfg.events);
        let phys = PhysMem::new(cfg.frames);
        let mut m = Machine {
            cfg,
            phys,
            tlb: Tlb::new(cfg.tlb_sets, cfg.tlb_ways),
            ev,
            procs: ProcTable::default(),
            next_pid: 1,
            anons: Slab::default(),
            amaps: Slab::default(),
            objects: Slab::default(),
            open_files: Slab::default(),
            next_file_serial: 1,
            files: BTreeMap::new(),
            zero_pfn: Pfn(0),
            huge_zero: None,
            next_anon_vma: 1,
            cpu: (0, Pfn(0), 0),
            task_size: cfg.personality.layout.task_size,
            swap: None,
            memlimit: None,
            anon_cost: 0,
            nonresident_age: 0,
            reclaim_pin: None,
            oom_killed: Default::default(),
            oom_pending: None,
            running: 0,
            oom_allowed: true,
            loans: BTreeMap::new(),
            next_loan: 1,
        };
        m.zero_pfn = m
            .alloc_page(FrameOwner::Zero)
            .expect("a fresh machine has free frames");
        let pid = m
            .spawn(None)
            .expect("a fresh machine has room for one process");
        if cfg.stack {
            let l = cfg.personality.layout;
            let start = l.stack_top - l.stack_size;
            let entry = Entry {
                start,
                end: l.stack_top,
                prot: Prot::READ | Prot::WRITE,
                flags: VmFlags::MAYREAD
                    | VmFlags::MAYWRITE
                    | VmFlags::MAYEXEC
                    | VmFlags::GROWSDOWN
                    | VmFlags::ACCOUNT,
                object: None,
                pgoff: start >> 12,
                aref: None,
                needs_copy: false,
                anon_vma: None,
                anon_vma_forked: false,
                inherit: crate::vm::map::Inherit::Copy,
                ra: Default::default(),
            };
            m.procs
                .get_mut(&pid)
                .expect("just made")
                .map
                .entries
                .insert(entry);
        }
        m.ev.take();
        m
    }

    /// Create an empty process (no entries).
    pub(crate) fn spawn(&mut self, parent: Option<Pid>) -> Option<Pid> {
        let pid = self.next_pid;
        // PCIDs are 12 bits; 0 is the kernel's. Reuse is made safe by
        // flushing the tag before a new address space takes it.
        let asid = (pid % 4095 + 1) as u16;
        let pmap = Pmap::new(&mut self.phys, asid, &mut self.ev).ok()?;
        self.next_pid += 1;
        let removed = self.tlb.flush_asid(asid);
        if removed > 0 {
            self.ev.push(Event::TlbFlushAsid { asid, removed });
        }
        let proc = Process {
            pid,
            parent,
            map: VmMap::default(),
            pmap,
            fds: BTreeMap::new(),
            guards: Default::default(),
            def_flags: VmFlags::empty(),
            maj_flt: 0,
            brk_start: self.cfg.personality.layout.brk_start,
            brk: self.cfg.personality.layout.brk_start,
            memlock_limit: None,
        };
        self.procs.insert(pid, proc);
        Some(pid)
    }

    pub fn config(&self) -> &MachineConfig {
        &self.cfg
    }

    /// The most pages one charge may take under Linux's heuristic
    /// overcommit (`__vm_enough_memory`, OVERCOMMIT_GUESS):
    /// `totalram_pages() + total_swap_pages`, MemTotal and the usable
    /// slots of the swap area.
    pub(crate) fn overcommit_limit(&self) -> u64 {
        let ram = self
            .phys
            .total_frames()
            .saturating_sub(self.cfg.ram_reserved);
        ram + self.swap.as_ref().map_or(0, |a| u64::from(a.size()))
    }
    /// The kernel this machine's processes see.
    pub fn personality(&self) -> &'static Personality {
        self.cfg.personality
    }
    /// The personality's address-space layout.
    pub fn layout(&self) -> &'static Layout {
        &self.cfg.personality.layout
    }
    /// Pids of the live processes, lowest first.
    pub fn processes(&self) -> Vec<Pid> {
        self.procs.keys().copied().collect()
    }
    pub fn is_alive(&self, pid: Pid) -> bool {
        self.procs.contains_key(&pid)
    }
    pub fn process(&self, pid: Pid) -> Option<&Process> {
        self.procs.get(&pid)
    }
    pub fn phys(&self) -> &PhysMem {
        &self.phys
    }
    pub fn tlb(&self) -> &Tlb {
        &self.tlb
    }
    /// Every event since the last call.
    pub fn take_events(&mut self) -> Vec<Event> {
        self.ev.take()
    }
    /// Events not recorded since the last call because the log was full
    /// ([`crate::event::MAX_LOGGED`] per take).
    pub fn take_events_lost(&mut self) -> u64 {
        self.ev.take_lost()
    }
    pub fn events_mut(&mut self) -> &mut EventLog {
        &mut self.ev
    }

    pub(crate) fn proc_ref(&self, pid: Pid) -> SysResult<&Process> {
        self.procs.get(&pid).ok_or(esrch("no such process"))
    }
    pub(crate) fn proc_mut(&mut self, pid: Pid) -> &mut Process {
        self.procs.get_mut(&pid).expect("caller checked the pid")
    }
    pub(crate) fn new_anon_vma(&mut self) -> u32 {
        self.next_anon_vma += 1;
        self.next_anon_vma
    }

    // ----- the CPU: loads, stores and instruction fetches -----

    /// Translate `va` for `access` as the process's CPU would, taking page
    /// faults (and resolving them) until the access succeeds or a signal
    /// is due. The common case, a TLB hit in the running address space,
    /// stays small enough to inline; everything else is out of line.
    #[inline(always)]
    pub(crate) fn access(
        &mut self,
        pid: Pid,
        va: u64,
        access: Access,
    ) -> Result<PhysAddr, AccessError> {
        match self.translate(pid, va, access) {
            Ok(pa) => Ok(pa),
            Err(trap) => self.take_trap(pid, va, access, trap),
        }
    }

    /// The MMU's part of an access: the translation the CPU finds (a TLB
    /// hit, or a walk to a present leaf that permits it), or the trap it
    /// raises, with nothing handled yet. No byte of memory changes here:
    /// a walk writes only A and D bits, into page tables.
    #[inline(always)]
    pub(crate) fn translate(
        &mut self,
        pid: Pid,
        va: u64,
        access: Access,
    ) -> Result<PhysAddr, Trap> {
        let Some((cr3, asid)) = self.switch_to(pid) else {
            return Err(Trap::Error(AccessError::NoProcess(pid)));
        };
        if va >= self.task_size {
            // Beyond user space (non-canonical addresses raise #GP): SIGSEGV.
            return Err(Trap::Error(self.signal(pid, va, SignalCode::SegvMaperr)));
        }
        mmu::translate(
            &mut self.phys,
            &mut self.tlb,
            cr3,
            asid,
            VirtAddr(va),
            access,
            &mut self.ev,
        )
        .map_err(|pf| Trap::PageFault(pf.code.bits()))
    }

    /// What the kernel does with a trap of [`Machine::translate`]: a page
    /// fault goes to the handler and the access is retried.
    #[inline(always)]
    pub(crate) fn take_trap(
        &mut self,
        pid: Pid,
        va: u64,
        access: Access,
        trap: Trap,
    ) -> Result<PhysAddr, AccessError> {
        match trap {
            Trap::Error(e) => Err(e),
            Trap::PageFault(code) => self.access_slow(pid, va, access, code),
        }
    }

    /// The CPU runs `pid`: load its CR3 (with PCIDs a CR3 write keeps the
    /// TLB). Returns the page-table root and address-space id.
    #[inline(always)]
    fn switch_to(&mut self, pid: Pid) -> Option<(Pfn, u16)> {
        if self.cpu.0 == pid {
            return Some((self.cpu.1, self.cpu.2));
        }
        let p = self.procs.get(&pid)?;
        self.cpu = (pid, p.pmap.cr3(), p.pmap.asid());
        Some((self.cpu.1, self.cpu.2))
    }

    /// The page-fault path: the handler resolves the fault and the access is
    /// retried, as the CPU re-executes the faulting instruction.
    #[inline(never)]
    fn access_slow(
        &mut self,
        pid: Pid,
        va: u64,
        access: Access,
        first_code: u32,
    ) -> Result<PhysAddr, AccessError> {
        let (cr3, asid) = (self.cpu.1, self.cpu.2);
        self.running = pid;
        let v = VirtAddr(va);
        let mut code = first_code;
        // Three rounds cover the worst case (amap copy, then COW, then the
        // dirty-bit assist).
        for _ in 0..4 {
            self.ev.push_with(|| Event::PageFault { pid, va: v, code });
            self.handle_fault(pid, va, access, code)?;
            match mmu::translate(
                &mut self.phys,
                &mut self.tlb,
                cr3,
                asid,
                v,
                access,
                &mut self.ev,
            ) {
                Ok(pa) => return Ok(pa),
                Err(pf) => code = pf.code.bits(),
            }
        }
        debug_assert!(false, "fault at {va:#x} not resolved after four rounds");
        Err(self.signal(pid, va, SignalCode::SegvAccerr))
    }

    pub(crate) fn signal(&mut self, pid: Pid, va: u64, code: SignalCode) -> AccessError {
        self.ev.push_with(|| Event::Signal {
            pid,
            va: VirtAddr(va),
            code,
        });
        AccessError::Signal(Signal {
            addr: VirtAddr(va),
            code,
        })
    }

    /// A failed access has unwound: a process the OOM killer chose during
    /// it dies now, and the access reports that.
    #[cold]
    pub(crate) fn access_failed(&mut self, pid: Pid, e: AccessError) -> AccessError {
        self.oom_reap_pending();
        if self.oom_killed.contains(&pid) {
            AccessError::Killed
        } else {
            e
        }
    }

    /// A load of one byte.
    pub fn load(&mut self, pid: Pid, va: u64) -> Result<u8, AccessError> {
        match self.access(pid, va, Access::Read) {
            Ok(pa) => Ok(self.phys.read_u8(pa)),
            Err(e) => Err(self.access_failed(pid, e)),
        }
    }

    /// A store of one byte.
    pub fn store(&mut self, pid: Pid, va: u64, value: u8) -> Result<(), AccessError> {
        match self.access(pid, va, Access::Write) {
            Ok(pa) => {
                self.phys.write_u8(pa, value);
                Ok(())
            }
            Err(e) => Err(self.access_failed(pid, e)),
        }
    }

    /// Store `value` into `len` bytes from `va`, a page at a time; on a
    /// fault the bytes before it stay written.
    pub fn fill(&mut self, pid: Pid, va: u64, len: u64, value: u8) -> Result<(), AccessError> {
        let mut at = va;
        let end = va.wrapping_add(len);
        let mut left = len;
        while left > 0 {
            let pa = match self.access(pid, at, Access::Write) {
                Ok(pa) => pa,
                Err(e) => return Err(self.access_failed(pid, e)),
            };
            let in_page = (PAGE_SIZE - (at & (PAGE_SIZE - 1))).min(left);
            self.phys.fill(pa, in_page as usize, value);
            left -= in_page;
            at = at.wrapping_add(in_page);
        }
        debug_assert!(at == end);
        Ok(())
    }

    /// An instruction fetch at `va` (the byte there is not interpreted).
    pub fn exec(&mut self, pid: Pid, va: u64) -> Result<(), AccessError> {
        match self.access(pid, va, Access::Execute) {
            Ok(_) => Ok(()),
            Err(e) => Err(self.access_failed(pid, e)),
        }
    }

    // ----- pmap helpers used by the layers above -----

    /// `pmap_enter` + the TLB shootdown it obliges.
    pub(crate) fn pmap_enter(
        &mut self,
        pid: Pid,
        va: u64,
        pfn: Pfn,
        writable: bool,
        executable: bool,
    ) -> Result<(), AccessError> {
        let p = self
            .procs
            .get_mut(&pid)
            .ok_or(AccessError::NoProcess(pid))?;
        // A swap entry the new leaf replaces gives up its use of the slot
        // once the leaf is in (`do_swap_page`, `unuse_pte`).
        let replaced = if p.pmap.swap_entries() > 0 {
            p.pmap.swap_entry(&self.phys, VirtAddr(va))
        } else {
            None
        };
        let flush = p
            .pmap
            .enter(
                &mut self.phys,
                VirtAddr(va),
                pfn,
                PteProt {
                    writable,
                    executable,
                },
                &mut self.ev,
            )
            .map_err(|_| AccessError::OutOfMemory)?;
        flush.flush(&mut self.tlb, &mut self.ev);
        if let Some(sw) = replaced {
            self.swap_mut().put(crate::vm::swap::Slot(sw.offset as u32));
        }
        Ok(())
    }

    /// `pmap_copy` of the leaves in `[start, end)` from `from`'s page
    /// tables into `to`'s, with protection `prot` (fork's
    /// `copy_page_range`). A leaf whose page table cannot be had is left
    /// out: the child faults the page in later.
    pub(crate) fn pmap_copy(
        &mut self,
        from: Pid,
        to: Pid,
        start: u64,
        end: u64,
        prot: PteProt,
        keep_dirty: bool,
    ) {
        let Some((src, dst)) = self.procs.pair_mut(&from, &to) else {
            return;
        };
        let flush = src.pmap.copy_range(
            &mut dst.pmap,
            &mut self.phys,
            VirtAddr(start),
            VirtAddr(end),
            prot,
            keep_dirty,
            &mut self.ev,
        );
        flush.flush(&mut self.tlb, &mut self.ev);
        self.swap_entries_copy(from, to, start, end);
    }

    /// The leaves of `[from, from + len)` move to `to` with their
    /// protection bits (`move_page_tables`), with the shootdown of the old
    /// range. A leaf whose new page table cannot be had is dropped: its
    /// page is still in the amap or the page cache, and faults back in.
    pub(crate) fn pmap_move(&mut self, pid: Pid, from: u64, len: u64, to: u64) {
        self.swap_entries_move(pid, from, len, to);
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        let flush = p.pmap.move_range(
            &mut self.phys,
            VirtAddr(from),
            len,
            VirtAddr(to),
            &mut self.ev,
        );
        flush.flush(&mut self.tlb, &mut self.ev);
    }

    /// `pmap_remove` of `[start, end)` with its shootdown. Dirty bits of
    /// the leaves are carried to the page descriptors by the pmap (the
    /// kernel's `set_page_dirty` in `zap_pte_range`), so a page-cache page
    /// written through a mapping is known to need writing back.
    pub(crate) fn zap(&mut self, pid: Pid, start: u64, end: u64) {
        // Leaves of locked entries are about to go: unwire their frames.
        self.unwire_range(pid, start, end);
        self.swap_entries_drop(pid, start, end);
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        let flush =
            p.pmap
                .remove_range(&mut self.phys, VirtAddr(start), VirtAddr(end), &mut self.ev);
        flush.flush(&mut self.tlb, &mut self.ev);
    }

    /// `free_pgtables` after `[start, end)` was unmapped and its entries
    /// removed: page tables wholly between the entries left below and
    /// above go.
    pub(crate) fn free_pgtables(&mut self, pid: Pid, start: u64, end: u64) {
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        // Nothing is left in [start, end): the entry starting below it
        // ends below it too.
        let floor = start
            .checked_sub(1)
            .and_then(|a| p.map.entries.last_starting_at_or_below(a))
            .map_or(0, |e| e.end);
        let ceiling = p
            .map
            .entries
            .first_starting_at_or_above(end)
            .map_or(u64::MAX, |e| e.start);
        p.pmap.free_tables(
            &mut self.phys,
            VirtAddr(start),
            VirtAddr(end),
            floor,
            ceiling,
            &mut self.ev,
        );
    }

    /// `pmap_protect` of `[start, end)`: write access is only ever taken
    /// away here; it is granted again page by page by write faults, which
    /// know whether a page is shared copy-on-write.
    /// For PROT_NONE the leaves stay, made inaccessible (PROTNONE).
    pub(crate) fn pmap_protect(&mut self, pid: Pid, start: u64, end: u64, prot: Prot) {
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        let (s, e) = (VirtAddr(start), VirtAddr(end));
        let flush = if prot.is_empty() {
            p.pmap.protect_none(&mut self.phys, s, e, &mut self.ev)
        } else {
            let prot = PteProt {
                writable: false,
                executable: prot.executable(),
            };
            p.pmap.protect(&mut self.phys, s, e, prot, &mut self.ev)
        };
        flush.flush(&mut self.tlb, &mut self.ev);
    }
}
