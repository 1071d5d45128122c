//! Faults injected into the three services running as separate processes (started by
//! `deploy/run-local.sh`, as operators run them):
//! - Redis killed and restarted under load: no call fails, and the cache is written
//!   again once Redis is back;
//! - PostgreSQL stopped and started again: the data service answers UNAVAILABLE (never
//!   INTERNAL, never SQL) and reports NOT_SERVING while it is down, then serves again
//!   without being restarted;
//! - the data service stopped: scoring and recommendation answer UNAVAILABLE within
//!   their caller's deadline after a bounded number of retries, report NOT_SERVING,
//!   and serve again once it is back;
//! - the data service killed (SIGKILL) in the middle of an import: every batch is
//!   entirely there or entirely absent, and no acknowledged write is lost.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use govlens_tests::faults::{
    count_by, eventually, health_becomes, sql_connection, Call, Load, Outcome, PrivatePostgres,
};
use govlens_tests::fixtures;
use govlens_tests::stack::{Role, ServiceProcess, Stack, StackOptions};
use govlens_tests::suite::{rpb, spb, RecommendationServiceClient, ScoringServiceClient};
use govlens_tests::*;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

const GUIZHOU: &str = "cn-gz";

/// The stack's log filter, with the upstream retries of scoring and recommendation.
const LOG_WITH_RETRIES: &str = "info,sqlx=warn,govlens::access=debug,\
                                govlens_recommendation::upstream=debug,govlens_scoring::data=debug";

/// What scoring and recommendation log for each retry of an upstream read.
const RETRY_LINE: &str = "retrying upstream read";

/// Retries of one upstream read that found the data service down (see
/// `RetryPolicy::DEFAULT` in services/recommendation/src/upstream.rs and
/// services/scoring/src/data.rs).
const RETRIES: usize = 3;

/// The stack of these tests: authentication off (the faults, not the callers, are
/// under test), otherwise the defaults.
fn options() -> StackOptions {
    StackOptions::default().env("GOVLENS_AUTH", "off")
}

fn scoring(p: &ServiceProcess) -> ScoringServiceClient<tonic::transport::Channel> {
    ScoringServiceClient::new(p.channel()).max_decoding_message_size(64 << 20)
}

fn recommendation(p: &ServiceProcess) -> RecommendationServiceClient<tonic::transport::Channel> {
    RecommendationServiceClient::new(p.channel()).max_decoding_message_size(64 << 20)
}

fn regions_scope() -> spb::ScoringScope {
    spb::ScoringScope {
        model_id: "toe-default".into(),
        unit_kind: spb::UnitKind::Region as i32,
        ..Default::default()
    }
}

fn score_request() -> spb::ScoreUnitsRequest {
    spb::ScoreUnitsRequest {
        scope: Some(regions_scope()),
        overrides: vec![],
    }
}

fn recommend_request() -> rpb::RecommendRequest {
    rpb::RecommendRequest {
        region_code: GUIZHOU.into(),
        scope: None,
    }
}

fn list_platforms_request() -> pb::ListPlatformsRequest {
    pb::ListPlatformsRequest {
        page_size: 50,
        ..Default::default()
    }
}

async fn import_paper(data: &ServiceProcess) -> pb::ImportRecordsResponse {
    let batches: Vec<pb::ImportRecordsRequest> = paper_pb()
        .chunks(50)
        .map(|c| pb::ImportRecordsRequest {
            records: c.to_vec(),
        })
        .collect();
    data_client(data.channel())
        .import_records(tokio_stream::iter(batches))
        .await
        .expect("import the paper's dataset through the data process")
        .into_inner()
}

