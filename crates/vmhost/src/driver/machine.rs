//! The lines of a swap scenario that the driver runs itself, and the
//! processes the OOM killer takes (FORMAT-v2-swap.md).
//!
//! `swapon`, `swapoff`, `memlimit` and `swapped` act on the machine
//! (`swapmachine.rs`); `procs` asks every live scenario process whether it
//! is still there. After a `memlimit`, a scenario process may die in the
//! middle of an operation: the cgroup's charge failed, reclaim freed too
//! little, and `mem_cgroup_out_of_memory` chose it (the largest
//! `oom_badness`: rss + swap entries + page tables). Its channel closes;
//! that line prints `killed` instead of a result, and so does every later
//! line of that process. Without a limit a death is a crash, as in
//! version 1.

use super::{Driver, Step};
use crate::protocol::{self, Request};
use crate::swapmachine::{self, Answer};
use crate::{Ended, HostError, sys};
use std::os::fd::AsRawFd;
use std::time::Instant;
use vmscript::parse::Op;

/// What asking a process whether it is alive found.
enum Ping {
    Alive,
    Gone,
    TimedOut,
}

impl Driver<'_> {
    /// Run a line of the machine and print its result.
    pub(super) fn machine_line(&mut self, lineno: usize, req: &Request) -> Result<Step, HostError> {
        if req.op == Op::Procs {
            return self.procs_line(lineno);
        }
        let Some(m) = self.swap.as_mut() else {
            return Err(HostError::Internal(format!(
                "{} without the machine of a swap run",
                req.op.name()
            )));
        };
        let answer = match req.op {
            Op::Swapon => m.swapon(req.a[0])?,
            Op::Swapoff => m.swapoff()?,
            Op::Memlimit => m.memlimit(req.a[0])?,
            Op::Swapped => m.swapped()?,
            op => {
                return Err(HostError::Internal(format!(
                    "{} is not run by the machine",
                    op.name()
                )));
            }
        };
        match answer {
            Answer::Text(t) => {
                self.print(&format!("{lineno} {} {t}", req.op.name()))?;
                Ok(Step::Next)
            }
            Answer::Refused(why) => Ok(Step::Stop(Ended::Refused { line: lineno, why })),
        }
    }

    /// `procs`: `ok` and the live processes by number. Each is asked
    /// first: one the OOM killer took meanwhile is marked killed and left
    /// out.
    fn procs_line(&mut self, lineno: usize) -> Result<Step, HostError> {
        let mut live: Vec<usize> = (0..self.procs.len())
            .filter(|&i| self.procs[i].alive)
            .collect();
        live.sort_by_key(|&i| self.procs[i].num);
        let mut res = String::from("ok");
        for i in live {
            match self.ping(i)? {
                Ping::Alive => res.push_str(&format!(" p{}", self.procs[i].num)),
                Ping::Gone if self.oom_kills() => self.mark_killed(i),
                Ping::Gone => {
                    self.print(&format!("{lineno} crash"))?;
                    return Ok(Step::Stop(Ended::Stopped));
                }
                Ping::TimedOut => {
                    self.print(&format!("{lineno} timeout"))?;
                    return Ok(Step::Stop(Ended::Stopped));
                }
            }
        }
        self.print(&format!("{lineno} procs {res}"))?;
        Ok(Step::Next)
    }

    /// Ask process `i` whether it is alive (it answers `procs` with `ok`).
    fn ping(&mut self, i: usize) -> Result<Ping, HostError> {
        let chan = self.procs[i].chan.as_raw_fd();
        let req = Request {
            op: Op::Procs,
            a: [0; 6],
            name: String::new(),
        };
        if sys::send(chan, &req.encode(), None).is_err() {
            // A stop signal (Ctrl-C) kills the scenario processes too.
            swapmachine::stopped()?;
            return Ok(Ping::Gone);
        }
        let deadline = Instant::now() + self.opts.timeout;
        let got = protocol::recv_reply(chan, deadline, &mut None).got;
        swapmachine::stopped()?;
        Ok(match got {
            sys::Recv::Done => Ping::Alive,
            sys::Recv::Closed => Ping::Gone,
            sys::Recv::TimedOut => Ping::TimedOut,
        })
    }

    /// Whether a death is the OOM killer's: a `memlimit` succeeded.
    fn oom_kills(&self) -> bool {
        self.swap.as_ref().is_some_and(|m| m.memlimit_set())
    }

    /// Process `p` died during its line `op`: killed by the OOM killer
    /// (`LINE OP killed`, the run goes on) or a crash (the run stops).
    pub(super) fn died(&mut self, lineno: usize, p: usize, op: Op) -> Result<Step, HostError> {
        // A stop signal (Ctrl-C) kills the scenario processes too: the
        // run stops, nothing is printed for the line.
        swapmachine::stopped()?;
        if self.oom_kills() {
            self.mark_killed(p);
            self.print(&format!("{lineno} {} killed", op.name()))?;
            return Ok(Step::Next);
        }
        self.print(&format!("{lineno} crash"))?;
        Ok(Step::Stop(Ended::Stopped))
    }

    fn mark_killed(&mut self, p: usize) {
        let proc = &mut self.procs[p];
        proc.alive = false;
        proc.killed = true;
        while sys::wait_any(false).is_some() {}
    }
}
