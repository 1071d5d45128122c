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
    a_large_batch_is_created_then_found_unchanged_then_updated,
    a_batch_mixing_new_and_stored_rows_counts_each,
    a_dangling_reference_deep_in_a_large_batch_writes_nothing,
    a_scoped_editor_is_denied_at_the_first_record_outside_the_scope,
    text_and_numbers_of_a_bulk_import_are_stored_exactly,
    a_batch_failing_its_checks_stops_the_stream_after_the_batches_before_it,
    a_batch_failing_on_the_database_stops_the_stream_after_the_batches_before_it,
    stored_rows_that_the_sample_misses_are_counted_exactly,
    a_row_committed_concurrently_during_a_bulk_insert_is_counted_exactly,
    a_batch_sees_what_the_batches_before_it_wrote,
    a_region_moved_by_one_batch_moves_the_regions_the_next_batch_writes,
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

/// More observations than one multi-row INSERT holds.
const LARGE: usize = 12_000;

/// `n` new observations (distinct dates from 1950 on), copies of the paper's sixth
/// observation (a rating), each with its own origin.
fn many_observations(n: usize) -> Vec<pb::Record> {
    let records = paper_pb();
    let (index, _) = nth_observation(&records, 5);
    let dates = (1950..2100)
        .flat_map(|y| (1..=12).flat_map(move |m| (1..=28).map(move |d| (y, m, d))))
        .take(n);
    dates
        .enumerate()
        .map(|(i, (y, m, d))| {
            let mut r = records[index].clone();
            let o = observation_mut(&mut r);
            o.observed_on = format!("{y:04}-{m:02}-{d:02}");
            o.value_as_printed = "4.0points".into();
            r.origin = format!("many.csv:{}", i + 2);
            r
        })
        .collect()
}

/// The values of the stored observations of `many_observations`, by date.
async fn many_values(srv: &TestServer) -> BTreeMap<String, Option<f64>> {
    srv.export_records()
        .await
        .into_iter()
        .filter_map(|r| match r {
            govlens_dataset::AnyRecord::Observation(o) if o.observed_on.as_str() < "2000" => {
                Some((o.observed_on, o.value))
            }
            _ => None,
        })
        .collect()
}

async fn a_large_batch_is_created_then_found_unchanged_then_updated(db: TestDb) {
    let srv = TestServer::start(&db).await;
    srv.load_paper().await;
    let rev = srv.revision().await;
    let batch = many_observations(LARGE);
    let n = LARGE as i64;

    let first = srv.import(vec![batch.clone()]).await.expect("first import");
    assert_eq!(counts(&first)["observations"], (n, 0, 0));
    assert!(first.revision > rev);
    let values = many_values(&srv).await;
    assert_eq!(values.len(), LARGE);
    assert!(
        values.values().all(|v| *v == Some(4.0)),
        "every value stored"
    );

    let again = srv.import(vec![batch.clone()]).await.expect("re-import");
    assert_eq!(counts(&again)["observations"], (0, 0, n));
    assert_eq!(again.revision, first.revision, "nothing changed");
    assert_eq!(srv.revision().await, first.revision);

    // Seven changed values, spread over the batch (and over insert statements).
    let changed = [0, 1, 2_999, 3_000, 6_001, 9_999, LARGE - 1];
    let mut batch = batch;
    for &i in &changed {
        observation_mut(&mut batch[i]).value_as_printed = "3.5points".into();
    }
    let third = srv
        .import(vec![batch.clone()])
        .await
        .expect("changed import");
    assert_eq!(
        counts(&third)["observations"],
        (0, changed.len() as i64, n - changed.len() as i64)
    );
    assert!(third.revision > first.revision);
    let values = many_values(&srv).await;
    assert_eq!(values.len(), LARGE);
    for (i, r) in batch.iter().enumerate() {
        let Some(Kind::Observation(o)) = &r.kind else {
            unreachable!()
        };
        let expected = if changed.contains(&i) { 3.5 } else { 4.0 };
        assert_eq!(values[&o.observed_on], Some(expected), "row {i}");
    }
}