/// The calls of the loads: Recommend, ScoreUnits and ListPlatforms, each to its own
/// process (Recommend reaches all three, ScoreUnits two).
fn paper_calls(stack: &Stack) -> (Vec<Call>, [&'static str; 3]) {
    let r = recommendation(&stack.recommendation);
    let s = scoring(&stack.scoring);
    let d = data_client(stack.data.channel());
    let calls: Vec<Call> = vec![
        Arc::new(move || {
            let mut c = r.clone();
            Box::pin(async move { c.recommend(recommend_request()).await.map(|_| ()) })
        }),
        Arc::new(move || {
            let mut c = s.clone();
            Box::pin(async move { c.score_units(score_request()).await.map(|_| ()) })
        }),
        Arc::new(move || {
            let mut c = d.clone();
            Box::pin(async move { c.list_platforms(list_platforms_request()).await.map(|_| ()) })
        }),
    ];
    (calls, ["Recommend", "ScoreUnits", "ListPlatforms"])
}

/// Keys in the Redis at `url`.
async fn dbsize(url: &str) -> i64 {
    let client = redis::Client::open(url).expect("redis URL");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to redis");
    redis::cmd("DBSIZE")
        .query_async::<i64>(&mut conn)
        .await
        .expect("DBSIZE")
}

/// Polls `condition` until it holds; `false` if it did not within `within`.
async fn until<F, Fut>(within: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if condition().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn has_keys(url: &str) -> bool {
    dbsize(url).await > 0
}

// Calls that own their client (a client's call borrows it).

async fn get_revision(mut c: Client) -> Result<pb::GetDataRevisionResponse, tonic::Status> {
    c.get_data_revision(pb::GetDataRevisionRequest {})
        .await
        .map(|r| r.into_inner())
}

async fn list_platforms(mut c: Client) -> Result<pb::ListPlatformsResponse, tonic::Status> {
    c.list_platforms(list_platforms_request())
        .await
        .map(|r| r.into_inner())
}

async fn score_units(p: &ServiceProcess) -> Result<spb::ScoreUnitsResponse, tonic::Status> {
    let mut c = scoring(p);
    c.score_units(score_request()).await.map(|r| r.into_inner())
}

async fn recommend<T: tonic::IntoRequest<rpb::RecommendRequest>>(
    p: &ServiceProcess,
    request: T,
) -> Result<rpb::RecommendResponse, tonic::Status> {
    let mut c = recommendation(p);
    c.recommend(request).await.map(|r| r.into_inner())
}

fn failures(outcomes: &[Outcome]) -> Vec<&Outcome> {
    outcomes.iter().filter(|o| o.code != Code::Ok).collect()
}

// ---- 1. Redis killed and restarted under load ----

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_killed_and_restarted_under_load_fails_no_call() {
    let Some(mut redis) = RedisServer::start().await else {
        return;
    };
    let options = StackOptions {
        redis_url: Some(redis.url()),
        ..options()
    }
    // Redis alone: an in-process layer would hide the outage.
    .env("GOVLENS_CACHE_MEMORY_MB", "0");
    let Some(stack) = Stack::start_with(options).await else {
        return;
    };
    import_paper(&stack.data).await;
    let (calls, names) = paper_calls(&stack);
    for (call, name) in calls.iter().zip(names) {
        call()
            .await
            .unwrap_or_else(|e| panic!("a first {name} succeeds: {e:?}"));
    }
    assert!(
        dbsize(&redis.url()).await > 0,
        "the services wrote nothing to their Redis: the test would prove nothing"
    );

    let load = Load::start(calls, 8);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let killed = Instant::now();
    redis.kill().await;
    let before_kill = load.finished();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let during_outage = load.finished() - before_kill;
    redis.restart().await;
    let restarted = Instant::now();
    // Back in use: entries are written again (the restarted Redis starts empty).
    let url = redis.url();
    let cached_again = until(Duration::from_secs(30), || has_keys(&url)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let outcomes = load.stop().await;

    println!(
        "{} calls, {during_outage} finished while Redis was down; slowest {:?}",
        outcomes.len(),
        outcomes.iter().map(|o| o.finished - o.started).max()
    );
    let failed = failures(&outcomes);
    assert!(
        failed.is_empty(),
        "{} of {} calls failed around the Redis outage: {:?}",
        failed.len(),
        outcomes.len(),
        &failed[..failed.len().min(10)]
    );
    for (i, name) in names.iter().enumerate() {
        let while_down = outcomes
            .iter()
            .filter(|o| o.call == i && o.started >= killed && o.finished <= restarted)
            .count();
        assert!(
            while_down > 0,
            "no {name} call ran from start to end while Redis was down ({during_outage} calls finished then): the test proved nothing"
        );
    }
    assert!(
        cached_again,
        "nothing was written to Redis within 30 s of its restart: the services stopped using it"
    );
    let after = outcomes.iter().filter(|o| o.started > restarted).count();
    assert!(after > 0, "no call ran after Redis came back");
}

// ---- 2. PostgreSQL stopped and started again ----

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restart_is_unavailable_then_recovers_without_restarting_services() {
    let Some(mut postgres) = PrivatePostgres::start().await else {
        return;
    };
    let data_db = postgres.create_database("govlens_data").await;
    // The data service on the private server; scoring and recommendation keep their
    // models and rulebooks on the shared one.
    let options = options().role_env(Role::Data, "DATABASE_URL", data_db.url());
    let Some(mut stack) = Stack::start_with(options).await else {
        return;
    };
    import_paper(&stack.data).await;
    let pids = [Role::Data, Role::Scoring, Role::Recommendation].map(|r| stack.process(r).pid());
    let data = data_client(stack.data.channel());
    let platforms = list_platforms(data.clone())
        .await
        .expect("ListPlatforms before the outage")
        .platforms;
    assert!(!platforms.is_empty());
    score_units(&stack.scoring)
        .await
        .expect("ScoreUnits before the outage");

    postgres.stop().await;
    // Calls that need the database, and the data service's health, during the outage.
    let bounded = Duration::from_secs(40);
    let (revision, listed, scored, not_serving) = tokio::join!(
        tokio::time::timeout(bounded, get_revision(data.clone())),
        tokio::time::timeout(bounded, list_platforms(data.clone())),
        tokio::time::timeout(bounded, score_units(&stack.scoring)),
        health_becomes(stack.data.channel(), ServingStatus::NotServing, bounded),
    );
    let revision = revision.expect("GetDataRevision did not answer within 40 s");
    let listed = listed.expect("ListPlatforms did not answer within 40 s");
    let scored = scored.expect("ScoreUnits did not answer within 40 s");
    expect_code(revision, Code::Unavailable);
    expect_code(listed, Code::Unavailable);
    // Scoring reads the data service: its caller sees UNAVAILABLE too.
    expect_code(scored, Code::Unavailable);
    assert!(
        not_serving,
        "the data service's health did not turn NOT_SERVING within 40 s of the database going down"
    );

    postgres.start_again().await;
    // The same processes recover on their own.
    let within = Duration::from_secs(60);
    eventually(within, || get_revision(data.clone()))
        .await
        .expect("GetDataRevision works again within 60 s of the database's restart");
    assert!(
        health_becomes(stack.data.channel(), ServingStatus::Serving, within).await,
        "the data service's health did not return to SERVING within 60 s"
    );
    let listed = eventually(within, || list_platforms(data.clone()))
        .await
        .expect("ListPlatforms works again")
        .platforms;
    assert_eq!(listed, platforms, "the data after the restart");
    eventually(within, || score_units(&stack.scoring))
        .await
        .expect("ScoreUnits works again");
    eventually(within, || {
        recommend(&stack.recommendation, recommend_request())
    })
    .await
    .expect("Recommend works again");
    for (role, pid) in [Role::Data, Role::Scoring, Role::Recommendation]
        .into_iter()
        .zip(pids)
    {
        let process = stack.process(role);
        assert!(
            process.is_running() && process.pid() == pid,
            "{} was restarted or exited; its log:\n{}",
            role.name(),
            process.logs()
        );
    }
}

/// Calls in flight when PostgreSQL stops (fast: the server ends every session) must
/// fail like those sent during the outage, UNAVAILABLE.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopping_under_load_fails_calls_in_flight_with_unavailable() {
    let Some(mut postgres) = PrivatePostgres::start().await else {
        return;
    };
    let data_db = postgres.create_database("govlens_data").await;
    let options = options().role_env(Role::Data, "DATABASE_URL", data_db.url());
    let Some(stack) = Stack::start_with(options).await else {
        return;
    };
    import_paper(&stack.data).await;
    let data = data_client(stack.data.channel());
    // Exports are transactions of many statements: several are in flight at any time.
    let export: Call = {
        let d = data.clone();
        Arc::new(move || {
            let mut c = d.clone();
            Box::pin(async move {
                let mut stream = c
                    .export_records(pb::ExportRecordsRequest { batch_size: 10 })
                    .await?
                    .into_inner();
                while stream.message().await?.is_some() {}
                Ok(())
            })
        })
    };
    let revision: Call = {
        let d = data.clone();
        Arc::new(move || {
            let c = d.clone();
            Box::pin(async move { get_revision(c).await.map(|_| ()) })
        })
    };
    let listing: Call = {
        let d = data.clone();
        Arc::new(move || {
            let c = d.clone();
            Box::pin(async move { list_platforms(c).await.map(|_| ()) })
        })
    };
    let load = Load::start(vec![export.clone(), revision, export, listing], 10);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let stopping = Instant::now();
    postgres.stop().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let outcomes = load.stop().await;
    let in_flight = outcomes
        .iter()
        .filter(|o| o.started < stopping && o.finished > stopping)
        .count();
    let odd: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| !matches!(o.code, Code::Ok | Code::Unavailable))
        .collect();
    assert!(
        odd.is_empty(),
        "{} of {} calls (around the stop; {in_flight} in flight) failed with another code than UNAVAILABLE: {odd:#?}",
        odd.len(),
        outcomes.len()
    );
    assert!(
        in_flight > 0,
        "no call was in flight when the database stopped: the test proved nothing"
    );
}

// ---- 3. the data service down ----

/// A W3C `traceparent` of our own, and its trace id (to find a call's log lines).
fn traceparent() -> (String, String) {
    let trace_id = format!("{:032x}", rand::random::<u128>() | 1);
    let span_id = format!("{:016x}", rand::random::<u64>() | 1);
    (format!("00-{trace_id}-{span_id}-01"), trace_id)
}

/// `message` with a deadline and a trace of its own; returns the request and the trace.
fn traced_request<T>(message: T, deadline: Duration) -> (tonic::Request<T>, String) {
    let (header, trace_id) = traceparent();
    let mut request = tonic::Request::new(message);
    request.set_timeout(deadline);
    request
        .metadata_mut()
        .insert("traceparent", header.parse().unwrap());
    (request, trace_id)
}

/// Retry lines a process logged while serving the call of trace `trace_id`.
fn retries_logged(process: &ServiceProcess, trace_id: &str) -> Vec<serde_json::Value> {
    process
        .logs()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|v| {
            v["message"].as_str() == Some(RETRY_LINE)
                && v["span"]["trace_id"].as_str() == Some(trace_id)
        })
        .collect()
}

