//! A table-driven battery of malformed requests for every RPC of the data, scoring and
//! recommendation services. Each row names the RPC, what is wrong with the request and
//! the exact outcome expected: a gRPC code (INVALID_ARGUMENT with the field its
//! BadRequest names), or success where the input is legal (a clamped page size, an
//! injection string stored verbatim and read back equal). Every row checks that:
//!
//! - the code (and field) is exactly the expected one: never INTERNAL, never a panic;
//! - no internal detail leaks (`assert_no_internals`: no SQL text);
//! - a refused request changes nothing: the data revision is the same after it, and on
//!   the scoring and recommendation services the model and rulebook lists too.
//!
//! `tests/tests/bad_input.rs` checks single fields of single resources in depth; this
//! battery covers the breadth: every RPC, every enum and float field, huge strings and
//! batches, wire-level garbage, deep and cyclic region hierarchies, and adversarial
//! model and rulebook documents.
//!
//! The tables are written as `rows! { ... }` (braces: rustfmt leaves them one row a line).

use std::future::Future;
use std::pin::Pin;

use govlens_dataset::validate::MAX_REGION_DEPTH;
use govlens_rules::DEFAULT_RULEBOOK_TOML;
use govlens_tests::fixtures::*;
use govlens_tests::suite::*;
use govlens_tests::*;
use pb::record::Kind;
use tonic::{Code, Status};

on_both_backends!(
    lookups_by_malformed_keys,
    lists_with_malformed_paging_and_filters,
    creates_with_malformed_values,
    updates_with_malformed_values,
    injection_strings_are_stored_verbatim,
    region_hierarchies_too_deep_or_cyclic,
    bulk_rpcs_with_malformed_batches,
    wire_level_garbage,
    scoring_battery,
    recommendation_battery,
);

// ---- the table ----

type Outcome = Result<(), Status>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type Call = BoxFuture<Outcome>;

/// What a row expects.
#[derive(Debug, Clone)]
enum Expect {
    /// INVALID_ARGUMENT whose BadRequest names exactly this field (among others).
    Invalid(String),
    /// INVALID_ARGUMENT naming one of these fields (which one depends on the order the
    /// service meets the records in, e.g. the members of a cycle).
    InvalidOneOf(Vec<String>),
    /// This code, with the service's ErrorInfo.
    Code(Code),
    /// This code as gRPC itself (tonic) answers it, before any handler: no ErrorInfo.
    Grpc(Code),
    /// Accepted without writing anything (reads, clamped sizes, empty filters).
    Ok,
    /// Accepted and stored: the call reads the record back and compares it.
    Stored,
}

fn invalid(field: impl Into<String>) -> Expect {
    Expect::Invalid(field.into())
}

const NOT_FOUND: Expect = Expect::Code(Code::NotFound);
const NO_SCORES: Expect = Expect::Code(Code::FailedPrecondition);

struct Row {
    rpc: &'static str,
    what: String,
    expect: Expect,
    call: Call,
}

#[derive(Default)]
struct Table {
    rows: Vec<Row>,
}

impl Table {
    fn add(&mut self, rpc: &'static str, what: impl Into<String>, expect: Expect, call: Call) {
        self.rows.push(Row {
            rpc,
            what: what.into(),
            expect,
            call,
        });
    }
}

/// A call of `method` on a clone of `client` (calls run lazily, one row at a time).
macro_rules! call {
    ($client:expr, $method:ident, $request:expr) => {{
        let mut client = $client.clone();
        let request = $request;
        Box::pin(async move { client.$method(request).await.map(drop) }) as Call
    }};
}

/// Rows of one RPC: `(what, expect, request)`.
macro_rules! rows {
    ($t:expr, $client:expr, $rpc:literal, $method:ident, [$(($what:expr, $expect:expr, $request:expr)),+ $(,)?]) => {
        $( $t.add($rpc, $what, $expect, call!($client, $method, $request)); )+
    };
}

/// Rows of any calls: `(rpc, what, expect, call)`.
macro_rules! calls {
    ($t:expr, [$(($rpc:expr, $what:expr, $expect:expr, $call:expr)),+ $(,)?]) => {
        $( $t.add($rpc, $what, $expect, $call); )+
    };
}

/// A failed check inside a call (e.g. a record read back differently).
fn mismatch(what: impl std::fmt::Display) -> Status {
    Status::unknown(format!("CHECK FAILED: {what}"))
}

fn same<T: PartialEq + std::fmt::Debug>(what: &str, expected: &T, got: &T) -> Outcome {
    if expected == got {
        Ok(())
    } else {
        Err(mismatch(format!(
            "{what} read back differs:\n  sent {expected:?}\n  read {got:?}"
        )))
    }
}

fn short(text: &str) -> String {
    let mut out: String = text.chars().take(300).collect();
    if out.len() < text.len() {
        out.push_str("...");
    }
    out
}

fn describe(status: &Status) -> String {
    let fields: Vec<String> = violation_fields(status).iter().map(|f| short(f)).collect();
    format!(
        "{:?} {:?} {}",
        status.code(),
        short(status.message()),
        short(&format!("{fields:?}"))
    )
}

/// Runs a check that panics on failure, as a result.
fn caught(check: impl FnOnce()) -> Result<(), String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(check)).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .map(|s| short(&s))
            .unwrap_or_else(|| "check failed".into())
    })
}

/// Whether the outcome is the expected one; `Ok(true)` when the row must have left the
/// stored data alone (every refusal, and accepted reads).
fn verdict(expect: &Expect, outcome: Outcome) -> Result<bool, String> {
    let status = match (expect, outcome) {
        (Expect::Ok, Ok(())) => return Ok(true),
        (Expect::Stored, Ok(())) => return Ok(false),
        (Expect::Ok | Expect::Stored, Err(s)) => {
            return Err(format!("expected success, got {}", describe(&s)))
        }
        (_, Ok(())) => return Err(format!("expected {expect:?}, got success")),
        (_, Err(s)) => s,
    };
    let shown = describe(&status);
    match expect {
        Expect::Invalid(field) => caught(|| {
            expect_invalid::<()>(Err(status), field);
        }),
        Expect::InvalidOneOf(fields) => caught(|| {
            let status = expect_code::<()>(Err(status), Code::InvalidArgument);
            let got = violation_fields(&status);
            assert!(
                fields.iter().any(|f| got.contains(f)),
                "expected a violation on one of {fields:?}, got {got:?}"
            );
        }),
        Expect::Code(code) => caught(|| {
            expect_code::<()>(Err(status), *code);
        }),
        Expect::Grpc(code) => caught(|| {
            assert_eq!(status.code(), *code, "unexpected status: {status:?}");
            assert_no_internals(&status);
        }),
        Expect::Ok | Expect::Stored => unreachable!(),
    }
    .map(|()| true)
    .map_err(|e| format!("{e}\n      got {shown}"))
}

