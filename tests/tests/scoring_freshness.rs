//! Cached scoring stays fresh: at one data revision repeated calls give identical
//! tables; after a write to the data service the data revision in the answer goes up
//! and the scores follow the write (a result of the old revision is never served),
//! with the in-process cache and with Redis. Without the data service the scoring
//! service answers UNAVAILABLE, not INTERNAL, within the call's deadline.

use std::collections::BTreeMap;
use std::time::Duration;

use govlens_tests::suite::*;
use govlens_tests::*;
use tonic::Code;

on_both_backends!(
    concurrent_readers_see_a_write_once_it_is_acknowledged,
    scores_follow_data_writes_with_the_in_process_cache,
    scores_follow_data_writes_with_redis,
    scoring_without_the_data_service_is_unavailable,
);

/// The app whose lowest store rating the tests raise.
const APP: &str = "tianfu-tongban";

fn scores(table: &spb::ScoreTable) -> BTreeMap<String, Option<f64>> {
    table
        .units
        .iter()
        .map(|u| (u.unit_code.clone(), u.score))
        .collect()
}

/// The app's lowest rating observation.
async fn lowest_rating(suite: &Suite) -> pb::Observation {
    let list = suite
        .data()
        .list_observations(pb::ListObservationsRequest {
            page_size: 1000,
            platform_code: APP.into(),
            metric: pb::Metric::Rating as i32,
            ..Default::default()
        })
        .await
        .expect("ListObservations")
        .into_inner();
    assert!(list.observations.len() >= 2);
    list.observations
        .into_iter()
        .min_by(|a, b| a.value.total_cmp(&b.value))
        .expect("a rating")
}

