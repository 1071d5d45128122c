//! ImportRecords: idempotent re-imports, all-or-nothing batches whose errors name the
//! row and its origin, and multi-batch imports that keep the committed batches.

use std::collections::BTreeMap;

use govlens_tests::*;
use pb::record::Kind;
use tonic::Code;

on_both_backends!(
    importing_the_paper_twice_changes_nothing_the_second_time,
    a_batch_with_a_bad_rating_writes_nothing,
    a_batch_with_a_dangling_reference_writes_nothing,
    every_bad_row_of_a_batch_is_reported,
    a_failed_batch_keeps_the_batches_committed_before_it,
    reimporting_a_changed_record_updates_it,
    malformed_records_are_refused,
    a_region_record_with_populations_is_refused_naming_the_field,
);

/// Rows per file of the paper's bundle (datasets/paper/README.md).
fn paper_counts() -> BTreeMap<&'static str, i64> {
    BTreeMap::from([
        ("regions", 3),
        ("populations", 2),
        ("channels", 5),
        ("platforms", 9),
        ("service_functions", 15),
        ("platform_functions", 15),
        ("policy_documents", 9),
        ("observations", 43),
        ("reported_aggregates", 15),
    ])
}

fn counts(response: &pb::ImportRecordsResponse) -> BTreeMap<String, (i64, i64, i64)> {
    response
        .counts
        .iter()
        .map(|c| (c.resource.clone(), (c.created, c.updated, c.unchanged)))
        .collect()
}

/// Index and origin of the `n`-th observation of the paper batch.
fn nth_observation(records: &[pb::Record], n: usize) -> (usize, String) {
    records
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r.kind, Some(Kind::Observation(_))))
        .nth(n)
        .map(|(i, r)| (i, r.origin.clone()))
        .expect("the paper has observations")
}

fn observation_mut(record: &mut pb::Record) -> &mut pb::Observation {
    match record.kind.as_mut() {
        Some(Kind::Observation(o)) => o,
        other => panic!("not an observation: {other:?}"),
    }
}

/// The violation on `field`, whose description must name `origin`.
#[track_caller]
fn assert_violation_with_origin(status: &tonic::Status, field: &str, origin: &str) {
    let violations = field_violations(status);
    let found = violations.iter().find(|(f, _)| f == field);
    let (_, description) =
        found.unwrap_or_else(|| panic!("no violation on {field}; got {violations:?}"));
    assert!(
        description.contains(origin),
        "the violation on {field} does not name its origin {origin:?}: {description:?}"
    );
}

async fn importing_the_paper_twice_changes_nothing_the_second_time(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let before = srv.revision().await;
    let first = srv.load_paper().await;
    let expected: BTreeMap<String, (i64, i64, i64)> = paper_counts()
        .into_iter()
        .map(|(k, n)| (k.to_string(), (n, 0, 0)))
        .collect();
    assert_eq!(
        counts(&first),
        expected,
        "the first import creates every record"
    );
    assert_eq!(first.batches, 1);
    assert_eq!(first.records, paper_counts().values().sum::<i64>());
    assert!(first.revision > before);
    assert_eq!(srv.revision().await, first.revision);
    let export = srv.export(0).await;

    // Again, in several batches this time: nothing is created or updated.
    let records = paper_pb();
    let batches: Vec<Vec<pb::Record>> = records.chunks(20).map(|c| c.to_vec()).collect();
    let n_batches = batches.len() as i64;
    let second = srv.import(batches).await.expect("second import");
    let expected: BTreeMap<String, (i64, i64, i64)> = paper_counts()
        .into_iter()
        .map(|(k, n)| (k.to_string(), (0, 0, n)))
        .collect();
    assert_eq!(
        counts(&second),
        expected,
        "the second import finds every record unchanged"
    );
    assert_eq!(second.batches, n_batches);
    assert_eq!(
        second.revision, first.revision,
        "an import that changed nothing reported a new revision"
    );
    assert_eq!(
        srv.revision().await,
        first.revision,
        "an import that changed nothing advanced the revision"
    );
    assert_eq!(
        srv.export(0).await,
        export,
        "an import that changed nothing changed the data"
    );

    // An empty import stream is a no-op too.
    let empty = srv.import(vec![]).await.expect("empty import");
    assert_eq!(
        (empty.batches, empty.records, empty.revision),
        (0, 0, first.revision)
    );
}

