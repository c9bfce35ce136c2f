//! The messages between the driver and a scenario process.
//!
//! The driver sends one request per line of the scenario over the
//! process's own channel (a Unix stream socket pair); the process performs
//! it against its own address space and answers with a header and the
//! result text. A `fork` answer carries the new process's channel as
//! `SCM_RIGHTS`. Both ends are the same executable, so the encoding is
//! fixed-size native-endian fields, written and read field by field (no
//! casts of structures to bytes).
//!
//! ```text
//!   request  op u32 | pad u32 | a[6] u64 | name [u8; 512], NUL-padded
//!   reply    status u32 | pad u32 | len u64 | val i64 | pid i64 | len bytes of text
//! ```

use crate::sys;
use std::os::fd::{OwnedFd, RawFd};
use std::time::Instant;
use vmscript::Op;

/// The longest file or memfd name a request carries (a path in the run's
/// temporary folder; names are at most 200 bytes).
pub const NAME_MAX: usize = 512;
/// The size of an encoded request.
pub const REQUEST_LEN: usize = 8 + 6 * 8 + NAME_MAX;
/// The size of an encoded reply header.
pub const REPLY_LEN: usize = 32;

/// One line for a scenario process to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub op: Op,
    /// The arguments as numbers, in the order of the system call.
    pub a: [u64; 6],
    /// A file's path (`open`) or a memfd's name (`memfd`).
    pub name: String,
}

impl Request {
    pub fn encode(&self) -> [u8; REQUEST_LEN] {
        let mut b = [0u8; REQUEST_LEN];
        let idx = Op::ALL.iter().position(|&o| o == self.op).unwrap_or(0) as u32;
        b[0..4].copy_from_slice(&idx.to_ne_bytes());
        for (i, v) in self.a.iter().enumerate() {
            b[8 + 8 * i..16 + 8 * i].copy_from_slice(&v.to_ne_bytes());
        }
        let n = self.name.as_bytes();
        let n = &n[..n.len().min(NAME_MAX - 1)];
        b[56..56 + n.len()].copy_from_slice(n);
        b
    }

    /// The request in `b`, or `None` for an unknown operation.
    pub fn decode(b: &[u8; REQUEST_LEN]) -> Option<Request> {
        let idx = u32::from_ne_bytes(b[0..4].try_into().ok()?) as usize;
        let op = *Op::ALL.get(idx)?;
        let mut a = [0u64; 6];
        for (i, v) in a.iter_mut().enumerate() {
            *v = u64::from_ne_bytes(b[8 + 8 * i..16 + 8 * i].try_into().ok()?);
        }
        let raw = &b[56..];
        let end = raw.iter().position(|&c| c == 0).unwrap_or(raw.len());
        let name = String::from_utf8_lossy(&raw[..end]).into_owned();
        Some(Request { op, a, name })
    }
}

/// Whether the process performed the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Performed; the text is the line's result.
    Ok = 0,
    /// Not performed: the text says why (the run stops, refused).
    Refuse = 1,
}

/// The fixed part of an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplyHeader {
    pub status: Status,
    /// Length of the result text that follows.
    pub len: u64,
    /// The raw return value: an address (`mmap`, `mremap`), a descriptor
    /// (`open`, `memfd`), or `-errno`.
    pub val: i64,
    /// The new process's pid (`fork`).
    pub pid: i64,
}

impl ReplyHeader {
    pub fn encode(&self) -> [u8; REPLY_LEN] {
        let mut b = [0u8; REPLY_LEN];
        b[0..4].copy_from_slice(&(self.status as u32).to_ne_bytes());
        b[8..16].copy_from_slice(&self.len.to_ne_bytes());
        b[16..24].copy_from_slice(&self.val.to_ne_bytes());
        b[24..32].copy_from_slice(&self.pid.to_ne_bytes());
        b
    }

    pub fn decode(b: &[u8; REPLY_LEN]) -> ReplyHeader {
        let word = |r: std::ops::Range<usize>| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[r]);
            w
        };
        let status = if u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) == 0 {
            Status::Ok
        } else {
            Status::Refuse
        };
        ReplyHeader {
            status,
            len: u64::from_ne_bytes(word(8..16)),
            val: i64::from_ne_bytes(word(16..24)),
            pid: i64::from_ne_bytes(word(24..32)),
        }
    }
}

/// One reply as read from a channel: how the read ended, the header and
/// its text (empty unless the whole reply arrived).
pub struct Reply {
    pub got: sys::Recv,
    pub header: ReplyHeader,
    pub text: Vec<u8>,
}

/// Read one reply from `chan` before `deadline`: the header (a descriptor
/// passed with it, a `fork`'s channel, lands in `passed`), then its text.
pub fn recv_reply(chan: RawFd, deadline: Instant, passed: &mut Option<OwnedFd>) -> Reply {
    let mut hbuf = [0u8; REPLY_LEN];
    let got = sys::recv(chan, &mut hbuf, deadline, passed);
    let header = ReplyHeader::decode(&hbuf);
    if got != sys::Recv::Done {
        return Reply {
            got,
            header,
            text: Vec::new(),
        };
    }
    let mut text = vec![0u8; header.len as usize];
    let got = sys::recv(chan, &mut text, deadline, &mut None);
    Reply { got, header, text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_survives_encoding() {
        let r = Request {
            op: Op::Mremap,
            a: [1, 2, u64::MAX, 4, 5, 6],
            name: "/var/tmp/x/file-1.dat".into(),
        };
        assert_eq!(Request::decode(&r.encode()), Some(r));
        let mut bad = [0u8; REQUEST_LEN];
        bad[0] = 200;
        assert_eq!(Request::decode(&bad), None);
    }

    #[test]
    fn a_reply_header_survives_encoding() {
        let h = ReplyHeader {
            status: Status::Refuse,
            len: 17,
            val: -12,
            pid: 4242,
        };
        assert_eq!(ReplyHeader::decode(&h.encode()), h);
    }
}
