//! Referential integrity under concurrency: the schema has no foreign keys, so the
//! store serialises a delete against writes that refer to the same record (row locks
//! on PostgreSQL, the single writer on SQLite). Racing deletes of channels against
//! creates of observations on them must never leave an observation whose channel is
//! gone.

use govlens_tests::fixtures::*;
use govlens_tests::*;

on_both_backends!(
    racing_deletes_never_leave_dangling_references,
    replicas_starting_together_on_a_fresh_database_all_serve,
);

/// Several replicas of the data service starting at once on an empty database (a
/// scale-out or a fresh deployment) must all come up: migrations are serialised, so
/// none of them fails on tables another one is creating.
async fn replicas_starting_together_on_a_fresh_database_all_serve(db: TestDb) {
    let (a, b, c) = tokio::join!(
        TestServer::start(&db),
        TestServer::start(&db),
        TestServer::start(&db)
    );
    for srv in [&a, &b, &c] {
        let revision = srv
            .client()
            .get_data_revision(pb::GetDataRevisionRequest {})
            .await
            .expect("every replica serves")
            .into_inner();
        assert_eq!(
            revision.revision, 0,
            "a fresh database starts at revision 0"
        );
    }
}

async fn racing_deletes_never_leave_dangling_references(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let w = World::create(&srv).await;
    let mut c = srv.client();
    const ROUNDS: usize = 30;
    let mut channels = Vec::new();
    for i in 0..ROUNDS {
        let code = unique_code(&format!("race{i}"));
        c.create_channel(pb::CreateChannelRequest {
            channel: Some(channel(&code, pb::ChannelKind::AppStore)),
            request_id: String::new(),
        })
        .await
        .expect("create channel");
        channels.push(code);
    }
    let mut races = Vec::new();
    for code in &channels {
        let (mut a, mut b) = (srv.client(), srv.client());
        let (deleted, platform) = (code.clone(), w.platform_a.clone());
        let created = code.clone();
        races.push(tokio::spawn(async move {
            let delete = a.delete_channel(pb::DeleteChannelRequest { code: deleted });
            let create = b.create_observation(pb::CreateObservationRequest {
                observation: Some(rating(&platform, &created, "2024-01-01", 4.0)),
                request_id: String::new(),
            });
            let (d, o) = tokio::join!(delete, create);
            (d.map(|_| ()), o.map(|_| ()))
        }));
    }
    for race in races {
        let (deleted, created) = race.await.expect("race task");
        // Exactly one side may win: a delete that finds a new reference fails, and a
        // create that finds its channel gone fails. Never both succeed.
        assert!(
            !(deleted.is_ok() && created.is_ok()),
            "both the delete and the create of a reference to it succeeded"
        );
    }
    let observations = c
        .list_observations(pb::ListObservationsRequest {
            platform_code: w.platform_a.clone(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list observations")
        .into_inner()
        .observations;
    for o in observations
        .iter()
        .filter(|o| channels.contains(&o.channel_code))
    {
        let channel = c
            .get_channel(pb::GetChannelRequest {
                code: o.channel_code.clone(),
            })
            .await;
        assert!(
            channel.is_ok(),
            "observation {} refers to deleted channel {}",
            o.id,
            o.channel_code
        );
    }
}