async fn a_batch_with_a_bad_rating_writes_nothing(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let mut records = paper_pb();
    let (index, origin) = nth_observation(&records, 5);
    // Origins name the file and the line: the header is line 1, so the sixth row is line 7.
    assert_eq!(origin, "observations.csv:7");
    let bad = observation_mut(&mut records[index]);
    assert_eq!(
        bad.metric,
        pb::Metric::Rating as i32,
        "the sixth observation is a rating"
    );
    bad.value_as_printed = "7points".into();
    let rev = srv.revision().await;

    // Into an empty database, and into one holding the paper: nothing is written.
    let status = expect_code(
        srv.import(vec![records.clone()]).await,
        Code::InvalidArgument,
    );
    assert_violation_with_origin(
        &status,
        &format!("records[{index}].observation.value"),
        &origin,
    );
    assert_eq!(srv.revision().await, rev);
    assert!(
        srv.export(0).await.0.is_empty(),
        "a rejected batch wrote records"
    );

    srv.load_paper().await;
    let export_before = srv.export(0).await;
    // A batch of new observations plus the bad one.
    let mut batch: Vec<pb::Record> = (1..=9)
        .map(|day| {
            let mut r = records[index].clone();
            let o = observation_mut(&mut r);
            o.observed_on = format!("2024-01-0{day}");
            o.value_as_printed = "4.0points".into();
            r.origin = format!("new.csv:{day}");
            r
        })
        .collect();
    batch.insert(4, records[index].clone());
    let status = expect_code(srv.import(vec![batch]).await, Code::InvalidArgument);
    assert_violation_with_origin(&status, "records[4].observation.value", &origin);
    assert_eq!(
        violation_fields(&status).len(),
        1,
        "only the bad row is reported: {:?}",
        field_violations(&status)
    );
    assert_eq!(
        srv.export(0).await,
        export_before,
        "a rejected batch changed data"
    );
}

async fn a_batch_with_a_dangling_reference_writes_nothing(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let mut records = paper_pb();
    let (index, origin) = nth_observation(&records, 30);
    observation_mut(&mut records[index]).platform_code = "no-such-platform".into();
    let status = expect_code(
        srv.import(vec![records.clone()]).await,
        Code::InvalidArgument,
    );
    assert_violation_with_origin(
        &status,
        &format!("records[{index}].observation.platform_code"),
        &origin,
    );
    assert!(
        srv.export(0).await.0.is_empty(),
        "a rejected batch wrote records"
    );
    assert_eq!(srv.revision().await, 0);

    // The same over existing data.
    srv.load_paper().await;
    let export_before = srv.export(0).await;
    let mut changed = paper_pb();
    // A valid change to another row, which must not land either.
    let (other, _) = nth_observation(&changed, 0);
    observation_mut(&mut changed[other]).value_as_printed = "1.0points".into();
    observation_mut(&mut changed[index]).channel_code = "no-such-channel".into();
    let status = expect_code(srv.import(vec![changed]).await, Code::InvalidArgument);
    assert_violation_with_origin(
        &status,
        &format!("records[{index}].observation.channel_code"),
        &origin,
    );
    assert_eq!(
        srv.export(0).await,
        export_before,
        "a rejected batch changed data"
    );
}