/// Scores the apps twice at one revision, raises one app's lowest rating through the
/// data service, and scores again.
async fn scores_follow_data_writes(suite: &Suite, model_id: &str) {
    let import = suite.import_paper().await;
    let mut scoring = suite.scoring();
    let platforms = scope(model_id, 0, "", spb::UnitKind::Platform);

    let before = score_units(&mut scoring, platforms.clone()).await.unwrap();
    assert_eq!(before.data_revision, import.revision);
    let again = score_units(&mut scoring, platforms.clone()).await.unwrap();
    assert_eq!(again, before, "two calls at one revision differ");
    let metrics_before = suite
        .scoring()
        .list_platform_metrics(spb::ListPlatformMetricsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let average_before = metrics_before
        .metrics
        .iter()
        .find(|m| m.platform_code == APP)
        .and_then(|m| m.average_rating)
        .unwrap();

    // Raise the lowest rating by one point: the average goes up, the spread between
    // stores narrows; both make the app's TOE score higher.
    let mut lowest = lowest_rating(suite).await;
    let raised = lowest.value + 1.0;
    lowest.value = raised;
    lowest.value_as_printed = format!("{raised:.1}points");
    let updated = suite
        .data()
        .update_observation(pb::UpdateObservationRequest {
            observation: Some(lowest.clone()),
            update_mask: mask(&["value", "value_as_printed"]),
        })
        .await
        .expect("UpdateObservation")
        .into_inner();
    assert!(updated.revision > import.revision);

    let after = score_units(&mut scoring, platforms.clone()).await.unwrap();
    assert_eq!(
        after.data_revision, updated.revision,
        "the table is of the revision after the write"
    );
    let (old, new) = (scores(&before), scores(&after));
    assert_eq!(
        old.keys().collect::<Vec<_>>(),
        new.keys().collect::<Vec<_>>()
    );
    let (old_app, new_app) = (old[APP].unwrap(), new[APP].unwrap());
    assert!(
        new_app > old_app,
        "{APP}: score {old_app} -> {new_app} after its rating went up"
    );
    // Platform indicators are on fixed goalposts: the other apps' scores stay put.
    for (code, score) in &old {
        if code != APP {
            assert_eq!(
                &new[code], score,
                "{code} changed with another app's rating"
            );
        }
    }
    let repeated = score_units(&mut scoring, platforms.clone()).await.unwrap();
    assert_eq!(repeated, after, "two calls at the new revision differ");

    let metrics_after = suite
        .scoring()
        .list_platform_metrics(spb::ListPlatformMetricsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(metrics_after.data_revision, updated.revision);
    let ratings = metrics_before
        .metrics
        .iter()
        .find(|m| m.platform_code == APP)
        .unwrap()
        .channels_with_data
        .len() as f64;
    let average_after = metrics_after
        .metrics
        .iter()
        .find(|m| m.platform_code == APP)
        .and_then(|m| m.average_rating)
        .unwrap();
    assert!(
        (average_after - (average_before + 1.0 / ratings)).abs() < 1e-9,
        "average {average_before} -> {average_after}"
    );

    // Regions see the write too.
    let regions = score_units(&mut scoring, scope(model_id, 0, "", spb::UnitKind::Region))
        .await
        .unwrap();
    assert_eq!(regions.data_revision, updated.revision);
}

/// Sixteen callers keep ScoreUnits busy (their reads of the data revision are shared)
/// while a write commits: every call started after the write was acknowledged answers
/// at the write's revision or later, and no call is answered from an older revision
/// than one a call that finished before it had already seen.
async fn concurrent_readers_see_a_write_once_it_is_acknowledged(db: TestDb) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use tokio::time::Instant;

    let suite = Suite::start(&db).await;
    let import = suite.import_paper().await;
    let platforms = scope("toe-default", 0, "", spb::UnitKind::Platform);
    let stop = Arc::new(AtomicBool::new(false));
    // (started, finished, revision) of every call.
    let calls = Arc::new(Mutex::new(Vec::<(Instant, Instant, i64)>::new()));
    let readers: Vec<_> = (0..16)
        .map(|_| {
            let (mut scoring, platforms) = (suite.scoring(), platforms.clone());
            let (stop, calls) = (stop.clone(), calls.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let table = score_units(&mut scoring, platforms.clone())
                        .await
                        .expect("ScoreUnits under load");
                    calls
                        .lock()
                        .unwrap()
                        .push((started, Instant::now(), table.data_revision));
                }
            })
        })
        .collect();
    // Until enough calls ran (however slow the machine), or a minute passed.
    async fn wait_for(
        calls: &Mutex<Vec<(Instant, Instant, i64)>>,
        enough: impl Fn(&[(Instant, Instant, i64)]) -> bool,
    ) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !enough(&calls.lock().unwrap()) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    wait_for(&calls, |calls| calls.len() >= 16).await;
    let mut lowest = lowest_rating(&suite).await;
    lowest.value += 0.5;
    lowest.value_as_printed = format!("{:.1}points", lowest.value);
    let updated = suite
        .data()
        .update_observation(pb::UpdateObservationRequest {
            observation: Some(lowest),
            update_mask: mask(&["value", "value_as_printed"]),
        })
        .await
        .expect("UpdateObservation")
        .into_inner();
    let acknowledged = Instant::now();
    wait_for(&calls, |calls| {
        calls.iter().filter(|c| c.0 > acknowledged).count() >= 16
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.await.unwrap();
    }
    let calls = calls.lock().unwrap().clone();
    let before = calls.iter().filter(|c| c.1 < acknowledged).count();
    let after: Vec<_> = calls.iter().filter(|c| c.0 > acknowledged).collect();
    assert!(
        before >= 16 && after.len() >= 16,
        "the readers ran before and after the write ({before} / {} calls)",
        after.len()
    );
    assert!(calls.iter().all(|c| c.2 >= import.revision));
    for c in &after {
        assert!(
            c.2 >= updated.revision,
            "a call started {:?} after the write was acknowledged answered at revision {} < {}",
            c.0 - acknowledged,
            c.2,
            updated.revision
        );
    }
    // Real-time order: once a call has returned the new revision, no call started
    // later returns the old one.
    if let Some(first_new) = calls
        .iter()
        .filter(|c| c.2 >= updated.revision)
        .map(|c| c.1)
        .min()
    {
        assert!(calls
            .iter()
            .filter(|c| c.0 > first_new)
            .all(|c| c.2 >= updated.revision));
    }
    suite.stop().await;
}

async fn scores_follow_data_writes_with_the_in_process_cache(db: TestDb) {
    let suite = Suite::start(&db).await;
    scores_follow_data_writes(&suite, "toe-default").await;
    suite.stop().await;
}

