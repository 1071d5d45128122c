//! Models as data: CreateModel validates a model file and points at what is wrong,
//! stores immutable versions (the same content is the same version, a change is a new
//! one), GetModel reads any version (0: the latest), ListModels pages through the
//! latest versions, and an unknown model is NOT_FOUND everywhere.

use std::collections::BTreeSet;

use govlens_tests::suite::*;
use govlens_tests::*;
use tonic::Code;

on_both_backends!(
    malformed_models_are_rejected_naming_the_field,
    versions_are_immutable_and_content_addressed,
    list_models_paginates_the_latest_versions,
    a_syntax_error_is_a_located_violation_of_the_source,
);

/// A small valid model; `{weight}` is the second dimension's weight.
fn model_source(weight: &str) -> String {
    format!(
        r#"format_version = 1
code = "MINI"
name = "Mini index"
description = "Two dimensions"
aggregation = "arithmetic"

[defaults]
normalisation = "minmax"

[[dimensions]]
code = "a"
weight = 1

[[dimensions]]
code = "b"
weight = {weight}
"#
    )
}

/// INVALID_ARGUMENT whose violations include a field naming `path` inside the model.
#[track_caller]
fn expect_model_violation(
    result: Result<spb::CreateModelResponse, tonic::Status>,
    path: &str,
) -> Vec<(String, String)> {
    let status = expect_code(result, Code::InvalidArgument);
    let violations = field_violations(&status);
    assert!(
        violations
            .iter()
            .any(|(field, _)| field.starts_with("source") && field.contains(path)),
        "expected a violation naming {path:?}, got {violations:?} ({})",
        status.message()
    );
    violations
}

async fn malformed_models_are_rejected_naming_the_field(db: TestDb) {
    let suite = Suite::start(&db).await;
    let mut scoring = suite.scoring();
    let id = unique_code("mini");

    // A valid model is accepted (the cases below differ from it in one place).
    create_toml_model(&mut scoring, &id, &model_source("2"))
        .await
        .expect("a valid model");

    // A negative weight.
    let bad = create_toml_model(&mut scoring, &id, &model_source("-1")).await;
    expect_model_violation(bad, "dimensions[1].weight");
    // Not a number.
    let bad = create_toml_model(&mut scoring, &id, &model_source("\"heavy\"")).await;
    expect_model_violation(bad, "dimensions[1].weight");
    // An unknown key (a misspelt "weight").
    let misspelt = model_source("2").replace("code = \"b\"\nweight", "code = \"b\"\nwieght");
    assert_ne!(misspelt, model_source("2"));
    let bad = create_toml_model(&mut scoring, &id, &misspelt).await;
    let violations = expect_model_violation(bad, "dimensions[1]");
    assert!(
        violations
            .iter()
            .any(|(f, d)| f.contains("wieght") || d.contains("wieght")),
        "the unknown key is named: {violations:?}"
    );
    // TOML syntax error: a violation on the source, saying where.
    let broken = model_source("2").replace(
        "[[dimensions]]\ncode = \"b\"",
        "[[dimensions]\ncode = \"b\"",
    );
    let bad = create_toml_model(&mut scoring, &id, &broken).await;
    let status = expect_code(bad, Code::InvalidArgument);
    let violations = field_violations(&status);
    assert!(
        violations
            .iter()
            .any(|(f, d)| f.starts_with("source") && d.contains("syntax")),
        "a syntax error is a violation on the source: {violations:?}"
    );
    // Where: line 14 is the broken table header.
    assert!(
        status.message().contains("line 14"),
        "the syntax error is located: {:?}",
        status.message()
    );
    // The rejected versions were not stored.
    let latest = get_model(&mut scoring, &id, 0).await.unwrap();
    assert_eq!(latest.version, 1);

    // Request fields.
    let bad = scoring
        .create_model(spb::CreateModelRequest {
            model_id: "no spaces".into(),
            format: spb::ModelFormat::Toml as i32,
            source: model_source("2"),
        })
        .await;
    expect_invalid(bad, "model_id");
    let bad = scoring
        .create_model(spb::CreateModelRequest {
            model_id: id.clone(),
            format: spb::ModelFormat::Unspecified as i32,
            source: model_source("2"),
        })
        .await;
    expect_invalid(bad, "format");
    suite.stop().await;
}

/// A document-level error (no path inside the model, such as a TOML syntax error) is a
/// violation of the field `source` itself, located by line and column.
async fn a_syntax_error_is_a_located_violation_of_the_source(db: TestDb) {
    let suite = Suite::start(&db).await;
    let broken = model_source("2").replace(
        "[[dimensions]]\ncode = \"b\"",
        "[[dimensions]\ncode = \"b\"",
    );
    let bad = create_toml_model(&mut suite.scoring(), &unique_code("mini"), &broken).await;
    let status = expect_invalid(bad, "source");
    let violations = field_violations(&status);
    assert!(
        violations
            .iter()
            .any(|(f, d)| f == "source" && d.contains("line 14")),
        "{violations:?}"
    );
    suite.stop().await;
}

