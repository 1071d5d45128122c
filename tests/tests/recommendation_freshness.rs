//! Diagnoses are cached by data revision: at one revision repeated calls give identical
//! answers; after a write to the data service that changes a fact the diagnosis follows
//! (with the in-process cache and with Redis). Without the scoring service the
//! recommendation service answers UNAVAILABLE (never INTERNAL) within its upstream
//! deadline, reports NOT_SERVING, and recovers when the scoring service is back.

use std::time::{Duration, Instant};

use govlens_tests::suite::*;
use govlens_tests::*;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

on_both_backends!(
    diagnosis_follows_data_writes_with_the_in_process_cache,
    diagnosis_follows_data_writes_with_redis,
    unavailable_within_the_deadline_without_the_scoring_service,
    diagnoses_use_a_new_model_version_once_it_is_acknowledged,
);

/// The evidence on `fact` of dilemma `code`.
#[track_caller]
fn evidence<'a>(d: &'a rpb::Diagnosis, code: &str, fact: &str) -> &'a rpb::Evidence {
    dilemma(d, code)
        .evidence
        .iter()
        .find(|e| e.fact == fact)
        .unwrap_or_else(|| panic!("{} {code}: no evidence on {fact}", d.region_code))
}

/// Makes `platform` offer `function` through the data service; returns the revision.
async fn offer(suite: &RecommendationSuite, platform: &str, function: &str) -> i64 {
    suite
        .data()
        .create_platform_function(pb::CreatePlatformFunctionRequest {
            platform_function: Some(pb::PlatformFunction {
                platform_code: platform.into(),
                function_code: function.into(),
                ..Default::default()
            }),
            request_id: unique_code("offer"),
        })
        .await
        .unwrap_or_else(|s| panic!("CreatePlatformFunction {platform} {function}: {s:?}"))
        .into_inner()
        .revision
}

/// Two calls at one revision agree; each write that changes a fact moves the diagnosis
/// to the new revision and the new fact.
async fn diagnosis_follows_data_writes(suite: &RecommendationSuite) {
    let import = suite.import_paper().await;
    let mut rec = suite.recommendation();

    let sc = diagnose(&mut rec, "cn-sc", None).await.unwrap();
    assert_eq!(sc.data_revision, import.revision);
    let again = diagnose(&mut rec, "cn-sc", None).await.unwrap();
    assert_eq!(again, sc, "two Diagnose calls at one revision differ");
    let gz = diagnose(&mut rec, "cn-gz", None).await.unwrap();
    let recommended = recommend(&mut rec, "cn-gz", None).await.unwrap();
    assert_eq!(
        recommend(&mut rec, "cn-gz", None).await.unwrap(),
        recommended,
        "two Recommend calls at one revision differ"
    );

    // Sichuan offers social security only (section 2.3); one of its apps now offers
    // medical care too: one basic public service fewer is missing.
    let missing = evidence(&sc, "3.1.2", "region.basic_services_missing");
    assert!(missing.source.contains("Medical care"), "{missing:?}");
    let before = missing.value.unwrap();
    let revision = offer(suite, "tianfu-tongban", "medical-care").await;
    assert!(revision > import.revision);
    let sc2 = diagnose(&mut rec, "cn-sc", None).await.unwrap();
    assert_eq!(
        sc2.data_revision, revision,
        "a diagnosis of the old revision"
    );
    let missing = evidence(&sc2, "3.1.2", "region.basic_services_missing");
    assert_eq!(missing.value, Some(before - 1.0), "{missing:?}");
    assert!(!missing.source.contains("Medical care"), "{missing:?}");
    let coverage = |d: &rpb::Diagnosis| {
        evidence(d, "3.1.2", "indicator.toe.t.basic_service_coverage")
            .value
            .unwrap()
    };
    assert!(
        coverage(&sc2) > coverage(&sc),
        "the scoring service's basic service coverage did not follow"
    );
    assert_eq!(diagnose(&mut rec, "cn-sc", None).await.unwrap(), sc2);

    // Guizhou offered no basic public service at all (3.1.2 high). Duocaibao now offers
    // social security: still lacking, no longer entirely (medium).
    assert_eq!(dilemma(&gz, "3.1.2").severity, rpb::Severity::High as i32);
    let revision = offer(suite, "duocaibao", "social-security").await;
    let gz2 = diagnose(&mut rec, "cn-gz", None).await.unwrap();
    assert_eq!(gz2.data_revision, revision);
    let f = dilemma(&gz2, "3.1.2");
    assert_eq!(status_of(f), rpb::DilemmaStatus::Present);
    assert_eq!(f.severity, rpb::Severity::Medium as i32, "{f:?}");
    assert!(!evidence(&gz2, "3.1.2", "indicator.toe.t.basic_service_coverage").fired);
    // Recommend follows as well: 4.1.2's what-if starts from the new coverage.
    let recommended2 = recommend(&mut rec, "cn-gz", None).await.unwrap();
    assert_eq!(recommended2.diagnosis.as_ref(), Some(&gz2));
    let target = |r: &rpb::RecommendResponse| {
        r.recommendations
            .iter()
            .find(|x| x.code == "4.1.2")
            .and_then(|x| x.what_if.as_ref())
            .and_then(|w| {
                w.targets
                    .iter()
                    .find(|t| t.indicator_code == "toe.t.basic_service_coverage")
            })
            .and_then(|t| t.current)
    };
    assert_eq!(target(&recommended), Some(0.0));
    assert!(target(&recommended2).unwrap() > 0.0, "{recommended2:?}");
}