async fn a_batch_mixing_new_and_stored_rows_counts_each(db: TestDb) {
    let srv = TestServer::start(&db).await;
    srv.load_paper().await;
    let mut batch = many_observations(LARGE);
    // Every other row first, so that stored and new rows alternate in the next batch.
    let half: Vec<pb::Record> = batch.iter().step_by(2).cloned().collect();
    let stored = half.len() as i64;
    let first = srv.import(vec![half]).await.expect("first half");
    assert_eq!(counts(&first)["observations"], (stored, 0, 0));

    // Three stored rows change; the paper's own rows come along unchanged.
    for i in [0, 4_000, 11_998] {
        observation_mut(&mut batch[i]).value_as_printed = "2.5points".into();
    }
    let paper = paper_pb();
    let paper_observations = paper
        .iter()
        .filter(|r| matches!(r.kind, Some(Kind::Observation(_))))
        .count() as i64;
    batch.extend(paper);
    let mixed = srv.import(vec![batch]).await.expect("mixed import");
    let c = counts(&mixed);
    assert_eq!(
        c["observations"],
        (LARGE as i64 - stored, 3, stored - 3 + paper_observations)
    );
    assert_eq!(c["platforms"], (0, 0, 9));
    let values = many_values(&srv).await;
    assert_eq!(values.len(), LARGE);
    assert_eq!(
        values.values().filter(|v| **v == Some(2.5)).count(),
        3,
        "the three changed rows were updated"
    );
}

async fn a_dangling_reference_deep_in_a_large_batch_writes_nothing(db: TestDb) {
    let srv = TestServer::start(&db).await;
    srv.load_paper().await;
    let export_before = srv.export(0).await;
    let rev = srv.revision().await;
    let mut batch = many_observations(LARGE);
    let bad = 7_777;
    let origin = batch[bad].origin.clone();
    observation_mut(&mut batch[bad]).channel_code = "no-such-channel".into();
    let status = expect_code(srv.import(vec![batch]).await, Code::InvalidArgument);
    assert_violation_with_origin(
        &status,
        &format!("records[{bad}].observation.channel_code"),
        &origin,
    );
    let violations = field_violations(&status);
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(
        violations[0]
            .1
            .contains("channel \"no-such-channel\" does not exist"),
        "{violations:?}"
    );
    assert_eq!(srv.revision().await, rev);
    assert_eq!(
        srv.export(0).await,
        export_before,
        "a rejected batch changed data"
    );
}

/// The store's import as an editor scoped to `scope`, with the batch's positions as
/// record indexes.
async fn import_as_scoped(
    store: &govlens_data::store::Store,
    scope: &str,
    records: Vec<pb::Record>,
) -> Result<govlens_data::store::import::BatchResult, govlens_kit::ServiceError> {
    use govlens_data::access::{act_as, Actor};
    use govlens_data::store::import::BatchItem;
    use govlens_kit::auth::{Principal, Role};
    let origins: Vec<String> = records.iter().map(|r| r.origin.clone()).collect();
    let items = records_from_pb(records)
        .into_iter()
        .zip(origins)
        .enumerate()
        .map(|(index, (record, origin))| BatchItem {
            index,
            origin,
            record,
        })
        .collect();
    let actor = Actor {
        principal: Principal {
            subject: "scoped".into(),
            role: Role::Editor,
            scope: Some(scope.to_string()),
            token_id: None,
        },
        request_id: "scoped-import".into(),
    };
    act_as(actor, store.import_batch(items)).await
}

fn with_platform(mut r: pb::Record, platform: &str) -> pb::Record {
    observation_mut(&mut r).platform_code = platform.into();
    r
}