async fn versions_are_immutable_and_content_addressed(db: TestDb) {
    let suite = Suite::start(&db).await;
    let mut scoring = suite.scoring();
    let id = unique_code("mini");

    let first = create_toml_model(&mut scoring, &id, &model_source("2"))
        .await
        .unwrap();
    assert!(first.created);
    let v1 = first.model.unwrap();
    assert_eq!(v1.model_id, id);
    assert_eq!(v1.version, 1);
    assert_eq!(v1.name, "Mini index");
    assert_eq!(v1.format, spb::ModelFormat::Toml as i32);
    assert_eq!(v1.source, model_source("2"));
    assert_eq!(v1.digest.len(), 64, "SHA-256 in hex");

    // The same source again: the same version, not created.
    let again = create_toml_model(&mut scoring, &id, &model_source("2"))
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.model.unwrap(), v1);

    // A changed source: the next version.
    let second = create_toml_model(&mut scoring, &id, &model_source("3"))
        .await
        .unwrap();
    assert!(second.created);
    let v2 = second.model.unwrap();
    assert_eq!(v2.version, 2);
    assert_ne!(v2.digest, v1.digest);

    // Version 0 is the latest; every version stays readable as stored.
    assert_eq!(get_model(&mut scoring, &id, 0).await.unwrap(), v2);
    assert_eq!(get_model(&mut scoring, &id, 1).await.unwrap(), v1);
    assert_eq!(get_model(&mut scoring, &id, 2).await.unwrap(), v2);
    expect_code(get_model(&mut scoring, &id, 3).await, Code::NotFound);
    expect_code(
        get_model(&mut scoring, &id, -1).await,
        Code::InvalidArgument,
    );

    // The first content once more is still version 1.
    let back = create_toml_model(&mut scoring, &id, &model_source("2"))
        .await
        .unwrap();
    assert!(!back.created);
    assert_eq!(back.model.unwrap().version, 1);
    assert_eq!(get_model(&mut scoring, &id, 0).await.unwrap().version, 2);

    // The shipped models are stored on start, as version 1 of a fresh store.
    for shipped in ["toe-default", "un-egdi", "worldbank-gtmi"] {
        let m = get_model(&mut scoring, shipped, 0).await.unwrap();
        assert_eq!(m.version, 1, "{shipped}");
        parse_model(&m);
    }

    // Unknown models.
    expect_code(
        get_model(&mut scoring, "no-such-model", 0).await,
        Code::NotFound,
    );
    expect_code(
        score_units(
            &mut scoring,
            scope("no-such-model", 0, "", spb::UnitKind::Region),
        )
        .await,
        Code::NotFound,
    );
    expect_code(
        score_units(&mut scoring, scope(&id, 9, "", spb::UnitKind::Region)).await,
        Code::NotFound,
    );
    suite.stop().await;
}

async fn list_models_paginates_the_latest_versions(db: TestDb) {
    let suite = Suite::start(&db).await;
    let mut scoring = suite.scoring();
    let mut mine = BTreeSet::new();
    for i in 0..4 {
        let id = unique_code(&format!("mini{i}"));
        create_toml_model(&mut scoring, &id, &model_source("2"))
            .await
            .unwrap();
        if i % 2 == 0 {
            create_toml_model(&mut scoring, &id, &model_source("5"))
                .await
                .unwrap();
        }
        mine.insert(id);
    }

    let mut seen = Vec::new();
    let mut page_token = String::new();
    let mut pages = 0;
    loop {
        let page = scoring
            .list_models(spb::ListModelsRequest {
                page_size: 2,
                page_token: page_token.clone(),
            })
            .await
            .expect("ListModels")
            .into_inner();
        pages += 1;
        assert!(page.models.len() <= 2, "page larger than page_size");
        for m in page.models {
            let latest = get_model(&mut scoring, &m.model_id, 0).await.unwrap();
            assert_eq!(m, latest, "ListModels lists the latest version");
            seen.push(m.model_id);
        }
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
        assert!(pages < 100, "pagination does not end");
    }
    let expected: BTreeSet<String> = mine
        .iter()
        .cloned()
        .chain(["toe-default", "un-egdi", "worldbank-gtmi"].map(String::from))
        .collect();
    assert_eq!(seen.len(), expected.len(), "every model once: {seen:?}");
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), expected);
    assert!(
        pages >= 4,
        "{} models in pages of 2: {pages} pages",
        seen.len()
    );

    // Everything in one page.
    let all = scoring
        .list_models(spb::ListModelsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(all.next_page_token.is_empty());
    assert_eq!(all.models.len(), expected.len());

    let bad = scoring
        .list_models(spb::ListModelsRequest {
            page_size: -1,
            page_token: String::new(),
        })
        .await;
    expect_invalid(bad, "page_size");
    suite.stop().await;
}
