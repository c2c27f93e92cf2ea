//! The client's reply handling (`ipvs::client::Exchange`, the pure half of the netlink client)
//! on raw datagrams: the kernel's own bytes (golden captures in tests/fixtures/ipvs) and
//! hand-made broken ones. A wrong sequence number, a truncated header, an NLMSG_ERROR with a
//! bogus length or code, an unexpected message type: a clear error for the request concerned
//! (or for the datagram), never a panic or a wait that cannot end.

use keepalived_rs::ipvs::client::Exchange;
use keepalived_rs::ipvs::msg::{
    self, cmd, family_request, frames, netlink_message, nl, parse_family_id, parse_reply,
    request_message, Frame, Reply, Request,
};
use keepalived_rs::ipvs::*;

const FAMILY: u16 = 32; // the IPVS family id in the captures

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// (sent, whole netlink message) of a capture.
fn capture(name: &str) -> Vec<(bool, Vec<u8>)> {
    let path = format!(
        "{}/tests/fixtures/ipvs/{name}.nl",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (dir, hex) = l.split_once(' ').unwrap();
            (dir == ">", unhex(hex.trim()))
        })
        .collect()
}

fn seq_of(m: &[u8]) -> u32 {
    u32::from_ne_bytes(m[8..12].try_into().unwrap())
}

fn ack(seq: u32) -> Vec<u8> {
    error(seq, 0)
}

/// NLMSG_ERROR with `code` (0 = ACK) and the echoed header, as the kernel sends it.
fn error(seq: u32, code: i32) -> Vec<u8> {
    let mut payload = code.to_ne_bytes().to_vec();
    payload.extend(netlink_message(FAMILY, 5, seq, &[])[..16].to_vec());
    raw(nl::ERROR, seq, &payload)
}

/// A netlink message with any type and payload (no genl header added).
fn raw(ty: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    netlink_message(ty, 0, seq, payload)
}

fn exchange(first: u32, n: usize) -> Exchange<Reply> {
    Exchange::new(
        first,
        (1..=n).map(|i| (format!("request {i}"), FAMILY)).collect(),
    )
}

fn decode(cmd: u8, attrs: &[u8]) -> Result<Reply, Error> {
    parse_reply(cmd, attrs)
}

fn feed(ex: &mut Exchange<Reply>, d: &[u8]) -> Result<bool, Error> {
    ex.feed(d, &mut decode)
}

#[test]
fn acks_in_one_datagram_finish_every_request() {
    let mut ex = exchange(100, 3);
    let d: Vec<u8> = [ack(100), ack(101), ack(102)].concat();
    assert!(feed(&mut ex, &d).unwrap());
    assert!(ex.is_complete());
    let r = ex.into_results();
    assert_eq!(r.len(), 3);
    assert!(r.iter().all(|r| matches!(r, Ok(v) if v.is_empty())));
}

#[test]
fn errors_map_to_their_own_request() {
    let mut ex = exchange(7, 3);
    feed(&mut ex, &ack(7)).unwrap();
    feed(&mut ex, &[error(8, -libc::ENOENT), ack(9)].concat()).unwrap();
    let r = ex.into_results();
    assert!(r[0].is_ok() && r[2].is_ok(), "{r:?}");
    let e = r[1].as_ref().unwrap_err();
    assert!(matches!(e, Error::NotFound { errno, .. } if *errno == libc::ENOENT));
    assert_eq!(
        e.to_string(),
        "request 2: not found (No such file or directory (os error 2))"
    );
}

#[test]
fn answers_arrive_in_any_order_and_grouping() {
    let mut ex = exchange(u32::MAX, 3); // the window wraps around
    feed(&mut ex, &ack(1)).unwrap();
    assert!(!ex.is_complete());
    feed(&mut ex, &[error(0, -libc::EEXIST), ack(u32::MAX)].concat()).unwrap();
    assert!(ex.is_complete());
    let r = ex.into_results();
    assert!(r[0].is_ok() && r[2].is_ok());
    assert!(matches!(r[1], Err(Error::Exists { .. })));
}

#[test]
fn other_sequence_numbers_are_skipped() {
    let mut ex = exchange(50, 1);
    // a late answer to an earlier exchange that was given up, and one from the future
    assert!(!feed(&mut ex, &[error(49, -libc::EINVAL), ack(51)].concat()).unwrap());
    assert!(!ex.is_complete());
    assert!(feed(&mut ex, &ack(50)).unwrap());
    assert!(matches!(&ex.into_results()[..], [Ok(_)]));
}

#[test]
fn a_request_left_without_answer_is_an_error() {
    let mut ex = exchange(50, 2);
    feed(&mut ex, &ack(50)).unwrap();
    let r = ex.into_results();
    assert!(r[0].is_ok());
    assert_eq!(
        r[1].as_ref().unwrap_err().to_string(),
        "malformed IPVS netlink message: request 2: no answer"
    );
}