async fn a_scoped_editor_is_denied_at_the_first_record_outside_the_scope(db: TestDb) {
    let srv = TestServer::start(&db).await;
    srv.load_paper().await;
    let store = govlens_data::store::Store::connect(db.url())
        .await
        .expect("store");
    let export_before = srv.export(0).await;
    let rev = srv.revision().await;
    // Guizhou's platform everywhere, but Sichuan's in two rows (and a dangling
    // reference after them, which the denial outranks).
    let mut batch: Vec<pb::Record> = many_observations(LARGE)
        .into_iter()
        .map(|r| with_platform(r, "duocaibao"))
        .collect();
    batch[9_001] = with_platform(batch[9_001].clone(), "tianfu-tongban");
    batch[9_002] = with_platform(batch[9_002].clone(), "tianfu-tongban");
    observation_mut(&mut batch[9_500]).channel_code = "no-such-channel".into();
    let denied = import_as_scoped(&store, "cn-gz", batch.clone())
        .await
        .expect_err("a record outside the scope");
    match &denied {
        govlens_kit::ServiceError::PermissionDenied(m) => {
            assert!(m.starts_with("records[9001] (observations)"), "{m}")
        }
        other => panic!("expected a denial, got {other:?}"),
    }
    assert_eq!(srv.revision().await, rev);
    assert_eq!(srv.export(0).await, export_before, "a denied batch wrote");

    // Inside the scope, the whole batch lands; the Sichuan editor may not overwrite it.
    let inside: Vec<pb::Record> = batch[..9_000].to_vec();
    let done = import_as_scoped(&store, "cn-gz", inside.clone())
        .await
        .expect("inside the scope");
    assert_eq!(
        done.counts[&govlens_dataset::records::ResourceKind::Observation],
        govlens_data::store::import::Counts {
            created: 9_000,
            updated: 0,
            unchanged: 0
        }
    );
    let denied = import_as_scoped(&store, "cn-sc", inside)
        .await
        .expect_err("Guizhou's records for a Sichuan editor");
    match &denied {
        govlens_kit::ServiceError::PermissionDenied(m) => {
            assert!(m.starts_with("records[0] (observations)"), "{m}")
        }
        other => panic!("expected a denial, got {other:?}"),
    }

    // A platform stored in Guizhou, moved to Sichuan by a Sichuan editor: refused where
    // it is now (before the write), naming that record.
    let platforms: Vec<pb::Record> = paper_pb()
        .into_iter()
        .filter(|r| matches!(r.kind, Some(Kind::Platform(_))))
        .filter_map(|mut r| match r.kind.as_mut() {
            Some(Kind::Platform(p)) if p.region_code == "cn-sc" || p.code == "guizhou-tong" => {
                p.region_code = "cn-sc".into();
                Some(r)
            }
            _ => None,
        })
        .collect();
    let moved = platforms
        .iter()
        .position(|r| matches!(&r.kind, Some(Kind::Platform(p)) if p.code == "guizhou-tong"))
        .expect("guizhou-tong");
    let denied = import_as_scoped(&store, "cn-sc", platforms)
        .await
        .expect_err("moving a Guizhou platform");
    match &denied {
        govlens_kit::ServiceError::PermissionDenied(m) => {
            assert!(
                m.starts_with(&format!("records[{moved}] (platforms)")),
                "{m}"
            )
        }
        other => panic!("expected a denial, got {other:?}"),
    }
}

/// Quotes, backslashes, braces, commas, "NULL", line breaks and non-ASCII text, and
/// values whose shortest decimal form is long, read back exactly as sent.
async fn text_and_numbers_of_a_bulk_import_are_stored_exactly(db: TestDb) {
    let srv = TestServer::start(&db).await;
    srv.load_paper().await;
    let texts = [
        r#"a "quoted", {braced} \back\slash"#,
        "NULL",
        "{}",
        ",",
        "\"",
        "\\",
        "multi\nline\ttab",
        "贵州 ✓ 'single'",
        "",
    ];
    let values = [
        0.1 + 0.2,
        4.999_999_999_999_999,
        1e-300,
        std::f64::consts::E,
        0.0,
    ];
    let mut batch = many_observations(100);
    for (i, r) in batch.iter_mut().enumerate() {
        let o = observation_mut(r);
        o.value_as_printed = String::new();
        o.value = values[i % values.len()];
        let source = o.source.get_or_insert_with(Default::default);
        source.row = texts[i % texts.len()].to_string();
        source.column = texts[(i + 3) % texts.len()].to_string();
    }
    let done = srv.import(vec![batch.clone()]).await.expect("import");
    assert_eq!(counts(&done)["observations"], (100, 0, 0));
    let stored: BTreeMap<String, (Option<f64>, String, String)> = srv
        .export_records()
        .await
        .into_iter()
        .filter_map(|r| match r {
            govlens_dataset::AnyRecord::Observation(o) if o.observed_on.as_str() < "2000" => {
                Some((o.observed_on, (o.value, o.source_row, o.source_column)))
            }
            _ => None,
        })
        .collect();
    assert_eq!(stored.len(), 100);
    for (i, r) in batch.iter().enumerate() {
        let Some(Kind::Observation(o)) = &r.kind else {
            unreachable!()
        };
        let source = o.source.clone().unwrap_or_default();
        assert_eq!(
            stored[&o.observed_on],
            (Some(o.value), source.row, source.column),
            "row {i}"
        );
    }
    // And the same batch again is unchanged: what was stored compares equal.
    let again = srv.import(vec![batch]).await.expect("re-import");
    assert_eq!(counts(&again)["observations"], (0, 0, 100));
}