/// The deadline the test's callers give their calls, and the margin allowed for the
/// answer's trip (a behaviour check, not a benchmark).
const DEADLINE: Duration = Duration::from_secs(3);
const MARGIN: Duration = Duration::from_millis(1500);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn data_service_down_is_unavailable_within_the_deadline_then_recovers() {
    let options = options().env("GOVLENS_LOG", LOG_WITH_RETRIES);
    let Some(mut stack) = Stack::start_with(options).await else {
        return;
    };
    import_paper(&stack.data).await;
    recommendation(&stack.recommendation)
        .recommend(recommend_request())
        .await
        .expect("Recommend before the outage");

    stack.data.sigterm();
    let exit = stack.data.wait_exit(Duration::from_secs(30)).await;
    assert!(exit.success(), "data: {exit:?}\n{}", stack.data.logs());

    // Recommend needs the data revision; ScoreUnits too.
    let (request, recommend_trace) = traced_request(recommend_request(), DEADLINE);
    let started = Instant::now();
    let recommended = tokio::time::timeout(
        DEADLINE + MARGIN,
        recommendation(&stack.recommendation).recommend(request),
    )
    .await;
    let recommend_took = started.elapsed();
    let (request, score_trace) = traced_request(score_request(), DEADLINE);
    let started = Instant::now();
    let scored = tokio::time::timeout(
        DEADLINE + MARGIN,
        scoring(&stack.scoring).score_units(request),
    )
    .await;
    let score_took = started.elapsed();
    let recommended = recommended.unwrap_or_else(|_| {
        panic!("Recommend did not answer within its {DEADLINE:?} deadline and a {MARGIN:?} margin")
    });
    let scored = scored.unwrap_or_else(|_| {
        panic!("ScoreUnits did not answer within its {DEADLINE:?} deadline and a {MARGIN:?} margin")
    });
    let status = expect_code(recommended, Code::Unavailable);
    assert!(status.message().contains("data"), "{status:?}");
    let status = expect_code(scored, Code::Unavailable);
    assert!(status.message().contains("data"), "{status:?}");
    assert!(recommend_took < DEADLINE + MARGIN && score_took < DEADLINE + MARGIN);

    // Each read of the data service was retried, a bounded number of times.
    for (process, trace) in [
        (&stack.recommendation, &recommend_trace),
        (&stack.scoring, &score_trace),
    ] {
        let retries = retries_logged(process, trace);
        assert_eq!(
            retries.len(),
            RETRIES,
            "{}: retries of the call's data read: {retries:#?}",
            process.role.name()
        );
    }

    for process in [&stack.scoring, &stack.recommendation] {
        assert!(
            health_becomes(
                process.channel(),
                ServingStatus::NotServing,
                Duration::from_secs(20)
            )
            .await,
            "{}: health did not turn NOT_SERVING within 20 s of the data service stopping",
            process.role.name()
        );
    }

    stack.restart(Role::Data).await;
    let within = Duration::from_secs(30);
    for process in [&stack.scoring, &stack.recommendation] {
        assert!(
            health_becomes(process.channel(), ServingStatus::Serving, within).await,
            "{}: health did not return to SERVING within 30 s of the data service's restart",
            process.role.name()
        );
    }
    eventually(within, || {
        let (request, _) = traced_request(recommend_request(), Duration::from_secs(20));
        recommend(&stack.recommendation, request)
    })
    .await
    .expect("Recommend works again once the data service is back");
    eventually(within, || score_units(&stack.scoring))
        .await
        .expect("ScoreUnits works again once the data service is back");
}

