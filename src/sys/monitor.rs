//! Netlink link and address monitoring (RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR):
//! the interface of an instance going down puts it in FAULT, coming back up clears it.

use std::io;
use std::net::IpAddr;

use futures::channel::mpsc::UnboundedReceiver;
use futures::StreamExt;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::SocketAddr;
use rtnetlink::MulticastGroup;

use super::addr::LinkInfo;

/// A change the kernel announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// RTM_NEWLINK: the interface's current facts.
    Link(LinkInfo),
    /// RTM_DELLINK.
    LinkGone {
        index: u32,
        name: String,
    },
    AddrAdded {
        index: u32,
        addr: IpAddr,
    },
    AddrRemoved {
        index: u32,
        addr: IpAddr,
    },
}

type Rx = UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>;

pub struct Monitor {
    rx: Rx,
}

impl Monitor {
    /// Subscribes and spawns the connection task on the current tokio runtime.
    pub fn new() -> io::Result<Monitor> {
        let (conn, _handle, rx) = rtnetlink::new_multicast_connection(&[
            MulticastGroup::Link,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
        ])?;
        tokio::spawn(conn);
        Ok(Monitor { rx })
    }

    /// The next event we understand; `None` when the connection is gone.
    pub async fn next(&mut self) -> Option<NetEvent> {
        loop {
            let (msg, _) = self.rx.next().await?;
            if let Some(ev) = decode(msg) {
                return Some(ev);
            }
        }
    }
}

fn addr_of(m: &netlink_packet_route::address::AddressMessage) -> Option<IpAddr> {
    m.attributes
        .iter()
        .find_map(|a| match a {
            AddressAttribute::Local(ip) => Some(*ip),
            _ => None,
        })
        .or_else(|| {
            m.attributes.iter().find_map(|a| match a {
                AddressAttribute::Address(ip) => Some(*ip),
                _ => None,
            })
        })
}

/// One multicast message as an event (anything else: `None`).
pub fn decode(msg: NetlinkMessage<RouteNetlinkMessage>) -> Option<NetEvent> {
    let NetlinkPayload::InnerMessage(inner) = msg.payload else {
        return None;
    };
    match inner {
        RouteNetlinkMessage::NewLink(l) => LinkInfo::from_message(&l).map(NetEvent::Link),
        RouteNetlinkMessage::DelLink(l) => LinkInfo::from_message(&l).map(|i| NetEvent::LinkGone {
            index: i.index,
            name: i.name,
        }),
        RouteNetlinkMessage::NewAddress(a) => addr_of(&a).map(|addr| NetEvent::AddrAdded {
            index: a.header.index,
            addr,
        }),
        RouteNetlinkMessage::DelAddress(a) => addr_of(&a).map(|addr| NetEvent::AddrRemoved {
            index: a.header.index,
            addr,
        }),
        _ => None,
    }
}