/// `many_observations(n)`, in batches of `size`.
fn observation_batches(n: usize, size: usize) -> Vec<Vec<pb::Record>> {
    many_observations(n)
        .chunks(size)
        .map(|chunk| chunk.to_vec())
        .collect()
}

/// The stored observations of `many_observations`, by date.
async fn many_dates(srv: &TestServer) -> Vec<String> {
    many_values(srv).await.into_keys().collect()
}

/// Batches are checked ahead of the one being written: a batch that fails its own
/// checks (a bad rating) stops the import once the batches before it are committed, and
/// none after it is written.
async fn a_batch_failing_its_checks_stops_the_stream_after_the_batches_before_it(db: TestDb) {
    let srv = TestServer::start(&db).await;
    srv.load_paper().await;
    let mut batches = observation_batches(4_000, 1_000);
    let origin = batches[1][17].origin.clone();
    observation_mut(&mut batches[1][17]).value = -5.0;
    observation_mut(&mut batches[1][17]).value_as_printed = String::new();
    let first: Vec<String> = batches[0]
        .iter()
        .map(|r| match &r.kind {
            Some(Kind::Observation(o)) => o.observed_on.clone(),
            _ => unreachable!(),
        })
        .collect();
    let status = expect_code(srv.import(batches).await, Code::InvalidArgument);
    assert!(
        status
            .message()
            .contains("batch 2 rejected (1 earlier batch(es) committed)"),
        "{}",
        status.message()
    );
    assert_violation_with_origin(&status, "records[17].observation.value", &origin);
    assert_eq!(field_violations(&status).len(), 1);
    assert_eq!(many_dates(&srv).await, first, "exactly batch 1 is stored");
}

/// The same when the batch fails only once written (a dangling reference, found in the
/// database): the batches after it, already read and checked, are not written.
async fn a_batch_failing_on_the_database_stops_the_stream_after_the_batches_before_it(db: TestDb) {
    let srv = TestServer::start(&db).await;
    srv.load_paper().await;
    let rev = srv.revision().await;
    let mut batches = observation_batches(5_000, 1_000);
    let origin = batches[2][999].origin.clone();
    observation_mut(&mut batches[2][999]).channel_code = "no-such-channel".into();
    let status = expect_code(srv.import(batches).await, Code::InvalidArgument);
    assert!(
        status
            .message()
            .contains("batch 3 rejected (2 earlier batch(es) committed)"),
        "{}",
        status.message()
    );
    assert_violation_with_origin(&status, "records[999].observation.channel_code", &origin);
    assert_eq!(
        many_dates(&srv).await.len(),
        2_000,
        "exactly batches 1 and 2"
    );
    assert_eq!(
        srv.revision().await,
        rev + 2,
        "one revision per committed batch"
    );
}