async fn every_bad_row_of_a_batch_is_reported(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let (a, origin_a) = nth_observation(&paper_pb(), 2);
    let (b, origin_b) = nth_observation(&paper_pb(), 40);

    // Two rows that are bad on their own: both are reported.
    let mut records = paper_pb();
    observation_mut(&mut records[a]).observed_on = "2023-02-30".into();
    observation_mut(&mut records[b]).value_as_printed = String::new();
    observation_mut(&mut records[b]).value = -3.0;
    let status = expect_code(srv.import(vec![records]).await, Code::InvalidArgument);
    assert_violation_with_origin(
        &status,
        &format!("records[{a}].observation.observed_on"),
        &origin_a,
    );
    assert_violation_with_origin(
        &status,
        &format!("records[{b}].observation.value"),
        &origin_b,
    );
    assert_eq!(
        violation_fields(&status).len(),
        2,
        "{:?}",
        field_violations(&status)
    );

    // Two rows whose references do not resolve: both are reported.
    let mut records = paper_pb();
    observation_mut(&mut records[a]).platform_code = "ghost".into();
    observation_mut(&mut records[b]).channel_code = "ghost-store".into();
    let status = expect_code(srv.import(vec![records]).await, Code::InvalidArgument);
    assert_violation_with_origin(
        &status,
        &format!("records[{a}].observation.platform_code"),
        &origin_a,
    );
    assert_violation_with_origin(
        &status,
        &format!("records[{b}].observation.channel_code"),
        &origin_b,
    );
    assert_eq!(
        violation_fields(&status).len(),
        2,
        "{:?}",
        field_violations(&status)
    );
    assert!(srv.export(0).await.0.is_empty());
}

async fn a_failed_batch_keeps_the_batches_committed_before_it(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let records = paper_pb();
    // Batch 1: everything but observations and aggregates; batch 2: the rest, one bad.
    let split = records
        .iter()
        .position(|r| matches!(r.kind, Some(Kind::Observation(_))))
        .expect("observations in the paper");
    let batch1 = records[..split].to_vec();
    let mut batch2 = records[split..].to_vec();
    let bad_origin = batch2[3].origin.clone();
    observation_mut(&mut batch2[3]).value = -5.0;
    observation_mut(&mut batch2[3]).value_as_printed = String::new();
    let status = expect_code(
        srv.import(vec![batch1.clone(), batch2.clone()]).await,
        Code::InvalidArgument,
    );
    assert!(
        status.message().contains("batch 2"),
        "the error says which batch failed: {}",
        status.message()
    );
    assert_violation_with_origin(&status, "records[3].observation.value", &bad_origin);

    // Batch 1 is there, and nothing of batch 2.
    let expected: Vec<_> = prepared_paper().into_iter().take(split).collect();
    assert_eq!(
        canonical(srv.export_records().await),
        canonical(expected),
        "exactly batch 1 is stored"
    );
    let after_failure = srv.revision().await;
    assert!(after_failure > 0, "batch 1 advanced the revision");

    // Sending batch 2 fixed completes the import; batch 1 is found unchanged.
    let fixed = records[split..].to_vec();
    let done = srv
        .import(vec![batch1, fixed])
        .await
        .expect("complete import");
    let c = counts(&done);
    assert_eq!(c["observations"], (43, 0, 0));
    assert_eq!(c["platforms"], (0, 0, 9));
    assert_eq!(
        canonical(srv.export_records().await),
        canonical(prepared_paper())
    );
}

