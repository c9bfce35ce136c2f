//! The file system calls the scenarios use: open (create), memfd_create,
//! pread, pwrite, ftruncate, close. Files live in memory; their page cache
//! is the data (a "disk" is not simulated).

use crate::errno::{SysResult, ebadf, efbig, einval};
use crate::event::Pid;
use crate::machine::{Fd, Machine};
use crate::personality::Sys;
use crate::personality::linux::{EXT4_MAX_BYTES, MAX_LFS_FILESIZE};
use crate::vm::object::{Access, ObjKind, Object, OpenFile};

/// The largest file `open` and `memfd` create (1 GiB; `EFBIG` beyond):
/// the simulator's limit on the content they write. pwrite and ftruncate
/// have the kernel's limits ([`Machine::max_bytes`]).
pub const MAX_FILE_SIZE: u64 = 1 << 30;

/// `ksys_pread64`/`ksys_pwrite64`: a negative position is EINVAL before
/// the descriptor is looked up (case `file_position_limits_order`).
fn check_pos(pos: u64) -> SysResult<()> {
    if pos > MAX_LFS_FILESIZE {
        return Err(einval("negative file position"));
    }
    Ok(())
}

/// `rw_verify_area` for one byte at `pos`, after the descriptor: an end
/// that does not fit in `loff_t` is EINVAL.
fn verify_pos(pos: u64) -> SysResult<()> {
    if pos >= MAX_LFS_FILESIZE {
        return Err(einval("file position overflows"));
    }
    Ok(())
}

impl Machine {
    /// Create (or truncate) the regular file `name` with `size` bytes, the
    /// byte at offset i being `i % 251`, and open it read-write. The data is
    /// left in the page cache, as after `write(2)`.
    pub fn open(&mut self, pid: Pid, name: &str, size: u64) -> SysResult<Fd> {
        self.open_with(pid, name, size, Access::ReadWrite)
    }

    /// [`Machine::open`], the descriptor then opened with `access` only.
    pub fn open_with(&mut self, pid: Pid, name: &str, size: u64, access: Access) -> SysResult<Fd> {
        self.syscall(pid, Sys::Open, &[size], |m| {
            if size > MAX_FILE_SIZE {
                return Err(efbig("file larger than the simulator's 1 GiB limit"));
            }
            let obj = match m.files.get(name) {
                Some(&o) => {
                    m.truncate(o, 0);
                    o
                }
                None => {
                    let o = m
                        .objects
                        .insert(Object::new(ObjKind::File(name.to_string()), 0));
                    m.objects.get_mut(o).expect("just made").refs = 1; // the name
                    m.files.insert(name.to_string(), o);
                    o
                }
            };
            m.fill_pattern(obj, size)?;
            m.install_fd(pid, obj, access)
        })
    }

    /// memfd_create + ftruncate + write: an anonymous memory file.
    pub fn memfd(&mut self, pid: Pid, name: &str, size: u64) -> SysResult<Fd> {
        self.syscall(pid, Sys::MemfdCreate, &[size], |m| {
            if size > MAX_FILE_SIZE {
                return Err(efbig("file larger than the simulator's 1 GiB limit"));
            }
            let obj = m
                .objects
                .insert(Object::new(ObjKind::Memfd(name.to_string()), 0));
            m.objects.get_mut(obj).expect("just made").refs = 1; // held while we fill it
            let r = m
                .fill_pattern(obj, size)
                .and_then(|_| m.install_fd(pid, obj, Access::ReadWrite));
            m.object_unref(obj);
            r
        })
    }

    fn install_fd(&mut self, pid: Pid, obj: u32, access: Access) -> SysResult<Fd> {
        self.object_ref(obj);
        let serial = self.next_file_serial;
        self.next_file_serial += 1;
        let of = self.open_files.insert(OpenFile {
            object: obj,
            access,
            serial,
            refs: 1,
        });
        let p = self.proc_mut(pid);
        let fd = (3..)
            .find(|fd| !p.fds.contains_key(fd))
            .expect("a free descriptor");
        p.fds.insert(fd, of);
        Ok(fd)
    }

    /// The open file description `fd` names in `pid`.
    pub fn open_file(&self, pid: Pid, fd: Fd) -> Option<u32> {
        self.procs.get(&pid)?.fds.get(&fd).copied()
    }

    /// The identity of the open file description `fd` names in `pid`:
    /// unlike its id, never the same for two descriptions, even after one
    /// is closed (a descriptor number a scenario kept from a process that
    /// exited must not name a later file of another).
    pub fn open_file_serial(&self, pid: Pid, fd: Fd) -> Option<u64> {
        let of = self.open_file(pid, fd)?;
        Some(self.open_files.get(of)?.serial)
    }

