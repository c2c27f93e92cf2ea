//! grammar/keywords.tsv documents every keyword path of the parser's tree with its kind,
//! section, and status. This test fails when the two drift apart.

use keepalived_rs::config::decode::is_typed;
use keepalived_rs::config::keywords::{section_of, walk, Kind};

fn rows_from_parser() -> Vec<String> {
    let mut rows = Vec::new();
    walk(&mut |k| {
        let kind = match k.kind {
            Kind::Plain => "plain",
            Kind::ValueBlock => "value-block",
            Kind::Block => "block",
        };
        let root = k.path.split('/').next().unwrap_or("");
        let status = if is_typed(k.path) {
            "implemented"
        } else {
            "parsed"
        };
        rows.push(format!(
            "{}\t{kind}\t{:?}\t{status}",
            k.path,
            section_of(root)
        ));
    });
    rows
}

#[test]
fn keywords_tsv_matches_the_parser() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/grammar/keywords.tsv");
    let doc = std::fs::read_to_string(path).expect("grammar/keywords.tsv");
    let documented: Vec<String> = doc
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("path\t"))
        .map(str::to_string)
        .collect();
    let parser = rows_from_parser();
    if std::env::var_os("UPDATE_KEYWORDS_TSV").is_some() {
        let header: String = doc
            .lines()
            .take_while(|l| l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(
            path,
            format!(
                "{header}path\tkind\tsection\tstatus\n{}\n",
                parser.join("\n")
            ),
        )
        .unwrap();
        return;
    }
    assert_eq!(
        documented, parser,
        "grammar/keywords.tsv and the parser disagree; rerun with UPDATE_KEYWORDS_TSV=1 after checking the change"
    );
    assert_eq!(
        parser.len(),
        500,
        // 508 in the source tree; Debian's build has no libipset (no vrrp_ipsets), and
        // MISC_CHECK has no connection keywords in 2.2.7 (`-t` says "Unknown keyword").
        "keepalived 2.2.7 (Debian's build) parses 500 keyword paths"
    );
}
