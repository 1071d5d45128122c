//! The three services as separate processes (started by `deploy/run-local.sh`, on
//! PostgreSQL and Redis), as operators run them:
//! - the paper's end-to-end flow over gRPC (import, score, compare, diagnose,
//!   recommend, report) works across the processes;
//! - one Recommend call is one trace spanning recommendation -> scoring -> data, with
//!   database and Redis spans, exported over OTLP; RPC, cache and pool metrics arrive
//!   too, and the JSON logs carry the trace id;
//! - SIGTERM under load: health turns NOT_SERVING, every call already sent succeeds,
//!   a slow stream is drained to its end, and each process exits 0.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use govlens_tests::otlp::OtlpSink;
use govlens_tests::stack::{Role, ServiceProcess, Stack};
use govlens_tests::suite::{rpb, spb, RecommendationServiceClient, ScoringServiceClient};
use govlens_tests::*;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

const SICHUAN: &str = "cn-sc";
const GUIZHOU: &str = "cn-gz";

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

/// A W3C `traceparent` of our own, so the test knows the trace id to look for.
fn traceparent() -> (String, String, String) {
    let trace_id = format!("{:032x}", rand::random::<u128>() | 1);
    let span_id = format!("{:016x}", rand::random::<u64>() | 1);
    (format!("00-{trace_id}-{span_id}-01"), trace_id, span_id)
}