async fn reimporting_a_changed_record_updates_it(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let first = srv.load_paper().await;
    let mut records = paper_pb();
    let (index, _) = nth_observation(&records, 0);
    observation_mut(&mut records[index]).value_as_printed = "3.5points".into();
    let second = srv.import(vec![records]).await.expect("re-import");
    let c = counts(&second);
    assert_eq!(c["observations"], (0, 1, 42));
    assert_eq!(c["platforms"], (0, 0, 9));
    assert!(
        second.revision > first.revision,
        "an import that changed a record advances the revision"
    );
    assert_eq!(srv.revision().await, second.revision);
    let exported = srv.export_records().await;
    let values: Vec<f64> = exported
        .iter()
        .filter_map(|r| match r {
            govlens_dataset::AnyRecord::Observation(o) if o.value_as_printed == "3.5points" => {
                o.value
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        values,
        vec![3.5],
        "the changed observation was updated in place, its value re-read"
    );
}

async fn malformed_records_are_refused(db: TestDb) {
    let srv = TestServer::start(&db).await;
    srv.load_paper().await;
    let export_before = srv.export(0).await;
    let rev = srv.revision().await;
    let records = paper_pb();
    let region = records
        .iter()
        .find(|r| matches!(r.kind, Some(Kind::Region(_))))
        .cloned()
        .unwrap();

    // A record without a kind.
    let mut batch = records.clone();
    batch.insert(
        1,
        pb::Record {
            origin: "x.csv:2".into(),
            kind: None,
        },
    );
    let status = expect_code(srv.import(vec![batch]).await, Code::InvalidArgument);
    assert_violation_with_origin(&status, "records[1].kind", "x.csv:2");

    // Populations go in population records, not inside a region.
    let mut with_population = region.clone();
    if let Some(Kind::Region(r)) = with_population.kind.as_mut() {
        r.populations.push(pb::PopulationFigure {
            year: 2022,
            population: 5,
            value_as_printed: String::new(),
            source: None,
        });
    }
    let status = expect_code(
        srv.import(vec![vec![with_population]]).await,
        Code::InvalidArgument,
    );
    assert!(
        violation_fields(&status)
            .iter()
            .any(|f| f.starts_with("records[0].")),
        "{status:?}"
    );

    // The same key twice in one batch.
    let mut twice = records.clone();
    let (index, _) = nth_observation(&twice, 7);
    let mut copy = twice[index].clone();
    copy.origin = "dup.csv:9".into();
    twice.push(copy);
    let last = twice.len() - 1;
    let status = expect_code(srv.import(vec![twice]).await, Code::InvalidArgument);
    assert!(
        violation_fields(&status)
            .iter()
            .any(|f| f.starts_with(&format!("records[{last}]."))),
        "{:?}",
        field_violations(&status)
    );

    // Regions of one batch that form a cycle.
    let a = unique_code("ra");
    let b = unique_code("rb");
    let cycle = vec![
        pb::Record {
            origin: "regions.csv:2".into(),
            kind: Some(Kind::Region(govlens_tests::fixtures::region(
                &a,
                "A",
                pb::AdminLevel::Province,
                &b,
            ))),
        },
        pb::Record {
            origin: "regions.csv:3".into(),
            kind: Some(Kind::Region(govlens_tests::fixtures::region(
                &b,
                "B",
                pb::AdminLevel::Province,
                &a,
            ))),
        },
    ];
    let status = expect_code(srv.import(vec![cycle]).await, Code::InvalidArgument);
    assert!(
        violation_fields(&status)
            .iter()
            .any(|f| f.ends_with(".region.parent_code")),
        "{status:?}"
    );

    assert_eq!(srv.revision().await, rev);
    assert_eq!(srv.export(0).await, export_before);
}

/// The violation names the record's field as a path into the request.
async fn a_region_record_with_populations_is_refused_naming_the_field(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let mut record = paper_pb()
        .into_iter()
        .find(|r| matches!(r.kind, Some(Kind::Region(_))))
        .unwrap();
    let origin = record.origin.clone();
    if let Some(Kind::Region(r)) = record.kind.as_mut() {
        r.populations.push(pb::PopulationFigure {
            year: 2022,
            population: 5,
            value_as_printed: String::new(),
            source: None,
        });
    }
    let status = expect_code(srv.import(vec![vec![record]]).await, Code::InvalidArgument);
    assert_violation_with_origin(&status, "records[0].region.populations", &origin);
}
