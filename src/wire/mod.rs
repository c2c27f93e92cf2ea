//! Wire formats: VRRP v2/v3 advertisements and the ARP / IPv6 NA frames sent for VIPs.
//! Pure code: bytes in, typed values out (and back). Nothing here touches a socket.

pub mod arp;
pub mod checksum;
pub mod ipv4;
pub mod nd;
pub mod vrrp;