#[test]
fn truncated_header_fails_the_datagram_after_using_what_came_before() {
    for cut in [1, 4, 10, 15] {
        let mut ex = exchange(1, 2);
        let mut d = ack(1);
        d.extend(&ack(2)[..cut]);
        let e = feed(&mut ex, &d).unwrap_err();
        assert!(
            e.to_string().contains("netlink header truncated"),
            "{cut}: {e}"
        );
        let r = ex.into_results();
        assert!(r[0].is_ok(), "the ACK before the damage counts");
        assert!(r[1].is_err());
    }
}

#[test]
fn length_fields_that_lie_are_errors_not_loops() {
    for len in [0u32, 1, 15, 37, 1000, u32::MAX] {
        let mut ex = exchange(1, 1);
        let mut d = ack(1);
        d[..4].copy_from_slice(&len.to_ne_bytes());
        match feed(&mut ex, &d) {
            Err(e) => assert!(e.to_string().contains("says it is"), "{len}: {e}"),
            Ok(_) => panic!("length {len} accepted"),
        }
        assert!(ex.into_results()[0].is_err());
    }
}

#[test]
fn nlmsg_error_too_short_for_its_code_fails_only_its_request() {
    let mut ex = exchange(1, 2);
    // a 2-byte error payload: the length is consistent, the content is not
    let short = raw(nl::ERROR, 1, &[0, 0]);
    assert_eq!(u32::from_ne_bytes(short[..4].try_into().unwrap()), 18);
    feed(&mut ex, &[short, ack(2)].concat()).unwrap();
    let r = ex.into_results();
    let e = r[0].as_ref().unwrap_err().to_string();
    assert!(
        e.contains("request 1: netlink error (seq 1) of 2 bytes has no error code"),
        "{e}"
    );
    assert!(r[1].is_ok(), "the next message is still read");
}

#[test]
fn positive_or_minimal_error_codes_are_malformed() {
    for code in [5, i32::MIN] {
        let mut ex = exchange(1, 1);
        feed(&mut ex, &error(1, code)).unwrap();
        let e = ex.into_results().pop().unwrap().unwrap_err().to_string();
        assert!(e.contains("is not 0 or -errno"), "{code}: {e}");
    }
}

#[test]
fn unexpected_message_types() {
    // a reserved control type for our request: its error
    let mut ex = exchange(1, 2);
    feed(&mut ex, &[raw(7, 1, &[]), ack(2)].concat()).unwrap();
    let r = ex.into_results();
    assert!(r[0]
        .as_ref()
        .unwrap_err()
        .to_string()
        .contains("request 1: unexpected message type 7"));
    assert!(r[1].is_ok());

    // NOOP is nothing
    let mut ex = exchange(1, 1);
    feed(&mut ex, &[raw(nl::NOOP, 1, &[]), ack(1)].concat()).unwrap();
    assert!(ex.into_results()[0].is_ok());

    // a data message of another family: an error, once the ACK has come
    let mut ex = exchange(1, 1);
    let other = netlink_message(FAMILY + 1, 0, 1, &[cmd::SET_INFO, 1, 0, 0]);
    feed(&mut ex, &other).unwrap();
    assert!(!ex.is_complete(), "still waits for the ACK, to consume it");
    feed(&mut ex, &ack(1)).unwrap();
    let e = ex.into_results().pop().unwrap().unwrap_err().to_string();
    assert!(e.contains("message of family 33, expected 32"), "{e}");

    // a genl message without its genl header
    let mut ex = exchange(1, 1);
    feed(&mut ex, &raw(FAMILY, 1, &[cmd::NEW_SERVICE, 1])).unwrap();
    let e = ex.into_results().pop().unwrap().unwrap_err().to_string();
    assert!(e.contains("has no genl header"), "{e}");
}

#[test]
fn overrun_fails_everything_still_waiting() {
    let mut ex = exchange(1, 3);
    feed(&mut ex, &[ack(1), raw(nl::OVERRUN, 0, &[])].concat()).unwrap();
    assert!(ex.is_complete());
    let r = ex.into_results();
    assert!(r[0].is_ok());
    for r in &r[1..] {
        assert!(r.as_ref().unwrap_err().to_string().contains("overrun"));
    }
}

#[test]
fn a_bad_entry_fails_the_dump_but_the_rest_is_consumed() {
    let cap = capture("dump_all");
    // the 5-service dump: request with NLM_F_DUMP, then the entries and DONE
    let i = cap
        .iter()
        .position(|(sent, m)| *sent && m[16] == cmd::GET_SERVICE && m[6] & 0x3 == 1 && m[7] == 3)
        .unwrap();
    let seq = seq_of(&cap[i].1);
    let replies: Vec<Vec<u8>> = cap[i + 1..]
        .iter()
        .take_while(|(sent, _)| !sent)
        .map(|(_, m)| m.clone())
        .collect();
    assert_eq!(replies.len(), 6, "5 services and DONE");

    // the kernel's bytes, each message its own datagram: five services
    let mut ex = exchange(seq, 1);
    for m in &replies {
        feed(&mut ex, m).unwrap();
    }
    let services = ex.into_results().pop().unwrap().unwrap();
    assert_eq!(services.len(), 5);
    assert!(services.iter().all(|r| matches!(r, Reply::Service(_))));

    // all in one datagram, with the third entry's attributes damaged
    let mut bad = replies.clone();
    bad[2][16 + 4 + 2] ^= 0xff; // the nested service attribute's type
    let mut ex = exchange(seq, 1);
    feed(&mut ex, &bad.concat()).unwrap();
    assert!(ex.is_complete(), "DONE still ends the dump");
    let e = ex.into_results().pop().unwrap().unwrap_err().to_string();
    assert!(e.contains("request 1: missing service reply"), "{e}");
}

