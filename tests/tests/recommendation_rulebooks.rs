//! Rulebooks are versioned data of the recommendation service: the shipped default is
//! listed and gettable (and stays version 1 across restarts); malformed files are
//! refused with INVALID_ARGUMENT naming the offending path; the same content twice is
//! one version; a changed rulebook is a new version, and Diagnose answers by the version
//! it is asked for.

use std::collections::BTreeSet;

use govlens_rules::DEFAULT_RULEBOOK_TOML;
use govlens_tests::suite::*;
use govlens_tests::*;
use rpb::DilemmaStatus::{Absent, Present};
use tonic::Code;

on_both_backends!(
    default_rulebook_is_listed_and_gettable,
    malformed_rulebooks_are_rejected_naming_the_path,
    a_new_version_changes_the_diagnosis_and_the_old_one_stays,
);

on_each_backend!(
    concurrent_creates_of_one_content_make_one_version,
    sqlite: [],
    postgres: [],
);

on_both_backends!(syntax_errors_name_their_position,);

/// The sentence of the default rulebook that sets 3.2.1's app-fragmentation threshold
/// (Table 2: three apps in Guizhou, four in Sichuan).
const FRAGMENTATION_AT_3: &str =
    "op = \"at_least\"\n  value = 3\n  note = \"Three or more separate government apps";

/// The default rulebook with 3.2.1 firing from four apps on: Guizhou's three no longer
/// fragment it.
fn stricter_rulebook() -> String {
    assert_eq!(
        DEFAULT_RULEBOOK_TOML.matches(FRAGMENTATION_AT_3).count(),
        1,
        "the default rulebook's 3.2.1 threshold moved; update this test"
    );
    DEFAULT_RULEBOOK_TOML.replace(
        FRAGMENTATION_AT_3,
        "op = \"at_least\"\n  value = 4\n  note = \"Four or more separate government apps",
    )
}

/// `text` with its one occurrence of `from` replaced.
#[track_caller]
fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in the rulebook");
    text.replacen(from, to, 1)
}

async fn get_rulebook(
    client: &mut RecommendationClient,
    id: &str,
    version: i32,
) -> Result<rpb::Rulebook, tonic::Status> {
    Ok(client
        .get_rulebook(rpb::GetRulebookRequest {
            rulebook_id: id.into(),
            version,
        })
        .await?
        .into_inner()
        .rulebook
        .expect("GetRulebook returned no rulebook"))
}

/// Every rulebook ListRulebooks returns, page by page.
async fn list_rulebooks(client: &mut RecommendationClient, page_size: i32) -> Vec<rpb::Rulebook> {
    let mut all = Vec::new();
    let mut token = String::new();
    for _ in 0..100 {
        let page = client
            .list_rulebooks(rpb::ListRulebooksRequest {
                page_size,
                page_token: token,
            })
            .await
            .expect("ListRulebooks")
            .into_inner();
        assert!(page.rulebooks.len() <= page_size.max(1) as usize || page_size == 0);
        all.extend(page.rulebooks);
        if page.next_page_token.is_empty() {
            return all;
        }
        token = page.next_page_token;
    }
    panic!("ListRulebooks did not end within 100 pages");
}