const RECOMMEND_SPAN: &str = "govlens.recommendation.v1.RecommendationService/Recommend";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn paper_flow_is_one_trace_across_three_processes() {
    let Some(mut stack) = Stack::start(&[]).await else {
        return;
    };
    let imported = import_paper(&stack.data).await;
    assert!(imported.revision > 0, "{imported:?}");

    // Recommend first, on cold caches: the call reaches scoring, data, the database
    // and Redis.
    let (header, trace_id, parent_span) = traceparent();
    let mut request = tonic::Request::new(rpb::RecommendRequest {
        region_code: GUIZHOU.into(),
        scope: None,
    });
    request
        .metadata_mut()
        .insert("traceparent", header.parse().unwrap());
    let recommended = recommendation(&stack.recommendation)
        .recommend(request)
        .await
        .expect("Recommend")
        .into_inner();
    assert!(!recommended.recommendations.is_empty(), "{recommended:?}");

    // The rest of the paper's flow, each step through its own process.
    let scored = scoring(&stack.scoring)
        .score_units(spb::ScoreUnitsRequest {
            scope: Some(regions_scope()),
            overrides: vec![],
        })
        .await
        .expect("ScoreUnits")
        .into_inner();
    let units: Vec<String> = scored
        .table
        .expect("score table")
        .units
        .iter()
        .map(|r| r.unit_code.clone())
        .collect();
    assert!(
        units.contains(&SICHUAN.to_string()) && units.contains(&GUIZHOU.to_string()),
        "{units:?}"
    );
    let compared = scoring(&stack.scoring)
        .compare_regions(spb::CompareRegionsRequest {
            scope: Some(regions_scope()),
            region_codes: vec![SICHUAN.into(), GUIZHOU.into()],
        })
        .await
        .expect("CompareRegions")
        .into_inner();
    assert!(!compared.indicators.is_empty(), "{compared:?}");
    // A caller that does not sample its call (flags 00): no process traces it, yet the
    // call keeps the caller's trace id end to end, for the logs.
    let (unsampled_header, unsampled_trace_id, _) = traceparent();
    let unsampled_header = unsampled_header.replace("-01", "-00");
    let mut request = tonic::Request::new(rpb::DiagnoseRequest {
        region_code: SICHUAN.into(),
        scope: None,
    });
    request
        .metadata_mut()
        .insert("traceparent", unsampled_header.parse().unwrap());
    let diagnosed = recommendation(&stack.recommendation)
        .diagnose(request)
        .await
        .expect("Diagnose")
        .into_inner();
    assert_eq!(diagnosed.diagnosis.expect("diagnosis").region_code, SICHUAN);
    let report = recommendation(&stack.recommendation)
        .generate_report(rpb::GenerateReportRequest {
            region_codes: vec![SICHUAN.into(), GUIZHOU.into()],
            scope: None,
            format: rpb::ReportFormat::Html as i32,
        })
        .await
        .expect("GenerateReport")
        .into_inner();
    assert!(report.content.contains("Guizhou") && report.content.contains("Sichuan"));

    // One trace: our span -> recommendation -> scoring -> data.
    let services = [Role::Recommendation, Role::Scoring, Role::Data].map(Role::service_name);
    let complete = stack
        .sink
        .wait_for(Duration::from_secs(30), |sink| {
            let trace = sink.trace(&trace_id);
            let in_trace = sink.services_in_trace(&trace_id);
            // Each process exports its spans in batches as they end, so a parent
            // (which ends after its children) can arrive in a later batch: wait until
            // every span's parent is in, up to our own span.
            let server_span_of =
                |service: &str| trace.iter().any(|s| s.service == service && s.kind == 2);
            let parents_in = trace.iter().all(|s| {
                s.parent_span_id == parent_span
                    || trace.iter().any(|p| p.span_id == s.parent_span_id)
            });
            parents_in
                && services.iter().all(|s| in_trace.contains(s))
                && services.iter().all(|s| server_span_of(s))
                && trace.iter().any(|s| s.name == RECOMMEND_SPAN)
                && trace.iter().any(|s| {
                    s.service == "govlens-data"
                        && s.kind == 3
                        && s.attribute("db.system.name") == Some("postgresql")
                })
                && has_db_span(&trace, "redis")
        })
        .await;
    let trace = stack.sink.trace(&trace_id);
    assert!(
        complete,
        "the Recommend trace lacks a service, a database or a Redis span, or a span's \
         parent: {:#?}",
        trace
            .iter()
            .map(|s| (&s.service, &s.name, &s.span_id, &s.parent_span_id))
            .collect::<Vec<_>>()
    );
    let root = trace
        .iter()
        .find(|s| s.name == RECOMMEND_SPAN)
        .expect("the Recommend server span");
    assert_eq!(
        root.parent_span_id, parent_span,
        "joined to the caller's trace"
    );
    assert_eq!(root.kind, 2, "a server span");
    assert_eq!(root.attribute("rpc.grpc.status_code"), Some("0"));
    // Each scoring span has its parent in the recommendation process, each data span
    // in the scoring or recommendation process: the context crossed the wire.
    let service_of = |span_id: &str| {
        trace
            .iter()
            .find(|s| s.span_id == span_id)
            .map(|s| s.service.clone())
    };
    let scoring_rpc = trace
        .iter()
        .find(|s| s.service == "govlens-scoring" && s.kind == 2)
        .expect("a scoring server span");
    assert_eq!(
        service_of(&scoring_rpc.parent_span_id).as_deref(),
        Some("govlens-recommendation"),
        "{scoring_rpc:?}"
    );
    let data_rpc = trace
        .iter()
        .find(|s| s.service == "govlens-data" && s.kind == 2)
        .expect("a data server span");
    assert!(
        matches!(
            service_of(&data_rpc.parent_span_id).as_deref(),
            Some("govlens-scoring" | "govlens-recommendation")
        ),
        "{data_rpc:?}"
    );
    // The data service's statements are children of its own server spans.
    let statement = trace
        .iter()
        .find(|s| {
            s.service == "govlens-data" && s.attribute("db.system.name") == Some("postgresql")
        })
        .expect("a PostgreSQL statement of the data service in the trace");
    assert_eq!(
        service_of(&statement.parent_span_id).as_deref(),
        Some("govlens-data")
    );
    assert!(statement
        .attribute("db.query.text")
        .is_some_and(|q| !q.is_empty()));

    // Metrics: latency by method and code, cache lookups, pool use, from each process.
    let metrics_arrived = stack
        .sink
        .wait_for(Duration::from_secs(30), |sink| {
            let points = sink.points();
            let rpc = |service: &str, method: &str| {
                points.iter().any(|p| {
                    p.service == service
                        && p.metric == "rpc.server.call.duration"
                        && p.attribute("rpc.method") == Some(method)
                        && p.attribute("rpc.grpc.status_code") == Some("0")
                        && p.value >= 1.0
                })
            };
            let any = |service: &str, metric: &str| {
                points
                    .iter()
                    .any(|p| p.service == service && p.metric == metric)
            };
            rpc("govlens-recommendation", "Recommend")
                && rpc("govlens-scoring", "CompareRegions")
                && rpc("govlens-data", "ImportRecords")
                && services.iter().all(|s| {
                    any(s, "govlens.cache.requests") && any(s, "db.client.connection.count")
                })
        })
        .await;
    assert!(
        metrics_arrived,
        "missing metrics; received: {:#?}",
        metric_summary(&stack.sink)
    );

    // JSON logs: the data process logged its part of the Recommend call with the id.
    let logged = stack.data.logs().lines().any(|line| {
        serde_json::from_str::<serde_json::Value>(line)
            .is_ok_and(|v| v["span"]["trace_id"].as_str() == Some(trace_id.as_str()))
    });
    assert!(
        logged,
        "no JSON log line of the data process carries trace {trace_id}"
    );

    // The unsampled Diagnose: no spans anywhere (they would have been exported long
    // before the traced call's), and the access lines of recommendation and of the
    // data process it called carry the caller's trace id: the trace context, marked
    // not sampled, crossed the wire without a span.
    assert!(
        stack.sink.trace(&unsampled_trace_id).is_empty(),
        "spans of a call its caller did not sample: {:#?}",
        stack.sink.trace(&unsampled_trace_id)
    );
    for (role, logs) in [
        (Role::Recommendation, stack.recommendation.logs()),
        (Role::Data, stack.data.logs()),
    ] {
        let access_lines = logs
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|v| {
                v["target"] == "govlens::access"
                    && v["trace_id"].as_str() == Some(unsampled_trace_id.as_str())
            })
            .count();
        assert!(
            access_lines > 0,
            "{}: no access line carries the unsampled call's trace {unsampled_trace_id}",
            role.name()
        );
    }

    for role in [Role::Recommendation, Role::Scoring, Role::Data] {
        let process = stack.process(role);
        process.sigterm();
        let status = process.wait_exit(Duration::from_secs(30)).await;
        assert!(status.success(), "{}: {status:?}", role.name());
    }
}

