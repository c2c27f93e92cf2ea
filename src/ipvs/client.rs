//! The IPVS driver: a small blocking generic-netlink client on one socket. IPVS traffic is
//! request/ack, so no runtime is needed; callers on an async runtime run it on a blocking
//! thread.
//!
//! Changes go out in batches: up to [`Client::window`] requests in one `send`, each with its
//! own sequence number, then the answers are read and matched to their requests by sequence
//! number ([`Exchange`], the pure half, unit-tested on raw bytes). The kernel handles the
//! messages of a datagram in order and answers each, so every request still gets its own
//! result, exactly as if it had been sent alone.

use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::Duration;

use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};

use super::error::Error;
use super::msg::{
    family_request, frames, nl, parse_family_id, parse_reply, request_message, Frame, Reply,
    Request, IPVS_GENL_NAME,
};
use super::plan::{Op, Table, VirtualService};
use super::types::*;
use crate::sys::clock;

/// Decodes one data message of an answer: its genl command and attribute bytes.
pub type Decoder<'a, T> = dyn FnMut(u8, &[u8]) -> Result<T, Error> + 'a;

/// How long to wait for the kernel's answer before giving up (it normally answers at once).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The most requests in flight. Each answer is a small skb queued on our socket until we read
/// it, and an answer that does not fit in the receive buffer is dropped by the kernel, so the
/// window is also bounded by the buffer (see [`Client::window`]).
pub const MAX_WINDOW: usize = 256;

/// What one queued answer costs in the receive buffer, generously: an ACK or an error (its
/// payload is at most the echoed request, a few hundred bytes) plus the skb's overhead.
const ANSWER_COST: usize = 2048;

/// Room for one received datagram.
const RECV_BUF: usize = 64 * 1024;

/// The receive buffer we ask for (root may exceed `rmem_max` with SO_RCVBUFFORCE).
const RCVBUF: usize = 1 << 20;

pub struct Client {
    sock: Socket,
    family: u16,
    seq: u32,
    buf: Vec<u8>,
    timeout: Duration,
    window: usize,
}

impl Client {
    /// Opens a socket and resolves the "IPVS" family; if it is missing, runs `modprobe ip_vs`
    /// once and tries again (the family only exists once the module is loaded).
    pub fn connect() -> Result<Client, Error> {
        let mut sock = Socket::new(NETLINK_GENERIC)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        let mut c = Client {
            sock,
            family: 0,
            seq: 0,
            buf: Vec::with_capacity(RECV_BUF),
            timeout: DEFAULT_TIMEOUT,
            window: 1,
        };
        c.set_timeout(DEFAULT_TIMEOUT)?;
        c.window = c.size_window();
        c.family = match c.resolve_family() {
            Err(Error::NoFamily) => {
                // Best effort: without modprobe (or the module) we report NoFamily below.
                let _ = Command::new("modprobe").arg("ip_vs").status();
                c.resolve_family()?
            }
            r => r?,
        };
        Ok(c)
    }

    /// The numeric generic-netlink family id the kernel gave IPVS.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    /// How many requests [`Client::execute_batch`] sends before reading answers.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Overrides the window (1 = one request at a time, as before batching).
    pub fn set_window(&mut self, n: usize) {
        self.window = n.clamp(1, MAX_WINDOW);
    }

    pub fn set_timeout(&mut self, timeout: Duration) -> Result<(), Error> {
        let tv = libc::timeval {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_usec: timeout.subsec_micros() as libc::suseconds_t,
        };
        self.setsockopt(libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv)?;
        self.timeout = timeout;
        Ok(())
    }