    pub(crate) fn fd_object(&self, pid: Pid, fd: i64) -> Option<u32> {
        let fd = i32::try_from(fd).ok()?;
        let of = self.open_file(pid, fd)?;
        Some(self.open_files.get(of)?.object)
    }

    /// The access mode of descriptor `fd` in `pid`.
    pub(crate) fn fd_access(&self, pid: Pid, fd: i64) -> Option<Access> {
        let fd = i32::try_from(fd).ok()?;
        let of = self.open_file(pid, fd)?;
        Some(self.open_files.get(of)?.access)
    }

    fn fd_obj(&self, pid: Pid, fd: Fd) -> SysResult<u32> {
        self.fd_object(pid, fd as i64)
            .ok_or(ebadf("not an open file descriptor"))
    }

    /// The file system's `s_maxbytes` for object `obj`: ext4's for a
    /// regular file, `MAX_LFS_FILESIZE` for shmem.
    fn max_bytes(&self, obj: u32) -> u64 {
        match self.objects.get(obj).expect("live").kind {
            ObjKind::File(_) => EXT4_MAX_BYTES,
            ObjKind::Memfd(_) | ObjKind::Shmem | ObjKind::Hugetlb(_) => MAX_LFS_FILESIZE,
        }
    }

    /// pread(2) of one byte; `None` at or past the end of the file.
    pub fn pread(&mut self, pid: Pid, fd: Fd, off: u64) -> SysResult<Option<u8>> {
        self.syscall(pid, Sys::Pread, &[fd as u64, off], |m| {
            check_pos(off)?;
            let obj = m.fd_obj(pid, fd)?;
            // vfs_read: a descriptor without FMODE_READ.
            if !m.fd_access(pid, fd as i64).is_some_and(Access::readable) {
                return Err(ebadf("descriptor not open for reading"));
            }
            verify_pos(off)?;
            m.object_read(obj, off)
        })
    }

    /// pwrite(2) of one byte; writing past the end grows the file.
    pub fn pwrite(&mut self, pid: Pid, fd: Fd, off: u64, value: u8) -> SysResult<()> {
        self.syscall(pid, Sys::Pwrite, &[fd as u64, off, value as u64], |m| {
            check_pos(off)?;
            let obj = m.fd_obj(pid, fd)?;
            // vfs_write: a descriptor without FMODE_WRITE.
            if !m.fd_access(pid, fd as i64).is_some_and(Access::writable) {
                return Err(ebadf("descriptor not open for writing"));
            }
            verify_pos(off)?;
            // generic_write_check_limits: nothing may be written at or
            // past `s_maxbytes`.
            if off >= m.max_bytes(obj) {
                return Err(efbig("position at or past the file system's largest file"));
            }
            m.object_write(obj, off, value)
        })
    }

    /// ftruncate(2): shrinking drops the pages past the new end from the
    /// page cache and from every mapping (copy-on-write copies included),
    /// and zeroes the tail of the last page; growing leaves a hole.
    pub fn ftruncate(&mut self, pid: Pid, fd: Fd, len: u64) -> SysResult<()> {
        self.syscall(pid, Sys::Ftruncate, &[fd as u64, len], |m| {
            // do_sys_ftruncate: a negative length before the descriptor,
            // then inode_newsize_ok against `s_maxbytes`.
            if (len as i64) < 0 {
                return Err(einval("negative length"));
            }
            let obj = m.fd_obj(pid, fd)?;
            // do_ftruncate: only a descriptor open for writing.
            if !m.fd_access(pid, fd as i64).is_some_and(Access::writable) {
                return Err(einval("descriptor not open for writing"));
            }
            if len > m.max_bytes(obj) {
                return Err(efbig("larger than the file system's largest file"));
            }
            m.truncate(obj, len);
            Ok(())
        })
    }

    /// close(2).
    pub fn close(&mut self, pid: Pid, fd: Fd) -> SysResult<()> {
        self.syscall(pid, Sys::Close, &[fd as u64], |m| m.close_fd(pid, fd))
    }

    pub(crate) fn close_fd(&mut self, pid: Pid, fd: Fd) -> SysResult<()> {
        let of = self
            .proc_mut(pid)
            .fds
            .remove(&fd)
            .ok_or(ebadf("not an open file descriptor"))?;
        let f = self.open_files.get_mut(of).expect("open file");
        f.refs -= 1;
        if f.refs == 0 {
            let obj = f.object;
            self.open_files.remove(of);
            self.object_unref(obj);
        }
        Ok(())
    }
}