// ---- 4. the data service killed during an import ----

/// Observations per batch of the import.
const BATCH: usize = 10_000;
const BATCHES: usize = 3;

/// `YYYY-MM-DD` of the day `n` days after 1950-01-01.
fn day(n: usize) -> String {
    // Days from 1970-01-01 to civil date (H. Hinnant's algorithm).
    let z = n as i64 - 7305 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[test]
fn days_are_dates() {
    assert_eq!(day(0), "1950-01-01");
    assert_eq!(day(31 + 28), "1950-03-01");
    assert_eq!(day(7305), "1970-01-01");
    assert_eq!(day(9_999), "1977-05-18");
}

fn downloads(platform: &str, channel: &str, n: usize) -> pb::Observation {
    fixtures::observation(
        platform,
        channel,
        pb::Metric::Downloads,
        &day(n),
        n as f64,
        "",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_import_keeps_batches_whole_and_acknowledged_writes() {
    let Some(mut stack) = Stack::start_with(options()).await else {
        return;
    };
    let mut data = data_client(stack.data.channel());
    let region = unique_code("cn");
    let channel = unique_code("store");
    let single = unique_code("app-unary");
    let batch_platforms: Vec<String> = (0..BATCHES)
        .map(|b| unique_code(&format!("app-batch{b}")))
        .collect();
    fixtures::create_region(
        &mut data,
        fixtures::region(&region, "China", pb::AdminLevel::Country, ""),
    )
    .await;
    data.create_channel(pb::CreateChannelRequest {
        channel: Some(fixtures::channel(&channel, pb::ChannelKind::AppStore)),
        request_id: String::new(),
    })
    .await
    .expect("create channel");
    for p in batch_platforms.iter().chain([&single]) {
        fixtures::create_platform(&mut data, fixtures::platform(p, &region)).await;
    }

    // Acknowledged unary writes before the import.
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    for n in 0..20 {
        let created =
            fixtures::create_observation(&mut data, downloads(&single, &channel, n)).await;
        acknowledged.lock().unwrap().insert(created.id);
    }

    // The import: one platform per batch, so that a batch is counted by its platform.
    let batches: Vec<pb::ImportRecordsRequest> = batch_platforms
        .iter()
        .map(|p| pb::ImportRecordsRequest {
            records: (0..BATCH)
                .map(|n| pb::Record {
                    origin: format!("batch of {p}, row {n}"),
                    kind: Some(pb::record::Kind::Observation(downloads(p, &channel, n))),
                })
                .collect(),
        })
        .collect();
    let import_started = Instant::now();
    let import = {
        let mut client = data.clone();
        tokio::spawn(async move { client.import_records(tokio_stream::iter(batches)).await })
    };
    // Unary writes go on during the import, until the kill, on a connection of their
    // own (on the import's, the import's unread batches would hold HTTP/2's connection
    // window and stall them).
    let (stop_writing, writing) = tokio::sync::watch::channel(false);
    let writer = {
        let (mut client, acknowledged) = (data_client(stack.data.channel()), acknowledged.clone());
        let (single, channel) = (single.clone(), channel.clone());
        tokio::spawn(async move {
            let mut n = 20;
            while !*writing.borrow() {
                let written = client
                    .create_observation(pb::CreateObservationRequest {
                        observation: Some(downloads(&single, &channel, n)),
                        request_id: String::new(),
                    })
                    .await;
                if let Ok(r) = written {
                    let id = r.into_inner().observation.expect("observation").id;
                    acknowledged.lock().unwrap().insert(id);
                } else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                n += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };

    // Kill the data service as soon as the first batch is committed (seen straight in
    // the database), while the second is being written.
    let sql = sql_connection(stack.db.url()).await;
    let first = batch_platforms[0].clone();
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        let counts = count_by(&sql, "observations", "platform_code").await;
        if counts.get(&first).copied() == Some(BATCH as i64) {
            break;
        }
        assert!(
            !import.is_finished(),
            "the import ended before its first batch was seen committed: {:?}",
            import.await
        );
        assert!(
            Instant::now() < deadline,
            "the first batch was not committed within 150 s: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let committed_before_kill = count_by(&sql, "observations", "platform_code").await;
    let first_committed = import_started.elapsed();
    stack.data.sigkill().await;
    stop_writing.send(true).unwrap();
    writer.await.expect("writer");
    let imported = import.await.expect("import task");
    assert!(
        imported.is_err(),
        "the import finished before the kill: {imported:?} (the test proved nothing)"
    );

    stack.restart(Role::Data).await;
    let counts = count_by(&sql, "observations", "platform_code").await;
    println!(
        "first batch committed after {first_committed:?}; killed with {:?} committed; after the restart {:?}",
        committed_before_kill.values().collect::<Vec<_>>(),
        counts.values().collect::<Vec<_>>()
    );
    let per_batch: Vec<i64> = batch_platforms
        .iter()
        .map(|p| counts.get(p).copied().unwrap_or(0))
        .collect();
    for (b, n) in per_batch.iter().enumerate() {
        assert!(
            *n == 0 || *n == BATCH as i64,
            "batch {b} is partly there after the kill: {n} of {BATCH} observations ({per_batch:?})"
        );
    }
    assert_eq!(
        per_batch[0], BATCH as i64,
        "the batch committed before the kill is gone"
    );
    assert_eq!(
        per_batch[BATCHES - 1],
        0,
        "the last batch is there: the kill came after the import ({per_batch:?}, before the kill: {committed_before_kill:?})"
    );

    // Every acknowledged write is there, read through the restarted service.
    let mut stored = BTreeSet::new();
    let mut page_token = String::new();
    loop {
        let page = data_client(stack.data.channel())
            .list_observations(pb::ListObservationsRequest {
                page_size: 1000,
                page_token: page_token.clone(),
                platform_code: single.clone(),
                ..Default::default()
            })
            .await
            .expect("ListObservations after the restart")
            .into_inner();
        stored.extend(page.observations.iter().map(|o| o.id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let lost: Vec<&i64> = acknowledged.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged writes were lost: {lost:?}",
        lost.len(),
        acknowledged.len()
    );
    assert!(
        acknowledged.len() > 20,
        "no unary write was acknowledged during the import: the test proved less than it says"
    );
    let _ = sql.close().await;
}
