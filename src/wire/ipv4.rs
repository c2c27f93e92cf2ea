//! The IPv4 header as an IPv4 raw socket hands it to us (and as keepalived builds it with
//! `IP_HDRINCL`). Only what VRRP needs: options are skipped by honouring IHL, never interpreted.

use std::net::Ipv4Addr;

use super::checksum;

/// Length of an IPv4 header without options.
pub const MIN_HEADER_LEN: usize = 20;
/// IP protocol number of IPsec AH; keepalived's `auth_type AH` wraps VRRP in it.
pub const PROTO_AH: u8 = 51;
/// Type of service keepalived puts on adverts: precedence "internetwork control".
pub const TOS_INTERNETWORK_CONTROL: u8 = 0xc0;

/// Why an IPv4 header could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// Fewer bytes than the fixed header, or than IHL claims.
    Truncated,
    /// The version nibble is not 4.
    NotIpv4(u8),
    /// IHL below 5 words.
    BadIhl(u8),
}

/// A decoded IPv4 header. `header_len` keeps IHL so options are skipped on parse; `emit` writes
/// the 20-byte form keepalived sends (no options), so a header with options does not round-trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Header {
    pub header_len: usize,
    pub tos: u8,
    pub total_len: u16,
    pub ident: u16,
    /// Flags and fragment offset, as on the wire.
    pub frag: u16,
    pub ttl: u8,
    pub protocol: u8,
    pub checksum: u16,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
}

impl Ipv4Header {
    /// Reads the header at the start of `buf`. The payload is `&buf[header_len..]`; whether
    /// `total_len` agrees with `buf.len()` is left to the caller (VRRP counts it as a length
    /// error after other checks, as keepalived does).
    pub fn parse(buf: &[u8]) -> Result<Ipv4Header, HeaderError> {
        let fixed: &[u8; MIN_HEADER_LEN] = buf
            .get(..MIN_HEADER_LEN)
            .and_then(|b| b.try_into().ok())
            .ok_or(HeaderError::Truncated)?;
        let version = fixed[0] >> 4;
        if version != 4 {
            return Err(HeaderError::NotIpv4(version));
        }
        let ihl = fixed[0] & 0x0f;
        if ihl < 5 {
            return Err(HeaderError::BadIhl(ihl));
        }
        let header_len = usize::from(ihl) * 4;
        if buf.len() < header_len {
            return Err(HeaderError::Truncated);
        }
        Ok(Ipv4Header {
            header_len,
            tos: fixed[1],
            total_len: u16::from_be_bytes([fixed[2], fixed[3]]),
            ident: u16::from_be_bytes([fixed[4], fixed[5]]),
            frag: u16::from_be_bytes([fixed[6], fixed[7]]),
            ttl: fixed[8],
            protocol: fixed[9],
            checksum: u16::from_be_bytes([fixed[10], fixed[11]]),
            src: Ipv4Addr::new(fixed[12], fixed[13], fixed[14], fixed[15]),
            dst: Ipv4Addr::new(fixed[16], fixed[17], fixed[18], fixed[19]),
        })
    }

    /// Writes a 20-byte header (no options) into `buf[..20]`, computing the header checksum
    /// (the `checksum` field is ignored). Returns `None` if `buf` is shorter than 20 bytes.
    pub fn emit(&self, buf: &mut [u8]) -> Option<()> {
        let out = buf.get_mut(..MIN_HEADER_LEN)?;
        out[0] = 0x45;
        out[1] = self.tos;
        out[2..4].copy_from_slice(&self.total_len.to_be_bytes());
        out[4..6].copy_from_slice(&self.ident.to_be_bytes());
        out[6..8].copy_from_slice(&self.frag.to_be_bytes());
        out[8] = self.ttl;
        out[9] = self.protocol;
        out[10..12].copy_from_slice(&[0, 0]);
        out[12..16].copy_from_slice(&self.src.octets());
        out[16..20].copy_from_slice(&self.dst.octets());
        let c = checksum::checksum(out);
        out[10..12].copy_from_slice(&c.to_be_bytes());
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_skipped_by_ihl() {
        let mut b = vec![
            0x46, 0, 0, 28, 0, 0, 0, 0, 255, 112, 0, 0, 10, 0, 0, 1, 224, 0, 0, 18,
        ];
        b.extend_from_slice(&[1, 1, 1, 0]); // NOP NOP NOP EOL
        b.extend_from_slice(&[0x21, 0x01]);
        let h = Ipv4Header::parse(&b).expect("valid header");
        assert_eq!(h.header_len, 24);
        assert_eq!(&b[h.header_len..], &[0x21, 0x01]);
    }

    #[test]
    fn rejects_short_and_odd_headers() {
        assert_eq!(Ipv4Header::parse(&[0x45; 19]), Err(HeaderError::Truncated));
        let mut b = [0u8; 20];
        b[0] = 0x65;
        assert_eq!(Ipv4Header::parse(&b), Err(HeaderError::NotIpv4(6)));
        b[0] = 0x44;
        assert_eq!(Ipv4Header::parse(&b), Err(HeaderError::BadIhl(4)));
        b[0] = 0x4f;
        assert_eq!(Ipv4Header::parse(&b), Err(HeaderError::Truncated));
    }
}
