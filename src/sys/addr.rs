//! rtnetlink: interface facts (index, MAC, flags, primary addresses) and virtual address
//! add/remove with keepalived's semantics (idempotent: an address already present on add, or
//! already gone on delete, is success).

use std::io;
use std::net::{IpAddr, Ipv4Addr};

use futures::TryStreamExt;
use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressScope};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::AddressFamily;

/// The options of a VIP line the kernel needs (`brd`, `scope`, `label`), parsed back from
/// [`crate::vrrp::VirtualAddress::options`]. Unknown options are ignored here (the config
/// layer warns about them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddrOptions {
    pub brd: Option<Ipv4Addr>,
    /// rtnetlink scope value (`host` 254, `link` 253, `site` 200, `global` 0, or a number).
    pub scope: Option<u8>,
    pub label: Option<String>,
}

impl AddrOptions {
    pub fn parse(opts: &str) -> AddrOptions {
        let mut o = AddrOptions::default();
        let mut it = opts.split_whitespace();
        while let Some(k) = it.next() {
            match k {
                "brd" | "broadcast" => o.brd = it.next().and_then(|v| v.parse().ok()),
                "scope" => {
                    o.scope = it.next().and_then(|v| match v {
                        "host" => Some(254),
                        "link" => Some(253),
                        "site" => Some(200),
                        "global" | "universe" => Some(0),
                        "nowhere" => Some(255),
                        n => n.parse().ok(),
                    })
                }
                "label" => o.label = it.next().map(str::to_string),
                _ => {}
            }
        }
        o
    }
}

/// What we need to know about an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: u32,
    pub name: String,
    pub mac: Option<[u8; 6]>,
    /// IFF_UP and IFF_RUNNING (keepalived's `IF_ISUP`).
    pub up: bool,
}

impl LinkInfo {
    pub fn from_message(m: &LinkMessage) -> Option<LinkInfo> {
        let mut name = None;
        let mut mac = None;
        for a in &m.attributes {
            match a {
                LinkAttribute::IfName(n) => name = Some(n.clone()),
                LinkAttribute::Address(b) if b.len() == 6 => {
                    let mut x = [0u8; 6];
                    x.copy_from_slice(b);
                    mac = Some(x);
                }
                _ => {}
            }
        }
        let f = m.header.flags;
        Some(LinkInfo {
            index: m.header.index,
            name: name?,
            mac,
            up: f.contains(LinkFlags::Up) && f.contains(LinkFlags::Running),
        })
    }
}

fn nl_err(e: rtnetlink::Error) -> io::Error {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.to_io(),
        other => io::Error::other(other.to_string()),
    }
}

/// An rtnetlink request channel. Its connection task must be spawned on the caller's runtime
/// (see [`Netlink::new`]).
#[derive(Clone)]
pub struct Netlink {
    handle: rtnetlink::Handle,
}

impl Netlink {
    /// Opens the connection and spawns its task on the current tokio runtime.
    pub fn new() -> io::Result<Netlink> {
        let (conn, handle, _) = rtnetlink::new_connection()?;
        tokio::spawn(conn);
        Ok(Netlink { handle })
    }

    pub async fn link_by_name(&self, name: &str) -> io::Result<Option<LinkInfo>> {
        let mut s = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match s.try_next().await {
            Ok(Some(m)) => Ok(LinkInfo::from_message(&m)),
            Ok(None) => Ok(None),
            Err(rtnetlink::Error::NetlinkError(m))
                if m.to_io().raw_os_error() == Some(libc::ENODEV) =>
            {
                Ok(None)
            }
            Err(e) => Err(nl_err(e)),
        }
    }

    /// The interface's addresses of one family, primary (non-secondary) first, in kernel order.
    pub async fn addresses(&self, index: u32, v6: bool) -> io::Result<Vec<(IpAddr, u8)>> {
        let mut s = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute();
        let mut out = Vec::new();
        let mut secondary = Vec::new();
        while let Some(m) = s.try_next().await.map_err(nl_err)? {
            if m.header.index != index {
                continue;
            }
            let want = if v6 {
                AddressFamily::Inet6
            } else {
                AddressFamily::Inet
            };
            if m.header.family != want {
                continue;
            }
            let addr = m.attributes.iter().find_map(|a| match a {
                AddressAttribute::Local(ip) => Some(*ip),
                _ => None,
            });
            let addr = addr.or_else(|| {
                m.attributes.iter().find_map(|a| match a {
                    AddressAttribute::Address(ip) => Some(*ip),
                    _ => None,
                })
            });
            if let Some(a) = addr {
                let sec = m
                    .header
                    .flags
                    .contains(netlink_packet_route::address::AddressHeaderFlags::Secondary);
                if sec {
                    secondary.push((a, m.header.prefix_len));
                } else {
                    out.push((a, m.header.prefix_len));
                }
            }
        }
        out.extend(secondary);
        Ok(out)
    }

    /// The address keepalived uses as an instance's source: the first primary IPv4 address, or
    /// for IPv6 the first link-local one.
    pub async fn primary_address(&self, index: u32, v6: bool) -> io::Result<Option<IpAddr>> {
        let all = self.addresses(index, v6).await?;
        Ok(if v6 {
            all.iter()
                .map(|a| a.0)
                .find(|a| matches!(a, IpAddr::V6(x) if x.segments()[0] & 0xffc0 == 0xfe80))
        } else {
            all.first().map(|a| a.0)
        })
    }

    fn message(index: u32, addr: IpAddr, prefix: u8, opts: &AddrOptions) -> AddressMessage {
        let mut m = AddressMessage::default();
        m.header.index = index;
        m.header.prefix_len = prefix;
        m.header.family = if addr.is_ipv4() {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        };
        m.header.scope = AddressScope::from(opts.scope.unwrap_or(0));
        m.attributes.push(AddressAttribute::Local(addr));
        m.attributes.push(AddressAttribute::Address(addr));
        if let (Some(b), IpAddr::V4(_)) = (opts.brd, addr) {
            m.attributes.push(AddressAttribute::Broadcast(b));
        }
        if let Some(l) = &opts.label {
            m.attributes.push(AddressAttribute::Label(l.clone()));
        }
        m
    }

    /// `ip addr add ADDR/PREFIX [brd B] [scope S] [label L] dev INDEX`; EEXIST is success.
    pub async fn add_address(
        &self,
        index: u32,
        addr: IpAddr,
        prefix: u8,
        opts: &AddrOptions,
    ) -> io::Result<()> {
        let mut req = self.handle.address().add(index, addr, prefix);
        *req.message_mut() = Self::message(index, addr, prefix, opts);
        match req.execute().await.map_err(nl_err) {
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
            r => r,
        }
    }

    /// `ip addr del ADDR/PREFIX dev INDEX`; an address already gone is success.
    pub async fn del_address(&self, index: u32, addr: IpAddr, prefix: u8) -> io::Result<()> {
        let m = Self::message(index, addr, prefix, &AddrOptions::default());
        match self.handle.address().del(m).execute().await.map_err(nl_err) {
            Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => Ok(()),
            r => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_keepalived_syntax() {
        let o = AddrOptions::parse("brd 10.0.0.255 scope host label eth0:1 no_track");
        assert_eq!(o.brd, Some(Ipv4Addr::new(10, 0, 0, 255)));
        assert_eq!(o.scope, Some(254));
        assert_eq!(o.label.as_deref(), Some("eth0:1"));
        assert_eq!(AddrOptions::parse("scope 7").scope, Some(7));
        assert_eq!(
            AddrOptions::parse("brd nonsense scope"),
            AddrOptions::default()
        );
    }
}
