//! Wire formats: VRRP v2/v3 advertisements and the ARP / IPv6 NA frames sent for VIPs.
//! Pure code: bytes in, typed values out (and back). Nothing here touches a socket.
//!
//! * [`vrrp`]: `Packet` (zero-copy view), `Repr` (parse/emit), `parse_ipv4`/`parse_ipv6` for
//!   what raw sockets return, `Error` (one variant per rejection cause) with `Error::counter`
//!   naming the keepalived statistic it bumps.
//! * [`ipv4`]: the IPv4 header of received datagrams (IHL honoured) and of sent ones.
//! * [`arp`], [`nd`]: gratuitous ARP and unsolicited NA frames, byte-equal to keepalived's.
//! * [`checksum`]: the Internet checksum and pseudo-headers.
//!
//! Fixtures captured from keepalived 2.2.7 live in tests/fixtures/wire (capture.sh rebuilds them).

pub mod arp;
pub mod checksum;
#[doc(hidden)]
pub mod fuzz;
pub mod ipv4;
pub mod nd;
pub mod vrrp;
