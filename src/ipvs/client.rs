//! The IPVS driver: a small blocking generic-netlink client (one socket, one request at a
//! time). IPVS traffic is low-rate request/ack, so no runtime is needed; callers on an async
//! runtime run it on a blocking thread.

use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::Duration;

use netlink_packet_core::{
    NetlinkBuffer, NetlinkDeserializable, NetlinkHeader, NetlinkMessage, NetlinkPayload,
    NetlinkSerializable, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::GenlMessage;
use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};

use super::error::Error;
use super::msg::{parse_reply, IpvsGenl, Reply, Request, IPVS_GENL_NAME};
use super::plan::{Op, Table, VirtualService};
use super::types::*;

/// How long to wait for the kernel's answer before giving up (it normally answers at once).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Client {
    sock: Socket,
    family: u16,
    seq: u32,
    buf: Vec<u8>,
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
            buf: Vec::with_capacity(64 * 1024),
        };
        c.set_timeout(DEFAULT_TIMEOUT)?;
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

    pub fn set_timeout(&mut self, timeout: Duration) -> Result<(), Error> {
        let tv = libc::timeval {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_usec: timeout.subsec_micros() as libc::suseconds_t,
        };
        // SAFETY: a valid fd and a timeval of the size we pass.
        let r = unsafe {
            libc::setsockopt(
                self.sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &tv as *const libc::timeval as *const libc::c_void,
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        Ok(())
    }

    fn resolve_family(&mut self) -> Result<u16, Error> {
        let ctrl = GenlCtrl {
            cmd: GenlCtrlCmd::GetFamily,
            nlas: vec![GenlCtrlAttrs::FamilyName(IPVS_GENL_NAME.to_string())],
        };
        let mut id = None;
        let r = self.transact(
            GenlMessage::from_payload(ctrl),
            NLM_F_REQUEST | NLM_F_ACK,
            "resolve generic netlink family IPVS",
            |m: GenlMessage<GenlCtrl>| {
                for nla in &m.payload.nlas {
                    if let GenlCtrlAttrs::FamilyId(v) = nla {
                        id = Some(*v);
                    }
                }
                Ok(())
            },
        );
        match r {
            Err(Error::NotFound { .. }) => Err(Error::NoFamily),
            Err(e) => Err(e),
            Ok(()) => id.ok_or(Error::NoFamily),
        }
    }

    /// Sends one request and collects the replies (none for a plain change; one per entry for
    /// a dump).
    pub fn execute(&mut self, req: &Request) -> Result<Vec<Reply>, Error> {
        req.validate()?;
        let mut msg = GenlMessage::from_payload(IpvsGenl::request(req));
        msg.set_resolved_family_id(self.family);
        let flags = NLM_F_REQUEST | NLM_F_ACK | if req.is_dump() { NLM_F_DUMP } else { 0 };
        let mut replies = Vec::new();
        let context = describe(req);
        self.transact(msg, flags, &context, |m: GenlMessage<IpvsGenl>| {
            replies.push(parse_reply(m.payload.cmd, &m.payload.attrs)?);
            Ok(())
        })?;
        Ok(replies)
    }

    /// Sends `payload`, then reads until the ACK (or NLMSG_DONE for a dump: the kernel sends
    /// no ACK after a dump even when asked). Messages of other sequence numbers (answers to an
    /// earlier request that timed out) are skipped.
    fn transact<F>(
        &mut self,
        payload: GenlMessage<F>,
        flags: u16,
        context: &str,
        mut on_msg: impl FnMut(GenlMessage<F>) -> Result<(), Error>,
    ) -> Result<(), Error>
    where
        GenlMessage<F>: NetlinkSerializable + NetlinkDeserializable,
        F: std::fmt::Debug,
    {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = seq;
        let mut msg = NetlinkMessage::new(header, NetlinkPayload::from(payload));
        msg.finalize();
        let mut out = vec![0u8; msg.buffer_len()];
        msg.serialize(&mut out);
        self.sock.send(&out, 0)?;

        let mut pending: Option<Error> = None;
        loop {
            self.recv()?;
            let mut off = 0;
            while off < self.buf.len() {
                let rest = &self.buf[off..];
                let len = NetlinkBuffer::new_checked(rest)
                    .map_err(|e| Error::Malformed(format!("{context}: {e}")))?
                    .length() as usize;
                let m = NetlinkMessage::<GenlMessage<F>>::deserialize(&rest[..len])
                    .map_err(|e| Error::Malformed(format!("{context}: {e}")))?;
                off += (len + 3) & !3;
                if m.header.sequence_number != seq {
                    continue;
                }
                match m.payload {
                    NetlinkPayload::InnerMessage(inner) => {
                        // Keep reading to the end even if one entry is bad, so the socket
                        // holds no stale replies; report the first problem.
                        if let Err(e) = on_msg(inner) {
                            pending.get_or_insert(e);
                        }
                    }
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => pending.map_or(Ok(()), Err),
                            Some(code) => Err(Error::from_errno(-code.get(), context)),
                        };
                    }
                    NetlinkPayload::Done(d) => {
                        return match d.code {
                            0 => pending.map_or(Ok(()), Err),
                            code => Err(Error::from_errno(-code, context)),
                        };
                    }
                    NetlinkPayload::Noop => {}
                    NetlinkPayload::Overrun(_) => {
                        return Err(Error::Malformed(format!("{context}: overrun")))
                    }
                    other => {
                        return Err(Error::Malformed(format!(
                            "{context}: unexpected message type {}",
                            other.message_type()
                        )))
                    }
                }
            }
        }
    }

    /// Reads one datagram, whole, into `self.buf`.
    fn recv(&mut self) -> Result<(), Error> {
        self.buf.clear();
        let mut probe = [0u8; 16];
        let mut probe = &mut probe[..];
        let want = self
            .sock
            .recv(&mut probe, libc::MSG_PEEK | libc::MSG_TRUNC)?;
        self.buf.reserve(want.max(16));
        let n = self.sock.recv(&mut self.buf, 0)?;
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

    /// Applies the ops in order, stopping at the first failure (its index and error).
    pub fn apply_all(&mut self, ops: &[Op]) -> Result<(), (usize, Error)> {
        for (i, op) in ops.iter().enumerate() {
            self.apply(op).map_err(|e| (i, e))?;
        }
        Ok(())
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
