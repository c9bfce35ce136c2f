//! A scenario process: a real process of the host that runs one line at a
//! time against its own address space.
//!
//! `p1` is forked by the driver; every other process is forked by the
//! scenario process that runs its `fork` line, so it inherits that
//! process's address space exactly as the kernel's `fork` copies it
//! (`dup_mmap`). Each one loops in [`serve`]: read a request from its
//! channel, perform it, answer with the result text, until the channel
//! closes or the scenario says `exit`.

use crate::errname::errname;
use crate::procfs;
use crate::protocol::{REQUEST_LEN, ReplyHeader, Request, Status};
use crate::sys::{self, VmCall};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use vmscript::Op;
use vmscript::parse::{ARENA, ARENA_END};

const PAGE: u64 = 4096;
/// The longest result text (as the recorder: a longer one is refused).
const OUT_MAX: usize = 16 << 20;
/// Pages per `mincore` call.
const MINCORE_CHUNK: u64 = 65536;

/// What every scenario process knows.
pub struct Context {
    /// The run's folder for `open`'s files (printed as `file:NAME`).
    pub tmpdir: String,
}

/// The bytes of a new file or memfd: byte `i` is `i % 251`.
static PATTERN: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();

/// Make the pattern of new files in the driver, before it forks `p1`, as
/// the recorder does: every scenario process then shares its 1 MiB
/// (copy-on-write, charged to the driver's memory cgroup, not to a swap
/// run's) and counts it in its OOM score, and writing a file allocates
/// nothing under a swap run's memory limit.
pub fn prepare_pattern() -> &'static [u8] {
    PATTERN.get_or_init(|| (0..251 * 4096).map(|i| (i % 251) as u8).collect())
}

/// Run requests from `chan` until it closes; never returns.
pub fn serve(chan: OwnedFd, ctx: &Context) -> ! {
    let fd = chan.as_raw_fd();
    loop {
        let mut buf = [0u8; REQUEST_LEN];
        let mut none = None;
        let far = std::time::Instant::now() + std::time::Duration::from_secs(1 << 30);
        if sys::recv(fd, &mut buf, far, &mut none) != sys::Recv::Done {
            sys::exit_now(0);
        }
        let Some(req) = Request::decode(&buf) else {
            reply(fd, Status::Refuse, "bad request", 0, 0, None);
            continue;
        };
        perform(fd, &req, ctx);
    }
}

fn reply(chan: RawFd, status: Status, text: &str, val: i64, pid: i64, pass: Option<RawFd>) {
    let h = ReplyHeader {
        status,
        len: text.len() as u64,
        val,
        pid,
    };
    if sys::send(chan, &h.encode(), pass).is_err()
        || sys::send(chan, text.as_bytes(), None).is_err()
    {
        sys::exit_now(1);
    }
}

fn err_text(e: sys::Errno) -> String {
    format!("-{}", errname(e))
}

fn rc_text(r: Result<u64, sys::Errno>) -> String {
    match r {
        Ok(v) => v.to_string(),
        Err(e) => err_text(e),
    }
}

fn addr_text(v: u64) -> String {
    if (ARENA..ARENA_END).contains(&v) {
        format!("{v:#x}")
    } else {
        "<addr>".into()
    }
}

fn signame(sig: i32) -> &'static str {
    match sig {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGFPE => "SIGFPE",
        _ => "SIG?",
    }
}