/// Rows stored already where the bulk insert's sample of keys does not look (not the
/// first, middle or last row of an insert statement) are still found: created, updated
/// and unchanged are exact, and nothing is stored twice.
async fn stored_rows_that_the_sample_misses_are_counted_exactly(db: TestDb) {
    let srv = TestServer::start(&db).await;
    srv.load_paper().await;
    let mut batch = many_observations(LARGE);
    let stored = [1, 2_000, 7_000, 11_000];
    let first = srv
        .import(vec![stored.iter().map(|&i| batch[i].clone()).collect()])
        .await
        .expect("the stored rows");
    assert_eq!(counts(&first)["observations"], (4, 0, 0));
    observation_mut(&mut batch[7_000]).value_as_printed = "2.5points".into();
    let done = srv.import(vec![batch]).await.expect("the whole batch");
    assert_eq!(
        counts(&done)["observations"],
        (LARGE as i64 - 4, 1, 3),
        "created, updated, unchanged"
    );
    let values = many_values(&srv).await;
    assert_eq!(values.len(), LARGE);
    assert_eq!(values.values().filter(|v| **v == Some(2.5)).count(), 1);
    let again = srv
        .import(vec![many_observations(LARGE)])
        .await
        .expect("again");
    assert_eq!(counts(&again)["observations"], (0, 1, LARGE as i64 - 1));
}

/// A key that another transaction inserts (uncommitted) while an import writes the same
/// key: the import waits for it, finds it stored once it commits, and counts it as such;
/// the rest of the batch is created, once.
async fn a_row_committed_concurrently_during_a_bulk_insert_is_counted_exactly(db: TestDb) {
    use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
    if db.backend() != Backend::Postgres {
        return; // SQLite has one writer at a time: nothing runs concurrently.
    }
    let srv = TestServer::start(&db).await;
    srv.load_paper().await;
    let batch = many_observations(3_000);
    let Some(Kind::Observation(o)) = batch[1_234].kind.clone() else {
        unreachable!()
    };
    let sql = govlens_tests::faults::sql_connection(db.url()).await;
    let other = sql.begin().await.expect("begin");
    other
        .execute_raw(Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "INSERT INTO observations (platform_code, channel_code, metric, observed_on, \
             value, value_as_printed, source_document, source_table, source_row, \
             source_column) VALUES ($1, $2, $3, $4, 1.5, '', '', '', '', '')",
            [
                o.platform_code.clone().into(),
                o.channel_code.clone().into(),
                "rating".into(),
                o.observed_on.clone().into(),
            ],
        ))
        .await
        .expect("the concurrent row");
    let import = {
        let client = srv.client();
        tokio::spawn(async move {
            let mut client = client;
            client
                .import_records(tokio_stream::iter(vec![pb::ImportRecordsRequest {
                    records: batch,
                }]))
                .await
                .map(|r| r.into_inner())
        })
    };
    // The import's insert waits for the other transaction's row.
    let watcher = govlens_tests::faults::sql_connection(db.url()).await;
    let mut waited = false;
    for _ in 0..200 {
        let rows = watcher
            .query_all_raw(Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT pid FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            ))
            .await
            .expect("pg_stat_activity");
        if !rows.is_empty() {
            waited = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(waited, "the import never waited for the concurrent row");
    other.commit().await.expect("commit");
    let done = import.await.expect("task").expect("import");
    assert_eq!(
        counts(&done)["observations"],
        (2_999, 1, 0),
        "the concurrent row was found stored, and updated"
    );
    let values = many_values(&srv).await;
    assert_eq!(values.len(), 3_000);
    assert!(values.values().all(|v| *v == Some(4.0)), "{values:?}");
}

