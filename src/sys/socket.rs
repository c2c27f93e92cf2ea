//! Raw VRRP sockets (IP protocol 112) and the AF_PACKET sender for gratuitous ARP / NA.
//!
//! IPv4: one raw socket per interface, bound to the device, member of the VRRP group(s) on
//! that interface, multicast loop off; it receives whole IP datagrams (header included) and
//! sends datagrams we build ourselves (`IP_HDRINCL`: TOS 0xc0, TTL 255 as keepalived).
//! IPv6: the kernel strips the header, so the hop limit and the addresses come from ancillary
//! data (`IPV6_RECVHOPLIMIT`, `IPV6_RECVPKTINFO`); sending sets hop limit 255.

use std::io::{self, IoSliceMut};
use std::mem::MaybeUninit;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};

use crate::wire::vrrp::PROTO_VRRP;

fn setsockopt_int(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    v: libc::c_int,
) -> io::Result<()> {
    // SAFETY: setsockopt with a pointer to a live c_int and its size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The IPv4 raw VRRP socket of one interface.
pub fn open_v4(ifname: &str, ifindex: u32, groups: &[Ipv4Addr]) -> io::Result<Socket> {
    let s = Socket::new(
        Domain::IPV4,
        Type::RAW,
        Some(Protocol::from(i32::from(PROTO_VRRP))),
    )?;
    s.bind_device(Some(ifname.as_bytes()))?;
    s.set_header_included_v4(true)?;
    s.set_multicast_loop_v4(false)?;
    s.set_multicast_ttl_v4(255)?;
    s.set_ttl_v4(255)?;
    s.set_multicast_if_v4(&Ipv4Addr::UNSPECIFIED).ok();
    for g in groups {
        s.join_multicast_v4_n(g, &InterfaceIndexOrAddress::Index(ifindex))?;
    }
    s.set_nonblocking(true)?;
    Ok(s)
}

/// Sends one whole IPv4 datagram (header included) to `dst`.
pub fn send_v4(s: &Socket, datagram: &[u8], dst: Ipv4Addr) -> io::Result<usize> {
    s.send_to(datagram, &SockAddr::from(SocketAddrV4::new(dst, 0)))
}

/// Receives one datagram, whole IPv4 header included. `Ok(None)`: would block.
pub fn recv_v4(s: &Socket, buf: &mut [u8]) -> io::Result<Option<usize>> {
    // SAFETY: u8 and MaybeUninit<u8> have the same layout; recv only writes initialised bytes.
    let ubuf: &mut [MaybeUninit<u8>] =
        unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
    match s.recv(ubuf) {
        Ok(n) => Ok(Some(n)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
    }
}

/// The IPv6 raw VRRP socket of one interface.
pub fn open_v6(ifname: &str, ifindex: u32, groups: &[Ipv6Addr]) -> io::Result<Socket> {
    let s = Socket::new(
        Domain::IPV6,
        Type::RAW,
        Some(Protocol::from(i32::from(PROTO_VRRP))),
    )?;
    s.bind_device(Some(ifname.as_bytes()))?;
    s.set_only_v6(true).ok();
    s.set_multicast_loop_v6(false)?;
    s.set_multicast_hops_v6(255)?;
    s.set_unicast_hops_v6(255)?;
    s.set_multicast_if_v6(ifindex)?;
    setsockopt_int(
        s.as_raw_fd(),
        libc::IPPROTO_IPV6,
        libc::IPV6_RECVHOPLIMIT,
        1,
    )?;
    setsockopt_int(s.as_raw_fd(), libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)?;
    for g in groups {
        s.join_multicast_v6(g, ifindex)?;
    }
    s.set_nonblocking(true)?;
    Ok(s)
}

/// One received IPv6 VRRP message with what the ancillary data said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rx6 {
    pub len: usize,
    pub src: Ipv6Addr,
    pub dst: Option<Ipv6Addr>,
    pub hop_limit: Option<u8>,
}

pub fn recv_v6(s: &Socket, buf: &mut [u8]) -> io::Result<Option<Rx6>> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrIn6};
    let mut cmsg = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int);
    let mut iov = [IoSliceMut::new(buf)];
    let r = recvmsg::<SockaddrIn6>(s.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::empty());
    let msg = match r {
        Ok(m) => m,
        Err(nix::errno::Errno::EAGAIN) => return Ok(None),
        Err(e) => return Err(io::Error::from(e)),
    };
    let mut dst = None;
    let mut hop_limit = None;
    if let Ok(cms) = msg.cmsgs() {
        for c in cms {
            match c {
                ControlMessageOwned::Ipv6PacketInfo(pi) => {
                    dst = Some(Ipv6Addr::from(pi.ipi6_addr.s6_addr));
                }
                ControlMessageOwned::Ipv6HopLimit(h) => hop_limit = u8::try_from(h).ok(),
                _ => {}
            }
        }
    }
    let src = msg.address.map(|a| a.ip()).unwrap_or(Ipv6Addr::UNSPECIFIED);
    Ok(Some(Rx6 {
        len: msg.bytes,
        src,
        dst,
        hop_limit,
    }))
}

/// Sends one VRRP message (no IP header) from `src` to `dst` on interface `ifindex`.
pub fn send_v6(
    s: &Socket,
    msg: &[u8],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    ifindex: u32,
) -> io::Result<usize> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, SockaddrIn6};
    let pi = libc::in6_pktinfo {
        ipi6_addr: libc::in6_addr {
            s6_addr: src.octets(),
        },
        ipi6_ifindex: ifindex,
    };
    let dest = SockaddrIn6::from(SocketAddrV6::new(dst, 0, 0, ifindex));
    let iov = [io::IoSlice::new(msg)];
    let cm = [ControlMessage::Ipv6PacketInfo(&pi)];
    sendmsg(s.as_raw_fd(), &iov, &cm, MsgFlags::empty(), Some(&dest)).map_err(io::Error::from)
}

/// An AF_PACKET socket that sends whole Ethernet frames on one interface.
pub struct PacketSender {
    fd: OwnedFd,
}

impl PacketSender {
    pub fn open() -> io::Result<PacketSender> {
        // SAFETY: plain socket(2); the result is checked before use.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a freshly created descriptor we own.
        Ok(PacketSender {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Sends `frame` (Ethernet header included) out of `ifindex`.
    pub fn send(&self, ifindex: u32, frame: &[u8]) -> io::Result<()> {
        if frame.len() < 14 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "short frame"));
        }
        // SAFETY: sockaddr_ll is plain old data; zeroed is a valid value.
        let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sa.sll_family = libc::AF_PACKET as u16;
        sa.sll_protocol = u16::from_be_bytes([frame[12], frame[13]]).to_be();
        sa.sll_ifindex = i32::try_from(ifindex).unwrap_or(0);
        sa.sll_halen = 6;
        sa.sll_addr[..6].copy_from_slice(&frame[..6]);
        // SAFETY: sendto with a live buffer and a correctly sized sockaddr_ll.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&sa as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}