/// Runs every row in order. `state` reads what no refused request may change; it is read
/// before the first row and after each one.
async fn run<S, F>(name: &str, table: Table, state: F)
where
    S: PartialEq + std::fmt::Debug,
    F: Fn() -> BoxFuture<S>,
{
    let total = table.rows.len();
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    let mut before = state().await;
    for row in table.rows {
        let outcome = row.call.await;
        let verdict = verdict(&row.expect, outcome);
        let after = state().await;
        match verdict {
            Err(problem) => failures.push(format!("{} / {}: {problem}", row.rpc, row.what)),
            Ok(true) if after != before => failures.push(format!(
                "{} / {}: changed stored data: {} -> {}",
                row.rpc,
                row.what,
                short(&format!("{before:?}")),
                short(&format!("{after:?}"))
            )),
            Ok(_) => {}
        }
        before = after;
    }
    println!("{name}: {total} rows in {:?}", started.elapsed());
    assert!(
        failures.is_empty(),
        "{} of {total} rows of {name} failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

/// The data revision, read through the API.
async fn revision_of(mut c: Client) -> i64 {
    c.get_data_revision(pb::GetDataRevisionRequest {})
        .await
        .expect("GetDataRevision")
        .into_inner()
        .revision
}

fn data_revision(c: &Client) -> impl Fn() -> BoxFuture<i64> {
    let c = c.clone();
    move || Box::pin(revision_of(c.clone()))
}

// ---- inputs ----

const SQL: &str = "'; DROP TABLE regions; --";
const MB: usize = 1 << 20;

/// Strings that break naive SQL, HTML, shells, paths and format functions.
const INJECTIONS: &[(&str, &str)] = &[
    ("SQL", "'; DROP TABLE regions; --"),
    ("SQL tautology", "' OR '1'='1' /*"),
    ("LIKE wildcards", "100% _match_ %"),
    ("backslashes", "C:\\temp\\'x\\"),
    ("quotes", "\"double\" 'single' `back`"),
    (
        "HTML",
        "<script>alert('x')</script><img src=x onerror=alert(1)>",
    ),
    ("path traversal", "../../etc/passwd"),
    ("format strings", "%s%n%x{}{0}${jndi:ldap://x}"),
    ("unicode", "多彩宝 🙂 \u{202e}RTL"),
    ("newline and tab", "line1\nline2\tend"),
];

/// Malformed codes for lookups by code: control characters and oversized codes are
/// INVALID_ARGUMENT on `code`; anything else is a code nothing has (NOT_FOUND).
fn bad_codes() -> Vec<(&'static str, String, Expect)> {
    let mut codes = vec![
        ("empty code", String::new(), invalid("code")),
        ("NUL in code", "a\0b".into(), invalid("code")),
        ("ANSI escape in code", "a\u{1b}[2Jb".into(), invalid("code")),
        ("257-char code", "c".repeat(257), invalid("code")),
        ("100 KB code", "c".repeat(100_000), invalid("code")),
        ("256-char code", "c".repeat(256), NOT_FOUND),
        ("code with a space", "a b".into(), NOT_FOUND),
        ("code with a slash", "a/b".into(), NOT_FOUND),
        ("unicode code", "多彩宝".into(), NOT_FOUND),
        ("RTL override and emoji", "\u{202e}abc🙂".into(), NOT_FOUND),
    ];
    for (what, text) in INJECTIONS.iter().take(8) {
        codes.push((what, text.to_string(), NOT_FOUND));
    }
    codes
}

fn provenance(text: &str) -> Option<pb::Provenance> {
    Some(pb::Provenance {
        document: text.into(),
        table: text.into(),
        row: text.into(),
        column: text.into(),
    })
}

fn with<T>(mut value: T, change: impl FnOnce(&mut T)) -> T {
    change(&mut value);
    value
}

/// The data service's world for a battery: the base world, and one stored record of
/// each kind without a code of its own.
struct Fixture {
    srv: TestServer,
    w: World,
    observation: pb::Observation,
    platform_function: pb::PlatformFunction,
    indicator_value: pb::IndicatorValue,
    document: pb::PolicyDocument,
    aggregate: pb::ReportedAggregate,
}

impl Fixture {
    async fn create(db: &TestDb) -> Fixture {
        let srv = TestServer::start(db).await;
        let w = World::create(&srv).await;
        let mut c = srv.client();
        let observation = create_observation(
            &mut c,
            rating(&w.platform_a, &w.channel_a, "2023-05-25", 4.0),
        )
        .await;
        let platform_function = pb::PlatformFunction {
            id: 0,
            platform_code: w.platform_a.clone(),
            function_code: w.function_a.clone(),
            source: source("pan2023-toe", "2.3"),
        };
        let platform_function = c
            .create_platform_function(pb::CreatePlatformFunctionRequest {
                platform_function: Some(platform_function),
                request_id: String::new(),
            })
            .await
            .expect("create platform function")
            .into_inner()
            .platform_function
            .unwrap();
        let document = c
            .create_policy_document(pb::CreatePolicyDocumentRequest {
                policy_document: Some(policy_document(&unique_code("doc"), &w.province_a)),
                request_id: String::new(),
            })
            .await
            .expect("create policy document")
            .into_inner()
            .policy_document
            .unwrap();
        let value = indicator_value(
            &w.indicator,
            pb::SubjectKind::Region,
            &w.province_a,
            "2022",
            1.0,
        );
        let indicator_value = c
            .create_indicator_value(pb::CreateIndicatorValueRequest {
                indicator_value: Some(value),
                request_id: String::new(),
            })
            .await
            .expect("create indicator value")
            .into_inner()
            .indicator_value
            .unwrap();
        let aggregate = c
            .create_reported_aggregate(pb::CreateReportedAggregateRequest {
                reported_aggregate: Some(reported_aggregate(&unique_code("agg"), &w.platform_a)),
                request_id: String::new(),
            })
            .await
            .expect("create reported aggregate")
            .into_inner()
            .reported_aggregate
            .unwrap();
        Fixture {
            srv,
            w,
            observation,
            platform_function,
            indicator_value,
            document,
            aggregate,
        }
    }

    fn client(&self) -> Client {
        self.srv.client()
    }

    // New records (valid unless `change` breaks them), as create requests.

    fn region(&self, change: impl FnOnce(&mut pb::Region)) -> pb::CreateRegionRequest {
        let r = region(
            &unique_code("r"),
            "Region",
            pb::AdminLevel::Prefecture,
            &self.w.province_a,
        );
        pb::CreateRegionRequest {
            region: Some(with(r, change)),
            request_id: String::new(),
        }
    }

    fn platform(&self, change: impl FnOnce(&mut pb::Platform)) -> pb::CreatePlatformRequest {
        let p = platform(&unique_code("app"), &self.w.province_a);
        pb::CreatePlatformRequest {
            platform: Some(with(p, change)),
            request_id: String::new(),
        }
    }

    fn channel(&self, change: impl FnOnce(&mut pb::Channel)) -> pb::CreateChannelRequest {
        let ch = channel(&unique_code("ch"), pb::ChannelKind::Web);
        pb::CreateChannelRequest {
            channel: Some(with(ch, change)),
            request_id: String::new(),
        }
    }

    fn observation(
        &self,
        change: impl FnOnce(&mut pb::Observation),
    ) -> pb::CreateObservationRequest {
        let o = rating(&self.w.platform_a, &self.w.channel_a, "2023-06-01", 4.0);
        pb::CreateObservationRequest {
            observation: Some(with(o, change)),
            request_id: String::new(),
        }
    }

    fn policy_document(
        &self,
        change: impl FnOnce(&mut pb::PolicyDocument),
    ) -> pb::CreatePolicyDocumentRequest {
        let d = policy_document(&unique_code("doc"), &self.w.province_a);
        pb::CreatePolicyDocumentRequest {
            policy_document: Some(with(d, change)),
            request_id: String::new(),
        }
    }

    fn service_function(
        &self,
        change: impl FnOnce(&mut pb::ServiceFunction),
    ) -> pb::CreateServiceFunctionRequest {
        let f = service_function(&unique_code("fn"));
        pb::CreateServiceFunctionRequest {
            service_function: Some(with(f, change)),
            request_id: String::new(),
        }
    }

    fn platform_function(
        &self,
        change: impl FnOnce(&mut pb::PlatformFunction),
    ) -> pb::CreatePlatformFunctionRequest {
        let f = pb::PlatformFunction {
            id: 0,
            platform_code: self.w.platform_b.clone(),
            function_code: self.w.function_b.clone(),
            source: source("pan2023-toe", "2.4"),
        };
        pb::CreatePlatformFunctionRequest {
            platform_function: Some(with(f, change)),
            request_id: String::new(),
        }
    }

    fn indicator(&self, change: impl FnOnce(&mut pb::Indicator)) -> pb::CreateIndicatorRequest {
        let i = indicator(&unique_code("ind"));
        pb::CreateIndicatorRequest {
            indicator: Some(with(i, change)),
            request_id: String::new(),
        }
    }

    fn indicator_value(
        &self,
        change: impl FnOnce(&mut pb::IndicatorValue),
    ) -> pb::CreateIndicatorValueRequest {
        let v = indicator_value(
            &self.w.indicator,
            pb::SubjectKind::Region,
            &self.w.province_b,
            "2021",
            1.0,
        );
        pb::CreateIndicatorValueRequest {
            indicator_value: Some(with(v, change)),
            request_id: String::new(),
        }
    }

    fn aggregate(
        &self,
        change: impl FnOnce(&mut pb::ReportedAggregate),
    ) -> pb::CreateReportedAggregateRequest {
        let a = reported_aggregate(&unique_code("agg"), &self.w.platform_a);
        pb::CreateReportedAggregateRequest {
            reported_aggregate: Some(with(a, change)),
            request_id: String::new(),
        }
    }
}

// ---- data service: lookups ----

/// Get, Update and Delete of every resource by a malformed code or id.
async fn lookups_by_malformed_keys(db: TestDb) {
    let f = Fixture::create(&db).await;
    let c = f.client();
    let w = &f.w;
    let mut t = Table::default();
    for (what, code, expect) in bad_codes() {
        let code = || code.clone();
        let e = || expect.clone();
        rows! {t, c, "GetRegion", get_region, [(what, e(), pb::GetRegionRequest { code: code() })]}
        rows! {t, c, "GetPlatform", get_platform, [(what, e(), pb::GetPlatformRequest { code: code() })]}
        rows! {t, c, "GetChannel", get_channel, [(what, e(), pb::GetChannelRequest { code: code() })]}
        rows! {t, c, "GetPolicyDocument", get_policy_document, [(what, e(), pb::GetPolicyDocumentRequest { code: code() })]}
        rows! {t, c, "GetServiceFunction", get_service_function, [(what, e(), pb::GetServiceFunctionRequest { code: code() })]}
        rows! {t, c, "GetIndicator", get_indicator, [(what, e(), pb::GetIndicatorRequest { code: code() })]}
        rows! {t, c, "GetReportedAggregate", get_reported_aggregate, [(what, e(), pb::GetReportedAggregateRequest { code: code() })]}
        rows! {t, c, "DeleteRegion", delete_region, [(what, e(), pb::DeleteRegionRequest { code: code() })]}
        rows! {t, c, "DeletePlatform", delete_platform, [(what, e(), pb::DeletePlatformRequest { code: code() })]}
        rows! {t, c, "DeleteChannel", delete_channel, [(what, e(), pb::DeleteChannelRequest { code: code() })]}
        rows! {t, c, "DeletePolicyDocument", delete_policy_document, [(what, e(), pb::DeletePolicyDocumentRequest { code: code() })]}
        rows! {t, c, "DeleteServiceFunction", delete_service_function, [(what, e(), pb::DeleteServiceFunctionRequest { code: code() })]}
        rows! {t, c, "DeleteIndicator", delete_indicator, [(what, e(), pb::DeleteIndicatorRequest { code: code() })]}
        rows! {t, c, "DeleteReportedAggregate", delete_reported_aggregate, [(what, e(), pb::DeleteReportedAggregateRequest { code: code() })]}
    }
    // Updates name their record by code too.
    for (what, code, expect) in [
        ("NUL in code", "a\0b".to_string(), invalid("code")),
        ("100 KB code", "c".repeat(100_000), invalid("code")),
        ("SQL injection as code", SQL.to_string(), NOT_FOUND),
    ] {
        let e = || expect.clone();
        rows! {t, c, "UpdateRegion", update_region, [(what, e(), pb::UpdateRegionRequest { region: Some(region(&code, "X", pb::AdminLevel::Country, "")), update_mask: None })]}
        rows! {t, c, "UpdatePlatform", update_platform, [(what, e(), pb::UpdatePlatformRequest { platform: Some(platform(&code, &w.province_a)), update_mask: None })]}
        rows! {t, c, "UpdateChannel", update_channel, [(what, e(), pb::UpdateChannelRequest { channel: Some(channel(&code, pb::ChannelKind::Web)), update_mask: None })]}
        rows! {t, c, "UpdatePolicyDocument", update_policy_document, [(what, e(), pb::UpdatePolicyDocumentRequest { policy_document: Some(policy_document(&code, &w.province_a)), update_mask: None })]}
        rows! {t, c, "UpdateServiceFunction", update_service_function, [(what, e(), pb::UpdateServiceFunctionRequest { service_function: Some(service_function(&code)), update_mask: None })]}
        rows! {t, c, "UpdateIndicator", update_indicator, [(what, e(), pb::UpdateIndicatorRequest { indicator: Some(indicator(&code)), update_mask: None })]}
        rows! {t, c, "UpdateReportedAggregate", update_reported_aggregate, [(what, e(), pb::UpdateReportedAggregateRequest { reported_aggregate: Some(reported_aggregate(&code, &w.platform_a)), update_mask: None })]}
    }
    // Resources named by id: zero and negative ids are malformed, i64::MAX unknown.
    for (what, id, expect) in [
        ("id 0", 0, invalid("id")),
        ("id -1", -1, invalid("id")),
        ("id i64::MIN", i64::MIN, invalid("id")),
        ("id i64::MAX", i64::MAX, NOT_FOUND),
    ] {
        let e = || expect.clone();
        rows! {t, c, "GetObservation", get_observation, [(what, e(), pb::GetObservationRequest { id })]}
        rows! {t, c, "GetPlatformFunction", get_platform_function, [(what, e(), pb::GetPlatformFunctionRequest { id })]}
        rows! {t, c, "GetIndicatorValue", get_indicator_value, [(what, e(), pb::GetIndicatorValueRequest { id })]}
        rows! {t, c, "DeleteObservation", delete_observation, [(what, e(), pb::DeleteObservationRequest { id })]}
        rows! {t, c, "DeletePlatformFunction", delete_platform_function, [(what, e(), pb::DeletePlatformFunctionRequest { id })]}
        rows! {t, c, "DeleteIndicatorValue", delete_indicator_value, [(what, e(), pb::DeleteIndicatorValueRequest { id })]}
        rows! {t, c, "UpdateObservation", update_observation, [(what, e(), pb::UpdateObservationRequest { observation: Some(pb::Observation { id, ..f.observation.clone() }), update_mask: None })]}
        rows! {t, c, "UpdatePlatformFunction", update_platform_function, [(what, e(), pb::UpdatePlatformFunctionRequest { platform_function: Some(pb::PlatformFunction { id, ..f.platform_function.clone() }), update_mask: None })]}
        rows! {t, c, "UpdateIndicatorValue", update_indicator_value, [(what, e(), pb::UpdateIndicatorValueRequest { indicator_value: Some(pb::IndicatorValue { id, ..f.indicator_value.clone() }), update_mask: None })]}
    }
    // Deleting what others refer to.
    let referenced = Expect::Code(Code::FailedPrecondition);
    rows! {t, c, "DeleteRegion", delete_region, [("a region with platforms", referenced.clone(), pb::DeleteRegionRequest { code: w.province_a.clone() })]}
    rows! {t, c, "DeleteChannel", delete_channel, [("a channel with observations", referenced.clone(), pb::DeleteChannelRequest { code: w.channel_a.clone() })]}
    rows! {t, c, "DeleteIndicator", delete_indicator, [("an indicator with values", referenced, pb::DeleteIndicatorRequest { code: w.indicator.clone() })]}
    run("lookups", t, data_revision(&c)).await;
    f.srv.stop().await;
}

// ---- data service: lists ----

/// The paging cases of every List: negative sizes and foreign or forged tokens are
/// INVALID_ARGUMENT; a huge size is clamped.
fn paging_cases(foreign_token: &str) -> Vec<(&'static str, i32, String, Expect)> {
    let token = invalid("page_token");
    vec![
        ("page_size -1", -1, String::new(), invalid("page_size")),
        (
            "page_size i32::MIN",
            i32::MIN,
            String::new(),
            invalid("page_size"),
        ),
        (
            "page_size i32::MAX (clamped)",
            i32::MAX,
            String::new(),
            Expect::Ok,
        ),
        (
            "garbage page_token",
            0,
            "not a token!".into(),
            token.clone(),
        ),
        (
            "format-string page_token",
            0,
            "%s%n{}".into(),
            token.clone(),
        ),
        ("NUL page_token", 0, "\0".into(), token.clone()),
        ("SQL page_token", 0, SQL.into(), token.clone()),
        ("100 KB page_token", 0, "A".repeat(100_000), token.clone()),
        ("another list's page_token", 0, foreign_token.into(), token),
    ]
}

async fn lists_with_malformed_paging_and_filters(db: TestDb) {
    let f = Fixture::create(&db).await;
    let mut c = f.client();
    // Real tokens of other lists (the world has three regions and two channels).
    let regions = pb::ListRegionsRequest {
        page_size: 1,
        ..Default::default()
    };
    let regions_token = c.list_regions(regions).await.unwrap().into_inner();
    let channels = pb::ListChannelsRequest {
        page_size: 1,
        ..Default::default()
    };
    let channels_token = c.list_channels(channels).await.unwrap().into_inner();
    let (regions_token, channels_token) = (
        regions_token.next_page_token,
        channels_token.next_page_token,
    );
    assert!(!regions_token.is_empty() && !channels_token.is_empty());

    let mut t = Table::default();
    macro_rules! paging {
        ($rpc:literal, $method:ident, $req:ident, $foreign:expr) => {
            for (what, page_size, page_token, expect) in paging_cases($foreign) {
                rows! {t, c, $rpc, $method, [(what, expect, pb::$req { page_size, page_token, ..Default::default() })]}
            }
        };
    }
    paging! {"ListRegions", list_regions, ListRegionsRequest, &channels_token}
    paging! {"ListPlatforms", list_platforms, ListPlatformsRequest, &channels_token}
    paging! {"ListChannels", list_channels, ListChannelsRequest, &regions_token}
    paging! {"ListObservations", list_observations, ListObservationsRequest, &channels_token}
    paging! {"ListPolicyDocuments", list_policy_documents, ListPolicyDocumentsRequest, &channels_token}
    paging! {"ListServiceFunctions", list_service_functions, ListServiceFunctionsRequest, &channels_token}
    paging! {"ListPlatformFunctions", list_platform_functions, ListPlatformFunctionsRequest, &channels_token}
    paging! {"ListIndicators", list_indicators, ListIndicatorsRequest, &channels_token}
    paging! {"ListIndicatorValues", list_indicator_values, ListIndicatorValuesRequest, &channels_token}
    paging! {"ListReportedAggregates", list_reported_aggregates, ListReportedAggregatesRequest, &channels_token}
    paging! {"ListAuditEvents", list_audit_events, ListAuditEventsRequest, &channels_token}

    // Unknown enum values in every enum filter.
    for (what, value) in [("enum filter 999", 999), ("enum filter i32::MIN", i32::MIN)] {
        rows! {t, c, "ListRegions", list_regions, [(what, invalid("level"), pb::ListRegionsRequest { level: value, ..Default::default() })]}
        rows! {t, c, "ListPlatforms", list_platforms, [(what, invalid("kind"), pb::ListPlatformsRequest { kind: value, ..Default::default() })]}
        rows! {t, c, "ListChannels", list_channels, [(what, invalid("kind"), pb::ListChannelsRequest { kind: value, ..Default::default() })]}
        rows! {t, c, "ListObservations", list_observations, [(what, invalid("metric"), pb::ListObservationsRequest { metric: value, ..Default::default() })]}
        rows! {t, c, "ListServiceFunctions", list_service_functions, [(what, invalid("category"), pb::ListServiceFunctionsRequest { category: value, ..Default::default() })]}
        rows! {t, c, "ListIndicators", list_indicators, [(what, invalid("dimension"), pb::ListIndicatorsRequest { dimension: value, ..Default::default() })]}
        rows! {t, c, "ListIndicatorValues", list_indicator_values, [(what, invalid("subject_kind"), pb::ListIndicatorValuesRequest { subject_kind: value, ..Default::default() })]}
        rows! {t, c, "ListReportedAggregates", list_reported_aggregates, [(what, invalid("kind"), pb::ListReportedAggregatesRequest { kind: value, ..Default::default() })]}
    }

    // Code filters: control characters and oversized codes are refused; anything else
    // filters to nothing, and a region subtree that does not exist is NOT_FOUND.
    rows! {t, c, "ListRegions", list_regions, [
        ("NUL root_code", invalid("root_code"), pb::ListRegionsRequest { root_code: "\0".into(), ..Default::default() }),
        ("SQL root_code", NOT_FOUND, pb::ListRegionsRequest { root_code: SQL.into(), ..Default::default() }),
        ("LIKE wildcard root_code", NOT_FOUND, pb::ListRegionsRequest { root_code: "%".into(), ..Default::default() }),
    ]}
    rows! {t, c, "ListPlatforms", list_platforms, [
        ("NUL region_code", invalid("region_code"), pb::ListPlatformsRequest { region_code: "x\0".into(), ..Default::default() }),
        ("path traversal region_code", NOT_FOUND, pb::ListPlatformsRequest { region_code: "../../etc/passwd".into(), ..Default::default() }),
    ]}
    rows! {t, c, "ListObservations", list_observations, [
        ("SQL platform_code", Expect::Ok, pb::ListObservationsRequest { platform_code: SQL.into(), ..Default::default() }),
        ("100 KB channel_code", invalid("channel_code"), pb::ListObservationsRequest { channel_code: "c".repeat(100_000), ..Default::default() }),
        ("wildcard region_code", NOT_FOUND, pb::ListObservationsRequest { region_code: "_".into(), ..Default::default() }),
        ("observed_from 2023-13-01", invalid("observed_from"), pb::ListObservationsRequest { observed_from: "2023-13-01".into(), ..Default::default() }),
        ("observed_from unpadded 2023-1-1", invalid("observed_from"), pb::ListObservationsRequest { observed_from: "2023-1-1".into(), ..Default::default() }),
        ("SQL observed_to", invalid("observed_to"), pb::ListObservationsRequest { observed_to: SQL.into(), ..Default::default() }),
        ("observed_to 9999-12-31", Expect::Ok, pb::ListObservationsRequest { observed_to: "9999-12-31".into(), ..Default::default() }),
    ]}
    rows! {t, c, "ListPolicyDocuments", list_policy_documents, [
        ("NUL region_code", invalid("region_code"), pb::ListPolicyDocumentsRequest { region_code: "\0".into(), ..Default::default() }),
        ("year_from 9999", Expect::Ok, pb::ListPolicyDocumentsRequest { year_from: 9999, ..Default::default() }),
        ("year_to i32::MIN", Expect::Ok, pb::ListPolicyDocumentsRequest { year_to: i32::MIN, ..Default::default() }),
    ]}
    rows! {t, c, "ListPlatformFunctions", list_platform_functions, [
        ("NUL platform_code", invalid("platform_code"), pb::ListPlatformFunctionsRequest { platform_code: "\0".into(), ..Default::default() }),
        ("SQL function_code", Expect::Ok, pb::ListPlatformFunctionsRequest { function_code: SQL.into(), ..Default::default() }),
        ("wildcard region_code", NOT_FOUND, pb::ListPlatformFunctionsRequest { region_code: "%".into(), ..Default::default() }),
    ]}
    rows! {t, c, "ListIndicatorValues", list_indicator_values, [
        ("NUL indicator_code", invalid("indicator_code"), pb::ListIndicatorValuesRequest { indicator_code: "\0".into(), ..Default::default() }),
        ("SQL region_code", NOT_FOUND, pb::ListIndicatorValuesRequest { region_code: SQL.into(), ..Default::default() }),
        ("period_to 99999", invalid("period_to"), pb::ListIndicatorValuesRequest { period_to: "99999".into(), ..Default::default() }),
        ("period_from year 0", invalid("period_from"), pb::ListIndicatorValuesRequest { period_from: "0000".into(), ..Default::default() }),
        ("period_from 2022-Q0", invalid("period_from"), pb::ListIndicatorValuesRequest { period_from: "2022-Q0".into(), ..Default::default() }),
    ]}
    rows! {t, c, "ListReportedAggregates", list_reported_aggregates, [
        ("NUL subject_code", invalid("subject_code"), pb::ListReportedAggregatesRequest { subject_code: "\0".into(), ..Default::default() }),
        ("SQL subject_code", Expect::Ok, pb::ListReportedAggregatesRequest { subject_code: SQL.into(), ..Default::default() }),
    ]}
    rows! {t, c, "ListAuditEvents", list_audit_events, [
        ("NUL subject", invalid("subject"), pb::ListAuditEventsRequest { subject: "a\0".into(), ..Default::default() }),
        ("NUL resource", invalid("resource"), pb::ListAuditEventsRequest { resource: "\0".into(), ..Default::default() }),
        ("SQL subject", Expect::Ok, pb::ListAuditEventsRequest { subject: SQL.into(), ..Default::default() }),
        ("wildcard resource", Expect::Ok, pb::ListAuditEventsRequest { resource: "%".into(), ..Default::default() }),
    ]}
    run("lists", t, data_revision(&c)).await;
    f.srv.stop().await;
}

// ---- data service: creates ----

async fn creates_with_malformed_values(db: TestDb) {
    let f = Fixture::create(&db).await;
    let c = f.client();
    let w = &f.w;
    let big = || "n".repeat(MB);
    let nul_source = |field: &str| {
        let mut p = pb::Provenance::default();
        match field {
            "table" => p.table = "T\0".into(),
            _ => p.row = "\0".into(),
        }
        Some(p)
    };
    // A request id used once for a channel may not create anything else.
    let used_request_id = unique_code("req");
    let mut setup = f.client();
    let channel_request = pb::CreateChannelRequest {
        request_id: used_request_id.clone(),
        ..f.channel(|_| {})
    };
    setup.create_channel(channel_request).await.unwrap();
    let mut t = Table::default();
    rows! {t, c, "CreateRegion", create_region, [
        ("no region", invalid("region"), pb::CreateRegionRequest::default()),
        ("SQL code", invalid("region.code"), f.region(|r| r.code = SQL.into())),
        ("path traversal code", invalid("region.code"), f.region(|r| r.code = "../../etc/passwd".into())),
        ("NUL in code", invalid("region.code"), f.region(|r| r.code = "cn\0".into())),
        ("100 KB code", invalid("region.code"), f.region(|r| r.code = "c".repeat(100_000))),
        ("1 MB name", invalid("region.name"), f.region(|r| r.name = big())),
        ("NUL in name", invalid("region.name"), f.region(|r| r.name = "a\0b".into())),
        ("level 999", invalid("region.level"), f.region(|r| r.level = 999)),
        ("level i32::MIN", invalid("region.level"), f.region(|r| r.level = i32::MIN)),
        ("SQL parent_code", invalid("region.parent_code"), f.region(|r| r.parent_code = SQL.into())),
        ("population year 0", invalid("region.populations[0].year"), f.region(|r| r.populations = vec![population(0, 5, "")])),
        ("population year 9999", invalid("region.populations[0].year"), f.region(|r| r.populations = vec![population(9999, 5, "")])),
        ("population i64::MIN", invalid("region.populations[0].population"), f.region(|r| r.populations = vec![population(2022, i64::MIN, "")])),
        ("NUL in a population source", invalid("region.populations[0].source.row"), f.region(|r| r.populations = vec![pb::PopulationFigure { source: nul_source("row"), ..population(2022, 5, "") }])),
        ("1 MB request_id", invalid("request_id"), pb::CreateRegionRequest { request_id: big(), ..f.region(|_| {}) }),
        ("129-char request_id", invalid("request_id"), pb::CreateRegionRequest { request_id: "r".repeat(129), ..f.region(|_| {}) }),
        ("NUL in request_id", invalid("request_id"), pb::CreateRegionRequest { request_id: "req\0".into(), ..f.region(|_| {}) }),
    ]}
    rows! {t, c, "CreatePlatform", create_platform, [
        ("kind i32::MIN", invalid("platform.kind"), f.platform(|p| p.kind = i32::MIN)),
        ("status 999", invalid("platform.status"), f.platform(|p| p.status = 999)),
        ("launch date in year 0", invalid("platform.launch_date"), f.platform(|p| p.launch_date = "0000-01-01".into())),
        ("launch date 9999-12-31", invalid("platform.launch_date"), f.platform(|p| p.launch_date = "9999-12-31".into())),
        ("javascript: url", invalid("platform.url"), f.platform(|p| p.url = "javascript:alert(1)".into())),
        ("1 MB url", invalid("platform.url"), f.platform(|p| p.url = format!("https://{}", big()))),
        ("NUL in region_code", invalid("platform.region_code"), f.platform(|p| p.region_code = "\0".into())),
        ("1 MB operator", invalid("platform.operator"), f.platform(|p| p.operator = big())),
        ("NUL in source table", invalid("platform.source.table"), f.platform(|p| p.source = nul_source("table"))),
        ("a channel's request_id", invalid("request_id"), pb::CreatePlatformRequest { request_id: used_request_id.clone(), ..f.platform(|_| {}) }),
        ("NUL in request_id", invalid("request_id"), pb::CreatePlatformRequest { request_id: "\0".into(), ..f.platform(|_| {}) }),
    ]}
    rows! {t, c, "CreateChannel", create_channel, [
        ("no channel", invalid("channel"), pb::CreateChannelRequest::default()),
        ("kind 999", invalid("channel.kind"), f.channel(|x| x.kind = 999)),
        ("kind i32::MIN", invalid("channel.kind"), f.channel(|x| x.kind = i32::MIN)),
        ("NUL in vendor", invalid("channel.vendor"), f.channel(|x| x.vendor = "\0".into())),
        ("SQL code", invalid("channel.code"), f.channel(|x| x.code = SQL.into())),
        ("1 MB name", invalid("channel.name"), f.channel(|x| x.name = big())),
        ("an existing code", Expect::Code(Code::AlreadyExists), f.channel(|x| x.code = w.channel_a.clone())),
    ]}
    let metric = |m: pb::Metric, value: f64| {
        move |o: &mut pb::Observation| {
            o.metric = m as i32;
            o.value = value;
        }
    };
    let printed = |m: pb::Metric, text: &'static str| {
        move |o: &mut pb::Observation| {
            o.metric = m as i32;
            o.value = 0.0;
            o.value_as_printed = text.into();
        }
    };
    rows! {t, c, "CreateObservation", create_observation, [
        ("rating +infinity", invalid("observation.value"), f.observation(metric(pb::Metric::Rating, f64::INFINITY))),
        ("rating -infinity", invalid("observation.value"), f.observation(metric(pb::Metric::Rating, f64::NEG_INFINITY))),
        ("rating f64::MAX", invalid("observation.value"), f.observation(metric(pb::Metric::Rating, f64::MAX))),
        ("rating count NaN", invalid("observation.value"), f.observation(metric(pb::Metric::RatingCount, f64::NAN))),
        ("rating count -1", invalid("observation.value"), f.observation(metric(pb::Metric::RatingCount, -1.0))),
        ("monthly users +infinity", invalid("observation.value"), f.observation(metric(pb::Metric::MonthlyActiveUsers, f64::INFINITY))),
        ("printed \"NaN\"", invalid("observation.value_as_printed"), f.observation(printed(pb::Metric::Rating, "NaN"))),
        ("printed \"1e999\"", invalid("observation.value_as_printed"), f.observation(printed(pb::Metric::Downloads, "1e999"))),
        ("printed \"-5\" downloads", invalid("observation.value"), f.observation(printed(pb::Metric::Downloads, "-5"))),
        ("observed in year 0", invalid("observation.observed_on"), f.observation(|o| o.observed_on = "0000-01-01".into())),
        ("observed 9999-12-31", invalid("observation.observed_on"), f.observation(|o| o.observed_on = "9999-12-31".into())),
        ("metric i32::MIN", invalid("observation.metric"), f.observation(|o| o.metric = i32::MIN)),
        ("NUL in channel_code", invalid("observation.channel_code"), f.observation(|o| o.channel_code = "\0".into())),
        ("an existing natural key", Expect::Code(Code::AlreadyExists), f.observation(|o| o.observed_on = "2023-05-25".into())),
    ]}
    rows! {t, c, "CreatePolicyDocument", create_policy_document, [
        ("no policy document", invalid("policy_document"), pb::CreatePolicyDocumentRequest::default()),
        ("year 9999", invalid("policy_document.year"), f.policy_document(|d| d.year = 9999)),
        ("year -1", invalid("policy_document.year"), f.policy_document(|d| d.year = -1)),
        ("year i32::MIN", invalid("policy_document.year"), f.policy_document(|d| d.year = i32::MIN)),
        ("toe tag 999", invalid("policy_document.toe_tags[0]"), f.policy_document(|d| d.toe_tags = vec![999])),
        ("toe tag i32::MIN", invalid("policy_document.toe_tags[1]"), f.policy_document(|d| d.toe_tags = vec![1, i32::MIN])),
        ("1 MB title", invalid("policy_document.title"), f.policy_document(|d| d.title = big())),
        ("NUL in issuer", invalid("policy_document.issuer"), f.policy_document(|d| d.issuer = "\0".into())),
    ]}
    rows! {t, c, "CreateServiceFunction", create_service_function, [
        ("no service function", invalid("service_function"), pb::CreateServiceFunctionRequest::default()),
        ("category i32::MIN", invalid("service_function.category"), f.service_function(|x| x.category = i32::MIN)),
        ("1 MB description", invalid("service_function.description"), f.service_function(|x| x.description = big())),
        ("unicode code", invalid("service_function.code"), f.service_function(|x| x.code = "社保".into())),
    ]}
    let big_source = || {
        Some(pb::Provenance {
            document: big(),
            ..Default::default()
        })
    };
    rows! {t, c, "CreatePlatformFunction", create_platform_function, [
        ("no platform function", invalid("platform_function"), pb::CreatePlatformFunctionRequest::default()),
        ("SQL platform_code", invalid("platform_function.platform_code"), f.platform_function(|x| x.platform_code = SQL.into())),
        ("NUL in function_code", invalid("platform_function.function_code"), f.platform_function(|x| x.function_code = "\0".into())),
        ("1 MB source document", invalid("platform_function.source.document"), f.platform_function(|x| x.source = big_source())),
        ("an existing pair", Expect::Code(Code::AlreadyExists), f.platform_function(|x| { x.platform_code = w.platform_a.clone(); x.function_code = w.function_a.clone() })),
    ]}
    rows! {t, c, "CreateIndicator", create_indicator, [
        ("no indicator", invalid("indicator"), pb::CreateIndicatorRequest::default()),
        ("direction 999", invalid("indicator.direction"), f.indicator(|x| x.direction = 999)),
        ("dimension i32::MIN", invalid("indicator.dimension"), f.indicator(|x| x.dimension = i32::MIN)),
        ("1 MB unit", invalid("indicator.unit"), f.indicator(|x| x.unit = big())),
        ("NUL in factor", invalid("indicator.factor"), f.indicator(|x| x.factor = "\0".into())),
    ]}
    rows! {t, c, "CreateIndicatorValue", create_indicator_value, [
        ("no indicator value", invalid("indicator_value"), pb::CreateIndicatorValueRequest::default()),
        ("value +infinity", invalid("indicator_value.value"), f.indicator_value(|v| v.value = f64::INFINITY)),
        ("value -infinity", invalid("indicator_value.value"), f.indicator_value(|v| v.value = f64::NEG_INFINITY)),
        ("subject kind 999", invalid("indicator_value.subject_kind"), f.indicator_value(|v| v.subject_kind = 999)),
        ("period year 0", invalid("indicator_value.period"), f.indicator_value(|v| v.period = "0000".into())),
        ("period 9999", invalid("indicator_value.period"), f.indicator_value(|v| v.period = "9999".into())),
        ("period 2022-Q0", invalid("indicator_value.period"), f.indicator_value(|v| v.period = "2022-Q0".into())),
        ("SQL period", invalid("indicator_value.period"), f.indicator_value(|v| v.period = SQL.into())),
        ("100 KB period", invalid("indicator_value.period"), f.indicator_value(|v| v.period = "2".repeat(100_000))),
        ("NUL in subject_code", invalid("indicator_value.subject_code"), f.indicator_value(|v| v.subject_code = "\0".into())),
    ]}
    let aggregate_value = |value: f64| {
        move |a: &mut pb::ReportedAggregate| {
            a.value = value;
            a.value_as_printed.clear();
        }
    };
    rows! {t, c, "CreateReportedAggregate", create_reported_aggregate, [
        ("no reported aggregate", invalid("reported_aggregate"), pb::CreateReportedAggregateRequest::default()),
        ("value NaN", invalid("reported_aggregate.value"), f.aggregate(aggregate_value(f64::NAN))),
        ("value +infinity", invalid("reported_aggregate.value"), f.aggregate(aggregate_value(f64::INFINITY))),
        ("value -infinity", invalid("reported_aggregate.value"), f.aggregate(aggregate_value(f64::NEG_INFINITY))),
        ("subject kind 999", invalid("reported_aggregate.subject_kind"), f.aggregate(|a| a.subject_kind = 999)),
        ("kind i32::MIN", invalid("reported_aggregate.kind"), f.aggregate(|a| a.kind = i32::MIN)),
        ("metric 999", invalid("reported_aggregate.metric"), f.aggregate(|a| a.metric = 999)),
        ("observed 9999-12-31", invalid("reported_aggregate.observed_on"), f.aggregate(|a| a.observed_on = "9999-12-31".into())),
        ("1 MB description", invalid("reported_aggregate.description"), f.aggregate(|a| a.description = big())),
    ]}
    run("creates", t, data_revision(&c)).await;
    f.srv.stop().await;
}

// ---- data service: updates ----

async fn updates_with_malformed_values(db: TestDb) {
    let f = Fixture::create(&db).await;
    let c = f.client();
    let w = &f.w;
    let province = region(
        &w.province_a,
        "Sichuan",
        pb::AdminLevel::Province,
        &w.country,
    );
    let region_update = |change: &dyn Fn(&mut pb::Region), paths: &[&str]| {
        let region = Some(with(province.clone(), change));
        pb::UpdateRegionRequest {
            region,
            update_mask: mask(paths),
        }
    };
    let platform_update = |change: &dyn Fn(&mut pb::Platform), paths: &[&str]| {
        let platform = Some(with(platform(&w.platform_a, &w.province_a), change));
        pb::UpdatePlatformRequest {
            platform,
            update_mask: mask(paths),
        }
    };
    let observation_update = |change: &dyn Fn(&mut pb::Observation), paths: &[&str]| {
        let observation = Some(with(f.observation.clone(), change));
        pb::UpdateObservationRequest {
            observation,
            update_mask: mask(paths),
        }
    };
    let value_update = |change: &dyn Fn(&mut pb::IndicatorValue), paths: &[&str]| {
        let indicator_value = Some(with(f.indicator_value.clone(), change));
        pb::UpdateIndicatorValueRequest {
            indicator_value,
            update_mask: mask(paths),
        }
    };
    let aggregate_update = |change: &dyn Fn(&mut pb::ReportedAggregate), paths: &[&str]| {
        let reported_aggregate = Some(with(f.aggregate.clone(), change));
        pb::UpdateReportedAggregateRequest {
            reported_aggregate,
            update_mask: mask(paths),
        }
    };
    let mut t = Table::default();
    rows! {t, c, "UpdateRegion", update_region, [
        ("no region", invalid("region"), pb::UpdateRegionRequest::default()),
        ("mask naming the code", invalid("update_mask.paths[0]"), region_update(&|_| {}, &["code"])),
        ("SQL in the mask", invalid("update_mask.paths[1]"), region_update(&|_| {}, &["name", SQL])),
        ("NUL in the mask", invalid("update_mask.paths[0]"), region_update(&|_| {}, &["name\0"])),
        ("NUL in name", invalid("region.name"), region_update(&|r| r.name = "\0".into(), &["name"])),
        ("level 999", invalid("region.level"), region_update(&|r| r.level = 999, &["level"])),
        ("population year 0", invalid("region.populations[0].year"), region_update(&|r| r.populations = vec![population(0, 5, "")], &["populations"])),
        ("population -1", invalid("region.populations[0].population"), region_update(&|r| r.populations = vec![population(2020, -1, "")], &[])),
    ]}
    rows! {t, c, "UpdatePlatform", update_platform, [
        ("status i32::MIN", invalid("platform.status"), platform_update(&|p| p.status = i32::MIN, &["status"])),
        ("kind 999", invalid("platform.kind"), platform_update(&|p| p.kind = 999, &[])),
        ("mask naming the code", invalid("update_mask.paths[0]"), platform_update(&|_| {}, &["code"])),
        ("1 MB name", invalid("platform.name"), platform_update(&|p| p.name = "n".repeat(MB), &["name"])),
        ("launch date 9999-12-31", invalid("platform.launch_date"), platform_update(&|p| p.launch_date = "9999-12-31".into(), &["launch_date"])),
    ]}
    rows! {t, c, "UpdateChannel", update_channel, [
        ("no channel", invalid("channel"), pb::UpdateChannelRequest::default()),
        ("kind 999", invalid("channel.kind"), pb::UpdateChannelRequest { channel: Some(pb::Channel { kind: 999, ..channel(&w.channel_a, pb::ChannelKind::Web) }), update_mask: mask(&["kind"]) }),
        ("a dotted mask path", invalid("update_mask.paths[0]"), pb::UpdateChannelRequest { channel: Some(channel(&w.channel_a, pb::ChannelKind::Web)), update_mask: mask(&["kind.name"]) }),
    ]}
    rows! {t, c, "UpdateObservation", update_observation, [
        ("value NaN", invalid("observation.value"), observation_update(&|o| o.value = f64::NAN, &["value"])),
        ("value -infinity", invalid("observation.value"), observation_update(&|o| o.value = f64::NEG_INFINITY, &["value"])),
        ("mask naming the id", invalid("update_mask.paths[0]"), observation_update(&|_| {}, &["id"])),
        ("metric 999", invalid("observation.metric"), observation_update(&|o| o.metric = 999, &["metric"])),
        ("observed in year 0", invalid("observation.observed_on"), observation_update(&|o| o.observed_on = "0000-01-01".into(), &["observed_on"])),
    ]}
    rows! {t, c, "UpdatePolicyDocument", update_policy_document, [
        ("no policy document", invalid("policy_document"), pb::UpdatePolicyDocumentRequest::default()),
        ("year 9999", invalid("policy_document.year"), pb::UpdatePolicyDocumentRequest { policy_document: Some(pb::PolicyDocument { year: 9999, ..f.document.clone() }), update_mask: mask(&["year"]) }),
        ("toe tag 999", invalid("policy_document.toe_tags[0]"), pb::UpdatePolicyDocumentRequest { policy_document: Some(pb::PolicyDocument { toe_tags: vec![999], ..f.document.clone() }), update_mask: None }),
    ]}
    rows! {t, c, "UpdateServiceFunction", update_service_function, [
        ("no service function", invalid("service_function"), pb::UpdateServiceFunctionRequest::default()),
        ("category 999", invalid("service_function.category"), pb::UpdateServiceFunctionRequest { service_function: Some(pb::ServiceFunction { category: 999, ..service_function(&w.function_a) }), update_mask: mask(&["category"]) }),
    ]}
    rows! {t, c, "UpdatePlatformFunction", update_platform_function, [
        ("no platform function", invalid("platform_function"), pb::UpdatePlatformFunctionRequest::default()),
        ("NUL in function_code", invalid("platform_function.function_code"), pb::UpdatePlatformFunctionRequest { platform_function: Some(pb::PlatformFunction { function_code: "\0".into(), ..f.platform_function.clone() }), update_mask: mask(&["function_code"]) }),
        ("SQL platform_code", invalid("platform_function.platform_code"), pb::UpdatePlatformFunctionRequest { platform_function: Some(pb::PlatformFunction { platform_code: SQL.into(), ..f.platform_function.clone() }), update_mask: None }),
    ]}
    rows! {t, c, "UpdateIndicator", update_indicator, [
        ("no indicator", invalid("indicator"), pb::UpdateIndicatorRequest::default()),
        ("direction i32::MIN", invalid("indicator.direction"), pb::UpdateIndicatorRequest { indicator: Some(pb::Indicator { direction: i32::MIN, ..indicator(&w.indicator) }), update_mask: mask(&["direction"]) }),
    ]}
    rows! {t, c, "UpdateIndicatorValue", update_indicator_value, [
        ("no indicator value", invalid("indicator_value"), pb::UpdateIndicatorValueRequest::default()),
        ("value NaN", invalid("indicator_value.value"), value_update(&|v| v.value = f64::NAN, &["value"])),
        ("value +infinity", invalid("indicator_value.value"), value_update(&|v| v.value = f64::INFINITY, &[])),
        ("period 9999", invalid("indicator_value.period"), value_update(&|v| v.period = "9999".into(), &["period"])),
        ("subject kind i32::MIN", invalid("indicator_value.subject_kind"), value_update(&|v| v.subject_kind = i32::MIN, &["subject_kind"])),
    ]}
    rows! {t, c, "UpdateReportedAggregate", update_reported_aggregate, [
        ("no reported aggregate", invalid("reported_aggregate"), pb::UpdateReportedAggregateRequest::default()),
        ("value +infinity", invalid("reported_aggregate.value"), aggregate_update(&|a| { a.value = f64::INFINITY; a.value_as_printed.clear() }, &["value", "value_as_printed"])),
        ("value -1", invalid("reported_aggregate.value"), aggregate_update(&|a| { a.value = -1.0; a.value_as_printed.clear() }, &[])),
        ("metric 999", invalid("reported_aggregate.metric"), aggregate_update(&|a| a.metric = 999, &["metric"])),
    ]}
    run("updates", t, data_revision(&c)).await;
    f.srv.stop().await;
}

// ---- data service: injection strings in every text field ----

/// Creates a record with `text` in every text field, reads it back by its key and through
/// its List, and checks both equal what was sent.
async fn stored_verbatim(mut c: Client, w: World, kind: &str, i: usize, text: &str) -> Outcome {
    // One page of everything (the largest page served).
    let (page_size, page_token) = (1000, String::new());
    match kind {
        "region" => {
            let code = unique_code("inj");
            let mut r = region(&code, text, pb::AdminLevel::Prefecture, &w.province_a);
            r.populations = vec![pb::PopulationFigure {
                year: 2020,
                population: 5,
                value_as_printed: text.into(),
                source: provenance(text),
            }];
            let request = pb::CreateRegionRequest {
                region: Some(r.clone()),
                request_id: String::new(),
            };
            c.create_region(request).await?;
            let got = c.get_region(pb::GetRegionRequest { code: code.clone() });
            same("region", &Some(r.clone()), &got.await?.into_inner().region)?;
            let list = pb::ListRegionsRequest {
                root_code: code,
                ..Default::default()
            };
            let listed = c.list_regions(list).await?.into_inner().regions;
            same("listed regions", &vec![r], &listed)
        }
        "platform" => {
            let p = pb::Platform {
                name: text.into(),
                operator: text.into(),
                url: format!("https://example.org/{text}"),
                source: provenance(text),
                ..platform(&unique_code("inj"), &w.province_b)
            };
            let request = pb::CreatePlatformRequest {
                platform: Some(p.clone()),
                request_id: String::new(),
            };
            c.create_platform(request).await?;
            let got = c.get_platform(pb::GetPlatformRequest {
                code: p.code.clone(),
            });
            same(
                "platform",
                &Some(p.clone()),
                &got.await?.into_inner().platform,
            )?;
            let list = pb::ListPlatformsRequest {
                page_size,
                page_token,
                region_code: w.province_b.clone(),
                ..Default::default()
            };
            let listed = c.list_platforms(list).await?.into_inner().platforms;
            same("listed", &true, &listed.contains(&p))
        }
        "channel" => {
            let ch = pb::Channel {
                name: text.into(),
                vendor: text.into(),
                ..channel(&unique_code("inj"), pb::ChannelKind::AppStore)
            };
            let request = pb::CreateChannelRequest {
                channel: Some(ch.clone()),
                request_id: String::new(),
            };
            c.create_channel(request).await?;
            let got = c.get_channel(pb::GetChannelRequest {
                code: ch.code.clone(),
            });
            same(
                "channel",
                &Some(ch.clone()),
                &got.await?.into_inner().channel,
            )?;
            let list = pb::ListChannelsRequest {
                page_size,
                page_token,
                ..Default::default()
            };
            let listed = c.list_channels(list).await?.into_inner().channels;
            same("listed", &true, &listed.contains(&ch))
        }
        "observation" => {
            let day = format!("2022-01-{:02}", i + 1);
            let mut o = pb::Observation {
                value_as_printed: text.into(),
                source: provenance(text),
                ..rating(&w.platform_b, &w.channel_b, &day, 4.5)
            };
            let request = pb::CreateObservationRequest {
                observation: Some(o.clone()),
                request_id: String::new(),
            };
            let created = c.create_observation(request).await?.into_inner();
            o.id = created.observation.unwrap_or_default().id;
            let got = c.get_observation(pb::GetObservationRequest { id: o.id });
            same(
                "observation",
                &Some(o.clone()),
                &got.await?.into_inner().observation,
            )?;
            let list = pb::ListObservationsRequest {
                platform_code: w.platform_b.clone(),
                observed_from: day.clone(),
                observed_to: day,
                ..Default::default()
            };
            let listed = c.list_observations(list).await?.into_inner().observations;
            same("listed observations", &vec![o], &listed)
        }
        "policy document" => {
            let d = pb::PolicyDocument {
                title: text.into(),
                issuer: text.into(),
                programme: text.into(),
                source: provenance(text),
                ..policy_document(&unique_code("inj"), &w.province_b)
            };
            let request = pb::CreatePolicyDocumentRequest {
                policy_document: Some(d.clone()),
                request_id: String::new(),
            };
            c.create_policy_document(request).await?;
            let got = c.get_policy_document(pb::GetPolicyDocumentRequest {
                code: d.code.clone(),
            });
            let got = got.await?.into_inner().policy_document;
            same("policy document", &Some(d.clone()), &got)?;
            let list = pb::ListPolicyDocumentsRequest {
                page_size,
                page_token,
                region_code: w.province_b.clone(),
                ..Default::default()
            };
            let listed = c.list_policy_documents(list).await?.into_inner();
            same("listed", &true, &listed.policy_documents.contains(&d))
        }
        "service function" => {
            let s = pb::ServiceFunction {
                name: text.into(),
                description: text.into(),
                ..service_function(&unique_code("inj"))
            };
            let request = pb::CreateServiceFunctionRequest {
                service_function: Some(s.clone()),
                request_id: String::new(),
            };
            c.create_service_function(request).await?;
            let got = c.get_service_function(pb::GetServiceFunctionRequest {
                code: s.code.clone(),
            });
            let got = got.await?.into_inner().service_function;
            same("service function", &Some(s.clone()), &got)?;
            let list = pb::ListServiceFunctionsRequest {
                page_size,
                page_token,
                ..Default::default()
            };
            let listed = c.list_service_functions(list).await?.into_inner();
            same("listed", &true, &listed.service_functions.contains(&s))
        }
        "platform function" => {
            let function = unique_code("inj");
            let request = pb::CreateServiceFunctionRequest {
                service_function: Some(service_function(&function)),
                request_id: String::new(),
            };
            c.create_service_function(request).await?;
            let mut pf = pb::PlatformFunction {
                id: 0,
                platform_code: w.platform_b.clone(),
                function_code: function.clone(),
                source: provenance(text),
            };
            let request = pb::CreatePlatformFunctionRequest {
                platform_function: Some(pf.clone()),
                request_id: String::new(),
            };
            let created = c.create_platform_function(request).await?.into_inner();
            pf.id = created.platform_function.unwrap_or_default().id;
            let got = c.get_platform_function(pb::GetPlatformFunctionRequest { id: pf.id });
            let got = got.await?.into_inner().platform_function;
            same("platform function", &Some(pf.clone()), &got)?;
            let list = pb::ListPlatformFunctionsRequest {
                function_code: function,
                ..Default::default()
            };
            let listed = c.list_platform_functions(list).await?.into_inner();
            same("listed", &vec![pf], &listed.platform_functions)
        }
        "indicator" => {
            let ind = pb::Indicator {
                name: text.into(),
                unit: text.into(),
                factor: text.into(),
                description: text.into(),
                ..indicator(&unique_code("inj"))
            };
            let request = pb::CreateIndicatorRequest {
                indicator: Some(ind.clone()),
                request_id: String::new(),
            };
            c.create_indicator(request).await?;
            let got = c.get_indicator(pb::GetIndicatorRequest {
                code: ind.code.clone(),
            });
            same(
                "indicator",
                &Some(ind.clone()),
                &got.await?.into_inner().indicator,
            )?;
            let list = pb::ListIndicatorsRequest {
                page_size,
                page_token,
                ..Default::default()
            };
            let listed = c.list_indicators(list).await?.into_inner().indicators;
            same("listed", &true, &listed.contains(&ind))
        }
        "indicator value" => {
            let period = format!("{}", 2001 + i);
            let mut v = pb::IndicatorValue {
                value_as_printed: text.into(),
                source: provenance(text),
                ..indicator_value(
                    &w.indicator,
                    pb::SubjectKind::Platform,
                    &w.platform_b,
                    &period,
                    0.5,
                )
            };
            let request = pb::CreateIndicatorValueRequest {
                indicator_value: Some(v.clone()),
                request_id: String::new(),
            };
            let created = c.create_indicator_value(request).await?.into_inner();
            v.id = created.indicator_value.unwrap_or_default().id;
            let got = c.get_indicator_value(pb::GetIndicatorValueRequest { id: v.id });
            let got = got.await?.into_inner().indicator_value;
            same("indicator value", &Some(v.clone()), &got)?;
            let list = pb::ListIndicatorValuesRequest {
                subject_code: w.platform_b.clone(),
                period_from: period.clone(),
                period_to: period,
                ..Default::default()
            };
            let listed = c.list_indicator_values(list).await?.into_inner();
            same("listed", &vec![v], &listed.indicator_values)
        }
        "reported aggregate" => {
            let a = pb::ReportedAggregate {
                value: 7.0,
                value_as_printed: text.into(),
                description: text.into(),
                source: provenance(text),
                ..reported_aggregate(&unique_code("inj"), &w.platform_b)
            };
            let request = pb::CreateReportedAggregateRequest {
                reported_aggregate: Some(a.clone()),
                request_id: String::new(),
            };
            c.create_reported_aggregate(request).await?;
            let got = c.get_reported_aggregate(pb::GetReportedAggregateRequest {
                code: a.code.clone(),
            });
            let got = got.await?.into_inner().reported_aggregate;
            same("reported aggregate", &Some(a.clone()), &got)?;
            let list = pb::ListReportedAggregatesRequest {
                page_size,
                page_token,
                subject_code: w.platform_b.clone(),
                ..Default::default()
            };
            let listed = c.list_reported_aggregates(list).await?.into_inner();
            same("listed", &true, &listed.reported_aggregates.contains(&a))
        }
        other => Err(mismatch(format!("no such kind {other}"))),
    }
}

async fn injection_strings_are_stored_verbatim(db: TestDb) {
    let f = Fixture::create(&db).await;
    let c = f.client();
    let mut t = Table::default();
    let kinds = [
        ("CreateRegion", "region"),
        ("CreatePlatform", "platform"),
        ("CreateChannel", "channel"),
        ("CreateObservation", "observation"),
        ("CreatePolicyDocument", "policy document"),
        ("CreateServiceFunction", "service function"),
        ("CreatePlatformFunction", "platform function"),
        ("CreateIndicator", "indicator"),
        ("CreateIndicatorValue", "indicator value"),
        ("CreateReportedAggregate", "reported aggregate"),
    ];
    for (rpc, kind) in kinds {
        for (i, (what, text)) in INJECTIONS.iter().enumerate() {
            let call = Box::pin(stored_verbatim(c.clone(), f.w.clone(), kind, i, text));
            t.add(
                rpc,
                format!("{what} in every text field"),
                Expect::Stored,
                call,
            );
        }
    }
    run("injection", t, data_revision(&c)).await;
    // The tables still work: everything exports and reads back as records.
    let (records, _) = f.srv.export(0).await;
    assert_eq!(records_from_pb(records.clone()).len(), records.len());
    f.srv.stop().await;
}

// ---- data service: region hierarchies ----

/// A code of the longest length allowed (64), unique to this test: the longest paths.
fn long_code(level: usize) -> String {
    let code = format!("{}-l{level}-", unique_code("deep"));
    format!("{code}{}", "x".repeat(64 - code.len()))
}

fn region_batch(
    regions: Vec<pb::Region>,
) -> impl tokio_stream::Stream<Item = pb::ImportRecordsRequest> {
    let records = regions
        .into_iter()
        .map(|r| pb::Record {
            origin: "regions.csv:2".into(),
            kind: Some(Kind::Region(r)),
        })
        .collect();
    tokio_stream::iter(vec![pb::ImportRecordsRequest { records }])
}

async fn region_hierarchies_too_deep_or_cyclic(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let mut c = srv.client();
    // The deepest chain allowed, with the longest codes: MAX_REGION_DEPTH levels.
    let chain: Vec<String> = (0..MAX_REGION_DEPTH).map(long_code).collect();
    for (i, code) in chain.iter().enumerate() {
        let (parent, level) = match i {
            0 => ("", pb::AdminLevel::Country),
            _ => (chain[i - 1].as_str(), pb::AdminLevel::Village),
        };
        create_region(&mut c, region(code, &format!("Level {i}"), level, parent)).await;
    }
    let (root, deepest) = (&chain[0], &chain[MAX_REGION_DEPTH - 1]);
    let (middle, second_deepest) = (&chain[MAX_REGION_DEPTH / 2], &chain[MAX_REGION_DEPTH - 2]);
    // A short subtree elsewhere, to move around.
    let (other, other_child) = (unique_code("other"), unique_code("other-child"));
    create_region(&mut c, region(&other, "Other", pb::AdminLevel::Country, "")).await;
    let child = region(&other_child, "Child", pb::AdminLevel::Province, &other);
    create_region(&mut c, child).await;

    let reparent = |code: &str, parent: &str| pb::UpdateRegionRequest {
        region: Some(region(code, "Moved", pb::AdminLevel::Village, parent)),
        update_mask: mask(&["parent_code"]),
    };
    let new_region = |parent: &str| pb::CreateRegionRequest {
        region: Some(region(
            &unique_code("new"),
            "New",
            pb::AdminLevel::Village,
            parent,
        )),
        request_id: String::new(),
    };
    let codes: Vec<String> = (0..=MAX_REGION_DEPTH)
        .map(|i| unique_code(&format!("chain{i}")))
        .collect();
    let too_deep: Vec<pb::Region> = codes
        .iter()
        .enumerate()
        .map(|(i, code)| {
            let parent = if i == 0 { "" } else { codes[i - 1].as_str() };
            region(code, "Deep", pb::AdminLevel::Village, parent)
        })
        .collect();
    let (a, b) = (unique_code("cycle-a"), unique_code("cycle-b"));
    let cycle = vec![
        region(&a, "A", pb::AdminLevel::Province, &b),
        region(&b, "B", pb::AdminLevel::Province, &a),
    ];
    let both = Expect::InvalidOneOf(vec![
        "records[0].region.parent_code".into(),
        "records[1].region.parent_code".into(),
    ]);
    let parent = || invalid("region.parent_code");
    let first = || invalid("records[0].region.parent_code");
    let level_beyond = format!("level {} under the deepest region", MAX_REGION_DEPTH + 1);
    let chain_beyond = format!("a chain of {} levels in one batch", MAX_REGION_DEPTH + 1);
    let last = invalid(format!("records[{MAX_REGION_DEPTH}].region.parent_code"));
    let mut t = Table::default();
    rows! {t, c, "CreateRegion", create_region, [
        (level_beyond, parent(), new_region(deepest)),
        ("a region under a level-31 region", Expect::Stored, new_region(second_deepest)),
    ]}
    rows! {t, c, "UpdateRegion", update_region, [
        ("the root under its deepest descendant (a cycle)", parent(), reparent(root, deepest)),
        ("the root under a middle descendant (a cycle)", parent(), reparent(root, middle)),
        ("a middle region under the deepest (a cycle)", parent(), reparent(middle, deepest)),
        ("a region under itself", parent(), reparent(middle, middle)),
        ("a two-level subtree under the deepest region (too deep)", parent(), reparent(&other, deepest)),
        ("a two-level subtree under level 31 (its leaf too deep)", parent(), reparent(&other, second_deepest)),
        ("a leaf under the deepest region (too deep)", parent(), reparent(&other_child, deepest)),
        ("a leaf under a parent with a NUL", parent(), reparent(&other_child, "\0")),
    ]}
    rows! {t, c, "ImportRecords", import_records, [
        (chain_beyond, last, region_batch(too_deep)),
        ("two regions parenting each other", both, region_batch(cycle)),
        ("the root under its deepest descendant", first(), region_batch(vec![region(root, "Level 0", pb::AdminLevel::Country, deepest)])),
        ("a leaf under the deepest region", first(), region_batch(vec![region(&unique_code("leaf"), "Leaf", pb::AdminLevel::Village, deepest)])),
    ]}
    rows! {t, c, "DeleteRegion", delete_region, [
        ("a middle region of the chain", Expect::Code(Code::FailedPrecondition), pb::DeleteRegionRequest { code: middle.clone() }),
    ]}
    run("hierarchies", t, data_revision(&c)).await;

    // The hierarchy is intact: the chain, in order, and the one region added under it.
    let list = pb::ListRegionsRequest {
        root_code: root.clone(),
        page_size: 1000,
        ..Default::default()
    };
    let listed = c.list_regions(list).await.unwrap().into_inner().regions;
    assert_eq!(listed.len(), MAX_REGION_DEPTH + 1);
    for (i, code) in chain.iter().enumerate() {
        assert_eq!(&listed[i].code, code);
        assert_eq!(
            listed[i].parent_code,
            if i == 0 { "" } else { &chain[i - 1] }
        );
    }
    srv.stop().await;
}

// ---- data service: bulk RPCs ----

fn record(kind: Kind) -> pb::Record {
    pb::Record {
        origin: "battery.csv:2".into(),
        kind: Some(kind),
    }
}

fn batches(
    batches: Vec<Vec<pb::Record>>,
) -> impl tokio_stream::Stream<Item = pb::ImportRecordsRequest> {
    let messages: Vec<pb::ImportRecordsRequest> = batches
        .into_iter()
        .map(|records| pb::ImportRecordsRequest { records })
        .collect();
    tokio_stream::iter(messages)
}

async fn bulk_rpcs_with_malformed_batches(db: TestDb) {
    let f = Fixture::create(&db).await;
    let c = f.client();
    let w = &f.w;
    // A client that sends more than the server accepts (64 MiB).
    let unlimited =
        DataServiceClient::new(f.srv.channel.clone()).max_encoding_message_size(usize::MAX);
    let over_limit = 64 * MB + 1;
    let observation = |change: &dyn Fn(&mut pb::Observation)| {
        let o = rating(&w.platform_a, &w.channel_a, "2023-07-01", 3.0);
        record(Kind::Observation(with(o, change)))
    };
    let prefix = unique_code("bulk");
    let new_channel = |i: usize| {
        let code = format!("{prefix}-{i}");
        record(Kind::Channel(channel(&code, pb::ChannelKind::Web)))
    };
    let too_many: Vec<pb::Record> = (0..50_001).map(new_channel).collect();
    let unknown_kind = |mut r: pb::Record| {
        if let Some(Kind::Channel(ch)) = &mut r.kind {
            ch.kind = 999;
        }
        r
    };
    let all_bad: Vec<pb::Record> = (0..10_000).map(new_channel).map(unknown_kind).collect();
    let twin = record(Kind::Channel(channel(
        &unique_code("twin"),
        pb::ChannelKind::Web,
    )));
    let population_batch = |figure: Option<pb::PopulationFigure>| {
        let region_code = w.country.clone();
        vec![record(Kind::Population(pb::PopulationRecord {
            region_code,
            figure,
        }))]
    };
    let platform_record = |code: &str, region: &str| record(Kind::Platform(platform(code, region)));
    let mut t = Table::default();
    rows! {t, c, "ImportRecords", import_records, [
        ("no messages at all", Expect::Ok, batches(vec![])),
        ("one empty batch", Expect::Ok, batches(vec![vec![]])),
        ("50,001 records in one message", invalid("records"), batches(vec![too_many])),
        ("10,000 records with an unknown enum (the first are named)", invalid("records[0].channel.kind"), batches(vec![all_bad])),
        ("a record without a kind", invalid("records[0].kind"), batches(vec![vec![pb::Record { origin: SQL.into(), kind: None }]])),
        ("a region carrying populations", invalid("records[0].region.populations"), batches(vec![vec![record(Kind::Region(pb::Region { populations: vec![population_figure()], ..region(&unique_code("r"), "R", pb::AdminLevel::Province, &w.country) }))]])),
        ("observation NaN", invalid("records[0].observation.value"), batches(vec![vec![observation(&|o| o.value = f64::NAN)]])),
        ("observation +infinity", invalid("records[0].observation.value"), batches(vec![vec![observation(&|o| o.value = f64::INFINITY)]])),
        ("population year 0", invalid("records[0].population.year"), batches(vec![population_batch(Some(pb::PopulationFigure { year: 0, ..population_figure() }))])),
        ("population -5", invalid("records[0].population.population"), batches(vec![population_batch(Some(pb::PopulationFigure { population: -5, ..population_figure() }))])),
        ("population without a figure", invalid("records[0].population.year"), batches(vec![population_batch(None)])),
        ("platform kind 999", invalid("records[0].platform.kind"), batches(vec![vec![record(Kind::Platform(pb::Platform { kind: 999, ..platform(&unique_code("app"), &w.province_a) }))]])),
        ("policy toe tag 999", invalid("records[0].policy_document.toe_tags[0]"), batches(vec![vec![record(Kind::PolicyDocument(pb::PolicyDocument { toe_tags: vec![999], ..policy_document(&unique_code("doc"), &w.province_a) }))]])),
        ("indicator value period 9999", invalid("records[0].indicator_value.period"), batches(vec![vec![record(Kind::IndicatorValue(indicator_value(&w.indicator, pb::SubjectKind::Region, &w.country, "9999", 1.0)))]])),
        ("aggregate -infinity", invalid("records[0].reported_aggregate.value"), batches(vec![vec![record(Kind::ReportedAggregate(pb::ReportedAggregate { value: f64::NEG_INFINITY, value_as_printed: String::new(), ..reported_aggregate(&unique_code("agg"), &w.platform_a) }))]])),
        ("SQL channel code", invalid("records[0].channel.code"), batches(vec![vec![record(Kind::Channel(channel(SQL, pb::ChannelKind::Web)))]])),
        ("a key twice in one batch", invalid("records[1].channel"), batches(vec![vec![twin.clone(), twin]])),
        ("a platform in a region that does not exist", invalid("records[0].platform.region_code"), batches(vec![vec![platform_record(&unique_code("app"), "atlantis")]])),
        ("valid records, then an invalid one: nothing is written", invalid("records[3].observation.value"), batches(vec![vec![new_channel(1), new_channel(2), platform_record(&unique_code("app"), &w.province_b), observation(&|o| o.value = f64::NAN)]])),
    ]}
    rows! {t, unlimited, "ImportRecords", import_records, [
        ("a message over 64 MiB", invalid("records"), batches(vec![vec![pb::Record { origin: "o".repeat(over_limit), kind: None }]])),
    ]}
    rows! {t, unlimited, "CreateRegion", create_region, [
        ("a message over 64 MiB", Expect::Grpc(Code::OutOfRange), f.region(|r| r.name = "n".repeat(over_limit))),
    ]}
    let export = |batch_size: i32| -> Call {
        let mut c = c.clone();
        Box::pin(async move {
            let request = pb::ExportRecordsRequest { batch_size };
            let mut stream = c.export_records(request).await?.into_inner();
            while stream.message().await?.is_some() {}
            Ok(())
        })
    };
    t.add(
        "ExportRecords",
        "batch_size -1",
        invalid("batch_size"),
        export(-1),
    );
    t.add(
        "ExportRecords",
        "batch_size i32::MIN",
        invalid("batch_size"),
        export(i32::MIN),
    );
    t.add(
        "ExportRecords",
        "batch_size i32::MAX (clamped)",
        Expect::Ok,
        export(i32::MAX),
    );
    rows! {t, c, "GetDataRevision", get_data_revision, [("no fields", Expect::Ok, pb::GetDataRevisionRequest {})]}
    // Malformed, unknown and forged tokens are inactive, never an error.
    let introspect = |token: String| -> Call {
        let mut c = c.clone();
        Box::pin(async move {
            let request = pb::IntrospectTokenRequest { token };
            let response = c.introspect_token(request).await?.into_inner();
            same(
                "introspection",
                &pb::IntrospectTokenResponse::default(),
                &response,
            )
        })
    };
    for (what, token) in [
        ("empty token", String::new()),
        ("garbage token", "garbage".into()),
        ("prefix only", "glt_".into()),
        ("NUL in token", "glt_\0_\0".into()),
        ("SQL in token", format!("glt_{SQL}_{SQL}")),
        (
            "unknown well-formed token",
            format!("glt_0123456789abcdef_{}", "a".repeat(64)),
        ),
        ("1 MB token", format!("glt_{}", "f".repeat(MB))),
    ] {
        t.add("IntrospectToken", what, Expect::Ok, introspect(token));
    }
    run("bulk", t, data_revision(&c)).await;
    f.srv.stop().await;
}

fn population_figure() -> pb::PopulationFigure {
    population(2020, 5, "")
}

// ---- wire-level garbage ----

/// A codec that sends and receives raw bytes: requests that no generated client can
/// build (wrong wire types, invalid UTF-8, truncated messages).
#[derive(Clone, Copy, Default)]
struct RawCodec;
struct RawEncoder;
struct RawDecoder;

impl tonic::codec::Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), Status> {
        use prost::bytes::BufMut;
        dst.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawDecoder {
    type Item = Vec<u8>;
    type Error = Status;
    fn decode(&mut self, src: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        use prost::bytes::Buf;
        let mut bytes = vec![0; src.remaining()];
        src.copy_to_slice(&mut bytes);
        Ok(Some(bytes))
    }
}

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

/// A unary call of `path` with `body` as the request message's bytes.
fn raw(channel: &tonic::transport::Channel, path: String, body: &[u8]) -> Call {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    let body = body.to_vec();
    Box::pin(async move {
        let ready = grpc.ready().await;
        ready.map_err(|e| Status::unknown(format!("not ready: {e}")))?;
        let path = tonic::codegen::http::uri::PathAndQuery::try_from(path)
            .map_err(|e| Status::unknown(format!("bad path: {e}")))?;
        let request = tonic::Request::new(body);
        grpc.unary(request, path, RawCodec).await.map(drop)
    })
}

/// Field 1 as a varint / as length-delimited bytes.
const VARINT_1: &[u8] = &[0x08, 0x05];
const BYTES_1: &[u8] = &[0x0a, 0x01, b'1'];
/// Field 1 as a string that is not UTF-8.
const NOT_UTF8_1: &[u8] = &[0x0a, 0x02, 0xc3, 0x28];
/// Field 1, a message whose field 1 is not UTF-8.
const NESTED_NOT_UTF8_1: &[u8] = &[0x0a, 0x04, 0x0a, 0x02, 0xc3, 0x28];
/// Field 1 announcing 16 bytes and carrying one.
const TRUNCATED_1: &[u8] = &[0x0a, 0x10, b'a'];
/// A varint of 11 bytes (more than 64 bits).
const LONG_VARINT_1: &[u8] = &[
    0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
];
/// Only field 999 (unknown: skipped), so every known field is at its default.
const UNKNOWN_FIELD: &[u8] = &[0xb8, 0x3e, 0x01];

async fn wire_level_garbage(db: TestDb) {
    let suite = RecommendationSuite::start(&db).await;
    let (data, scoring) = (&suite.base.data.channel, &suite.base.scoring.channel);
    let recommendation = &suite.recommendation.channel;
    let d = |rpc: &str, body| raw(data, format!("/govlens.data.v1.DataService/{rpc}"), body);
    let s = |rpc: &str, body| {
        raw(
            scoring,
            format!("/govlens.scoring.v1.ScoringService/{rpc}"),
            body,
        )
    };
    let r = |rpc: &str, body| {
        let path = format!("/govlens.recommendation.v1.RecommendationService/{rpc}");
        raw(recommendation, path, body)
    };
    // tonic answers a request it cannot decode with INTERNAL, as gRPC's status codes say.
    let undecodable = || Expect::Grpc(Code::Internal);
    let mut t = Table::default();
    for rpc in ["GetRegion", "GetPlatform", "DeleteChannel"] {
        calls! {t, [
            (rpc, "a code that is not UTF-8", undecodable(), d(rpc, NOT_UTF8_1)),
            (rpc, "a code given as a varint", undecodable(), d(rpc, VARINT_1)),
            (rpc, "a truncated message", undecodable(), d(rpc, TRUNCATED_1)),
            (rpc, "only an unknown field (empty code)", invalid("code"), d(rpc, UNKNOWN_FIELD)),
        ]}
    }
    for rpc in ["GetObservation", "DeleteIndicatorValue"] {
        calls! {t, [
            (rpc, "an id given as a string", undecodable(), d(rpc, BYTES_1)),
            (rpc, "an id varint of 11 bytes", undecodable(), d(rpc, LONG_VARINT_1)),
            (rpc, "only an unknown field (id 0)", invalid("id"), d(rpc, UNKNOWN_FIELD)),
        ]}
    }
    for rpc in ["CreateRegion", "UpdatePlatform"] {
        calls! {t, [
            (rpc, "the record given as a varint", undecodable(), d(rpc, VARINT_1)),
            (rpc, "a record field not UTF-8", undecodable(), d(rpc, NESTED_NOT_UTF8_1)),
        ]}
    }
    calls! {t, [
        ("CreateRegion", "only an unknown field (no region)", invalid("region"), d("CreateRegion", UNKNOWN_FIELD)),
        ("GetModel", "a model id that is not UTF-8", undecodable(), s("GetModel", NOT_UTF8_1)),
        ("CreateModel", "a truncated message", undecodable(), s("CreateModel", TRUNCATED_1)),
        ("ScoreUnits", "the scope given as a varint", undecodable(), s("ScoreUnits", VARINT_1)),
        ("ScoreUnits", "only an unknown field (no scope)", invalid("scope"), s("ScoreUnits", UNKNOWN_FIELD)),
        ("GetRulebook", "a rulebook id that is not UTF-8", undecodable(), r("GetRulebook", NOT_UTF8_1)),
        ("Diagnose", "a truncated message", undecodable(), r("Diagnose", TRUNCATED_1)),
        ("Diagnose", "only an unknown field (no region)", invalid("region_code"), r("Diagnose", UNKNOWN_FIELD)),
        ("GenerateReport", "region codes given as a varint", undecodable(), r("GenerateReport", VARINT_1)),
    ]}
    run("wire", t, everything_of(&suite)).await;
    suite.stop().await;
}

// ---- scoring and recommendation state ----

/// What no refused request may change across the suite: the data revision, and every
/// model's and rulebook's latest version.
#[derive(Debug, PartialEq)]
struct SuiteState {
    revision: i64,
    models: Vec<(String, i32, String)>,
    rulebooks: Vec<(String, i32, String)>,
}

async fn all_models(mut scoring: ScoringClient) -> Vec<(String, i32, String)> {
    let request = spb::ListModelsRequest {
        page_size: 500,
        page_token: String::new(),
    };
    let page = scoring.list_models(request).await.expect("ListModels");
    let page = page.into_inner();
    assert!(page.next_page_token.is_empty(), "more than 500 models");
    page.models
        .into_iter()
        .map(|m| (m.model_id, m.version, m.digest))
        .collect()
}

async fn all_rulebooks(rec: Option<RecommendationClient>) -> Vec<(String, i32, String)> {
    let Some(mut rec) = rec else {
        return Vec::new();
    };
    let request = rpb::ListRulebooksRequest {
        page_size: 500,
        page_token: String::new(),
    };
    let page = rec.list_rulebooks(request).await.expect("ListRulebooks");
    let page = page.into_inner();
    assert!(page.next_page_token.is_empty(), "more than 500 rulebooks");
    page.rulebooks
        .into_iter()
        .map(|b| (b.rulebook_id, b.version, b.digest))
        .collect()
}

fn state_of(
    data: Client,
    scoring: ScoringClient,
    rec: Option<RecommendationClient>,
) -> impl Fn() -> BoxFuture<SuiteState> {
    move || {
        let (data, scoring, rec) = (data.clone(), scoring.clone(), rec.clone());
        Box::pin(async move {
            SuiteState {
                revision: revision_of(data).await,
                models: all_models(scoring).await,
                rulebooks: all_rulebooks(rec).await,
            }
        })
    }
}

fn everything_of(suite: &RecommendationSuite) -> impl Fn() -> BoxFuture<SuiteState> {
    state_of(suite.data(), suite.scoring(), Some(suite.recommendation()))
}

/// Escapes `text` for a TOML basic string.
fn toml_string(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace('\t', "\\t")
}

// ---- scoring service ----

/// A valid model; each case below replaces one line of it.
const MODEL: &str = r#"format_version = 1
code = "MINI"
name = "Mini index"
aggregation = "arithmetic"

[ranking]
tie_tolerance = 0
decimals = 3

[[bands]]
label = "High"
min = 0.5

[[bands]]
label = "Low"

[[dimensions]]
code = "a"
weight = 1
threshold = 0.5
aggregation = { method = "power", p = 0.5, offset = 0.01 }