async fn default_rulebook_is_listed_and_gettable(db: TestDb) {
    let mut suite = RecommendationSuite::start(&db).await;
    let mut rec = suite.recommendation();
    let book = govlens_rules::Rulebook::from_toml_str(DEFAULT_RULEBOOK_TOML).unwrap();

    let listed = list_rulebooks(&mut rec, 0).await;
    let default = listed
        .iter()
        .find(|b| b.rulebook_id == "default")
        .unwrap_or_else(|| panic!("default rulebook not listed: {listed:?}"));
    assert_eq!(default.version, 1);
    assert_eq!(default.name, book.name);
    assert_eq!(default.description, book.description);
    assert_eq!(default.format, rpb::RulebookFormat::Toml as i32);
    assert_eq!(default.source, DEFAULT_RULEBOOK_TOML, "the shipped file");
    assert_eq!(default.digest.len(), 64, "SHA-256 hex: {}", default.digest);
    assert!(default.digest.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(!default.create_time.is_empty());

    // Latest (0) and version 1 are the listed one; there is no version 2.
    assert_eq!(
        &get_rulebook(&mut rec, "default", 0).await.unwrap(),
        default
    );
    assert_eq!(
        &get_rulebook(&mut rec, "default", 1).await.unwrap(),
        default
    );
    expect_code(get_rulebook(&mut rec, "default", 2).await, Code::NotFound);
    expect_code(
        get_rulebook(&mut rec, "no-such-book", 0).await,
        Code::NotFound,
    );
    expect_invalid(get_rulebook(&mut rec, "default", -1).await, "version");

    // Paging through several rulebooks returns each once, latest versions only.
    for id in ["book-a", "book-b", "book-c"] {
        let source = replace_once(
            DEFAULT_RULEBOOK_TOML,
            "id = \"pan2023-toe-default\"",
            &format!("id = \"{id}\""),
        );
        create_toml_rulebook(&mut rec, id, &source).await.unwrap();
    }
    create_toml_rulebook(&mut rec, "book-b", &stricter_rulebook())
        .await
        .unwrap();
    let paged = list_rulebooks(&mut rec, 1).await;
    let ids: Vec<&str> = paged.iter().map(|b| b.rulebook_id.as_str()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "a rulebook twice: {ids:?}");
    assert_eq!(
        unique,
        BTreeSet::from(["book-a", "book-b", "book-c", "default"]),
        "{ids:?}"
    );
    let b = paged.iter().find(|b| b.rulebook_id == "book-b").unwrap();
    assert_eq!(b.version, 2, "the latest version of book-b is listed");
    expect_invalid(
        rec.list_rulebooks(rpb::ListRulebooksRequest {
            page_size: -1,
            page_token: String::new(),
        })
        .await,
        "page_size",
    );

    // A restart stores the default again only if it changed: still version 1, and the
    // other rulebooks are kept.
    suite = suite.restart_recommendation().await;
    let mut rec = suite.recommendation();
    let after = get_rulebook(&mut rec, "default", 0).await.unwrap();
    assert_eq!(&after, default, "the default rulebook changed on restart");
    assert_eq!(
        get_rulebook(&mut rec, "book-b", 0).await.unwrap().version,
        2
    );
    suite.stop().await;
}

async fn malformed_rulebooks_are_rejected_naming_the_path(db: TestDb) {
    let suite = RecommendationSuite::start(&db).await;
    let mut rec = suite.recommendation();

    // An unknown operator in the first condition of the first dilemma.
    let unknown_op = replace_once(DEFAULT_RULEBOOK_TOML, "op = \"below\"", "op = \"belowx\"");
    let status = expect_invalid(
        create_toml_rulebook(&mut rec, "bad", &unknown_op).await,
        "source: dilemmas[0].conditions[0].op",
    );
    let described = field_violations(&status);
    assert!(described[0].1.contains("belowx"), "{described:?}");

    // An unknown key in the first path.
    let unknown_key = replace_once(
        DEFAULT_RULEBOOK_TOML,
        "code = \"4.1.1\"",
        "code = \"4.1.1\"\ncolour = \"red\"",
    );
    let status = expect_invalid(
        create_toml_rulebook(&mut rec, "bad", &unknown_key).await,
        "source: paths[0].colour",
    );
    assert!(field_violations(&status)[0].1.contains("colour"));

    // Both at once: every problem is reported.
    let both = replace_once(&unknown_key, "op = \"below\"", "op = \"belowx\"");
    let status = expect_code(
        create_toml_rulebook(&mut rec, "bad", &both).await,
        Code::InvalidArgument,
    );
    let fields = violation_fields(&status);
    for f in [
        "source: dilemmas[0].conditions[0].op",
        "source: paths[0].colour",
    ] {
        assert!(fields.iter().any(|x| x == f), "{f} missing from {fields:?}");
    }

    // A TOML syntax error (an unclosed array).
    let syntax = replace_once(
        DEFAULT_RULEBOOK_TOML,
        "answers = [\"3.3.2\"]",
        "answers = [\"3.3.2\"",
    );
    let status = expect_code(
        create_toml_rulebook(&mut rec, "bad", &syntax).await,
        Code::InvalidArgument,
    );
    let violations = field_violations(&status);
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].0.starts_with("source"), "{violations:?}");
    assert!(
        violations[0].1.starts_with("TOML syntax error"),
        "{violations:?}"
    );

    // A reference to an unknown dilemma, a value out of range: paths named.
    let unknown_dilemma = replace_once(
        DEFAULT_RULEBOOK_TOML,
        "answers = [\"3.3.2\"]",
        "answers = [\"3.9.9\"]",
    );
    let status = expect_code(
        create_toml_rulebook(&mut rec, "bad", &unknown_dilemma).await,
        Code::InvalidArgument,
    );
    let fields = violation_fields(&status);
    assert!(
        fields.iter().any(|f| f == "source: paths[5].answers[0]"),
        "{fields:?}"
    );

    // The request's own fields.
    let request = |id: &str, format: rpb::RulebookFormat| rpb::CreateRulebookRequest {
        rulebook_id: id.into(),
        format: format as i32,
        source: DEFAULT_RULEBOOK_TOML.into(),
    };
    expect_invalid(
        rec.create_rulebook(request("bad id!", rpb::RulebookFormat::Toml))
            .await,
        "rulebook_id",
    );
    expect_invalid(
        rec.create_rulebook(request("", rpb::RulebookFormat::Toml))
            .await,
        "rulebook_id",
    );
    expect_invalid(
        rec.create_rulebook(request("ok", rpb::RulebookFormat::Unspecified))
            .await,
        "format",
    );
    // TOML declared as JSON is a JSON syntax error.
    let status = expect_code(
        rec.create_rulebook(request("bad", rpb::RulebookFormat::Json))
            .await,
        Code::InvalidArgument,
    );
    assert!(field_violations(&status)[0]
        .1
        .starts_with("JSON syntax error"));

    // Nothing refused was stored.
    expect_code(get_rulebook(&mut rec, "bad", 0).await, Code::NotFound);
    expect_code(get_rulebook(&mut rec, "ok", 0).await, Code::NotFound);
    suite.stop().await;
}

