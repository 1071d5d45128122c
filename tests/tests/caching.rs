//! Cached reads: with the in-process cache and with Redis, a read after a write sees the
//! write (entries are keyed by data revision). A Redis outage is not an outage of the
//! service: reads and writes keep working and stay correct, and the cache is used
//! again once Redis is back.

use std::time::Duration;

use govlens_data::service::support::cache_key;
use govlens_tests::fixtures::*;
use govlens_tests::*;
use tonic::Code;

on_both_backends!(
    reads_after_writes_are_fresh_with_the_in_process_cache,
    reads_after_writes_are_fresh_with_a_private_redis,
    reads_after_writes_are_fresh_with_redis,
    reads_after_writes_are_fresh_with_redis_and_the_in_process_cache,
    a_redis_outage_does_not_break_reads_or_writes,
);

/// Reads every kind of cached response, writes, and reads again: each read must show
/// the state after the write. Reads are repeated so that the second one is a cache hit.
/// Requests by code use codes unique to the test; requests by id (GetObservation
/// { id: 1 }) repeat across test databases, which is safe only because cache keys name
/// the database (see `services_sharing_a_redis_do_not_read_each_others_entries`).
async fn read_your_writes(srv: &TestServer) {
    let w = World::create(srv).await;
    let mut c = srv.client();
    let get_platform = pb::GetPlatformRequest {
        code: w.platform_a.clone(),
    };
    let list_platforms = pb::ListPlatformsRequest {
        region_code: w.province_a.clone(),
        ..Default::default()
    };
    let get_region = pb::GetRegionRequest {
        code: w.province_a.clone(),
    };
    let list_regions = pb::ListRegionsRequest {
        root_code: w.country.clone(),
        ..Default::default()
    };
    let list_observations = pb::ListObservationsRequest {
        platform_code: w.platform_a.clone(),
        ..Default::default()
    };

    for _ in 0..2 {
        let p = c
            .get_platform(get_platform.clone())
            .await
            .unwrap()
            .into_inner()
            .platform
            .unwrap();
        assert_eq!(p.name, format!("Platform {}", w.platform_a));
        let l = c
            .list_platforms(list_platforms.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(l.platforms.len(), 1);
        let r = c
            .get_region(get_region.clone())
            .await
            .unwrap()
            .into_inner()
            .region
            .unwrap();
        assert!(r.populations.is_empty());
        let l = c
            .list_observations(list_observations.clone())
            .await
            .unwrap()
            .into_inner();
        assert!(l.observations.is_empty());
    }

    // Update the platform: Get and List show the new name.
    let mut renamed = platform(&w.platform_a, &w.province_a);
    renamed.name = "Renamed".into();
    c.update_platform(pb::UpdatePlatformRequest {
        platform: Some(renamed),
        update_mask: mask(&["name"]),
    })
    .await
    .unwrap();
    for _ in 0..2 {
        let p = c
            .get_platform(get_platform.clone())
            .await
            .unwrap()
            .into_inner()
            .platform
            .unwrap();
        assert_eq!(
            p.name, "Renamed",
            "a cached Get returned the platform from before the update"
        );
        let l = c
            .list_platforms(list_platforms.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            l.platforms
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>(),
            ["Renamed"],
            "a cached List is stale"
        );
    }

    // Populations of a region (stored in another table) are fresh too.
    let mut with_population = region(
        &w.province_a,
        "Sichuan",
        pb::AdminLevel::Province,
        &w.country,
    );
    with_population.populations = vec![population(2022, 83_740_000, "83.74 million")];
    c.update_region(pb::UpdateRegionRequest {
        region: Some(with_population.clone()),
        update_mask: mask(&["populations"]),
    })
    .await
    .unwrap();
    for _ in 0..2 {
        let r = c
            .get_region(get_region.clone())
            .await
            .unwrap()
            .into_inner()
            .region
            .unwrap();
        assert_eq!(
            r.populations, with_population.populations,
            "a cached GetRegion is stale"
        );
        let l = c
            .list_regions(list_regions.clone())
            .await
            .unwrap()
            .into_inner();
        let listed = l.regions.iter().find(|r| r.code == w.province_a).unwrap();
        assert_eq!(
            listed.populations, with_population.populations,
            "a cached ListRegions is stale"
        );
    }

    // A create shows up in a list that was cached empty; a delete makes a cached Get
    // NOT_FOUND; an import shows up as well.
    let obs = create_observation(
        &mut c,
        rating(&w.platform_a, &w.channel_a, "2023-05-25", 4.5),
    )
    .await;
    let get_observation = pb::GetObservationRequest { id: obs.id };
    for _ in 0..2 {
        let l = c
            .list_observations(list_observations.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            l.observations,
            vec![obs.clone()],
            "a cached List misses a created observation"
        );
        let o = c
            .get_observation(get_observation)
            .await
            .unwrap()
            .into_inner()
            .observation;
        assert_eq!(o.as_ref(), Some(&obs));
    }
    let mut changed = obs.clone();
    changed.value = 1.5;
    let changed = c
        .update_observation(pb::UpdateObservationRequest {
            observation: Some(changed),
            update_mask: mask(&["value"]),
        })
        .await
        .unwrap()
        .into_inner()
        .observation
        .unwrap();
    assert_eq!(changed.value, 1.5);
    for _ in 0..2 {
        let l = c
            .list_observations(list_observations.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            l.observations,
            vec![changed.clone()],
            "a cached List is stale"
        );
        let o = c
            .get_observation(get_observation)
            .await
            .unwrap()
            .into_inner()
            .observation;
        assert_eq!(
            o.as_ref(),
            Some(&changed),
            "a cached GetObservation is stale"
        );
    }
    let more = pb::Record {
        origin: "more.csv:2".into(),
        kind: Some(pb::record::Kind::Observation(rating(
            &w.platform_a,
            &w.channel_b,
            "2023-05-26",
            2.0,
        ))),
    };
    srv.import(vec![vec![more]]).await.unwrap();
    let l = c
        .list_observations(list_observations.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        l.observations.len(),
        2,
        "a cached List misses an imported observation"
    );

    c.delete_observation(pb::DeleteObservationRequest { id: obs.id })
        .await
        .unwrap();
    for _ in 0..2 {
        expect_code(c.get_observation(get_observation).await, Code::NotFound);
        let l = c
            .list_observations(list_observations.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            l.observations.len(),
            1,
            "a cached List still shows a deleted observation"
        );
    }
}

/// The Redis key a GetPlatform read is cached under at the current revision.
async fn platform_key(srv: &TestServer, code: &str) -> String {
    let (instance, revision) = srv.versioned_state().await;
    let request = pb::GetPlatformRequest {
        code: code.to_string(),
    };
    cache_key(&instance, revision, "GetPlatform", &request)
}

async fn reads_after_writes_are_fresh_with_the_in_process_cache(db: TestDb) {
    let srv = TestServer::start(&db).await;
    read_your_writes(&srv).await;
}

/// A Redis of this test alone (redis-server child process).
async fn reads_after_writes_are_fresh_with_a_private_redis(db: TestDb) {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let mut config = db.config();
    config.redis_url = Some(redis.url());
    config.cache_memory_bytes = 0;
    let srv = TestServer::start_with(config).await;
    read_your_writes(&srv).await;
    let w = World::create(&srv).await;
    let key = platform_key(&srv, &w.platform_a).await;
    srv.client()
        .get_platform(pb::GetPlatformRequest {
            code: w.platform_a.clone(),
        })
        .await
        .unwrap();
    assert!(
        redis_key_exists(&redis.url(), &key).await,
        "the read was not cached in Redis under {key}"
    );
    srv.stop().await;
}

async fn with_redis(db: TestDb, memory: bool) {
    let Some(url) = shared_redis_url() else {
        return;
    };
    let mut config = db.config();
    config.redis_url = Some(url.clone());
    if !memory {
        config.cache_memory_bytes = 0;
    }
    let srv = TestServer::start_with(config).await;
    read_your_writes(&srv).await;

    // Reads really go through Redis: the entry of a read is there, under its revision.
    let w = World::create(&srv).await;
    let key = platform_key(&srv, &w.platform_b).await;
    assert!(
        !redis_key_exists(&url, &key).await,
        "a key for a read not made yet"
    );
    srv.client()
        .get_platform(pb::GetPlatformRequest {
            code: w.platform_b.clone(),
        })
        .await
        .unwrap();
    assert!(
        redis_key_exists(&url, &key).await,
        "the read was not cached in Redis under {key}"
    );
}

async fn reads_after_writes_are_fresh_with_redis(db: TestDb) {
    with_redis(db, false).await;
}

async fn reads_after_writes_are_fresh_with_redis_and_the_in_process_cache(db: TestDb) {
    with_redis(db, true).await;
}

async fn a_redis_outage_does_not_break_reads_or_writes(db: TestDb) {
    let Some(mut redis) = RedisServer::start().await else {
        return;
    };
    let mut config = db.config();
    config.redis_url = Some(redis.url());
    config.cache_memory_bytes = 0;
    let srv = TestServer::start_with(config).await;
    let w = World::create(&srv).await;
    let mut c = srv.client();
    let get = pb::GetPlatformRequest {
        code: w.platform_a.clone(),
    };
    let name_of = |r: Result<tonic::Response<pb::GetPlatformResponse>, tonic::Status>| {
        r.expect("GetPlatform")
            .into_inner()
            .platform
            .expect("platform")
            .name
    };
    let rename = |name: &str| {
        let mut p = platform(&w.platform_a, &w.province_a);
        p.name = name.to_string();
        pb::UpdatePlatformRequest {
            platform: Some(p),
            update_mask: mask(&["name"]),
        }
    };

    // Redis up: reads are cached in it.
    assert_eq!(
        name_of(c.get_platform(get.clone()).await),
        format!("Platform {}", w.platform_a)
    );
    assert!(redis_key_exists(&redis.url(), &platform_key(&srv, &w.platform_a).await).await);
    c.update_platform(rename("Before the outage"))
        .await
        .expect("update with Redis up");
    assert_eq!(
        name_of(c.get_platform(get.clone()).await),
        "Before the outage"
    );

    // Redis down: everything still works and is correct.
    redis.kill().await;
    for round in 0..3 {
        assert_eq!(
            name_of(c.get_platform(get.clone()).await),
            if round == 0 {
                "Before the outage".to_string()
            } else {
                format!("During {}", round - 1)
            }
        );
        let name = format!("During {round}");
        c.update_platform(rename(&name))
            .await
            .expect("update while Redis is down");
        assert_eq!(name_of(c.get_platform(get.clone()).await), name);
        let listed = c
            .list_platforms(pb::ListPlatformsRequest {
                region_code: w.province_a.clone(),
                ..Default::default()
            })
            .await
            .expect("list while Redis is down")
            .into_inner();
        assert_eq!(
            listed
                .platforms
                .iter()
                .map(|p| p.name.clone())
                .collect::<Vec<_>>(),
            [name]
        );
    }
    let obs = create_observation(
        &mut c,
        rating(&w.platform_a, &w.channel_a, "2023-05-25", 4.5),
    )
    .await;
    assert_eq!(
        c.get_observation(pb::GetObservationRequest { id: obs.id })
            .await
            .expect("get while Redis is down")
            .into_inner()
            .observation,
        Some(obs.clone())
    );
    srv.load_paper().await;
    c.get_platform(pb::GetPlatformRequest {
        code: "duocaibao".into(),
    })
    .await
    .expect("read imported data while Redis is down");

    // Redis back (empty, same port): still correct, and the cache is used again.
    redis.restart().await;
    c.update_platform(rename("After the outage"))
        .await
        .expect("update after Redis restarted");
    assert_eq!(
        name_of(c.get_platform(get.clone()).await),
        "After the outage"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        assert_eq!(
            name_of(c.get_platform(get.clone()).await),
            "After the outage"
        );
        if redis_key_exists(&redis.url(), &platform_key(&srv, &w.platform_a).await).await {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the service never cached in Redis again after it came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.delete_observation(pb::DeleteObservationRequest { id: obs.id })
        .await
        .expect("delete after the outage");
    expect_code(
        c.get_observation(pb::GetObservationRequest { id: obs.id })
            .await,
        Code::NotFound,
    );
    srv.stop().await;
}

/// Two services with different databases (or one database re-created, whose revision
/// starts over) sharing one Redis must not serve each other's cached responses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_sharing_a_redis_do_not_read_each_others_entries() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let config = |db: &TestDb| {
        let mut config = db.config();
        config.redis_url = Some(redis.url());
        config.cache_memory_bytes = 0;
        config
    };
    let (db_a, db_b) = (
        TestDb::create(Backend::Sqlite).await.unwrap(),
        TestDb::create(Backend::Sqlite).await.unwrap(),
    );
    let a = TestServer::start_with(config(&db_a)).await;
    let b = TestServer::start_with(config(&db_b)).await;
    let code = unique_code("store");
    for (srv, name) in [(&a, "Only in A"), (&b, "Only in B")] {
        let mut ch = channel(&code, pb::ChannelKind::AppStore);
        ch.name = name.to_string();
        srv.client()
            .create_channel(pb::CreateChannelRequest {
                channel: Some(ch),
                request_id: String::new(),
            })
            .await
            .unwrap();
    }
    assert_eq!(
        a.revision().await,
        b.revision().await,
        "the scenario needs equal revisions"
    );
    let get = pb::GetChannelRequest { code };
    let name_in = |srv: &TestServer| {
        let mut c = srv.client();
        let get = get.clone();
        async move {
            c.get_channel(get)
                .await
                .unwrap()
                .into_inner()
                .channel
                .unwrap()
                .name
        }
    };
    assert_eq!(name_in(&a).await, "Only in A");
    assert_eq!(
        name_in(&b).await,
        "Only in B",
        "B served A's cached channel"
    );
}

/// How many GET commands the Redis at `url` has served.
async fn redis_gets(url: &str) -> u64 {
    let client = redis::Client::open(url).expect("redis URL");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to redis");
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .expect("INFO commandstats");
    info.lines()
        .find_map(|line| line.strip_prefix("cmdstat_get:calls="))
        .and_then(|rest| rest.split(',').next())
        .map(|calls| calls.parse().expect("a count"))
        .unwrap_or(0)
}

/// Lookups of one key that arrive together share one Redis GET (a busy service asks
/// for the same cached answer many times at once); a lookup after it sends its own.
#[tokio::test]
async fn concurrent_lookups_of_a_key_share_one_redis_get() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    let cache = govlens_kit::Cache::redis(&redis.url(), Duration::from_secs(60), None)
        .expect("redis cache");
    cache.put("shared-key", b"cached bytes".to_vec()).await;
    let before = redis_gets(&redis.url()).await;
    let found = futures::future::join_all((0..32).map(|_| cache.get("shared-key"))).await;
    for value in &found {
        assert_eq!(
            value.as_deref().map(Vec::as_slice),
            Some(&b"cached bytes"[..])
        );
    }
    assert_eq!(
        redis_gets(&redis.url()).await - before,
        1,
        "32 lookups, one GET"
    );
    assert!(cache.get("missing-key").await.is_none());
    assert_eq!(
        cache.get("shared-key").await.as_deref().map(Vec::as_slice),
        Some(&b"cached bytes"[..])
    );
    assert_eq!(
        redis_gets(&redis.url()).await - before,
        3,
        "later lookups ask again"
    );
}
