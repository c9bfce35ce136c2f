//! Every call into the host kernel, and the only unsafe code of vmplay.
//!
//! Four kinds of thing live here:
//!
//! - thin wrappers of system calls (`mmap`, `mremap`, `mincore`, `pread`,
//!   `fork`, `sendmsg` with `SCM_RIGHTS` ...) that return `Result<_, Errno>`;
//! - the guarded accesses of a scenario process (`load`, `store`, `fill`,
//!   `exec`): one machine instruction that may fault;
//! - the fault fix-up that makes such a fault an answer instead of a death,
//!   and
//! - what a swap run does to the machine (`swapon`, `swapoff`, pinning a
//!   process to a CPU) and the stop signals that end it cleanly.
//!
//! # The fix-up of a faulting access
//!
//! The kernel itself reads user memory this way: `copy_from_user` is a
//! plain load listed in the exception table (`__ex_table`), and when it
//! faults, `fixup_exception` moves the saved instruction pointer to the
//! fix-up code listed beside it, which returns `-EFAULT`. Here the kernel
//! delivers the fault to the scenario process as a signal (SIGSEGV, SIGBUS
//! ...), and [`on_fault`] plays `fixup_exception`: when an access is armed
//! ([`FIXUP_IP`] not 0) it sets the interrupted context's `rip` to the
//! fix-up label, `rsp` to the stack pointer saved before the access, and
//! `rdx` to the signal number, then returns; `rt_sigreturn` resumes at the
//! label, where the access's `asm!` block ends with `rdx` telling what
//! happened. No `setjmp`, no unwinding across a signal frame. A fault that
//! is not armed restores the default action and returns: the access is
//! retried and the process dies of it, as it would without a handler.
//!
//! ```text
//!   lea  t, [rip + 2f]      ; arm: where to resume after a fault
//!   mov  [FIXUP_IP], t
//!   xor  edx, edx           ; rdx = 0: no fault
//!   movzx v, byte [addr]    ; the access (may fault -> on_fault)
//! 2:                        ; resumed here, rdx = signal number
//!   mov  [FIXUP_IP], 0      ; disarm
//! ```
#![allow(unsafe_code)]

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};

/// An errno value of the host.
pub type Errno = i32;