async fn scores_follow_data_writes_with_redis(db: TestDb) {
    let Some(redis_url) = shared_redis_url() else {
        return;
    };
    let suite = Suite::start_with(
        &db,
        SuiteOptions {
            redis_url: Some(redis_url.clone()),
            // Redis is the scoring service's only cache: repeated calls come from it.
            scoring_memory_cache: false,
            ..Default::default()
        },
    )
    .await;
    // Cache keys are model, version, digest, revision and request; a model id of this
    // test alone keeps entries of other tests (or earlier runs) on the shared Redis
    // out of its way.
    let mut scoring = suite.scoring();
    let toe = get_model(&mut scoring, "toe-default", 0).await.unwrap();
    let model_id = unique_code("toe-redis");
    create_toml_model(&mut scoring, &model_id, &toe.source)
        .await
        .unwrap();
    scores_follow_data_writes(&suite, &model_id).await;

    // The results were cached in Redis.
    let client = redis::Client::open(redis_url.as_str()).expect("redis URL");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to redis");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("govlens:scoring:ScoreUnits:{model_id}:*"))
        .query_async(&mut conn)
        .await
        .expect("KEYS");
    assert!(
        keys.len() >= 2,
        "ScoreUnits results of two revisions are in Redis: {keys:?}"
    );

    // Hits are sent as stored, without being decoded first: a value damaged in Redis
    // must be a miss (recomputed), never bytes passed on to the caller.
    let platforms = scope(&model_id, 0, "", spb::UnitKind::Platform);
    let fresh = score_units(&mut scoring, platforms.clone()).await.unwrap();
    let ttls: Vec<i64> = futures::future::join_all(keys.iter().map(|key| {
        let mut conn = conn.clone();
        async move {
            redis::cmd("TTL")
                .arg(key)
                .query_async::<i64>(&mut conn)
                .await
                .expect("TTL")
        }
    }))
    .await;
    for (key, ttl) in keys.iter().zip(ttls) {
        let value: Vec<u8> = redis::cmd("GET")
            .arg(key)
            .query_async(&mut conn)
            .await
            .expect("GET");
        // Flip a bit in the middle, and keep the length and the expiry.
        let mut damaged = value.clone();
        let middle = damaged.len() / 2;
        damaged[middle] ^= 0x10;
        redis::cmd("SET")
            .arg(key)
            .arg(damaged)
            .arg("EX")
            .arg(ttl.max(60))
            .query_async::<()>(&mut conn)
            .await
            .expect("SET");
    }
    let recomputed = score_units(&mut scoring, platforms.clone()).await.unwrap();
    assert_eq!(
        recomputed, fresh,
        "a damaged cached value was recomputed, not served"
    );
    let cached_again = score_units(&mut scoring, platforms).await.unwrap();
    assert_eq!(cached_again, fresh);
    suite.stop().await;
}

async fn scoring_without_the_data_service_is_unavailable(db: TestDb) {
    let suite = Suite::start_with(
        &db,
        SuiteOptions {
            upstream_timeout: Duration::from_secs(3),
            ..Default::default()
        },
    )
    .await;
    suite.import_paper().await;
    let mut scoring = suite.scoring();
    let regions = scope("toe-default", 0, "", spb::UnitKind::Region);
    // Scored (and cached) while the data service is up.
    score_units(&mut scoring, regions.clone()).await.unwrap();

    let Suite {
        data,
        scoring: server,
        models_dir,
    } = suite;
    data.stop().await;

    let mut request = tonic::Request::new(spb::ScoreUnitsRequest {
        scope: Some(regions.clone()),
        ..Default::default()
    });
    request.set_timeout(Duration::from_secs(20));
    let down = scoring.score_units(request).await;
    let status = expect_code(down, Code::Unavailable);
    assert!(
        status.message().contains("data service"),
        "the status says what is unavailable: {status:?}"
    );
    // Every data-reading RPC, not only ScoreUnits.
    let mut request = tonic::Request::new(spb::GetQualityReportRequest::default());
    request.set_timeout(Duration::from_secs(20));
    expect_code(scoring.get_quality_report(request).await, Code::Unavailable);
    // Models are the scoring service's own: still readable.
    get_model(&mut scoring, "toe-default", 0).await.unwrap();

    // Health follows the data service.
    let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel.clone());
    let not_serving = async {
        loop {
            let status = health
                .check(tonic_health::pb::HealthCheckRequest {
                    service: SCORING_SERVICE.into(),
                })
                .await
                .map(|r| r.into_inner().status);
            if status.ok()
                == Some(tonic_health::pb::health_check_response::ServingStatus::NotServing as i32)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), not_serving)
        .await
        .expect("the scoring service still reports SERVING without its data service");
    server.stop().await;
    drop(models_dir);
}