    fn setsockopt<T>(&self, level: i32, name: i32, v: &T) -> Result<(), Error> {
        // SAFETY: a valid fd and a value of the size we pass.
        let r = unsafe {
            libc::setsockopt(
                self.sock.as_raw_fd(),
                level,
                name,
                v as *const T as *const libc::c_void,
                std::mem::size_of::<T>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        Ok(())
    }

    /// Grows the receive buffer and sizes the window to what it holds.
    fn size_window(&self) -> usize {
        let want = RCVBUF as libc::c_int;
        if self
            .setsockopt(libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &want)
            .is_err()
        {
            let _ = self.setsockopt(libc::SOL_SOCKET, libc::SO_RCVBUF, &want);
        }
        // Errors without the echoed request: smaller answers (best effort, Linux 4.3+).
        let one: libc::c_int = 1;
        let _ = self.setsockopt(libc::SOL_NETLINK, libc::NETLINK_CAP_ACK, &one);
        let mut have: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: a valid fd, an int and its length.
        let r = unsafe {
            libc::getsockopt(
                self.sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                &mut have as *mut libc::c_int as *mut libc::c_void,
                &mut len,
            )
        };
        let have = if r == 0 { have.max(0) as usize } else { 0 };
        // keep half of the buffer free for a dump's datagrams and the unexpected
        (have / 2 / ANSWER_COST).clamp(1, MAX_WINDOW)
    }

    fn resolve_family(&mut self) -> Result<u16, Error> {
        let seq = self.next_seq();
        let msg = family_request(IPVS_GENL_NAME, seq);
        let context = "resolve generic netlink family IPVS";
        let mut ex = Exchange::new(seq, vec![(context.to_string(), nl::GENL_ID_CTRL)]);
        self.run(&msg, &mut ex, &mut |_, attrs| parse_family_id(attrs));
        let ids = ex.into_results().pop().unwrap_or(Err(Error::NoFamily));
        match ids {
            Err(Error::NotFound { .. }) => Err(Error::NoFamily),
            Err(e) => Err(e),
            Ok(ids) => ids.last().copied().ok_or(Error::NoFamily),
        }
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Sends one request and collects the replies (none for a plain change; one per entry for
    /// a dump).
    pub fn execute(&mut self, req: &Request) -> Result<Vec<Reply>, Error> {
        self.execute_batch(std::slice::from_ref(req))
            .pop()
            .unwrap_or_else(|| Err(Error::Malformed("no result".into())))
    }

    /// Carries out `reqs` in order, [`Client::window`] at a time, and returns each one's
    /// result, in the same order. A failed request does not stop the others (the kernel has
    /// them already); a request that fails validation is not sent. Dumps go alone.
    pub fn execute_batch(&mut self, reqs: &[Request]) -> Vec<Result<Vec<Reply>, Error>> {
        let mut results: Vec<Option<Result<Vec<Reply>, Error>>> = Vec::with_capacity(reqs.len());
        let mut i = 0;
        while i < reqs.len() {
            // the next window: consecutive valid requests, a dump only on its own
            let mut batch: Vec<usize> = Vec::new();
            while i < reqs.len() && batch.len() < self.window {
                let r = &reqs[i];
                if r.is_dump() && !batch.is_empty() {
                    break;
                }
                results.push(match r.validate() {
                    Err(e) => Some(Err(e)),
                    Ok(()) => {
                        batch.push(i);
                        None
                    }
                });
                i += 1;
                if r.is_dump() {
                    break;
                }
            }
            if batch.is_empty() {
                continue;
            }
            let first = self.seq.wrapping_add(1);
            let mut out = Vec::new();
            let mut expect = Vec::with_capacity(batch.len());
            for &j in &batch {
                let seq = self.next_seq();
                out.extend(request_message(&reqs[j], self.family, seq));
                expect.push((describe(&reqs[j]), self.family));
            }
            let mut ex = Exchange::new(first, expect);
            self.run(&out, &mut ex, &mut |cmd, attrs| parse_reply(cmd, attrs));
            for (j, r) in batch.into_iter().zip(ex.into_results()) {
                results[j] = Some(r);
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::Malformed("no result".into()))))
            .collect()
    }

    /// Sends `out` (one or more requests), then reads until every request of `ex` has its
    /// answer. A datagram that does not frame, a receive error or a timeout ends the
    /// exchange: the requests still waiting get that error (later answers to them carry
    /// sequence numbers no later exchange expects, so they are skipped).
    fn run<T>(&mut self, out: &[u8], ex: &mut Exchange<T>, decode: &mut Decoder<'_, T>) {
        if let Err(e) = self.sock.send(out, 0) {
            ex.abort(|| copy_io(&e));
            return;
        }
        let mut deadline = clock::now() + self.timeout;
        while !ex.is_complete() {
            if let Err(e) = self.recv() {
                ex.abort(|| match &e {
                    Error::Io(io) => copy_io(io),
                    other => Error::Malformed(other.to_string()),
                });
                return;
            }
            match ex.feed(&self.buf, decode) {
                Ok(true) => deadline = clock::now() + self.timeout,
                Ok(false) if clock::now() >= deadline => {
                    // only messages for others, for too long
                    ex.abort(|| {
                        Error::Io(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "no answer from the kernel",
                        ))
                    });
                    return;
                }
                Ok(false) => {}
                Err(e) => {
                    let m = e.to_string();
                    ex.abort(|| Error::Malformed(m.clone()));
                    return;
                }
            }
        }
    }

    /// Reads one datagram, whole, into `self.buf`: one syscall into a buffer larger than
    /// anything the kernel sends (it caps a dump's datagrams at 32 KiB; ACKs are tiny).
    /// MSG_TRUNC makes the kernel report the real length, so a longer one is an error rather
    /// than silently cut.
    fn recv(&mut self) -> Result<(), Error> {
        self.buf.clear();
        self.buf.reserve(RECV_BUF);
        let n = self.sock.recv(&mut self.buf, libc::MSG_TRUNC)?;
        if n > self.buf.len() {
            return Err(Error::Malformed(format!(
                "datagram of {n} bytes truncated to {}",
                self.buf.len()
            )));
        }
        Ok(())
    }

    // ------------------------------------------------------------------ conveniences

    pub fn services(&mut self) -> Result<Vec<ServiceEntry>, Error> {
        Ok(self
            .execute(&Request::DumpServices)?
            .into_iter()
            .filter_map(|r| match r {
                Reply::Service(s) => Some(s),
                _ => None,
            })
            .collect())
    }

    pub fn service(&mut self, key: &ServiceKey) -> Result<ServiceEntry, Error> {
        self.execute(&Request::GetService(*key))?
            .into_iter()
            .find_map(|r| match r {
                Reply::Service(s) => Some(s),
                _ => None,
            })
            .ok_or_else(|| Error::Malformed(format!("no service in the reply for {key}")))
    }

    pub fn dests(&mut self, key: &ServiceKey) -> Result<Vec<DestEntry>, Error> {
        Ok(self
            .execute(&Request::DumpDests(*key))?
            .into_iter()
            .filter_map(|r| match r {
                Reply::Dest(d) => Some(d),
                _ => None,
            })
            .collect())
    }

    /// The whole table, for `plan`.
    pub fn table(&mut self) -> Result<Table, Error> {
        let mut t = Table::new();
        for s in self.services()? {
            let key = s.service.key;
            let dests = self
                .dests(&key)?
                .into_iter()
                .map(|d| (d.dest.key(), d.dest))
                .collect();
            t.services.insert(
                key,
                VirtualService {
                    service: s.service,
                    dests,
                },
            );
        }
        Ok(t)
    }

    pub fn apply(&mut self, op: &Op) -> Result<(), Error> {
        self.execute(&op_request(op)).map(|_| ())
    }

    /// Applies the ops in order, in batches, and returns each one's result (same order).
    /// One failure does not stop the others: an op that depends on a failed one (a dest of a
    /// service that could not be added) fails on its own, with its own error.
    pub fn apply_batch(&mut self, ops: &[Op]) -> Vec<Result<(), Error>> {
        let reqs: Vec<Request> = ops.iter().map(op_request).collect();
        self.execute_batch(&reqs)
            .into_iter()
            .map(|r| r.map(|_| ()))
            .collect()
    }

    /// Applies the ops in order (batched) and returns the first failure (its index and
    /// error). Ops after it in the same batch have been carried out too.
    pub fn apply_all(&mut self, ops: &[Op]) -> Result<(), (usize, Error)> {
        match self
            .apply_batch(ops)
            .into_iter()
            .enumerate()
            .find(|(_, r)| r.is_err())
        {
            Some((i, Err(e))) => Err((i, e)),
            _ => Ok(()),
        }
    }

    pub fn flush(&mut self) -> Result<(), Error> {
        self.execute(&Request::Flush).map(|_| ())
    }

    pub fn timeouts(&mut self) -> Result<Timeouts, Error> {
        self.execute(&Request::GetConfig)?
            .into_iter()
            .find_map(|r| match r {
                Reply::Config(t) => Some(t),
                _ => None,
            })
            .ok_or_else(|| Error::Malformed("no timeouts in the GET_CONFIG reply".into()))
    }

    pub fn set_timeouts(&mut self, t: Timeouts) -> Result<(), Error> {
        self.execute(&Request::SetConfig(t)).map(|_| ())
    }

    pub fn info(&mut self) -> Result<Info, Error> {
        self.execute(&Request::GetInfo)?
            .into_iter()
            .find_map(|r| match r {
                Reply::Info(i) => Some(i),
                _ => None,
            })
            .ok_or_else(|| Error::Malformed("no info in the GET_INFO reply".into()))
    }

    pub fn daemons(&mut self) -> Result<Vec<SyncDaemon>, Error> {
        Ok(self
            .execute(&Request::DumpDaemons)?
            .into_iter()
            .filter_map(|r| match r {
                Reply::Daemon(d) => Some(d),
                _ => None,
            })
            .collect())
    }

    pub fn start_daemon(&mut self, d: &SyncDaemon) -> Result<(), Error> {
        self.execute(&Request::NewDaemon(d.clone())).map(|_| ())
    }

    pub fn stop_daemon(&mut self, state: SyncState) -> Result<(), Error> {
        self.execute(&Request::DelDaemon(state)).map(|_| ())
    }
}

/// The request that carries out a plan op.
pub fn op_request(op: &Op) -> Request {
    match op {
        Op::AddService(s) => Request::NewService(s.clone()),
        Op::EditService(s) => Request::SetService(s.clone()),
        Op::DelService(k) => Request::DelService(*k),
        Op::AddDest(k, d) => Request::NewDest(*k, *d),
        Op::EditDest(k, d) => Request::SetDest(*k, *d),
        Op::DelDest(k, d) => Request::DelDest(*k, *d),
    }
}

/// What we were doing, for error messages (keepalived's wording where it has one).
fn describe(req: &Request) -> String {
    match req {
        Request::NewService(s) => format!("add virtual server {}", s.key),
        Request::SetService(s) => format!("edit virtual server {}", s.key),
        Request::DelService(k) => format!("delete virtual server {k}"),
        Request::GetService(k) => format!("get virtual server {k}"),
        Request::DumpServices => "list virtual servers".into(),
        Request::NewDest(k, d) => format!("add real server {} to {k}", d.key()),
        Request::SetDest(k, d) => format!("edit real server {} of {k}", d.key()),
        Request::DelDest(k, d) => format!("delete real server {d} from {k}"),
        Request::DumpDests(k) => format!("list real servers of {k}"),
        Request::NewDaemon(d) => format!("start sync daemon {:?}", d.state),
        Request::DelDaemon(s) => format!("stop sync daemon {s:?}"),
        Request::DumpDaemons => "list sync daemons".into(),
        Request::GetConfig => "get IPVS timeouts".into(),
        Request::SetConfig(_) => "set IPVS timeouts".into(),
        Request::GetInfo => "get IPVS info".into(),
        Request::Zero(_) => "zero IPVS counters".into(),
        Request::Flush => "flush IPVS table".into(),
    }
}

fn copy_io(e: &std::io::Error) -> Error {
    Error::Io(match e.raw_os_error() {
        Some(n) => std::io::Error::from_raw_os_error(n),
        None => std::io::Error::new(e.kind(), e.to_string()),
    })
}

/// The pure half of the client: the answers to requests sent with consecutive sequence
/// numbers `first, first + 1, ...`, fed one received datagram at a time.
///
/// - a message of another sequence number (an answer to an earlier exchange that was given
///   up, or a late ACK after a dump's DONE) is skipped;
/// - a data message for a request is decoded and kept; one that does not decode, or has the
///   wrong family, fails that request (its ACK is still awaited, so that it is consumed);
/// - NLMSG_ERROR ends a request: code 0 is its success, otherwise the kernel's errno;
///   NLMSG_DONE ends a dump the same way; NLMSG_OVERRUN fails every request still waiting;
/// - a datagram that does not frame (truncated header, a length past its end) is an `Err`
///   from [`Exchange::feed`], after the messages before it were used.
pub struct Exchange<T> {
    first: u32,
    slots: Vec<Slot<T>>,
    open: usize,
}

struct Slot<T> {
    context: String,
    family: u16,
    state: State<T>,
}

enum State<T> {
    Waiting { items: Vec<T>, err: Option<Error> },
    Finished(Result<Vec<T>, Error>),
}

impl<T> Exchange<T> {
    /// `expect`: for each request in sequence order, what it did (for errors) and the genl
    /// family its data messages come from.
    pub fn new(first_seq: u32, expect: Vec<(String, u16)>) -> Exchange<T> {
        let open = expect.len();
        Exchange {
            first: first_seq,
            slots: expect
                .into_iter()
                .map(|(context, family)| Slot {
                    context,
                    family,
                    state: State::Waiting {
                        items: Vec::new(),
                        err: None,
                    },
                })
                .collect(),
            open,
        }
    }

    /// Every request has its answer.
    pub fn is_complete(&self) -> bool {
        self.open == 0
    }

    /// Uses one datagram. `Ok(true)` if it held a message for one of our requests.
    pub fn feed(&mut self, datagram: &[u8], decode: &mut Decoder<'_, T>) -> Result<bool, Error> {
        let mut progress = false;
        for f in frames(datagram) {
            let f = f?;
            if let Frame::Overrun { .. } = f {
                self.abort(|| {
                    Error::Malformed("netlink overrun: the kernel dropped answers".into())
                });
                return Ok(true);
            }
            let i = f.seq().wrapping_sub(self.first) as usize;
            let Some(slot) = self.slots.get_mut(i) else {
                continue;
            };
            let State::Waiting { items, err } = &mut slot.state else {
                continue;
            };
            progress = true;
            let end = match f {
                Frame::Genl { ty, cmd, attrs, .. } => {
                    if ty != slot.family {
                        err.get_or_insert(Error::Malformed(format!(
                            "{}: message of family {ty}, expected {}",
                            slot.context, slot.family
                        )));
                    } else {
                        // keep reading to the end even if one entry is bad; report the first
                        match decode(cmd, attrs) {
                            Ok(v) => items.push(v),
                            Err(e) => {
                                err.get_or_insert(match e {
                                    Error::Malformed(m) => {
                                        Error::Malformed(format!("{}: {m}", slot.context))
                                    }
                                    e => e,
                                });
                            }
                        }
                    }
                    None
                }
                Frame::Ack { .. } | Frame::Done { errno: 0, .. } => Some(match err.take() {
                    Some(e) => Err(e),
                    None => Ok(std::mem::take(items)),
                }),
                Frame::Error { errno, .. } | Frame::Done { errno, .. } => {
                    Some(Err(Error::from_errno(errno, slot.context.clone())))
                }
                Frame::Malformed { what, .. } => {
                    Some(Err(Error::Malformed(format!("{}: {what}", slot.context))))
                }
                Frame::Other { ty, .. } if ty == nl::NOOP => None,
                Frame::Other { ty, .. } => Some(Err(Error::Malformed(format!(
                    "{}: unexpected message type {ty}",
                    slot.context
                )))),
                Frame::Overrun { .. } => None,
            };
            if let Some(r) = end {
                slot.state = State::Finished(r);
                self.open -= 1;
            }
        }
        Ok(progress)
    }

    /// Ends every request still waiting with the error `e()` makes.
    pub fn abort(&mut self, e: impl Fn() -> Error) {
        for slot in &mut self.slots {
            if let State::Waiting { .. } = slot.state {
                slot.state = State::Finished(Err(match e() {
                    Error::Malformed(m) => Error::Malformed(format!("{}: {m}", slot.context)),
                    // kept as it is: its errno matters more than our words
                    other => other,
                }));
                self.open -= 1;
            }
        }
    }

    /// Each request's result, in sequence order (one still waiting: an error saying so).
    pub fn into_results(mut self) -> Vec<Result<Vec<T>, Error>> {
        self.abort(|| Error::Malformed("no answer".into()));
        self.slots
            .into_iter()
            .map(|s| match s.state {
                State::Finished(r) => r,
                State::Waiting { .. } => Err(Error::Malformed("no answer".into())),
            })
            .collect()
    }
}