async fn syntax_errors_name_their_position(db: TestDb) {
    let suite = RecommendationSuite::start(&db).await;
    let mut rec = suite.recommendation();
    let syntax = replace_once(
        DEFAULT_RULEBOOK_TOML,
        "answers = [\"3.3.2\"]",
        "answers = [\"3.3.2\"",
    );
    let line = DEFAULT_RULEBOOK_TOML
        .lines()
        .position(|l| l.contains("answers = [\"3.3.2\"]"))
        .unwrap()
        + 1;
    let status = expect_code(
        create_toml_rulebook(&mut rec, "bad", &syntax).await,
        Code::InvalidArgument,
    );
    let violations = field_violations(&status);
    let text = format!("{violations:?}");
    assert!(
        violations[0].0.trim_end() != "source:",
        "the violation names no path: {text}"
    );
    assert!(
        (line..line + 3).any(|l| text.contains(&format!("line {l}"))),
        "the violation does not say where the error is (about line {line}): {text}"
    );
    suite.stop().await;
}

async fn a_new_version_changes_the_diagnosis_and_the_old_one_stays(db: TestDb) {
    let suite = RecommendationSuite::start(&db).await;
    suite.import_paper().await;
    let mut rec = suite.recommendation();
    const ID: &str = "paper-strict";

    // Version 1: the default rules under another id. The same content again is the
    // same version, not a new one.
    let v1 = create_toml_rulebook(&mut rec, ID, DEFAULT_RULEBOOK_TOML)
        .await
        .unwrap();
    assert!(v1.created);
    let v1 = v1.rulebook.unwrap();
    assert_eq!(v1.version, 1);
    let again = create_toml_rulebook(&mut rec, ID, DEFAULT_RULEBOOK_TOML)
        .await
        .unwrap();
    assert!(!again.created, "the same content made a new version");
    assert_eq!(again.rulebook.as_ref(), Some(&v1));

    // Version 2: 3.2.1 needs four apps. Guizhou (three, Table 2) no longer shows it.
    let v2 = create_toml_rulebook(&mut rec, ID, &stricter_rulebook())
        .await
        .unwrap();
    assert!(v2.created);
    let v2 = v2.rulebook.unwrap();
    assert_eq!(v2.version, 2);
    assert_ne!(v2.digest, v1.digest);
    // Re-sending version 1's content returns version 1.
    let back = create_toml_rulebook(&mut rec, ID, DEFAULT_RULEBOOK_TOML)
        .await
        .unwrap();
    assert!(!back.created);
    assert_eq!(back.rulebook.unwrap().version, 1);
    assert_eq!(get_rulebook(&mut rec, ID, 0).await.unwrap().version, 2);

    let status_321 = |d: &rpb::Diagnosis| status_of(dilemma(d, "3.2.1"));
    let old = diagnose(&mut rec, "cn-gz", Some(rulebook_scope(ID, 1)))
        .await
        .unwrap();
    assert_eq!((old.rulebook_id.as_str(), old.rulebook_version), (ID, 1));
    assert_eq!(status_321(&old), Present, "version 1: three apps fragment");
    let new = diagnose(&mut rec, "cn-gz", Some(rulebook_scope(ID, 2)))
        .await
        .unwrap();
    assert_eq!(new.rulebook_version, 2);
    assert_eq!(status_321(&new), Absent, "version 2: three apps are fine");
    let threshold = dilemma(&new, "3.2.1")
        .evidence
        .iter()
        .find(|e| e.fact == "indicator.toe.o.app_fragmentation")
        .and_then(|e| e.threshold);
    assert_eq!(threshold, Some(4.0));
    // Latest is version 2.
    let latest = diagnose(&mut rec, "cn-gz", Some(rulebook_scope(ID, 0)))
        .await
        .unwrap();
    assert_eq!(latest.rulebook_version, 2);
    assert_eq!(status_321(&latest), Absent);
    // Version 1 still gives the old answer after version 2 was used (no cache mix-up).
    assert_eq!(
        diagnose(&mut rec, "cn-gz", Some(rulebook_scope(ID, 1)))
            .await
            .unwrap(),
        old
    );
    // Sichuan's four apps still fragment it under version 2.
    let sc = diagnose(&mut rec, "cn-sc", Some(rulebook_scope(ID, 2)))
        .await
        .unwrap();
    assert_eq!(status_321(&sc), Present);
    // The default rulebook is untouched.
    let default = diagnose(&mut rec, "cn-gz", None).await.unwrap();
    assert_eq!(default.rulebook_id, "default");
    assert_eq!(status_321(&default), Present);
    // Everything else is as under version 1.
    for (a, b) in old.dilemmas.iter().zip(&new.dilemmas) {
        if a.code != "3.2.1" {
            assert_eq!(a.status, b.status, "{}", a.code);
        }
    }
    // A version that does not exist.
    expect_code(
        diagnose(&mut rec, "cn-gz", Some(rulebook_scope(ID, 3))).await,
        Code::NotFound,
    );
    suite.stop().await;
}

async fn concurrent_creates_of_one_content_make_one_version(db: TestDb) {
    let suite = RecommendationSuite::start(&db).await;
    let rec = suite.recommendation();
    let source = stricter_rulebook();
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let mut rec = rec.clone();
            let source = source.clone();
            tokio::spawn(async move { create_toml_rulebook(&mut rec, "raced", &source).await })
        })
        .collect();
    let mut created = 0;
    let mut versions = BTreeSet::new();
    for call in calls {
        let response = call.await.unwrap().unwrap_or_else(|s| {
            panic!("a concurrent CreateRulebook of the same content failed: {s:?}")
        });
        created += usize::from(response.created);
        versions.insert(response.rulebook.unwrap().version);
    }
    assert_eq!(created, 1, "exactly one call creates the version");
    assert_eq!(versions, BTreeSet::from([1]));
    suite.stop().await;
}