async fn diagnosis_follows_data_writes_with_the_in_process_cache(db: TestDb) {
    let suite = RecommendationSuite::start(&db).await;
    diagnosis_follows_data_writes(&suite).await;
    suite.stop().await;
}

async fn diagnosis_follows_data_writes_with_redis(db: TestDb) {
    let Some(redis_url) = shared_redis_url() else {
        return;
    };
    let options = RecommendationOptions {
        suite: SuiteOptions {
            redis_url: Some(redis_url.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    let suite = RecommendationSuite::start_with(&db, options).await;
    diagnosis_follows_data_writes(&suite).await;
    // The answers went through Redis, keyed by this database's instance and revision.
    let (instance, revision) = suite.base.data.versioned_state().await;
    let client = redis::Client::open(redis_url.as_str()).expect("redis URL");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to redis");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!(
            "govlens:recommendation:Diagnose:*:{instance}:r{revision}:*"
        ))
        .query_async(&mut conn)
        .await
        .expect("KEYS");
    assert!(
        !keys.is_empty(),
        "no Diagnose result of revision {revision} in Redis"
    );
    suite.stop().await;
}

/// The health status the recommendation service reports for itself.
async fn health(channel: tonic::transport::Channel) -> Option<i32> {
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: RECOMMENDATION_SERVICE.into(),
        })
        .await
        .ok()
        .map(|r| r.into_inner().status)
}