fn errno() -> Errno {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

fn ok_or_errno(r: libc::c_long) -> Result<libc::c_long, Errno> {
    if r == -1 { Err(errno()) } else { Ok(r) }
}

// ---------------------------------------------------------------------
// The memory-management calls of a scenario.

/// The memory-management system calls a scenario makes, by name.
#[derive(Clone, Copy, Debug)]
pub enum VmCall {
    Mmap,
    Munmap,
    Mprotect,
    Madvise,
    Mlock,
    Munlock,
    Mlockall,
    Munlockall,
    Msync,
    Mremap,
}

/// Make one memory-management system call with raw arguments, as the
/// recorder does with `syscall(2)`: no libc wrapper in between rounds or
/// checks anything. The result is the call's return value.
///
/// Only a scenario process calls this (the driver refuses, before sending
/// a line, any range outside the arena and outside what the scenario was
/// given: `driver::unsafe_reason`).
pub fn vm_call(call: VmCall, a: [u64; 6]) -> Result<u64, Errno> {
    let nr = match call {
        VmCall::Mmap => libc::SYS_mmap,
        VmCall::Munmap => libc::SYS_munmap,
        VmCall::Mprotect => libc::SYS_mprotect,
        VmCall::Madvise => libc::SYS_madvise,
        VmCall::Mlock => libc::SYS_mlock,
        VmCall::Munlock => libc::SYS_munlock,
        VmCall::Mlockall => libc::SYS_mlockall,
        VmCall::Munlockall => libc::SYS_munlockall,
        VmCall::Msync => libc::SYS_msync,
        VmCall::Mremap => libc::SYS_mremap,
    };
    // SAFETY: these calls change only the address space of this process,
    // in the ranges the scenario names. The driver sends a range only when
    // it lies in the arena (0x300000000000, 64 GiB) or in memory this
    // scenario mapped itself; no Rust object of this process lives there
    // (the arena is far below every mapping the runtime made, and a
    // mapping the kernel placed elsewhere belongs to the scenario alone),
    // so no reference is invalidated. Extra arguments are ignored by the
    // kernel for calls that take fewer.
    let r = unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
    ok_or_errno(r).map(|v| v as u64)
}

/// `mincore(addr, len, vec)`: one byte per page into `vec`, which must hold
/// `len` rounded up to pages. `Ok(())` or the errno.
pub fn mincore(addr: u64, len: u64, vec: &mut [u8]) -> Result<(), Errno> {
    assert!(
        len.div_ceil(4096) <= vec.len() as u64,
        "mincore vector too small"
    );
    // SAFETY: the kernel writes at most one byte per page of [addr,
    // addr+len) into `vec`, which the assertion above shows is large
    // enough; it reads no user memory.
    let r = unsafe { libc::syscall(libc::SYS_mincore, addr, len, vec.as_mut_ptr()) };
    ok_or_errno(r).map(|_| ())
}

// ---------------------------------------------------------------------
// Guarded accesses and their fix-up.

/// Where a faulting guarded access resumes (0: no access is armed).
static FIXUP_IP: AtomicU64 = AtomicU64::new(0);
/// The stack pointer at the start of an armed `exec` (0 for the other
/// accesses, which do not move it).
static FIXUP_SP: AtomicU64 = AtomicU64::new(0);

/// The signal handler of a scenario process for SIGSEGV, SIGBUS, SIGILL,
/// SIGTRAP and SIGFPE: `fixup_exception` for the guarded accesses.
extern "C" fn on_fault(sig: libc::c_int, _info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let ip = FIXUP_IP.swap(0, Ordering::Relaxed);
    if ip == 0 {
        // SAFETY: `signal` is async-signal-safe; restoring the default
        // action lets the retried access kill the process as it would
        // have without this handler.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
        return;
    }
    let sp = FIXUP_SP.swap(0, Ordering::Relaxed);
    // SAFETY: with SA_SIGINFO the third argument is the `ucontext_t` the
    // kernel saved on the signal stack for this signal; it is valid and
    // exclusively ours until this handler returns, and `rt_sigreturn`
    // restores the registers from it. Only the general registers of the
    // interrupted guarded access are changed, to the state its `asm!`
    // block expects at its fix-up label.
    unsafe {
        let uc = &mut *ctx.cast::<libc::ucontext_t>();
        let g = &mut uc.uc_mcontext.gregs;
        g[libc::REG_RIP as usize] = ip as i64;
        if sp != 0 {
            g[libc::REG_RSP as usize] = sp as i64;
        }
        g[libc::REG_RDX as usize] = i64::from(sig);
    }
}

/// Install the fault handler (on an alternate stack of its own) and the
/// signal dispositions of a scenario process: forked scenario processes
/// are reaped by the kernel (SIGCHLD ignored), and a write to a closed
/// channel or past a file-size limit is an error, not a death.
pub fn setup_scenario_signals() {
    let stack = Box::leak(vec![0u8; 256 << 10].into_boxed_slice());
    let ss = libc::stack_t {
        ss_sp: stack.as_mut_ptr().cast(),
        ss_flags: 0,
        ss_size: stack.len(),
    };
    // SAFETY: the alternate stack is a leaked allocation, valid for the
    // life of the process.
    unsafe { libc::sigaltstack(&ss, std::ptr::null_mut()) };
    for sig in [
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGILL,
        libc::SIGTRAP,
        libc::SIGFPE,
    ] {
        // SAFETY: a zeroed `sigaction` is a valid value (empty mask, no
        // flags); the handler has the SA_SIGINFO signature and only
        // touches atomics and the context the kernel passes it.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_fault
                as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void)
                as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
    for sig in [libc::SIGCHLD, libc::SIGPIPE, libc::SIGXFSZ] {
        // SAFETY: setting a disposition to SIG_IGN has no memory effect.
        unsafe { libc::signal(sig, libc::SIG_IGN) };
    }
}

/// Ignore SIGPIPE in the driver: a scenario process that died makes a
/// write to its channel fail with EPIPE instead of killing vmplay.
pub fn ignore_sigpipe() {
    // SAFETY: setting a disposition to SIG_IGN has no memory effect.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

/// Read one byte at `addr` as the scenario's process would: the byte, or
/// the number of the signal the access raised.
pub fn load(addr: u64) -> Result<u8, i32> {
    let val: u64;
    let sig: u64;
    // SAFETY: a one-byte read of the scenario's memory through a raw
    // address, never through a Rust reference. A fault is delivered to
    // `on_fault`, which resumes at label 2 with rdx = the signal (see the
    // module doc); nothing between arming and the label touches the stack.
    unsafe {
        std::arch::asm!(
            "lea {t}, [rip + 2f]",
            "mov qword ptr [{fixup}], {t}",
            "xor edx, edx",
            "movzx {v:e}, byte ptr [{addr}]",
            "2:",
            "mov qword ptr [{fixup}], 0",
            addr = in(reg) addr,
            fixup = in(reg) FIXUP_IP.as_ptr(),
            t = out(reg) _,
            v = out(reg) val,
            out("rdx") sig,
            options(nostack),
        );
    }
    if sig == 0 {
        Ok(val as u8)
    } else {
        Err(sig as i32)
    }
}

/// Write one byte at `addr`: `Ok(())` or the signal raised.
pub fn store(addr: u64, value: u8) -> Result<(), i32> {
    let sig: u64;
    // SAFETY: as in `load`: a one-byte write through a raw address the
    // driver accepted (arena or the scenario's own mappings, which hold no
    // Rust object); a fault resumes at label 2.
    unsafe {
        std::arch::asm!(
            "lea {t}, [rip + 2f]",
            "mov qword ptr [{fixup}], {t}",
            "xor edx, edx",
            "mov byte ptr [{addr}], {b}",
            "2:",
            "mov qword ptr [{fixup}], 0",
            addr = in(reg) addr,
            b = in(reg_byte) value,
            fixup = in(reg) FIXUP_IP.as_ptr(),
            t = out(reg) _,
            out("rdx") sig,
            options(nostack),
        );
    }
    if sig == 0 { Ok(()) } else { Err(sig as i32) }
}

/// Write `value` to `count` bytes from `addr` upwards, in address order
/// (`rep stosb`), stopping at the first fault: `Ok(())` or the signal.
pub fn fill(addr: u64, count: u64, value: u8) -> Result<(), i32> {
    let sig: u64;
    // SAFETY: as in `store`, for every byte of the range: `rep stosb`
    // writes upwards (the direction flag is clear at every Rust call
    // boundary) and stops at the first faulting page, resuming at label 2.
    unsafe {
        std::arch::asm!(
            "lea {t}, [rip + 2f]",
            "mov qword ptr [{fixup}], {t}",
            "xor edx, edx",
            "rep stosb",
            "2:",
            "mov qword ptr [{fixup}], 0",
            fixup = in(reg) FIXUP_IP.as_ptr(),
            t = out(reg) _,
            inout("rdi") addr => _,
            inout("rcx") count => _,
            in("al") value,
            out("rdx") sig,
            options(nostack),
        );
    }
    if sig == 0 { Ok(()) } else { Err(sig as i32) }
}

/// Call the code at `addr` (the caller has checked that its byte is
/// 0xc3, `ret`): `Ok(())` when it returned, or the signal raised by
/// fetching it.
pub fn exec(addr: u64) -> Result<(), i32> {
    let sig: u64;
    // SAFETY: the code called is a single `ret` (the caller read 0xc3 at
    // `addr` just before), so it returns at once and changes nothing; when
    // fetching it faults (not executable, not mapped), `on_fault` resumes
    // at label 2 with the stack pointer saved before the call. Every
    // register the C ABI lets a callee change is declared clobbered.
    unsafe {
        std::arch::asm!(
            "lea rax, [rip + 2f]",
            "mov qword ptr [r13], rsp",
            "mov qword ptr [r12], rax",
            "xor edx, edx",
            "call rcx",
            "2:",
            "mov qword ptr [r12], 0",
            "mov qword ptr [r13], 0",
            // r12 and r13 are callee-saved: still the atomics' addresses
            // after the call returns (or after the fix-up).
            in("rcx") addr,
            in("r12") FIXUP_IP.as_ptr(),
            in("r13") FIXUP_SP.as_ptr(),
            out("rax") _,
            out("rdx") sig,
            clobber_abi("C"),
        );
    }
    if sig == 0 { Ok(()) } else { Err(sig as i32) }
}

// ---------------------------------------------------------------------
// Files.

/// `open(path, ACCESS|O_CREAT|O_TRUNC, 0644)` when `create`, else
/// `open(path, ACCESS)`: the new descriptor.
pub fn open(path: &str, access: libc::c_int, create: bool) -> Result<RawFd, Errno> {
    let c = CString::new(path).map_err(|_| libc::EINVAL)?;
    let flags = access
        | if create {
            libc::O_CREAT | libc::O_TRUNC
        } else {
            0
        };
    // SAFETY: `c` is a NUL-terminated path that lives across the call.
    let fd = unsafe { libc::open(c.as_ptr(), flags, 0o644 as libc::c_uint) };
    if fd < 0 { Err(errno()) } else { Ok(fd) }
}

/// `memfd_create(name, MFD_EXEC)`.
pub fn memfd_create(name: &str) -> Result<RawFd, Errno> {
    const MFD_EXEC: libc::c_uint = 0x10;
    let c = CString::new(name).map_err(|_| libc::EINVAL)?;
    // SAFETY: `c` is a NUL-terminated name that lives across the call.
    let fd = unsafe { libc::memfd_create(c.as_ptr(), MFD_EXEC) };
    if fd < 0 { Err(errno()) } else { Ok(fd) }
}

/// `pread(fd, buf, len, off)`: the bytes read.
pub fn pread(fd: RawFd, buf: &mut [u8], off: u64) -> Result<usize, Errno> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
    let r = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), off as libc::off_t) };
    if r < 0 { Err(errno()) } else { Ok(r as usize) }
}