/// Batches of one stream may be written while the batch before commits, but only when
/// they touch none of its rows: a batch that refers to a platform the batch before
/// created, or rewrites rows it wrote, sees them committed, exactly as if the batches
/// were written one after the other.
async fn a_batch_sees_what_the_batches_before_it_wrote(db: TestDb) {
    let srv = TestServer::start(&db).await;
    srv.load_paper().await;
    let rev = srv.revision().await;
    let records = paper_pb();
    let mut platform = records
        .iter()
        .find(|r| matches!(r.kind, Some(Kind::Platform(_))))
        .expect("a platform in the paper")
        .clone();
    let code = unique_code("dep-app");
    match platform.kind.as_mut() {
        Some(Kind::Platform(p)) => p.code = code.clone(),
        _ => unreachable!(),
    }
    let on_new_platform = |records: &[pb::Record], value: f64| -> Vec<pb::Record> {
        records
            .iter()
            .cloned()
            .map(|r| {
                let mut r = with_platform(r, &code);
                observation_mut(&mut r).value = value;
                observation_mut(&mut r).value_as_printed = format!("{value}points");
                r
            })
            .collect()
    };
    let observations = many_observations(3_000);
    // 1: the platform, and rows of a paper platform; 2: rows on the new platform;
    // 3: the same rows as 2, changed; 4: rows of a paper platform again, new.
    let mut first = vec![platform];
    first.extend(observations[..1_000].iter().cloned());
    let second = on_new_platform(&observations[1_000..2_000], 3.0);
    let third = on_new_platform(&observations[1_000..2_000], 4.5);
    let fourth = observations[2_000..].to_vec();
    let done = srv
        .import(vec![first, second, third, fourth])
        .await
        .expect("every batch");
    assert_eq!(counts(&done)["platforms"], (1, 0, 0));
    assert_eq!(
        counts(&done)["observations"],
        (3_000, 1_000, 0),
        "created by 1, 2 and 4; updated by 3"
    );
    assert_eq!(done.batches, 4);
    assert_eq!(done.revision, rev + 4, "one revision per batch, in order");
    assert_eq!(srv.revision().await, rev + 4);
    let on_new: Vec<f64> = srv
        .export_records()
        .await
        .into_iter()
        .filter_map(|r| match r {
            govlens_dataset::AnyRecord::Observation(o) if o.platform_code == code => o.value,
            _ => None,
        })
        .collect();
    assert_eq!(on_new.len(), 1_000);
    assert!(on_new.iter().all(|v| *v == 4.5), "batch 3 wrote last");
}

/// A region record for `code` under `parent`.
fn region_record(code: &str, parent: &str) -> pb::Record {
    pb::Record {
        origin: format!("regions.csv:{code}"),
        kind: Some(Kind::Region(pb::Region {
            code: code.into(),
            name: code.to_uppercase(),
            level: pb::AdminLevel::Province as i32,
            parent_code: parent.into(),
            populations: vec![],
        })),
    }
}

/// The stored path of region `code`.
async fn stored_path(db: &TestDb, code: &str) -> String {
    use sea_orm::{ConnectionTrait, Statement};
    let conn = govlens_tests::faults::sql_connection(db.url()).await;
    let backend = conn.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => "SELECT path FROM regions WHERE code = $1",
        _ => "SELECT path FROM regions WHERE code = ?",
    };
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [code.into()]))
        .await
        .expect("query")
        .expect("the region");
    row.try_get("", "path").expect("path")
}

/// Moving a region rewrites its descendants' paths, rows the moving batch does not name:
/// the next batch, writing a grandchild, is written only once the move has committed,
/// and stores the new path. (Written while the move was still open, it locked rows the
/// move needed while waiting for the move to commit: the stream hung.)
async fn a_region_moved_by_one_batch_moves_the_regions_the_next_batch_writes(db: TestDb) {
    let srv = TestServer::start(&db).await;
    srv.load_paper().await;
    let [a, b, c, z] = ["a", "b", "c", "z"].map(unique_code);
    srv.import(vec![vec![
        region_record(&a, "chn"),
        region_record(&b, &a),
        region_record(&c, &b),
        region_record(&z, "chn"),
    ]])
    .await
    .expect("the regions");
    assert_eq!(stored_path(&db, &c).await, format!("/chn/{a}/{b}/{c}/"));
    // Batch 1 moves `a` under `z`, then writes rows that keep its transaction open a
    // while; batch 2 renames `c`.
    let mut first = vec![region_record(&a, &z)];
    first.extend(many_observations(3_000));
    let mut renamed = region_record(&c, &b);
    if let Some(Kind::Region(r)) = renamed.kind.as_mut() {
        r.name = "Renamed".into();
    }
    let done = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        srv.import(vec![first, vec![renamed]]),
    )
    .await
    .expect("the import hung")
    .expect("both batches");
    assert_eq!(counts(&done)["regions"], (0, 2, 0));
    assert_eq!(stored_path(&db, &c).await, format!("/chn/{z}/{a}/{b}/{c}/"));
}
