//! The body of the `ipvs_reply` fuzz target, shared with the regression test that replays
//! saved inputs (tests/fuzz_regressions.rs) and with the proptests, so they cannot drift
//! apart. The input is one datagram as the kernel would send it to our socket.
//!
//! What it checks (any panic is a bug):
//! - framing ([`msg::frames`]) and every generic-netlink message in it through the reply
//!   decoder ([`msg::parse_reply`]: services, dests, daemons, timeouts, info) and the family
//!   resolution decoder ([`msg::parse_family_id`]);
//! - the client's reply handling ([`Exchange`]) for a window of requests whose sequence
//!   numbers start at the first message's, fed the datagram once whole and once split
//!   into its messages: always one result per request, and complete exactly when every
//!   request has its answer;
//! - the input minus its first byte straight into `parse_reply` with that byte as the
//!   command, so attribute decoding is reached without valid framing;
//! - a service or dest that decodes re-encodes (as a request) to one that decodes the same.

use super::client::Exchange;
use super::msg::{self, frames, parse_family_id, parse_reply, Frame, Reply, Request};

fn round_trip(r: &Reply) {
    match r {
        Reply::Service(s) => {
            let req = Request::NewService(s.service.clone());
            let attrs = nested(&req, 0);
            let back = msg::parse_service(&attrs).expect("a decoded service re-encodes");
            assert_eq!(back.service, s.service);
        }
        Reply::Dest(d) => {
            let req = Request::NewDest(
                crate::ipvs::ServiceKey::Fwmark {
                    family: crate::ipvs::Family::V4,
                    mark: 1,
                },
                d.dest,
            );
            let attrs = nested(&req, 1);
            let back = msg::parse_dest(&attrs, None).expect("a decoded dest re-encodes");
            assert_eq!(back.dest, d.dest);
        }
        _ => {}
    }
}

fn nested(req: &Request, i: usize) -> Vec<u8> {
    match &req.attrs()[i] {
        msg::Attr::Nested(_, inner) => msg::emit_attrs(inner),
        other => panic!("request attribute {i} is not nested: {other:?}"),
    }
}

fn decode(cmd: u8, attrs: &[u8]) -> Result<Reply, crate::ipvs::Error> {
    let r = parse_reply(cmd, attrs)?;
    round_trip(&r);
    Ok(r)
}

/// The fuzz target's checks.
pub fn check_replies(data: &[u8]) {
    // 1. framing and each message's decoders
    let mut first_seq = None;
    let mut family = msg::nl::GENL_ID_CTRL + 1;
    let mut pieces: Vec<&[u8]> = Vec::new();
    let mut off = 0;
    for f in frames(data) {
        let Ok(f) = f else { break };
        first_seq.get_or_insert(f.seq());
        let len = data
            .get(off..off + 4)
            .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .unwrap_or(0);
        if let Some(p) = data.get(off..off + len) {
            pieces.push(p);
        }
        off += (len + 3) & !3;
        if let Frame::Genl { ty, cmd, attrs, .. } = f {
            if ty > msg::nl::GENL_ID_CTRL {
                family = ty;
            }
            let _ = decode(cmd, attrs);
            let _ = parse_family_id(attrs);
        }
    }

    // 2. the client's reply handling, for 3 requests from the first message's seq
    let first = first_seq.unwrap_or(1);
    let expect = || {
        vec![
            ("request 1".to_string(), family),
            ("request 2".to_string(), family),
            ("request 3".to_string(), msg::nl::GENL_ID_CTRL),
        ]
    };
    let mut whole = Exchange::new(first, expect());
    let _ = whole.feed(data, &mut decode);
    let complete = whole.is_complete();
    let results = whole.into_results();
    assert_eq!(results.len(), 3);
    if complete {
        // nothing was left waiting, so no result is the "no answer" placeholder
        assert!(results.iter().all(
            |r| !matches!(r, Err(crate::ipvs::Error::Malformed(m)) if m.ends_with("no answer"))
        ));
    }
    let mut split = Exchange::new(first, expect());
    for p in pieces {
        let _ = split.feed(p, &mut decode);
    }
    assert_eq!(split.into_results().len(), 3);

    // 3. attribute decoding without framing
    if let Some((&cmd, attrs)) = data.split_first() {
        let _ = decode(cmd, attrs);
    }
}