/// `pwrite(fd, buf, len, off)`: the bytes written.
pub fn pwrite(fd: RawFd, buf: &[u8], off: u64) -> Result<usize, Errno> {
    // SAFETY: the kernel reads at most `buf.len()` bytes from `buf`.
    let r = unsafe { libc::pwrite(fd, buf.as_ptr().cast(), buf.len(), off as libc::off_t) };
    if r < 0 { Err(errno()) } else { Ok(r as usize) }
}

/// `ftruncate(fd, len)` with the raw length.
pub fn ftruncate(fd: i64, len: u64) -> Result<(), Errno> {
    // SAFETY: no memory is passed; a bad descriptor is an errno.
    let r = unsafe { libc::syscall(libc::SYS_ftruncate, fd, len) };
    ok_or_errno(r).map(|_| ())
}

/// `close(fd)` of a scenario's descriptor (a number the scenario got from
/// `open` or `memfd`, or -1).
pub fn close(fd: i64) -> Result<(), Errno> {
    // SAFETY: the driver passes only descriptors this scenario opened (or
    // -1), never one that a Rust object of this process owns.
    let r = unsafe { libc::syscall(libc::SYS_close, fd) };
    ok_or_errno(r).map(|_| ())
}

/// Keep the calling process (and every process it forks) on the CPU it
/// runs on now, as the recorder pins its scenario processes.
///
/// Linux adds a newly faulted folio to a per-CPU batch (`folio_batch` in
/// `lru_add`) before it reaches an LRU list, and `madvise_pageout` drains
/// only the local CPU's batch (`lru_add_drain`). A process that migrated
/// between the fault and MADV_PAGEOUT leaves the folio in the other CPU's
/// batch, where `folio_isolate_lru` cannot take it, and the page stays
/// resident. Pinned, every run sees the same LRU. Best effort: a failure
/// (a CPU set the caller may not narrow) leaves the process unpinned.
pub fn pin_to_current_cpu() {
    // SAFETY: `sched_getcpu` takes no arguments and only returns a number.
    let cpu = unsafe { libc::sched_getcpu() };
    let Ok(cpu) = usize::try_from(cpu) else {
        return;
    };
    // SAFETY: an all-zero `cpu_set_t` is the empty set, a valid value.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `CPU_SET` writes one bit of `set`, which lives on this
    // stack frame; `cpu` is below CPU_SETSIZE as the kernel returned it.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid `cpu_set_t` of the size passed; pid 0 is
    // the calling thread.
    let _ = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
}

