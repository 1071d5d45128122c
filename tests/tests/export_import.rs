//! ExportRecords: the loaded paper dataset comes back cell for cell (values included),
//! and an export imported into a fresh server exports identically, on each backend and
//! across backends.

use govlens_tests::*;

on_both_backends!(
    the_export_equals_the_transcribed_tables,
    export_then_import_into_a_fresh_server_round_trips,
    exports_stream_in_chunks_of_one_revision,
);

async fn the_export_equals_the_transcribed_tables(db: TestDb) {
    let srv = TestServer::start(&db).await;
    srv.load_paper().await;
    let exported = srv.export_records().await;
    let expected = prepared_paper();
    assert_eq!(kind_counts(&exported), kind_counts(&expected));
    let (exported, expected) = (canonical(exported), canonical(expected));
    for (got, want) in exported.iter().zip(&expected) {
        assert_eq!(got, want, "a record differs from the transcribed tables");
    }
    assert_eq!(exported, expected);
    // Spot checks of printed figures read exactly.
    let value_of = |printed: &str| -> Vec<f64> {
        exported
            .iter()
            .filter_map(|r| match r {
                govlens_dataset::AnyRecord::Observation(o) if o.value_as_printed == printed => {
                    o.value
                }
                govlens_dataset::AnyRecord::ReportedAggregate(a)
                    if a.value_as_printed == printed =>
                {
                    a.value
                }
                _ => None,
            })
            .collect()
    };
    assert_eq!(value_of("494 million"), vec![494_000_000.0]);
    assert_eq!(value_of("931.9 million"), vec![931_900_000.0]);
    assert_eq!(value_of("41.3%"), vec![0.413]);
}

async fn export_then_import_into_a_fresh_server_round_trips(db: TestDb) {
    let a = TestServer::start(&db).await;
    a.load_paper().await;
    // Make A hold more than the paper: moved regions, edits, ids with gaps.
    let mut c = a.client();
    let w = fixtures::World::create(&a).await;
    let obs = fixtures::create_observation(
        &mut c,
        fixtures::rating(&w.platform_a, &w.channel_a, "2023-01-02", 2.5),
    )
    .await;
    fixtures::create_observation(
        &mut c,
        fixtures::rating(&w.platform_b, &w.channel_b, "2023-01-03", 0.0),
    )
    .await;
    c.delete_observation(pb::DeleteObservationRequest { id: obs.id })
        .await
        .unwrap();
    let mut moved = fixtures::region(
        &w.province_b,
        "Guizhou (moved)",
        pb::AdminLevel::Province,
        &w.province_a,
    );
    moved.populations = vec![fixtures::population(2022, 38_560_000, "38.56 million")];
    c.update_region(pb::UpdateRegionRequest {
        region: Some(moved),
        update_mask: None,
    })
    .await
    .unwrap();
    c.create_indicator_value(pb::CreateIndicatorValueRequest {
        indicator_value: Some(fixtures::indicator_value(
            &w.indicator,
            pb::SubjectKind::Platform,
            &w.platform_b,
            "2022-Q3",
            0.25,
        )),
        request_id: String::new(),
    })
    .await
    .unwrap();

    let (exported_a, _) = a.export(13).await;
    let db_b = TestDb::create(db.backend())
        .await
        .expect("a second database");
    let b = TestServer::start(&db_b).await;
    let batches: Vec<Vec<pb::Record>> = exported_a.chunks(50).map(|c| c.to_vec()).collect();
    let imported = b
        .import(batches)
        .await
        .expect("importing A's export into B");
    let created: i64 = imported.counts.iter().map(|c| c.created).sum();
    assert_eq!(
        created,
        exported_a.len() as i64,
        "every exported record is created in B"
    );
    assert!(imported
        .counts
        .iter()
        .all(|c| c.updated == 0 && c.unchanged == 0));

    let (exported_b, _) = b.export(0).await;
    assert_eq!(
        canonical(records_from_pb(exported_b.clone())),
        canonical(records_from_pb(exported_a.clone())),
        "B holds other records than A"
    );
    assert_eq!(
        exported_b, exported_a,
        "B exports the same records in the same order"
    );

    // And B's export imported back into A changes nothing.
    let again = a.import(vec![exported_b]).await.expect("B's export into A");
    assert!(
        again
            .counts
            .iter()
            .all(|c| c.created == 0 && c.updated == 0),
        "{:?}",
        again.counts
    );
}

async fn exports_stream_in_chunks_of_one_revision(db: TestDb) {
    let srv = TestServer::start(&db).await;
    // An empty database exports one empty chunk with its revision.
    let (records, revision) = srv.export(0).await;
    assert!(records.is_empty());
    assert_eq!(revision, srv.revision().await);
    let loaded = srv.load_paper().await;
    let total = paper_pb().len();
    for batch_size in [1, 7, 116, 0, 100_000] {
        let (records, revision) = srv.export(batch_size).await;
        assert_eq!(records.len(), total, "batch_size {batch_size}");
        assert_eq!(revision, loaded.revision);
    }
    let mut c = srv.client();
    let status = c
        .export_records(pb::ExportRecordsRequest { batch_size: -1 })
        .await;
    match status {
        Err(status) => {
            expect_invalid::<()>(Err(status), "batch_size");
        }
        Ok(stream) => {
            let first = stream.into_inner().message().await;
            expect_invalid(first, "batch_size");
        }
    }
}

/// SQLite -> PostgreSQL -> SQLite: both stores keep every value identically.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_across_backends() {
    let Some(pg) = TestDb::create(Backend::Postgres).await else {
        return;
    };
    let lite = TestDb::create(Backend::Sqlite).await.expect("sqlite");
    let lite2 = TestDb::create(Backend::Sqlite).await.expect("sqlite");
    let a = TestServer::start(&lite).await;
    a.load_paper().await;
    let (from_sqlite, _) = a.export(0).await;
    let b = TestServer::start(&pg).await;
    b.import(vec![from_sqlite.clone()])
        .await
        .expect("into PostgreSQL");
    let (from_postgres, _) = b.export(0).await;
    assert_eq!(from_postgres, from_sqlite);
    let c = TestServer::start(&lite2).await;
    c.import(vec![from_postgres.clone()])
        .await
        .expect("back into SQLite");
    assert_eq!(c.export(0).await.0, from_sqlite);
    for srv in [a, b, c] {
        srv.stop().await;
    }
}