fn has_db_span(trace: &[govlens_tests::otlp::ReceivedSpan], system: &str) -> bool {
    trace
        .iter()
        .any(|s| s.kind == 3 && s.attribute("db.system.name") == Some(system))
}

/// "service metric {attributes}" for each distinct point received.
fn metric_summary(sink: &OtlpSink) -> Vec<String> {
    let mut seen: Vec<String> = sink
        .points()
        .into_iter()
        .map(|p| format!("{} {} {:?}", p.service, p.metric, p.attributes))
        .collect();
    seen.sort();
    seen.dedup();
    seen
}

// ---- SIGTERM under load ----

/// One call of the load.
#[derive(Debug, Clone)]
struct Outcome {
    started: Instant,
    finished: Instant,
    code: Code,
    message: String,
}

type Call = Arc<dyn Fn() -> BoxFuture<'static, Result<(), tonic::Status>> + Send + Sync>;

/// `workers` loops calling `call` until `stop`, recording every outcome.
fn start_load(
    call: Call,
    workers: usize,
    stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<Vec<Outcome>> {
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (call, stop, outcomes) = (call.clone(), stop.clone(), outcomes.clone());
            tokio::spawn(async move {
                while !*stop.borrow() {
                    let started = Instant::now();
                    let (code, message) = match call().await {
                        Ok(()) => (Code::Ok, String::new()),
                        Err(status) => (status.code(), status.message().to_string()),
                    };
                    outcomes.lock().unwrap().push(Outcome {
                        started,
                        finished: Instant::now(),
                        code,
                        message,
                    });
                    if code != Code::Ok {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            })
        })
        .collect();
    tokio::spawn(async move {
        for t in tasks {
            t.await.expect("load worker");
        }
        let outcomes = outcomes.lock().unwrap().clone();
        outcomes
    })
}

fn load_for(role: Role, process: &ServiceProcess) -> Call {
    match role {
        Role::Recommendation => {
            let client = recommendation(process);
            Arc::new(move || {
                let mut c = client.clone();
                Box::pin(async move {
                    c.recommend(rpb::RecommendRequest {
                        region_code: GUIZHOU.into(),
                        scope: None,
                    })
                    .await
                    .map(|_| ())
                })
            })
        }
        Role::Scoring => {
            let client = scoring(process);
            Arc::new(move || {
                let mut c = client.clone();
                Box::pin(async move {
                    c.score_units(spb::ScoreUnitsRequest {
                        scope: Some(regions_scope()),
                        overrides: vec![],
                    })
                    .await
                    .map(|_| ())
                })
            })
        }
        Role::Data => {
            let client = data_client(process.channel());
            Arc::new(move || {
                let mut c = client.clone();
                Box::pin(async move {
                    c.list_platforms(pb::ListPlatformsRequest {
                        page_size: 50,
                        ..Default::default()
                    })
                    .await
                    .map(|_| ())
                })
            })
        }
    }
}

/// Reads the whole export one record per message, slowly enough to take `at_least`:
/// a stream still running when the listener closes. Returns the records read and when
/// the stream ended.
async fn slow_export(
    channel: tonic::transport::Channel,
    at_least: Duration,
    total: usize,
) -> (usize, Instant) {
    let pause = at_least / total.max(1) as u32;
    let mut stream = data_client(channel)
        .export_records(pb::ExportRecordsRequest { batch_size: 1 })
        .await
        .expect("ExportRecords starts")
        .into_inner();
    let mut read = 0;
    while let Some(message) = stream.message().await.expect("the export stream completes") {
        read += message.records.len();
        tokio::time::sleep(pause).await;
    }
    (read, Instant::now())
}

/// Polls health on a fresh connection until it reports NOT_SERVING; `false` if it
/// never did within `within`.
async fn turns_not_serving(process: &ServiceProcess, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut health = HealthClient::new(process.channel());
    while Instant::now() < deadline {
        if let Ok(r) = health
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
        {
            if r.into_inner().status == ServingStatus::NotServing as i32 {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// A call the server never processed because it arrived on a connection already
/// going away: HTTP/2 refuses streams above the GOAWAY's last stream id with NO_ERROR,
/// which tonic reports as INTERNAL "h2 protocol error". gRPC clients may retry such a
/// call transparently.
fn refused_by_goaway(o: &Outcome) -> bool {
    o.code == Code::Internal && o.message.starts_with("h2 protocol error")
}

/// Grace period the processes keep accepting calls after SIGTERM, while NOT_SERVING.
const GRACE: Duration = Duration::from_millis(1500);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_fails_no_call_already_sent() {
    let grace_ms = GRACE.as_millis().to_string();
    let Some(mut stack) = Stack::start(&[
        ("GOVLENS_SHUTDOWN_GRACE_MS", grace_ms.as_str()),
        ("GOVLENS_DRAIN_TIMEOUT_MS", "20000"),
    ])
    .await
    else {
        return;
    };
    import_paper(&stack.data).await;
    let total_records = paper_pb().len();

    // Callers first, so each service drains while its upstreams still answer.
    for role in [Role::Recommendation, Role::Scoring, Role::Data] {
        let process = stack.process(role);
        let call = load_for(role, process);
        // Warm: the load measures the stop, not a cold first computation.
        call().await.expect("a first call succeeds");
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let load = start_load(call, 8, stopped);
        // The data service also serves a slow stream that outlives the grace period.
        let export = (role == Role::Data).then(|| {
            let channel = process.channel();
            tokio::spawn(slow_export(channel, GRACE * 3, total_records))
        });
        tokio::time::sleep(Duration::from_millis(800)).await;

        let signalled = Instant::now();
        process.sigterm();
        let announced = turns_not_serving(process, GRACE).await;
        let status = process.wait_exit(Duration::from_secs(40)).await;
        stop.send(true).unwrap();
        let outcomes = load.await.expect("load");

        assert!(
            status.success(),
            "{}: exit {status:?}\n{}",
            role.name(),
            process.logs()
        );
        assert!(
            announced,
            "{}: health did not turn NOT_SERVING during the grace period",
            role.name()
        );
        let before: Vec<&Outcome> = outcomes.iter().filter(|o| o.started < signalled).collect();
        let in_flight = before.iter().filter(|o| o.finished > signalled).count();
        let failed: Vec<&&Outcome> = before.iter().filter(|o| o.code != Code::Ok).collect();
        assert!(
            failed.is_empty(),
            "{}: {} of {} calls sent before SIGTERM failed ({in_flight} were in flight): {failed:?}",
            role.name(),
            failed.len(),
            before.len()
        );
        assert!(
            in_flight > 0,
            "{}: no call was in flight when SIGTERM arrived; the test proved nothing",
            role.name()
        );
        // During the grace period new calls are still served (a margin allows for the
        // request's trip). After the listener closes a new call may be refused, never
        // processed (UNAVAILABLE, or CANCELLED when the connection was going away): a
        // load balancer would have sent it elsewhere. Nothing else.
        let open_until = signalled + GRACE - Duration::from_millis(300);
        let failed_in_grace: Vec<&Outcome> = outcomes
            .iter()
            .filter(|o| o.started < open_until && o.code != Code::Ok)
            .collect();
        assert!(
            failed_in_grace.is_empty(),
            "{}: calls sent during the grace period failed: {failed_in_grace:?}",
            role.name()
        );
        let odd: Vec<&Outcome> = outcomes
            .iter()
            .filter(|o| !matches!(o.code, Code::Ok | Code::Unavailable | Code::Cancelled))
            .filter(|o| !refused_by_goaway(o))
            .collect();
        assert!(odd.is_empty(), "{}: unexpected codes {odd:?}", role.name());
        if let Some(export) = export {
            let (read, ended) = export.await.expect("slow export");
            assert_eq!(read, total_records, "the drained stream was cut short");
            assert!(
                ended > signalled + GRACE,
                "the slow stream ended before the listener closed: nothing was drained"
            );
        }
    }
    drop(stack);
}

// ---- authentication across the processes ----

const SERVICE_TOKEN: &str = "stack-service-token-0123456789abcdef0123456789";

/// A request carrying `token`.
fn with_token<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(t) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn services_authenticate_users_and_each_other() {
    let Some(stack) = Stack::start(&[
        ("GOVLENS_AUTH", "required"),
        ("GOVLENS_SERVICE_TOKEN", SERVICE_TOKEN),
        ("GOVLENS_RATE_LIMIT_RPS", "5"),
        ("GOVLENS_RATE_LIMIT_BURST", "5"),
    ])
    .await
    else {
        return;
    };
    use govlens_kit::auth::Role as R;
    let store = govlens_data::store::Store::connect(stack.db.url())
        .await
        .unwrap();
    let issue = |subject: &'static str, role: R, scope: Option<&'static str>| {
        let store = store.clone();
        async move {
            govlens_data::tokens::issue(&store, subject, role, scope)
                .await
                .unwrap()
                .0
        }
    };
    let admin = issue("root", R::Admin, None).await;
    let batches = vec![pb::ImportRecordsRequest {
        records: paper_pb(),
    }];
    data_client(stack.data.channel())
        .import_records(with_token(tokio_stream::iter(batches), Some(&admin)))
        .await
        .expect("admin imports the paper");
    let reader = issue("analyst", R::Reader, None).await;
    let gz_editor = issue("gz", R::Editor, Some(GUIZHOU)).await;

    // No token: refused at every service; health stays open.
    let status = recommendation(&stack.recommendation)
        .recommend(rpb::RecommendRequest {
            region_code: GUIZHOU.into(),
            scope: None,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let status = scoring(&stack.scoring)
        .score_units(with_token(
            spb::ScoreUnitsRequest {
                scope: Some(regions_scope()),
                overrides: vec![],
            },
            Some("glt_0000000000000000_not-a-token"),
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");

    // A reader's Recommend: the recommendation service checks the token with the data
    // service and calls scoring and data as itself.
    let recommended = recommendation(&stack.recommendation)
        .recommend(with_token(
            rpb::RecommendRequest {
                region_code: GUIZHOU.into(),
                scope: None,
            },
            Some(&reader),
        ))
        .await
        .expect("a reader may recommend")
        .into_inner();
    assert!(!recommended.recommendations.is_empty());

    // Models are shared by every region: a Guizhou editor may not add one.
    let status = scoring(&stack.scoring)
        .create_model(with_token(
            spb::CreateModelRequest {
                model_id: "gz-own".into(),
                ..Default::default()
            },
            Some(&gz_editor),
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");

    // Per-caller rate limit: a burst of 5, then RESOURCE_EXHAUSTED; others unaffected.
    let mut codes = Vec::new();
    for _ in 0..15 {
        let result = data_client(stack.data.channel())
            .get_data_revision(with_token(pb::GetDataRevisionRequest {}, Some(&reader)))
            .await;
        codes.push(result.err().map(|s| s.code()).unwrap_or(Code::Ok));
    }
    assert!(
        codes.contains(&Code::ResourceExhausted),
        "15 calls at once within a limit of 5/s: {codes:?}"
    );
    assert!(codes
        .iter()
        .all(|c| matches!(c, Code::Ok | Code::ResourceExhausted)));
    data_client(stack.data.channel())
        .get_data_revision(with_token(pb::GetDataRevisionRequest {}, Some(&admin)))
        .await
        .expect("another caller is not limited");
}