/// Set aside `bytes` of glibc's heap for the rest of the process's life,
/// so that no later allocation maps anything (`vmplay host --map-slots`:
/// a process at `vm.max_map_count` cannot map, and its own count must
/// stay put). The heap is grown by `brk` once; it is never trimmed
/// (M_TRIM_THRESHOLD), and no allocation below 32 MiB is given a mapping
/// of its own (M_MMAP_THRESHOLD; the default is 128 KiB).
#[cfg(target_env = "gnu")]
pub fn keep_heap(bytes: usize) -> Result<(), String> {
    // SAFETY: `mallopt` only sets malloc's tunables; the process is
    // single-threaded (a scenario process) and nothing is allocated
    // concurrently.
    let ok = unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX) == 1
    };
    if !ok {
        return Err("mallopt refused the heap's settings".into());
    }
    // Blocks below the threshold come from the heap, which grows to hold
    // them all; freed, they join its top, which is kept.
    let blocks: Vec<Vec<u8>> = (0..bytes.div_ceil(16 << 20))
        .map(|_| Vec::with_capacity(16 << 20))
        .collect();
    // Kept from the optimiser, which may drop an allocation never used.
    drop(std::hint::black_box(blocks));
    Ok(())
}

/// Without glibc's tunables the heap cannot be kept.
#[cfg(not(target_env = "gnu"))]
pub fn keep_heap(_: usize) -> Result<(), String> {
    Err("--map-slots needs a vmplay built with glibc (its malloc tunables)".into())
}