/// Perform one request and answer it.
fn perform(chan: RawFd, r: &Request, ctx: &Context) {
    let a = r.a;
    let mut val = 0i64;
    let vm = |call| sys::vm_call(call, a);
    let text = match r.op {
        Op::Mmap | Op::Mremap => {
            let call = if r.op == Op::Mmap {
                VmCall::Mmap
            } else {
                VmCall::Mremap
            };
            match vm(call) {
                Ok(v) => {
                    val = v as i64;
                    addr_text(v)
                }
                Err(e) => {
                    val = -i64::from(e);
                    err_text(e)
                }
            }
        }
        Op::Munmap => rc_text(vm(VmCall::Munmap)),
        Op::Mprotect => rc_text(vm(VmCall::Mprotect)),
        Op::Madvise => rc_text(vm(VmCall::Madvise)),
        Op::Mlock => rc_text(vm(VmCall::Mlock)),
        Op::Munlock => rc_text(vm(VmCall::Munlock)),
        Op::Mlockall => rc_text(vm(VmCall::Mlockall)),
        Op::Munlockall => rc_text(vm(VmCall::Munlockall)),
        Op::Msync => rc_text(vm(VmCall::Msync)),
        Op::Mincore | Op::Mincorex => match mincore(a[0], a[1], r.op == Op::Mincorex) {
            Some(t) => t,
            None => return too_long(chan),
        },
        Op::Load => match sys::load(a[0]) {
            Ok(v) => format!("{v:#04x}"),
            Err(s) => signame(s).into(),
        },
        Op::Store => match sys::store(a[0], a[1] as u8) {
            Ok(()) => "ok".into(),
            Err(s) => signame(s).into(),
        },
        Op::Fill => {
            // The recorder's loop stops at the top of memory when the
            // range wraps.
            let count = a[0].checked_add(a[1]).map_or(u64::MAX - a[0], |_| a[1]);
            match sys::fill(a[0], count, a[2] as u8) {
                Ok(()) => "ok".into(),
                Err(s) => signame(s).into(),
            }
        }
        Op::Exec => match sys::load(a[0]) {
            Ok(b) if b != 0xc3 => {
                let why = format!("exec at a byte {b:#04x} that is not 0xc3");
                return reply(chan, Status::Refuse, &why, 0, 0, None);
            }
            _ => match sys::exec(a[0]) {
                Ok(()) => "ok".into(),
                Err(s) => signame(s).into(),
            },
        },
        Op::Fork => return fork(chan, ctx),
        Op::Exit => {
            reply(chan, Status::Ok, "ok", 0, 0, None);
            sys::exit_now(0);
        }
        Op::Open | Op::Memfd => match create_file(r) {
            Ok(fd) => {
                val = i64::from(fd);
                "ok".into()
            }
            Err(e) => {
                val = -i64::from(e);
                err_text(e)
            }
        },
        Op::Pread => {
            let mut b = [0u8; 1];
            match sys::pread(a[0] as i64 as RawFd, &mut b, a[1]) {
                Ok(1) => format!("{:#04x}", b[0]),
                Ok(_) => "eof".into(),
                Err(e) => err_text(e),
            }
        }
        Op::Pwrite => match sys::pwrite(a[0] as i64 as RawFd, &[a[2] as u8], a[1]) {
            Ok(1) => "ok".into(),
            Ok(_) => "-EIO".into(),
            Err(e) => err_text(e),
        },
        Op::Ftruncate => rc_text(sys::ftruncate(a[0] as i64, a[1]).map(|()| 0)),
        Op::Close => rc_text(sys::close(a[0] as i64).map(|()| 0)),
        Op::Maps => maps(&ctx.tmpdir),
        Op::Pagemap => match procfs::pagemap(a[0], a[1]) {
            Some(t) => t,
            None => return too_long(chan),
        },
        Op::Smaps => match procfs::smaps() {
            Some(t) => t,
            None => return too_long(chan),
        },
        Op::Faults => procfs::faults(),
        // The driver asks each process `procs` to learn whether it is
        // still alive (the OOM killer may have killed it meanwhile).
        Op::Procs => "ok".into(),
        _ => {
            let why = format!("{} is not run on the host", r.op.name());
            return reply(chan, Status::Refuse, &why, 0, 0, None);
        }
    };
    if text.len() >= OUT_MAX {
        return too_long(chan);
    }
    reply(chan, Status::Ok, &text, val, 0, None);
}

fn too_long(chan: RawFd) {
    reply(
        chan,
        Status::Refuse,
        "result too long for vmplay host",
        0,
        0,
        None,
    );
}