async fn wait_health(channel: tonic::transport::Channel, want: ServingStatus) {
    let wait = async {
        while health(channel.clone()).await != Some(want as i32) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .unwrap_or_else(|_| panic!("the recommendation service did not report {want:?}"));
}

/// A Diagnose with a generous deadline of the caller's own, and how long it took.
async fn timed_diagnose(
    rec: &mut RecommendationClient,
) -> (
    Result<tonic::Response<rpb::DiagnoseResponse>, tonic::Status>,
    Duration,
) {
    let mut request = tonic::Request::new(rpb::DiagnoseRequest {
        region_code: "cn-gz".into(),
        scope: None,
    });
    request.set_timeout(Duration::from_secs(30));
    let start = Instant::now();
    let result = rec.diagnose(request).await;
    (result, start.elapsed())
}

async fn unavailable_within_the_deadline_without_the_scoring_service(db: TestDb) {
    const DEADLINE: Duration = Duration::from_secs(2);
    let options = RecommendationOptions {
        upstream_timeout: DEADLINE,
        ..Default::default()
    };
    let suite = RecommendationSuite::start_with(&db, options).await;
    suite.import_paper().await;
    let mut rec = suite.recommendation();
    // Diagnosed (and cached) while everything is up.
    let up = diagnose(&mut rec, "cn-gz", None).await.unwrap();

    let RecommendationSuite {
        base: Suite {
            data,
            scoring,
            models_dir,
        },
        recommendation,
        rulebooks_dir,
        config: _,
        scoring_config,
    } = suite;
    let scoring_addr = scoring.addr;
    scoring.stop().await;

    // Refused connections: UNAVAILABLE at once, naming the scoring service, for every
    // RPC that needs it, even with a cached answer for this revision.
    let (result, took) = timed_diagnose(&mut rec).await;
    let status = expect_code(result, Code::Unavailable);
    assert!(status.message().contains("scoring"), "{status:?}");
    assert!(took < DEADLINE + Duration::from_secs(2), "took {took:?}");
    expect_code(recommend(&mut rec, "cn-gz", None).await, Code::Unavailable);
    expect_code(
        generate_report(&mut rec, &["cn-gz"], rpb::ReportFormat::Html).await,
        Code::Unavailable,
    );
    // Rulebooks are the service's own: still readable.
    rec.get_rulebook(rpb::GetRulebookRequest {
        rulebook_id: "default".into(),
        version: 0,
    })
    .await
    .expect("GetRulebook without the scoring service");
    // Health follows the scoring service.
    wait_health(recommendation.channel.clone(), ServingStatus::NotServing).await;

    // A scoring service that accepts connections and never answers: UNAVAILABLE once
    // the upstream deadline has passed, not later (and not INTERNAL).
    let black_hole = tokio::net::TcpListener::bind(scoring_addr)
        .await
        .unwrap_or_else(|e| panic!("cannot bind the scoring service's port again: {e}"));
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = black_hole.accept().await {
            held.push(stream);
        }
    });
    let (result, took) = timed_diagnose(&mut rec).await;
    let status = expect_code(result, Code::Unavailable);
    assert!(status.message().contains("scoring"), "{status:?}");
    assert!(
        took >= DEADLINE - Duration::from_millis(200),
        "answered before the deadline while the scoring service hangs: {took:?} ({status:?})"
    );
    assert!(
        took < DEADLINE + Duration::from_secs(2),
        "the upstream deadline of {DEADLINE:?} was not kept: {took:?}"
    );
    holder.abort();
    let _ = holder.await;

    // The scoring service back on its port: SERVING again, and the same answer.
    let listener = tokio::net::TcpListener::bind(scoring_addr)
        .await
        .expect("bind the scoring service's port");
    let scoring = ScoringServer::start_on(scoring_config, listener).await;
    wait_health(recommendation.channel.clone(), ServingStatus::Serving).await;
    let back = diagnose(&mut rec, "cn-gz", None).await.unwrap();
    assert_eq!(back, up, "the diagnosis after the outage differs");

    recommendation.stop().await;
    scoring.stop().await;
    data.stop().await;
    drop((models_dir, rulebooks_dir));
}

/// The recommendation service keeps which model version is the latest while the
/// scoring service leases its model revision: a diagnosis made after CreateModel
/// answered uses the new version, every time.
async fn diagnoses_use_a_new_model_version_once_it_is_acknowledged(db: TestDb) {
    let suite = RecommendationSuite::start(&db).await;
    suite.import_paper().await;
    let mut rec = suite.recommendation();
    let mut scoring = suite.scoring();
    let toe = get_model(&mut scoring, "toe-default", 0).await.unwrap();
    let first = diagnose(&mut rec, "cn-sc", None).await.unwrap();
    assert_eq!(first.model_version, toe.version);
    for i in 0..5 {
        let created = create_toml_model(
            &mut scoring,
            "toe-default",
            &format!("{}\n# {i}\n", toe.source),
        )
        .await
        .expect("CreateModel")
        .model
        .expect("model");
        assert!(created.version > toe.version);
        for _ in 0..2 {
            let d = diagnose(&mut rec, "cn-sc", None).await.unwrap();
            assert_eq!(
                d.model_version, created.version,
                "a diagnosis after version {} was acknowledged",
                created.version
            );
        }
    }
    suite.stop().await;
}