/// Point standard input and output at `/dev/null` (a scenario process
/// prints nothing).
pub fn silence_stdio() {
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        for target in [0, 1] {
            // SAFETY: dup2 replaces descriptors 0 and 1, which no Rust
            // object of this process owns exclusively (std's handles refer
            // to the numbers, which stay valid).
            unsafe { libc::dup2(null.as_raw_fd(), target) };
        }
    }
}

// ---------------------------------------------------------------------
// Processes and channels.

/// `fork()`: `Ok(None)` in the child, `Ok(Some(pid))` in the parent.
///
/// Only from a single-threaded process (checked by the caller: see
/// `threads`), so that the child holds no lock another thread had taken.
pub fn fork() -> Result<Option<i32>, Errno> {
    // SAFETY: the process is single-threaded (the run checks it before
    // starting), so the child's copy of every lock and of the allocator is
    // consistent. The child runs only the scenario's command loop and
    // leaves with `exit_now`, so it never unwinds into, or flushes, state
    // it shares with its parent.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(errno()),
        0 => Ok(None),
        p => Ok(Some(p)),
    }
}

/// `_exit(code)`: leave at once, without running destructors or flushing
/// anything the parent will also flush.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` ends the process; nothing runs after it.
    unsafe { libc::_exit(code) }
}