/// `mincore`: `0 ` and one `0`/`1` per page (`mincorex`: `0` and one
/// ` XX` per page), or the errno; `None` when the text would be too long.
fn mincore(addr: u64, len: u64, hex: bool) -> Option<String> {
    if len == 0 {
        return Some(rc_text(sys::mincore(addr, 0, &mut []).map(|()| 0)));
    }
    let mut out = String::from(if hex { "0" } else { "0 " });
    // As large as the range needs, not a whole chunk: under a swap run's
    // memory limit every page this process touches is charged to the
    // cgroup, and a 64 KiB buffer the allocator clears would push 16 of
    // the scenario's pages out (the recorder's static vector is touched
    // only as far as it is used).
    let mut vec = vec![0u8; len.div_ceil(PAGE).min(MINCORE_CHUNK) as usize];
    let (mut cur, mut rem) = (addr, len);
    while rem > 0 {
        let n = rem.min(MINCORE_CHUNK * PAGE);
        if let Err(e) = sys::mincore(cur, n, &mut vec) {
            return Some(err_text(e));
        }
        let pages = n.div_ceil(PAGE) as usize;
        if out.len() + pages * if hex { 3 } else { 1 } >= OUT_MAX {
            return None;
        }
        for &b in &vec[..pages] {
            if hex {
                out.push_str(&format!(" {b:02x}"));
            } else {
                out.push(if b & 1 != 0 { '1' } else { '0' });
            }
        }
        cur = cur.wrapping_add(n);
        rem -= n;
    }
    Some(out)
}

/// Create and fill a file (`open`) or memfd (`memfd`): its descriptor.
/// `a[0]` is the size, `a[1]` the access mode of `open`'s descriptor.
fn create_file(r: &Request) -> Result<RawFd, sys::Errno> {
    let fd = if r.op == Op::Open {
        sys::open(&r.name, libc::O_RDWR, true)?
    } else {
        sys::memfd_create(&r.name)?
    };
    let pat = prepare_pattern();
    let mut off = 0u64;
    while off < r.a[0] {
        let n = (r.a[0] - off).min(pat.len() as u64) as usize;
        match sys::pwrite(fd, &pat[..n], off) {
            Ok(w) if w == n => off += w as u64,
            Ok(_) => {
                let _ = sys::close(i64::from(fd));
                return Err(libc::EIO);
            }
            Err(libc::EINTR) => {}
            Err(e) => {
                let _ = sys::close(i64::from(fd));
                return Err(e);
            }
        }
    }
    let access = r.a[1] as libc::c_int;
    if r.op == Op::Open && access != libc::O_RDWR {
        // FORMAT-v2-bsd.md: created and filled as before, then opened with
        // that access mode only.
        let again = sys::open(&r.name, access, false);
        let _ = sys::close(i64::from(fd));
        return again;
    }
    Ok(fd)
}

/// `fork`: a new scenario process with a channel of its own, handed to the
/// driver with the answer.
fn fork(chan: RawFd, ctx: &Context) {
    let (mine, theirs) = match std::os::unix::net::UnixStream::pair() {
        Ok(p) => p,
        Err(e) => {
            let t = err_text(e.raw_os_error().unwrap_or(libc::EIO));
            return reply(chan, Status::Ok, &t, 0, 0, None);
        }
    };
    match sys::fork() {
        Err(e) => reply(chan, Status::Ok, &err_text(e), 0, 0, None),
        Ok(None) => {
            // The child: its parent's channel and the driver's end are not
            // its own (its OwnedFd is never dropped: `serve` does not
            // return).
            drop(mine);
            close_raw(chan);
            procfs::start_fault_count();
            serve(OwnedFd::from(theirs), ctx)
        }
        Ok(Some(pid)) => {
            drop(theirs);
            reply(
                chan,
                Status::Ok,
                "ok",
                0,
                i64::from(pid),
                Some(mine.as_raw_fd()),
            );
        }
    }
}

