//! Revision leases (`DataService/WatchDataRevision`): a data service that alone writes
//! its PostgreSQL database leases its revision to readers and acknowledges a write only
//! once every leased reader knows of it; replicas on one database lease nothing (the
//! readers then ask per call); SQLite leases nothing.

use std::time::Duration;

use govlens_kit::lease::{watch_data_revision, watch_model_revision, RevisionLease, RENEW_EVERY};
use govlens_tests::fixtures::*;
use govlens_tests::suite::*;
use govlens_tests::*;
use tokio_stream::wrappers::ReceiverStream;

on_both_backends!(
    a_write_is_acknowledged_only_once_leased_readers_know_it,
    a_replica_joining_ends_every_lease_before_it_serves,
    a_silent_reader_holds_a_write_only_until_its_lease_ends,
    latest_versions_in_memory_never_hide_another_writer,
    a_new_model_version_is_acknowledged_only_once_leased_readers_know_it,
);

/// The lease, once the reader holds one (within 3 s), or `None`.
async fn held(lease: &RevisionLease) -> Option<(String, i64)> {
    for _ in 0..150 {
        if let Some(current) = lease.current() {
            return Some(current);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

fn reader_of(srv: &TestServer) -> std::sync::Arc<RevisionLease> {
    watch_data_revision(&format!("http://{}", srv.addr), RENEW_EVERY).expect("watch")
}

async fn create_channel(srv: &TestServer, prefix: &str) -> i64 {
    srv.client()
        .create_channel(pb::CreateChannelRequest {
            channel: Some(channel(&unique_code(prefix), pb::ChannelKind::AppStore)),
            request_id: String::new(),
        })
        .await
        .expect("create channel")
        .into_inner()
        .revision
}

async fn a_write_is_acknowledged_only_once_leased_readers_know_it(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let readers = [reader_of(&srv), reader_of(&srv)];
    for reader in &readers {
        let lease = held(reader).await;
        match db.backend() {
            Backend::Sqlite => {
                assert_eq!(lease, None, "SQLite leases nothing: readers ask per call");
                return;
            }
            Backend::Postgres => assert_eq!(
                lease.expect("a lone data service on PostgreSQL leases its revision"),
                srv.versioned_state().await
            ),
        }
    }
    for i in 0..20 {
        let revision = create_channel(&srv, &format!("lease{i}")).await;
        for reader in &readers {
            let (_, known) = reader.current().expect("a renewed lease lasts");
            assert!(
                known >= revision,
                "write {i} was acknowledged at revision {revision} while a leased reader still \
                 had {known}"
            );
        }
    }
    srv.stop().await;
}

async fn a_replica_joining_ends_every_lease_before_it_serves(db: TestDb) {
    let a = TestServer::start(&db).await;
    let reader = reader_of(&a);
    let leased = held(&reader).await.is_some();
    assert_eq!(leased, db.backend() == Backend::Postgres);

    let b = TestServer::start(&db).await;
    assert_eq!(
        reader.current(),
        None,
        "a replica serves only once the leases granted before it joined have ended"
    );
    // Writes through the replica are seen by readers of the first, who now ask.
    let revision = create_channel(&b, "replica").await;
    assert_eq!(a.revision().await, revision);
    assert_eq!(
        held(&reader).await,
        None,
        "no lease while two processes write"
    );

    b.stop().await;
    if db.backend() == Backend::Postgres {
        let (_, known) = held(&reader)
            .await
            .expect("alone again, the first process leases again");
        assert_eq!(known, revision);
    }
    a.stop().await;
}

async fn a_silent_reader_holds_a_write_only_until_its_lease_ends(db: TestDb) {
    let srv = TestServer::start(&db).await;
    // A reader that renews once and then never acknowledges anything.
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(pb::WatchDataRevisionRequest {
        renew_sequence: 1,
        acknowledged_revision: 0,
    })
    .await
    .unwrap();
    let mut watch = srv
        .client()
        .watch_data_revision(ReceiverStream::new(rx))
        .await
        .expect("WatchDataRevision")
        .into_inner();
    let grant = watch.message().await.expect("grant").expect("a grant");
    assert_eq!(grant.renew_sequence, 1);
    assert_eq!(grant.lease_millis > 0, db.backend() == Backend::Postgres);

    let revision = tokio::time::timeout(Duration::from_secs(20), create_channel(&srv, "silent"))
        .await
        .expect("a write waits for a silent reader no longer than its lease");
    if db.backend() == Backend::Postgres {
        let news = watch
            .message()
            .await
            .expect("news")
            .expect("news of the write");
        assert_eq!((news.revision, news.renew_sequence), (revision, 0));
    }
    drop(tx);
    srv.stop().await;
}

/// Latest model versions are kept in memory only while one process writes them: with
/// a second process writing the same database, a version it stores is the latest the
/// first one reads at once, and the first keeps up once it is alone again.
async fn latest_versions_in_memory_never_hide_another_writer(db: TestDb) {
    use govlens_scoring::models::{connect, NewModel};
    let new = |source: &'static str| NewModel {
        document_id: "shared-model",
        name: "shared",
        description: "",
        format: "toml",
        source,
    };
    let a = connect(db.url(), true).await.expect("store a");
    a.migrate().await.expect("migrate a");
    a.create(new("v = 1")).await.expect("create v1");
    assert_eq!(a.get_shared("shared-model", 0).await.unwrap().version, 1);

    let b = connect(db.url(), true).await.expect("store b");
    b.migrate().await.expect("migrate b");
    b.create(new("v = 2")).await.expect("create v2 through b");
    assert_eq!(
        a.get_shared("shared-model", 0).await.unwrap().version,
        2,
        "a version another process stored is the latest at once"
    );
    drop(b);
    // Alone again after b's lock is gone: a keeps reading the truth.
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(a.get_shared("shared-model", 0).await.unwrap().version, 2);
    }
    a.create(new("v = 3")).await.expect("create v3");
    assert_eq!(a.get_shared("shared-model", 0).await.unwrap().version, 3);
}

/// The scoring service leases the revision of its model store the same way
/// (`ScoringService/WatchModelRevision`): CreateModel answers a new version only once
/// every leased reader knows the revision it made, and a watch does not hold up the
/// service's shutdown.
async fn a_new_model_version_is_acknowledged_only_once_leased_readers_know_it(db: TestDb) {
    let suite = Suite::start(&db).await;
    let scoring_addr = format!("http://{}", suite.scoring.addr);
    let readers = [
        watch_model_revision(&scoring_addr, RENEW_EVERY).expect("watch"),
        watch_model_revision(&scoring_addr, RENEW_EVERY).expect("watch"),
    ];
    let mut known = Vec::new();
    for reader in &readers {
        let lease = held(reader).await;
        match db.backend() {
            Backend::Sqlite => assert_eq!(lease, None, "SQLite leases nothing"),
            Backend::Postgres => known.push(
                lease
                    .expect("a lone scoring service on PostgreSQL leases its model revision")
                    .1,
            ),
        }
    }
    let mut scoring = suite.scoring();
    let toe = get_model(&mut scoring, "toe-default", 0).await.unwrap();
    let model_id = unique_code("leased");
    for i in 0..10 {
        // Each source differs: each call makes a new version.
        let created =
            create_toml_model(&mut scoring, &model_id, &format!("{}\n# {i}\n", toe.source))
                .await
                .expect("CreateModel");
        assert_eq!(created.model.expect("model").version, i + 1);
        if db.backend() == Backend::Sqlite {
            continue;
        }
        for (reader, before) in readers.iter().zip(known.iter_mut()) {
            let (_, now) = reader.current().expect("a renewed lease lasts");
            assert!(
                now > *before,
                "version {} was acknowledged while a leased reader still had model revision {now}",
                i + 1
            );
            *before = now;
        }
    }
    // Stopping closes the watches (the server would otherwise wait for them to end).
    suite.stop().await;
    drop(readers);
}