/// Send `SIGKILL` to a process.
pub fn kill(pid: i32) {
    // SAFETY: no memory is passed.
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

/// Reap one exited child: `Some(pid)`, or `None` when there is none (or,
/// with `hang` false, none has exited yet).
pub fn wait_any(hang: bool) -> Option<i32> {
    loop {
        let flags = if hang { 0 } else { libc::WNOHANG };
        // SAFETY: a null status pointer is allowed.
        let r = unsafe { libc::waitpid(-1, std::ptr::null_mut(), flags) };
        if r > 0 {
            return Some(r);
        }
        if r < 0 && errno() == libc::EINTR {
            continue;
        }
        return None;
    }
}

/// Make this process the reaper of its orphaned descendants
/// (`PR_SET_CHILD_SUBREAPER`), so that a scenario process whose parent
/// exited is reaped by the driver at the end.
pub fn become_subreaper() {
    // SAFETY: no memory is passed.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
}

/// Send `buf` on a Unix stream socket, with descriptor `pass` attached as
/// `SCM_RIGHTS` when given.
pub fn send(chan: RawFd, buf: &[u8], pass: Option<RawFd>) -> Result<(), Errno> {
    let mut done = 0;
    while done < buf.len() {
        let part = &buf[done..];
        let mut iov = libc::iovec {
            iov_base: part.as_ptr() as *mut libc::c_void,
            iov_len: part.len(),
        };
        let mut cbuf = [0u64; 8]; // room for CMSG_SPACE(sizeof(int)), aligned
        // SAFETY: a zeroed msghdr is valid (no name, no control).
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if let (Some(fd), 0) = (pass, done) {
            // SAFETY: `cbuf` is large enough and aligned for one cmsghdr
            // carrying one int (CMSG_SPACE(4) is 24 bytes); CMSG_FIRSTHDR
            // of a msghdr whose control buffer is that large is non-null.
            unsafe {
                let space = libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) as usize;
                msg.msg_control = cbuf.as_mut_ptr().cast();
                msg.msg_controllen = space;
                let c = libc::CMSG_FIRSTHDR(&msg);
                (*c).cmsg_level = libc::SOL_SOCKET;
                (*c).cmsg_type = libc::SCM_RIGHTS;
                (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<libc::c_int>() as u32) as usize;
                std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>(), fd);
            }
        }
        // SAFETY: `msg` points at `iov` and `cbuf`, both alive across the
        // call; the kernel only reads them.
        let r = unsafe { libc::sendmsg(chan, &msg, libc::MSG_NOSIGNAL) };
        if r < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            return Err(errno());
        }
        if r == 0 {
            return Err(libc::EPIPE);
        }
        done += r as usize;
    }
    Ok(())
}

/// How a timed receive ended (a stop signal, in a swap run, ends it as
/// `TimedOut`: see [`stop_signal`]).
#[derive(Debug, PartialEq, Eq)]
pub enum Recv {
    Done,
    /// The peer closed the channel (or it failed) before `buf` was full.
    Closed,
    TimedOut,
}