fn close_raw(fd: RawFd) {
    let _ = sys::close(i64::from(fd));
}

/// What a `maps` line names as a mapping's backing: `anon`, `shmem`,
/// `file:NAME`, `memfd:NAME`, or the path as the kernel shows it.
fn backing(path: &str, tmpdir: &str) -> String {
    let p = path.strip_suffix(" (deleted)").unwrap_or(path);
    if path.is_empty() {
        return "anon".into();
    }
    if p == "/dev/zero" || p.starts_with("/SYSV") {
        return "shmem".into();
    }
    if let Some(name) = p.strip_prefix("/memfd:") {
        return format!("memfd:{name}");
    }
    if let Some(name) = p.strip_prefix(tmpdir).and_then(|r| r.strip_prefix('/')) {
        return format!("file:{name}");
    }
    if p.starts_with("[anon:") {
        return "anon".into();
    }
    path.into()
}

/// `maps`: `ok`, then one line per mapping of `/proc/self/maps` that
/// overlaps the arena.
fn maps(tmpdir: &str) -> String {
    // Line by line through a small buffer: near vm.max_map_count the file
    // is megabytes long, and a buffer that large would be a mapping of its
    // own, which a process at the limit cannot make (map_count.rs).
    use std::io::BufRead;
    let Ok(file) = std::fs::File::open("/proc/self/maps") else {
        return "?".into();
    };
    let mut out = String::from("ok");
    for line in std::io::BufReader::new(file).lines() {
        let Ok(line) = line else {
            return "?".into();
        };
        if let Some(m) = parse_maps_line(&line)
            && m.start < ARENA_END
            && m.end > ARENA
        {
            out.push_str(&format!(
                "\n  {:#x}-{:#x} {} {:#x} {}",
                m.start,
                m.end,
                m.perms,
                m.offset,
                backing(m.path, tmpdir)
            ));
        }
    }
    out
}

struct MapsLine<'a> {
    start: u64,
    end: u64,
    perms: &'a str,
    offset: u64,
    path: &'a str,
}

/// `START-END PERMS OFFSET DEV INODE   PATH` (the path may hold blanks).
fn parse_maps_line(line: &str) -> Option<MapsLine<'_>> {
    let mut rest = line;
    let mut field = || {
        let r = rest.trim_start_matches(' ');
        let end = r.find(' ').unwrap_or(r.len());
        let (f, tail) = r.split_at(end);
        rest = tail;
        f
    };
    let range = field();
    let perms = field();
    let offset = field();
    let _dev = field();
    let _inode = field();
    let path = rest.trim_start_matches(' ');
    let (s, e) = range.split_once('-')?;
    Some(MapsLine {
        start: u64::from_str_radix(s, 16).ok()?,
        end: u64::from_str_radix(e, 16).ok()?,
        perms: &perms[..perms.len().min(7)],
        offset: u64::from_str_radix(offset, 16).ok()?,
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_lines_and_backings() {
        let m = parse_maps_line(
            "300000000000-300000002000 rw-s 00001000 08:01 1234    /var/tmp/vmplay-host.x/f1 (deleted)",
        )
        .unwrap();
        assert_eq!(
            (m.start, m.end, m.perms, m.offset),
            (ARENA, ARENA + 0x2000, "rw-s", 0x1000)
        );
        assert_eq!(backing(m.path, "/var/tmp/vmplay-host.x"), "file:f1");
        let a = parse_maps_line("300000000000-300000001000 ---p 00000000 00:00 0 ").unwrap();
        assert_eq!(backing(a.path, "/t"), "anon");
        assert_eq!(backing("/memfd:m (deleted)", "/t"), "memfd:m");
        assert_eq!(backing("/dev/zero (deleted)", "/t"), "shmem");
        assert_eq!(backing("[anon:x]", "/t"), "anon");
        assert_eq!(backing("[stack]", "/t"), "[stack]");
    }
}