#[test]
fn kernel_error_from_the_capture() {
    let cap = capture("svc_del_missing");
    let (_, req) = cap.iter().rfind(|(sent, _)| *sent).unwrap();
    let (_, ans) = cap.last().unwrap();
    let mut ex = Exchange::<Reply>::new(
        seq_of(req),
        vec![("delete virtual server UDP 192.168.10.2:53".into(), FAMILY)],
    );
    ex.feed(ans, &mut decode).unwrap();
    let e = ex.into_results().pop().unwrap().unwrap_err();
    assert_eq!(e.errno(), Some(libc::ESRCH));
}

#[test]
fn family_request_matches_ipvsadm_and_its_reply_decodes() {
    let cap = capture("svc_del");
    let (_, theirs) = &cap[0];
    let ours = family_request("IPVS", seq_of(theirs));
    // same bytes but the port id, which the kernel fills in
    assert_eq!(ours[..12], theirs[..12]);
    assert_eq!(ours[16..], theirs[16..]);
    let (_, reply) = &cap[1];
    let f = frames(reply).next().unwrap().unwrap();
    let Frame::Genl { ty, attrs, .. } = f else {
        panic!("{f:?}")
    };
    assert_eq!(ty, nl::GENL_ID_CTRL);
    assert_eq!(parse_family_id(attrs).unwrap(), FAMILY);
    assert!(parse_family_id(&[]).is_err());
}

#[test]
fn request_messages_match_ipvsadm_headers() {
    // flags and genl payload of a plain change and of a dump, against the captures
    for (name, req) in [("svc_del", None), ("dump_all", Some(Request::DumpServices))] {
        let cap = capture(name);
        let (_, theirs) = cap
            .iter()
            .find(|(sent, m)| {
                *sent && u16::from_ne_bytes([m[4], m[5]]) == FAMILY && m[16] != cmd::GET_INFO
            })
            .unwrap();
        let req = req.unwrap_or(Request::DelService(ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: "192.168.10.1".parse().unwrap(),
            port: 80,
        }));
        let ours = request_message(&req, FAMILY, seq_of(theirs));
        assert_eq!(ours[4..8], theirs[4..8], "{name}: type and flags");
        if req.is_dump() {
            assert_eq!(ours[16..], theirs[16..], "{name}: genl payload");
        }
    }
    // a whole message is 4-byte aligned and says its unpadded length
    let m = msg::netlink_message(FAMILY, 0, 1, &[1, 2, 3, 4, 5]);
    assert_eq!(m.len(), 24);
    assert_eq!(u32::from_ne_bytes(m[..4].try_into().unwrap()), 21);
}

/// Every datagram the kernel sent in the captures: each message alone, and each capture's
/// replies concatenated as one multipart datagram.
fn golden_datagrams() -> &'static [Vec<u8>] {
    static ALL: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    ALL.get_or_init(load_golden_datagrams)
}

fn load_golden_datagrams() -> Vec<Vec<u8>> {
    let dir = format!("{}/tests/fixtures/ipvs", env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().map_or(true, |e| e != "nl") {
            continue;
        }
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        let rx: Vec<Vec<u8>> = capture(&stem)
            .into_iter()
            .filter(|(sent, _)| !sent)
            .map(|(_, m)| m)
            .collect();
        out.push(rx.concat());
        out.extend(rx);
    }
    out
}

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Arbitrary bytes: Ok or Err everywhere, never a panic.
    #[test]
    fn arbitrary_datagrams_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        keepalived_rs::ipvs::fuzz::check_replies(&bytes);
    }

    /// The kernel's real replies, cut anywhere and with bytes overwritten, inserted or
    /// removed: Ok or Err, never a panic.
    #[test]
    fn mutated_golden_replies_never_panic(
        pick in any::<prop::sample::Index>(),
        cut in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 0..8),
    ) {
        let all = golden_datagrams();
        let mut d = all[pick.index(all.len())].clone();
        for (at, byte, how) in edits {
            let i = at.index(d.len() + 1);
            match how {
                0 if i < d.len() => d[i] = byte,
                1 => d.insert(i, byte),
                _ if i < d.len() => { d.remove(i); }
                _ => {}
            }
        }
        let n = cut.index(d.len() + 1);
        d.truncate(n);
        keepalived_rs::ipvs::fuzz::check_replies(&d);
    }
}

/// Every prefix of every golden datagram, exhaustively.
#[test]
fn every_prefix_of_every_golden_datagram() {
    let mut n = 0;
    for d in golden_datagrams() {
        for cut in 0..=d.len() {
            keepalived_rs::ipvs::fuzz::check_replies(&d[..cut]);
            n += 1;
        }
    }
    assert!(n > 10_000, "{n}");
}