/// Fill `buf` from a Unix stream socket before `deadline`; a descriptor
/// passed with `SCM_RIGHTS` on the way is returned in `passed`.
pub fn recv(
    chan: RawFd,
    buf: &mut [u8],
    deadline: std::time::Instant,
    passed: &mut Option<OwnedFd>,
) -> Recv {
    let mut done = 0;
    while done < buf.len() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Recv::TimedOut;
        }
        let mut pfd = libc::pollfd {
            fd: chan,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
        // SAFETY: one pollfd, alive across the call.
        let pr = unsafe { libc::poll(&mut pfd, 1, ms) };
        if pr < 0 {
            if errno() == libc::EINTR {
                if stop_signal().is_some() {
                    // The caller looks at `stop_signal` before it reads
                    // this as a timeout.
                    return Recv::TimedOut;
                }
                continue;
            }
            return Recv::Closed;
        }
        if pr == 0 {
            continue; // the deadline is checked at the top
        }
        let part = &mut buf[done..];
        let mut iov = libc::iovec {
            iov_base: part.as_mut_ptr().cast(),
            iov_len: part.len(),
        };
        let mut cbuf = [0u64; 8];
        // SAFETY: a zeroed msghdr is valid.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&cbuf);
        // SAFETY: the kernel writes at most `part.len()` bytes into `part`
        // and at most `msg_controllen` into `cbuf`, both alive.
        let r = unsafe { libc::recvmsg(chan, &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if r < 0 && errno() == libc::EINTR {
            continue;
        }
        if r <= 0 {
            return Recv::Closed;
        }
        // SAFETY: the control buffer was filled by the kernel; CMSG_FIRSTHDR
        // and CMSG_NXTHDR walk it within `msg_controllen`, and an
        // SCM_RIGHTS message carries one int per descriptor, each now a
        // descriptor of this process that nothing else owns.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                    let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>());
                    *passed = Some(OwnedFd::from_raw_fd(fd));
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        done += r as usize;
    }
    Recv::Done
}

// ---------------------------------------------------------------------
// The machine of a swap scenario (version 2).

/// `swapon(path, 0)`: make the block device at `path` (with a swap header
/// on its first page) a swap area, no priority, no discard.
pub fn swapon(path: &str) -> Result<(), Errno> {
    let c = CString::new(path).map_err(|_| libc::EINVAL)?;
    // SAFETY: `c` is a NUL-terminated path that lives across the call; the
    // kernel reads it only.
    let r = unsafe { libc::syscall(libc::SYS_swapon, c.as_ptr(), 0) };
    ok_or_errno(r).map(|_| ())
}

/// `swapoff(path)`: read every page of the swap area back into memory
/// (`try_to_unuse`) and remove it. A pending signal interrupts it
/// (`EINTR`).
pub fn swapoff(path: &str) -> Result<(), Errno> {
    let c = CString::new(path).map_err(|_| libc::EINVAL)?;
    // SAFETY: as in `swapon`.
    let r = unsafe { libc::syscall(libc::SYS_swapoff, c.as_ptr()) };
    ok_or_errno(r).map(|_| ())
}

/// Keep process `pid` (and every process it forks) on CPU `cpu` only.
pub fn pin_to_cpu(pid: i32, cpu: usize) -> Result<(), Errno> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(libc::EINVAL);
    }
    // SAFETY: an all-zero `cpu_set_t` is the empty set, a valid value.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `CPU_SET` writes one bit of `set`, which lives on this
    // stack frame; `cpu` is below CPU_SETSIZE (checked above).
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid `cpu_set_t` of the size passed; the kernel
    // reads it only.
    let r = unsafe { libc::sched_setaffinity(pid, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if r < 0 { Err(errno()) } else { Ok(()) }
}

/// The signal that asked a swap run to stop (0: none yet).
static STOP_SIGNAL: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// The signals that stop a swap run: it must turn swap off, reset zram0
/// and remove its cgroup before it leaves.
const STOP_SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

extern "C" fn on_stop(sig: libc::c_int) {
    STOP_SIGNAL.store(sig, Ordering::Relaxed);
}

/// Catch SIGINT, SIGTERM and SIGHUP in the driver of a swap run: the
/// handler only notes the signal ([`stop_signal`]). Without `SA_RESTART`,
/// so that a wait (`poll`, `flock`, `swapoff`) returns `EINTR` and the
/// driver can stop and clean up.
pub fn catch_stop_signals() {
    for sig in STOP_SIGNALS {
        // SAFETY: a zeroed `sigaction` is a valid value (empty mask, no
        // flags); the handler only stores into an atomic, which is
        // async-signal-safe.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_stop as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// The stop signal received, if any (always `None` where
/// [`catch_stop_signals`] was not called).
pub fn stop_signal() -> Option<i32> {
    match STOP_SIGNAL.load(Ordering::Relaxed) {
        0 => None,
        s => Some(s),
    }
}

/// Give the stop signals their default action again (in a scenario
/// process forked by a driver that catches them).
pub fn default_stop_signals() {
    for sig in STOP_SIGNALS {
        // SAFETY: setting a disposition to SIG_DFL has no memory effect.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
}

/// Block the stop signals for the rest of the process: the teardown of a
/// swap run (`swapoff`, which a signal interrupts) runs to its end.
pub fn block_stop_signals() {
    // SAFETY: an all-zero `sigset_t` is a valid value; `sigemptyset` and
    // `sigaddset` initialise it, and `sigprocmask` reads it only.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in STOP_SIGNALS {
            libc::sigaddset(&mut set, sig);
        }
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}