  [[dimensions.children]]
  code = "a1"
  normalisation = "goalposts"
  goalposts = { lower = 0, upper = 5 }

  [[dimensions.children]]
  code = "a2"
  normalisation = "distance_to_target"
  target = 1

[[dimensions]]
code = "b"
weight = 2

  [[dimensions.children]]
  code = "b1"
  normalisation = { method = "zscore", mean = 0, sd = 1 }

  [[dimensions.children]]
  code = "b2"
  normalisation = { method = "minmax", scale = [0, 1] }
"#;

/// `MODEL` with its one occurrence of `from` replaced by `to`.
#[track_caller]
fn model_with(from: &str, to: &str) -> String {
    assert_eq!(
        MODEL.matches(from).count(),
        1,
        "{from:?} is not one line of MODEL"
    );
    MODEL.replacen(from, to, 1)
}

/// The default rulebook with its first occurrence of `from` replaced by `to`.
#[track_caller]
fn rulebook_with(from: &str, to: &str) -> String {
    assert!(
        DEFAULT_RULEBOOK_TOML.contains(from),
        "{from:?} is not in the default rulebook"
    );
    DEFAULT_RULEBOOK_TOML.replacen(from, to, 1)
}

/// A model nested `depth` aggregates deep, as inline TOML, TOML table headers or JSON.
fn deep_model(depth: usize, syntax: &str) -> String {
    match syntax {
        "toml inline" => {
            let nodes: String = (0..depth)
                .map(|i| format!("{{ code = \"n{i}\", children = ["))
                .collect();
            let close = "] }".repeat(depth);
            format!("code = \"X\"\ndimensions = [{nodes}{{ code = \"leaf\" }}{close}]")
        }
        "toml headers" => {
            let mut text = String::from("code = \"X\"\n");
            for i in 0..depth {
                let path = format!("dimensions{}", ".children".repeat(i));
                text.push_str(&format!("[[{path}]]\ncode = \"n{i}\"\n"));
            }
            text
        }
        _ => {
            let nodes: String = (0..depth)
                .map(|i| format!("{{\"code\": \"n{i}\", \"children\": ["))
                .collect();
            let close = "]}".repeat(depth);
            format!("{{\"code\": \"X\", \"dimensions\": [{nodes}{{\"code\": \"leaf\"}}{close}]}}")
        }
    }
}

const TOML_MODEL: i32 = spb::ModelFormat::Toml as i32;
const JSON_MODEL: i32 = spb::ModelFormat::Json as i32;

fn create_model(model_id: &str, format: i32, source: String) -> spb::CreateModelRequest {
    spb::CreateModelRequest {
        model_id: model_id.into(),
        format,
        source,
    }
}

fn paper_scope() -> spb::ScoringScope {
    scope("toe-default", 0, "", spb::UnitKind::Region)
}

async fn scoring_battery(db: TestDb) {
    let suite = Suite::start(&db).await;
    suite.import_paper().await;
    let c = suite.scoring();
    // A model whose indicators no data has: a valid document, and unscorable.
    let ghost = unique_code("ghost");
    let ghost_model = "code = \"G\"\n[[dimensions]]\ncode = \"no.such.indicator\"\n";
    create_toml_model(&mut suite.scoring(), &ghost, ghost_model)
        .await
        .expect("a model of unknown indicators is a valid document");
    // A client that sends more than the server accepts (8 MiB).
    let unlimited = ScoringServiceClient::new(suite.scoring.channel.clone())
        .max_encoding_message_size(usize::MAX);

    let id = unique_code("mini");
    let toml = |source: String| create_model(&id, TOML_MODEL, source);
    let json = |source: &str| create_model(&id, JSON_MODEL, source.into());
    let named = |model_id: &str| create_model(model_id, TOML_MODEL, MODEL.into());
    let at = |path: &str| invalid(format!("source: {path}"));
    let deep_json = format!("dimensions[0]{}.children", ".children[0]".repeat(62));
    let every_weight_zero =
        model_with("weight = 1", "weight = 0").replacen("weight = 2", "weight = 0", 1);
    let childless = "code = \"X\"\n[[dimensions]]\ncode = \"a\"\nchildren = []\n";
    let mut t = Table::default();
    rows! {t, c, "CreateModel", create_model, [
        // The request's own fields.
        ("empty model_id", invalid("model_id"), named("")),
        ("NUL in model_id", invalid("model_id"), named("m\0")),
        ("SQL model_id", invalid("model_id"), named("'; DROP TABLE versioned_documents; --")),
        ("path traversal model_id", invalid("model_id"), named("../../etc/passwd")),
        ("unicode model_id", invalid("model_id"), named("模型")),
        ("100 KB model_id", invalid("model_id"), named(&"m".repeat(100_000))),
        ("format 999", invalid("format"), create_model(&id, 999, MODEL.into())),
        ("format i32::MIN", invalid("format"), create_model(&id, i32::MIN, MODEL.into())),
        ("a 2 MB document (over the 1 MiB model limit)", invalid("source"), toml(format!("{MODEL}\n#{}", "x".repeat(2 * MB)))),
        // Syntax.
        ("an empty document", invalid("source"), toml(String::new())),
        ("an unterminated string", invalid("source"), toml(model_with("name = \"Mini index\"", "name = \"Mini index"))),
        ("a NUL byte", invalid("source"), toml(model_with("name = \"Mini index\"", "name = \"Mini\0index\""))),
        ("a key given twice", invalid("source"), toml(model_with("name = \"Mini index\"", "name = \"a\"\nname = \"b\""))),
        ("TOML sent as JSON", invalid("source"), json(MODEL)),
        ("a JSON array", invalid("source"), json("[]")),
        ("JSON without code", invalid("source"), json("{}")),
        // Types.
        ("code a number", at("code"), toml(model_with("code = \"MINI\"", "code = 5"))),
        ("dimensions a string", at("dimensions"), toml("code = \"X\"\ndimensions = \"all\"\n".into())),
        ("threshold a string", at("dimensions[0].threshold"), toml(model_with("threshold = 0.5", "threshold = \"half\""))),
        ("weight a boolean", at("dimensions[1].weight"), toml(model_with("weight = 2", "weight = true"))),
        ("decimals negative", at("ranking.decimals"), toml(model_with("decimals = 3", "decimals = -1"))),
        ("format_version negative", at("format_version"), toml(model_with("format_version = 1", "format_version = -1"))),
        ("JSON weight \"NaN\"", at("dimensions[0].weight"), json(r#"{"code": "X", "dimensions": [{"code": "a", "weight": "NaN"}]}"#)),
        ("JSON weight 1e999", at("dimensions[0].weight"), json(r#"{"code": "X", "dimensions": [{"code": "a", "weight": 1e999}]}"#)),
        // Unknown keys.
        ("an unknown top-level key", at("colour"), toml(model_with("name = \"Mini index\"", "name = \"Mini index\"\ncolour = \"red\""))),
        ("an unknown goalposts key", at("dimensions[0].children[0].goalposts.middle"), toml(model_with("goalposts = { lower = 0, upper = 5 }", "goalposts = { lower = 0, upper = 5, middle = 2 }"))),
        ("an indicator key on an aggregate", at("dimensions[0].direction"), toml(model_with("threshold = 0.5", "threshold = 0.5\ndirection = \"lower_is_better\""))),
        // NaN, infinities and out-of-range values in every float field.
        ("weight NaN", at("dimensions[1].weight"), toml(model_with("weight = 2", "weight = nan"))),
        ("weight +infinity", at("dimensions[1].weight"), toml(model_with("weight = 2", "weight = inf"))),
        ("weight -infinity", at("dimensions[1].weight"), toml(model_with("weight = 2", "weight = -inf"))),
        ("weight negative", at("dimensions[0].weight"), toml(model_with("weight = 1", "weight = -0.5"))),
        ("every weight zero", at("dimensions"), toml(every_weight_zero)),
        ("threshold NaN", at("dimensions[0].threshold"), toml(model_with("threshold = 0.5", "threshold = nan"))),
        ("threshold 1.5", at("dimensions[0].threshold"), toml(model_with("threshold = 0.5", "threshold = 1.5"))),
        ("goalposts NaN", at("dimensions[0].children[0].goalposts"), toml(model_with("lower = 0, upper = 5", "lower = nan, upper = 5"))),
        ("goalposts reversed", at("dimensions[0].children[0].goalposts"), toml(model_with("lower = 0, upper = 5", "lower = 5, upper = 0"))),
        ("target +infinity", at("dimensions[0].children[1].target"), toml(model_with("target = 1", "target = inf"))),
        ("sd 0", at("dimensions[1].children[0].normalisation.sd"), toml(model_with("sd = 1", "sd = 0"))),
        ("sd NaN", at("dimensions[1].children[0].normalisation.sd"), toml(model_with("sd = 1", "sd = nan"))),
        ("mean -infinity", at("dimensions[1].children[0].normalisation.mean"), toml(model_with("mean = 0", "mean = -inf"))),
        ("scale NaN", at("dimensions[1].children[1].normalisation.scale"), toml(model_with("scale = [0, 1]", "scale = [nan, 1]"))),
        ("scale reversed", at("dimensions[1].children[1].normalisation.scale"), toml(model_with("scale = [0, 1]", "scale = [1, 0]"))),
        ("power p NaN", at("dimensions[0].aggregation.p"), toml(model_with("p = 0.5", "p = nan"))),
        ("offset -1", at("dimensions[0].aggregation.offset"), toml(model_with("offset = 0.01", "offset = -1"))),
        ("band min NaN", at("bands[0].min"), toml(model_with("min = 0.5", "min = nan"))),
        ("tie tolerance -1", at("ranking.tie_tolerance"), toml(model_with("tie_tolerance = 0", "tie_tolerance = -1"))),
        ("tie tolerance +infinity", at("ranking.tie_tolerance"), toml(model_with("tie_tolerance = 0", "tie_tolerance = inf"))),
        ("decimals 99", at("ranking.decimals"), toml(model_with("decimals = 3", "decimals = 99"))),
        ("format_version 2", at("format_version"), toml(model_with("format_version = 1", "format_version = 2"))),
        // Methods.
        ("an unknown normalisation", at("dimensions[0].children[0].normalisation"), toml(model_with("normalisation = \"goalposts\"", "normalisation = \"maxmin\""))),
        ("an unknown aggregation", at("dimensions[0].aggregation.method"), toml(model_with("method = \"power\"", "method = \"median\""))),
        // The tree: duplicate ids, a node named like its parent or the index (all a
        // cycle could look like in a tree), empty codes, and absurd nesting.
        ("a duplicate indicator code", at("dimensions[1].children[0].code"), toml(model_with("code = \"b1\"", "code = \"a1\""))),
        ("a child with its parent's code", at("dimensions[0].children[0].code"), toml(model_with("code = \"a1\"", "code = \"a\""))),
        ("a child with the index's code", at("dimensions[1].children[1].code"), toml(model_with("code = \"b2\"", "code = \"MINI\""))),
        ("an empty code", at("dimensions[0].code"), toml(model_with("code = \"a\"", "code = \"\""))),
        ("an aggregate without children", at("dimensions[0].children"), toml(childless.into())),
        ("100 levels of inline tables", invalid("source"), toml(deep_model(100, "toml inline"))),
        ("100 levels of table headers", invalid("source"), toml(deep_model(100, "toml headers"))),
        ("100 levels of JSON", at(&deep_json), json(&deep_model(100, "json"))),
        ("10,000 levels of JSON", at(&deep_json), json(&deep_model(10_000, "json"))),
    ]}
    rows! {t, unlimited, "CreateModel", create_model, [
        ("a 10 MB document (over the 8 MiB message limit)", Expect::Grpc(Code::OutOfRange), toml(format!("{MODEL}\n#{}", "x".repeat(10 * MB)))),
    ]}
    let get = |model_id: &str, version: i32| spb::GetModelRequest {
        model_id: model_id.into(),
        version,
    };
    rows! {t, c, "GetModel", get_model, [
        ("empty model_id", invalid("model_id"), get("", 0)),
        ("NUL in model_id", invalid("model_id"), get("toe\0", 0)),
        ("SQL model_id", invalid("model_id"), get(SQL, 0)),
        ("100 KB model_id", invalid("model_id"), get(&"m".repeat(100_000), 0)),
        ("version i32::MIN", invalid("version"), get("toe-default", i32::MIN)),
        ("version i32::MAX", NOT_FOUND, get("toe-default", i32::MAX)),
    ]}
    let list = |page_size: i32, page_token: &str| spb::ListModelsRequest {
        page_size,
        page_token: page_token.into(),
    };
    rows! {t, c, "ListModels", list_models, [
        ("page_size -1", invalid("page_size"), list(-1, "")),
        ("page_size i32::MIN", invalid("page_size"), list(i32::MIN, "")),
        ("page_size i32::MAX (clamped)", Expect::Ok, list(i32::MAX, "")),
        ("NUL page_token", invalid("page_token"), list(0, "\0")),
        ("SQL page_token", invalid("page_token"), list(0, SQL)),
        ("100 KB page_token", invalid("page_token"), list(0, &"m".repeat(100_000))),
    ]}
    let sc = |change: &dyn Fn(&mut spb::ScoringScope)| Some(with(paper_scope(), change));
    let score = |change: &dyn Fn(&mut spb::ScoringScope)| spb::ScoreUnitsRequest {
        scope: sc(change),
        overrides: vec![],
    };
    let what_if = |unit: &str, indicator: &str, value: f64| {
        let fine = spb::ValueOverride {
            unit_code: "cn-sc".into(),
            indicator_code: "toe.t.avg_rating".into(),
            value: 4.0,
        };
        let bad = spb::ValueOverride {
            unit_code: unit.into(),
            indicator_code: indicator.into(),
            value,
        };
        spb::ScoreUnitsRequest {
            scope: Some(paper_scope()),
            overrides: vec![fine, bad],
        }
    };
    rows! {t, c, "ScoreUnits", score_units, [
        ("no scope", invalid("scope"), spb::ScoreUnitsRequest::default()),
        ("empty model_id", invalid("scope.model_id"), score(&|s| s.model_id.clear())),
        ("NUL in model_id", invalid("scope.model_id"), score(&|s| s.model_id = "toe\0".into())),
        ("SQL model_id", invalid("scope.model_id"), score(&|s| s.model_id = SQL.into())),
        ("version -1", invalid("scope.version"), score(&|s| s.version = -1)),
        ("version i32::MIN", invalid("scope.version"), score(&|s| s.version = i32::MIN)),
        ("version i32::MAX", NOT_FOUND, score(&|s| s.version = i32::MAX)),
        ("unit kind 999", invalid("scope.unit_kind"), score(&|s| s.unit_kind = 999)),
        ("unit kind i32::MIN", invalid("scope.unit_kind"), score(&|s| s.unit_kind = i32::MIN)),
        ("period year 9999", invalid("scope.period"), score(&|s| s.period = "9999".into())),
        ("period year 0", invalid("scope.period"), score(&|s| s.period = "0000".into())),
        ("NUL period", invalid("scope.period"), score(&|s| s.period = "\0".into())),
        ("SQL period", invalid("scope.period"), score(&|s| s.period = SQL.into())),
        ("a period without data", invalid("scope.period"), score(&|s| { s.model_id = "un-egdi".into(); s.period = "2022".into() })),
        ("SQL region_code", NOT_FOUND, score(&|s| s.region_code = SQL.into())),
        ("NUL region_code", NOT_FOUND, score(&|s| s.region_code = "\0".into())),
        ("a model of indicators without data", Expect::Code(Code::FailedPrecondition), score(&|s| s.model_id = ghost.clone())),
        ("override NaN", invalid("overrides[1].value"), what_if("cn-gz", "toe.t.avg_rating", f64::NAN)),
        ("override +infinity", invalid("overrides[1].value"), what_if("cn-gz", "toe.t.avg_rating", f64::INFINITY)),
        ("override -infinity", invalid("overrides[1].value"), what_if("cn-gz", "toe.t.avg_rating", f64::NEG_INFINITY)),
        ("override of an unknown unit", invalid("overrides[1].unit_code"), what_if(SQL, "toe.t.avg_rating", 1.0)),
        ("override of an unknown indicator", invalid("overrides[1].indicator_code"), what_if("cn-gz", "%s%n{}", 1.0)),
    ]}
    rows! {t, unlimited, "ScoreUnits", score_units, [
        ("a 9 MiB request (over the 8 MiB message limit)", Expect::Grpc(Code::OutOfRange), what_if("cn-gz", &"i".repeat(9 * MB), 1.0)),
    ]}
    let compare = |codes: &[&str]| spb::CompareRegionsRequest {
        scope: Some(paper_scope()),
        region_codes: codes.iter().map(|s| s.to_string()).collect(),
    };
    let many: Vec<String> = (0..10_000).map(|i| format!("r{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    rows! {t, c, "CompareRegions", compare_regions, [
        ("no scope", invalid("scope"), spb::CompareRegionsRequest { scope: None, ..compare(&["cn-sc", "cn-gz"]) }),
        ("no regions", invalid("region_codes"), compare(&[])),
        ("one region", invalid("region_codes"), compare(&["cn-sc"])),
        ("one region twice", invalid("region_codes"), compare(&["cn-sc", "cn-sc"])),
        ("an SQL region code", invalid("region_codes"), compare(&["cn-sc", SQL])),
        ("a NUL region code", invalid("region_codes"), compare(&["cn-sc", "\0"])),
        ("10,000 unknown regions", invalid("region_codes"), compare(&many)),
        ("unit kind 999", invalid("scope.unit_kind"), spb::CompareRegionsRequest { scope: sc(&|s| s.unit_kind = 999), ..compare(&["cn-sc", "cn-gz"]) }),
    ]}
    let explain = |unit: &str| spb::ExplainScoreRequest {
        scope: Some(paper_scope()),
        unit_code: unit.into(),
    };
    rows! {t, c, "ExplainScore", explain_score, [
        ("no scope", invalid("scope"), spb::ExplainScoreRequest { scope: None, ..explain("cn-sc") }),
        ("empty unit_code", invalid("unit_code"), explain("")),
        ("SQL unit_code", NOT_FOUND, explain(SQL)),
        ("NUL unit_code", NOT_FOUND, explain("\0")),
        ("100 KB unit_code", NOT_FOUND, explain(&"u".repeat(100_000))),
        ("version -1", invalid("scope.version"), spb::ExplainScoreRequest { scope: sc(&|s| s.version = -1), ..explain("cn-sc") }),
    ]}
    let uncertainty = |scope: Option<spb::ScoringScope>, draws: i32, weight_perturbation: f64| {
        let mut scoring = c.clone();
        let request = spb::RunUncertaintyRequest {
            scope,
            draws,
            seed: u64::MAX,
            weight_perturbation,
            vary_methods: true,
        };
        Box::pin(async move { run_uncertainty(&mut scoring, request).await.map(drop) }) as Call
    };
    for (what, scope, draws, perturbation, field) in [
        ("no scope", None, 10, 0.0, "scope"),
        ("draws -1", Some(paper_scope()), -1, 0.0, "draws"),
        ("draws 1", Some(paper_scope()), 1, 0.0, "draws"),
        ("draws 100,001", Some(paper_scope()), 100_001, 0.0, "draws"),
        (
            "draws i32::MAX",
            Some(paper_scope()),
            i32::MAX,
            0.0,
            "draws",
        ),
        (
            "draws i32::MIN",
            Some(paper_scope()),
            i32::MIN,
            0.0,
            "draws",
        ),
        (
            "weight perturbation NaN",
            Some(paper_scope()),
            10,
            f64::NAN,
            "weight_perturbation",
        ),
        (
            "weight perturbation +infinity",
            Some(paper_scope()),
            10,
            f64::INFINITY,
            "weight_perturbation",
        ),
        (
            "weight perturbation -infinity",
            Some(paper_scope()),
            10,
            f64::NEG_INFINITY,
            "weight_perturbation",
        ),
        (
            "weight perturbation 1",
            Some(paper_scope()),
            10,
            1.0,
            "weight_perturbation",
        ),
        (
            "weight perturbation -0.1",
            Some(paper_scope()),
            10,
            -0.1,
            "weight_perturbation",
        ),
    ] {
        t.add(
            "RunUncertainty",
            what,
            invalid(field),
            uncertainty(scope, draws, perturbation),
        );
    }
    for (what, region_code) in [
        ("SQL region_code", SQL.to_string()),
        ("NUL region_code", "\0".to_string()),
        ("100 KB region_code", "r".repeat(100_000)),
        ("a platform as region_code", "guizhou-tong".to_string()),
    ] {
        rows! {t, c, "GetQualityReport", get_quality_report, [(what, NOT_FOUND, spb::GetQualityReportRequest { region_code: region_code.clone() })]}
        rows! {t, c, "ListPlatformMetrics", list_platform_metrics, [(what, NOT_FOUND, spb::ListPlatformMetricsRequest { region_code })]}
    }
    // Last (they add models): injection strings in the document's text are stored verbatim.
    for (what, text) in INJECTIONS {
        let mut scoring = c.clone();
        let model_id = unique_code("inj");
        let escaped = toml_string(text);
        let source = model_with(
            "name = \"Mini index\"",
            &format!("name = \"{escaped}\"\ndescription = \"{escaped}\""),
        );
        let call = Box::pin(async move {
            let created = create_toml_model(&mut scoring, &model_id, &source).await?;
            let created = created.model.unwrap_or_default();
            same("name", &text.to_string(), &created.name)?;
            same("description", &text.to_string(), &created.description)?;
            let got = get_model(&mut scoring, &model_id, 0).await?;
            same("model", &created, &got)?;
            same("source", &source, &got.source)
        });
        t.add(
            "CreateModel",
            format!("{what} in name and description"),
            Expect::Stored,
            call,
        );
    }
    run("scoring", t, state_of(suite.data(), suite.scoring(), None)).await;
    suite.stop().await;
}

// ---- recommendation service ----

fn create_rulebook(id: &str, format: i32, source: &str) -> rpb::CreateRulebookRequest {
    rpb::CreateRulebookRequest {
        rulebook_id: id.into(),
        format,
        source: source.into(),
    }
}

async fn recommendation_battery(db: TestDb) {
    let suite = RecommendationSuite::start(&db).await;
    suite.import_paper().await;
    let c = suite.recommendation();
    // A client that sends more than the server accepts (4 MiB, gRPC's default).
    let unlimited = RecommendationServiceClient::new(suite.recommendation.channel.clone())
        .max_encoding_message_size(usize::MAX);
    let toml = rpb::RulebookFormat::Toml as i32;
    let json = rpb::RulebookFormat::Json as i32;
    let id = unique_code("book");
    let book = |source: String| create_rulebook(&id, toml, &source);
    let named = |rulebook_id: &str| create_rulebook(rulebook_id, toml, DEFAULT_RULEBOOK_TOML);
    let at = |path: &str| invalid(format!("source: {path}"));
    let nested_arrays = format!("{}1{}", "[".repeat(1000), "]".repeat(1000));
    let nested_tables = format!("{}1{}", "{ a = ".repeat(1000), " }".repeat(1000));
    let mut t = Table::default();
    rows! {t, c, "CreateRulebook", create_rulebook, [
        ("empty rulebook_id", invalid("rulebook_id"), named("")),
        ("NUL in rulebook_id", invalid("rulebook_id"), named("b\0")),
        ("SQL rulebook_id", invalid("rulebook_id"), named(SQL)),
        ("path traversal rulebook_id", invalid("rulebook_id"), named("../../etc/passwd")),
        ("100 KB rulebook_id", invalid("rulebook_id"), named(&"b".repeat(100_000))),
        ("format 999", invalid("format"), create_rulebook(&id, 999, DEFAULT_RULEBOOK_TOML)),
        ("format i32::MIN", invalid("format"), create_rulebook(&id, i32::MIN, DEFAULT_RULEBOOK_TOML)),
        ("a 2 MB document (over the 1 MiB rulebook limit)", invalid("source"), book(format!("{DEFAULT_RULEBOOK_TOML}\n#{}", "x".repeat(2 * MB)))),
        ("an empty document", at("format_version"), book(String::new())),
        ("invalid TOML", invalid("source"), book("format_version = = 1".into())),
        ("a NUL byte", invalid("source"), book(rulebook_with("format_version = 1", "format_version = 1\0"))),
        ("a key given twice", invalid("source"), book(rulebook_with("format_version = 1", "format_version = 1\nformat_version = 1"))),
        ("TOML sent as JSON", invalid("source"), create_rulebook(&id, json, DEFAULT_RULEBOOK_TOML)),
        ("a JSON number", invalid("source"), create_rulebook(&id, json, "42")),
        ("format_version a string", at("format_version"), book(rulebook_with("format_version = 1", "format_version = \"1\""))),
        ("format_version 2", at("format_version"), book(rulebook_with("format_version = 1", "format_version = 2"))),
        ("an id with spaces", at("id"), book(rulebook_with("id = \"pan2023-toe-default\"", "id = \"bad id!\""))),
        ("dilemmas a number", at("dilemmas"), create_rulebook(&id, json, r#"{"format_version": 1, "id": "x", "name": "x", "dilemmas": 5}"#)),
        ("an unknown top-level key", at("colour"), book(rulebook_with("format_version = 1", "format_version = 1\ncolour = \"red\""))),
        ("a condition value NaN", at("dilemmas[0].conditions[0].value"), book(rulebook_with("value = 0.9", "value = nan"))),
        ("a condition value +infinity", at("dilemmas[0].conditions[0].value"), book(rulebook_with("value = 0.9", "value = inf"))),
        ("a condition value a string", at("dilemmas[0].conditions[0].value"), book(rulebook_with("value = 0.9", "value = \"0.9\""))),
        ("a dimension weight -1", at("dimension_weights.technology"), book(rulebook_with("technology = 1", "technology = -1"))),
        ("a dimension weight NaN", at("dimension_weights.technology"), book(rulebook_with("technology = 1", "technology = nan"))),
        ("a duplicate dilemma code", at("dilemmas[1].code"), book(rulebook_with("code = \"3.1.2\"", "code = \"3.1.1\""))),
        ("an SQL fact key", at("dilemmas[0].conditions[0].fact"), book(rulebook_with("fact = \"indicator.toe.t.store_coverage\"", "fact = \"'; DROP TABLE facts; --\""))),
        ("an unknown applies_to", at("dilemmas[0].applies_to"), book(rulebook_with("applies_to = \"region\"", "applies_to = \"galaxy\""))),
        ("an unknown severity", at("dilemmas[0].severity"), book(rulebook_with("severity = \"medium\"", "severity = \"apocalyptic\""))),
        ("a path answering an unknown dilemma", at("paths[0].answers[0]"), book(rulebook_with("answers = [\"3.1.1\",", "answers = [\"%s%n{}\","))),
        ("a repeated actor", at("paths[0].actors[1]"), book(rulebook_with("actors = [\"government\", \"enterprises\"]", "actors = [\"government\", \"government\"]"))),
        ("importance NaN", at("paths[0].importance"), book(rulebook_with("code = \"4.1.1\"", "code = \"4.1.1\"\nimportance = nan"))),
        ("importance 1.5", at("paths[0].importance"), book(rulebook_with("code = \"4.1.1\"", "code = \"4.1.1\"\nimportance = 1.5"))),
        ("a target NaN", at("paths[0].targets[0].target"), book(rulebook_with("target = 1.0, note = \"every app", "target = nan, note = \"every app"))),
        ("a performance fact not a score", at("paths[0].performance_fact"), book(rulebook_with("performance_fact = \"score.technology.infrastructure\"", "performance_fact = \"indicator.toe.t.store_coverage\""))),
        ("1,000 levels of nested arrays", invalid("source"), book(format!("{DEFAULT_RULEBOOK_TOML}\nx = {nested_arrays}\n"))),
        ("1,000 levels of inline tables", invalid("source"), book(format!("x = {nested_tables}\n{DEFAULT_RULEBOOK_TOML}"))),
        ("1,000 levels of JSON", invalid("source"), create_rulebook(&id, json, &format!("{{\"x\": {nested_arrays}}}"))),
    ]}
    rows! {t, unlimited, "CreateRulebook", create_rulebook, [
        ("a 10 MB document (over the 4 MiB message limit)", Expect::Grpc(Code::OutOfRange), book(format!("{DEFAULT_RULEBOOK_TOML}\n#{}", "x".repeat(10 * MB)))),
    ]}
    let get = |rulebook_id: &str, version: i32| rpb::GetRulebookRequest {
        rulebook_id: rulebook_id.into(),
        version,
    };
    rows! {t, c, "GetRulebook", get_rulebook, [
        ("empty rulebook_id", invalid("rulebook_id"), get("", 0)),
        ("NUL in rulebook_id", invalid("rulebook_id"), get("default\0", 0)),
        ("SQL rulebook_id", invalid("rulebook_id"), get(SQL, 0)),
        ("version i32::MIN", invalid("version"), get("default", i32::MIN)),
        ("version i32::MAX", NOT_FOUND, get("default", i32::MAX)),
    ]}
    let list = |page_size: i32, page_token: &str| rpb::ListRulebooksRequest {
        page_size,
        page_token: page_token.into(),
    };
    rows! {t, c, "ListRulebooks", list_rulebooks, [
        ("page_size i32::MIN", invalid("page_size"), list(i32::MIN, "")),
        ("page_size i32::MAX (clamped)", Expect::Ok, list(i32::MAX, "")),
        ("NUL page_token", invalid("page_token"), list(0, "\0")),
        ("SQL page_token", invalid("page_token"), list(0, SQL)),
    ]}
    let scoped = |change: &dyn Fn(&mut rpb::AssessmentScope)| {
        Some(with(rpb::AssessmentScope::default(), change))
    };
    // Malformed scopes, for each of the three assessment RPCs. Scoring's refusals of the
    // model and period come back as a violation of `scope`.
    let scopes: Vec<(&str, Option<rpb::AssessmentScope>, Expect)> = vec![
        (
            "rulebook version -1",
            scoped(&|s| s.rulebook_version = -1),
            invalid("scope"),
        ),
        (
            "model version i32::MIN",
            scoped(&|s| s.model_version = i32::MIN),
            invalid("scope"),
        ),
        (
            "NUL in rulebook_id",
            scoped(&|s| s.rulebook_id = "default\0".into()),
            invalid("scope.rulebook_id"),
        ),
        (
            "SQL rulebook_id",
            scoped(&|s| s.rulebook_id = SQL.into()),
            invalid("scope.rulebook_id"),
        ),
        (
            "an unknown rulebook",
            scoped(&|s| s.rulebook_id = "no-such-rulebook".into()),
            NOT_FOUND,
        ),
        (
            "rulebook version i32::MAX",
            scoped(&|s| s.rulebook_version = i32::MAX),
            NOT_FOUND,
        ),
        (
            "NUL in model_id",
            scoped(&|s| s.model_id = "toe\0".into()),
            invalid("scope"),
        ),
        (
            "an unknown model",
            scoped(&|s| s.model_id = "no-such-model".into()),
            NOT_FOUND,
        ),
        (
            "period year 9999",
            scoped(&|s| s.period = "9999".into()),
            invalid("scope"),
        ),
        (
            "SQL period",
            scoped(&|s| s.period = SQL.into()),
            invalid("scope"),
        ),
    ];
    for (what, scope, expect) in scopes {
        let e = || expect.clone();
        rows! {t, c, "Diagnose", diagnose, [(what, e(), rpb::DiagnoseRequest { region_code: "cn-gz".into(), scope: scope.clone() })]}
        rows! {t, c, "Recommend", recommend, [(what, e(), rpb::RecommendRequest { region_code: "cn-sc".into(), scope: scope.clone() })]}
        rows! {t, c, "GenerateReport", generate_report, [(what, e(), rpb::GenerateReportRequest { region_codes: vec!["cn-sc".into()], scope, format: 0 })]}
    }
    // Malformed region codes: too long is INVALID_ARGUMENT; anything else is a region
    // without scores (FAILED_PRECONDITION, as for any unknown region).
    for (what, region, expect) in [
        (
            "65-char region_code",
            "r".repeat(65),
            invalid("region_code"),
        ),
        (
            "100 KB region_code",
            "r".repeat(100_000),
            invalid("region_code"),
        ),
        ("SQL region_code", SQL.to_string(), NO_SCORES),
        ("NUL region_code", "cn-gz\0".to_string(), NO_SCORES),
        (
            "HTML region_code",
            "<script>alert(1)</script>".to_string(),
            NO_SCORES,
        ),
    ] {
        rows! {t, c, "Diagnose", diagnose, [(what, expect.clone(), rpb::DiagnoseRequest { region_code: region.clone(), scope: None })]}
        rows! {t, c, "Recommend", recommend, [(what, expect, rpb::RecommendRequest { region_code: region, scope: None })]}
    }
    let report = |codes: Vec<String>, format: i32| rpb::GenerateReportRequest {
        region_codes: codes,
        scope: None,
        format,
    };
    let regions = |n: usize| (0..n).map(|i| format!("r{i}")).collect::<Vec<_>>();
    rows! {t, c, "GenerateReport", generate_report, [
        ("21 regions", invalid("region_codes"), report(regions(21), 0)),
        ("10,000 regions", invalid("region_codes"), report(regions(10_000), 0)),
        ("a 65-char region", invalid("region_codes"), report(vec!["r".repeat(65)], 0)),
        ("an SQL region", NO_SCORES, report(vec![SQL.into()], 0)),
        ("a NUL region", NO_SCORES, report(vec!["cn-sc".into(), "\0".into()], 0)),
        ("format 999", invalid("format"), report(vec!["cn-sc".into()], 999)),
        ("format i32::MIN", invalid("format"), report(vec!["cn-sc".into()], i32::MIN)),
    ]}
    // Last (they add rulebooks): injection strings in the name are stored verbatim.
    for (what, text) in INJECTIONS {
        let mut rec = c.clone();
        let rulebook_id = unique_code("inj");
        let escaped = toml_string(text);
        let source = rulebook_with(
            "name = \"TOE dilemmas",
            &format!("name = \"{escaped} TOE dilemmas"),
        );
        let call = Box::pin(async move {
            let created = create_toml_rulebook(&mut rec, &rulebook_id, &source).await?;
            let created = created.rulebook.unwrap_or_default();
            same("name starts with", &true, &created.name.starts_with(text))?;
            let request = rpb::GetRulebookRequest {
                rulebook_id,
                version: 0,
            };
            let got = rec.get_rulebook(request).await?.into_inner().rulebook;
            same("rulebook", &Some(created), &got)
        });
        t.add(
            "CreateRulebook",
            format!("{what} in the name"),
            Expect::Stored,
            call,
        );
    }
    run("recommendation", t, everything_of(&suite)).await;
    suite.stop().await;
}
