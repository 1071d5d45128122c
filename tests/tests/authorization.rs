//! Access control of the data service, with authentication on: every caller (no token,
//! a malformed or revoked token, reader, service, editors scoped to Guizhou or
//! Sichuan, an unscoped editor, admin) tries every write RPC on Guizhou's data,
//! Sichuan's data and data shared by every region. Each attempt gets exactly the code
//! the access rules give (computed by `expected`, not typed per cell), and a refused
//! attempt changes nothing. Writes are audited (who, what, request id), the audit log is
//! for admins, and tokens are checked for other services only.

use std::collections::BTreeMap;

use govlens_data::store::Store;
use govlens_data::tokens;
use govlens_kit::auth::{AuthConfig, Role};
use govlens_tests::fixtures::*;
use govlens_tests::*;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Status};

on_both_backends!(
    every_role_region_and_write_rpc_gets_its_code,
    writes_are_audited_and_the_log_is_for_admins,
    introspection_is_for_services,
);

const SERVICE_TOKEN: &str = "test-service-token-0123456789abcdef0123456789";
const GZ: &str = "cn-gz";
const SC: &str = "cn-sc";

/// Adds a caller's bearer token to each call.
#[derive(Clone)]
struct Bearer(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut r: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        if let Some(h) = &self.0 {
            r.metadata_mut().insert("authorization", h.clone());
        }
        Ok(r)
    }
}

type Authed = pb::data_service_client::DataServiceClient<InterceptedService<Channel, Bearer>>;

fn client_as(srv: &TestServer, token: Option<&str>) -> Authed {
    let header = token.map(|t| format!("Bearer {t}").parse().expect("header"));
    pb::data_service_client::DataServiceClient::with_interceptor(
        srv.channel.clone(),
        Bearer(header),
    )
    .max_decoding_message_size(64 << 20)
    .max_encoding_message_size(64 << 20)
}

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Caller {
    Nobody,
    Garbage,
    Revoked,
    Reader,
    Service,
    EditorGz,
    EditorSc,
    Editor,
    Admin,
}

const CALLERS: [Caller; 9] = [
    Caller::Nobody,
    Caller::Garbage,
    Caller::Revoked,
    Caller::Reader,
    Caller::Service,
    Caller::EditorGz,
    Caller::EditorSc,
    Caller::Editor,
    Caller::Admin,
];

/// Whose data an attempt writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Guizhou,
    Sichuan,
    Shared,
}

/// The access rules, as a user reads them in SECURITY.md.
fn expected(caller: Caller, target: Target) -> Code {
    match caller {
        Caller::Nobody | Caller::Garbage | Caller::Revoked => Code::Unauthenticated,
        Caller::Reader | Caller::Service => Code::PermissionDenied,
        Caller::Admin | Caller::Editor => Code::Ok,
        Caller::EditorGz if target == Target::Guizhou => Code::Ok,
        Caller::EditorSc if target == Target::Sichuan => Code::Ok,
        Caller::EditorGz | Caller::EditorSc => Code::PermissionDenied,
    }
}

/// The write RPCs, each with the targets it can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rpc {
    CreateRegion,
    UpdateRegion,
    DeleteRegion,
    CreatePlatform,
    UpdatePlatform,
    DeletePlatform,
    CreateObservation,
    UpdateObservation,
    DeleteObservation,
    CreatePolicyDocument,
    UpdatePolicyDocument,
    DeletePolicyDocument,
    CreatePlatformFunction,
    UpdatePlatformFunction,
    DeletePlatformFunction,
    CreateIndicatorValue,
    UpdateIndicatorValue,
    DeleteIndicatorValue,
    CreateReportedAggregate,
    UpdateReportedAggregate,
    DeleteReportedAggregate,
    ImportRecords,
    CreateChannel,
    UpdateChannel,
    DeleteChannel,
    CreateServiceFunction,
    UpdateServiceFunction,
    DeleteServiceFunction,
    CreateIndicator,
    UpdateIndicator,
    DeleteIndicator,
}

const REGIONAL: [Rpc; 22] = [
    Rpc::CreateRegion,
    Rpc::UpdateRegion,
    Rpc::DeleteRegion,
    Rpc::CreatePlatform,
    Rpc::UpdatePlatform,
    Rpc::DeletePlatform,
    Rpc::CreateObservation,
    Rpc::UpdateObservation,
    Rpc::DeleteObservation,
    Rpc::CreatePolicyDocument,
    Rpc::UpdatePolicyDocument,
    Rpc::DeletePolicyDocument,
    Rpc::CreatePlatformFunction,
    Rpc::UpdatePlatformFunction,
    Rpc::DeletePlatformFunction,
    Rpc::CreateIndicatorValue,
    Rpc::UpdateIndicatorValue,
    Rpc::DeleteIndicatorValue,
    Rpc::CreateReportedAggregate,
    Rpc::UpdateReportedAggregate,
    Rpc::DeleteReportedAggregate,
    Rpc::ImportRecords,
];

const SHARED: [Rpc; 10] = [
    Rpc::CreateRegion,
    Rpc::CreateChannel,
    Rpc::UpdateChannel,
    Rpc::DeleteChannel,
    Rpc::CreateServiceFunction,
    Rpc::UpdateServiceFunction,
    Rpc::DeleteServiceFunction,
    Rpc::CreateIndicator,
    Rpc::UpdateIndicator,
    Rpc::DeleteIndicator,
];

/// Shared records every attempt may refer to.
struct Base {
    channel: String,
    function: String,
    indicator: String,
    /// A platform of each province.
    platforms: BTreeMap<&'static str, String>,
}

async fn setup(srv: &TestServer, admin: &mut Authed) -> Base {
    for r in [
        region("chn", "China", pb::AdminLevel::Country, ""),
        region(GZ, "Guizhou", pb::AdminLevel::Province, "chn"),
        region(SC, "Sichuan", pb::AdminLevel::Province, "chn"),
    ] {
        admin
            .create_region(pb::CreateRegionRequest {
                region: Some(r),
                request_id: String::new(),
            })
            .await
            .expect("admin creates the regions");
    }
    let base = Base {
        channel: unique_code("ch"),
        function: unique_code("sf"),
        indicator: unique_code("ind"),
        platforms: [(GZ, unique_code("p-gz")), (SC, unique_code("p-sc"))].into(),
    };
    admin
        .create_channel(pb::CreateChannelRequest {
            channel: Some(channel(&base.channel, pb::ChannelKind::AppStore)),
            request_id: String::new(),
        })
        .await
        .unwrap();
    admin
        .create_service_function(pb::CreateServiceFunctionRequest {
            service_function: Some(service_function(&base.function)),
            request_id: String::new(),
        })
        .await
        .unwrap();
    admin
        .create_indicator(pb::CreateIndicatorRequest {
            indicator: Some(indicator(&base.indicator)),
            request_id: String::new(),
        })
        .await
        .unwrap();
    for (region, code) in &base.platforms {
        admin
            .create_platform(pb::CreatePlatformRequest {
                platform: Some(platform(code, region)),
                request_id: String::new(),
            })
            .await
            .unwrap();
    }
    let _ = srv;
    base
}

fn region_of(target: Target) -> &'static str {
    match target {
        Target::Guizhou => GZ,
        Target::Sichuan => SC,
        Target::Shared => "",
    }
}

static DAY: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A date no other attempt uses (observations and values are keyed by it).
fn fresh_date() -> String {
    let n = DAY.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = chrono_like(n);
    format!("20{:02}-{:02}-{:02}", 10 + d.0, d.1, d.2)
}

fn chrono_like(n: u32) -> (u32, u32, u32) {
    (n / 336, (n / 28) % 12 + 1, n % 28 + 1)
}

/// Makes what `rpc` needs (as admin), then calls it as `caller`'s client.
async fn attempt(
    rpc: Rpc,
    target: Target,
    base: &Base,
    admin: &mut Authed,
    c: &mut Authed,
) -> Result<(), Status> {
    let region = region_of(target);
    let platform_code = base.platforms.get(region).cloned().unwrap_or_default();
    let code = unique_code("x");
    match rpc {
        Rpc::CreateRegion => {
            let (level, parent) = if target == Target::Shared {
                (pb::AdminLevel::Country, "")
            } else {
                (pb::AdminLevel::Prefecture, region)
            };
            ok(c.create_region(pb::CreateRegionRequest {
                region: Some(fixtures_region(&code, level, parent)),
                request_id: String::new(),
            })
            .await)
        }
        Rpc::UpdateRegion | Rpc::DeleteRegion => {
            let r = fixtures_region(&code, pb::AdminLevel::Prefecture, region);
            admin
                .create_region(pb::CreateRegionRequest {
                    region: Some(r.clone()),
                    request_id: String::new(),
                })
                .await
                .unwrap();
            if rpc == Rpc::DeleteRegion {
                ok(c.delete_region(pb::DeleteRegionRequest { code }).await)
            } else {
                ok(c.update_region(pb::UpdateRegionRequest {
                    region: Some(pb::Region {
                        name: "Renamed".into(),
                        ..r
                    }),
                    update_mask: mask(&["name"]),
                })
                .await)
            }
        }
        Rpc::CreatePlatform => ok(c
            .create_platform(pb::CreatePlatformRequest {
                platform: Some(platform(&code, region)),
                request_id: String::new(),
            })
            .await),
        Rpc::UpdatePlatform | Rpc::DeletePlatform => {
            admin
                .create_platform(pb::CreatePlatformRequest {
                    platform: Some(platform(&code, region)),
                    request_id: String::new(),
                })
                .await
                .unwrap();
            if rpc == Rpc::DeletePlatform {
                ok(c.delete_platform(pb::DeletePlatformRequest { code }).await)
            } else {
                ok(c.update_platform(pb::UpdatePlatformRequest {
                    platform: Some(pb::Platform {
                        name: "Renamed".into(),
                        ..platform(&code, region)
                    }),
                    update_mask: mask(&["name"]),
                })
                .await)
            }
        }
        Rpc::CreateObservation => ok(c
            .create_observation(pb::CreateObservationRequest {
                observation: Some(rating(&platform_code, &base.channel, &fresh_date(), 4.0)),
                request_id: String::new(),
            })
            .await),
        Rpc::UpdateObservation | Rpc::DeleteObservation => {
            let o = admin
                .create_observation(pb::CreateObservationRequest {
                    observation: Some(rating(&platform_code, &base.channel, &fresh_date(), 4.0)),
                    request_id: String::new(),
                })
                .await
                .unwrap()
                .into_inner()
                .observation
                .unwrap();
            if rpc == Rpc::DeleteObservation {
                ok(
                    c.delete_observation(pb::DeleteObservationRequest { id: o.id })
                        .await,
                )
            } else {
                ok(c.update_observation(pb::UpdateObservationRequest {
                    observation: Some(pb::Observation { value: 3.0, ..o }),
                    update_mask: mask(&["value"]),
                })
                .await)
            }
        }
        Rpc::CreatePolicyDocument => ok(c
            .create_policy_document(pb::CreatePolicyDocumentRequest {
                policy_document: Some(policy_document(&code, region)),
                request_id: String::new(),
            })
            .await),
        Rpc::UpdatePolicyDocument | Rpc::DeletePolicyDocument => {
            admin
                .create_policy_document(pb::CreatePolicyDocumentRequest {
                    policy_document: Some(policy_document(&code, region)),
                    request_id: String::new(),
                })
                .await
                .unwrap();
            if rpc == Rpc::DeletePolicyDocument {
                ok(
                    c.delete_policy_document(pb::DeletePolicyDocumentRequest { code })
                        .await,
                )
            } else {
                ok(c.update_policy_document(pb::UpdatePolicyDocumentRequest {
                    policy_document: Some(pb::PolicyDocument {
                        title: "Renamed".into(),
                        ..policy_document(&code, region)
                    }),
                    update_mask: mask(&["title"]),
                })
                .await)
            }
        }
        Rpc::CreatePlatformFunction | Rpc::UpdatePlatformFunction | Rpc::DeletePlatformFunction => {
            // A platform of its own, so each attempt's (platform, function) pair is new.
            let owner = unique_code("pf-p");
            admin
                .create_platform(pb::CreatePlatformRequest {
                    platform: Some(platform(&owner, region)),
                    request_id: String::new(),
                })
                .await
                .unwrap();
            let pf = pb::PlatformFunction {
                id: 0,
                platform_code: owner,
                function_code: base.function.clone(),
                source: source("survey", "functions"),
            };
            if rpc == Rpc::CreatePlatformFunction {
                return ok(c
                    .create_platform_function(pb::CreatePlatformFunctionRequest {
                        platform_function: Some(pf),
                        request_id: String::new(),
                    })
                    .await);
            }
            let stored = admin
                .create_platform_function(pb::CreatePlatformFunctionRequest {
                    platform_function: Some(pf),
                    request_id: String::new(),
                })
                .await
                .unwrap()
                .into_inner()
                .platform_function
                .unwrap();
            if rpc == Rpc::DeletePlatformFunction {
                ok(
                    c.delete_platform_function(pb::DeletePlatformFunctionRequest { id: stored.id })
                        .await,
                )
            } else {
                ok(
                    c.update_platform_function(pb::UpdatePlatformFunctionRequest {
                        platform_function: Some(pb::PlatformFunction {
                            source: source("survey", "revised"),
                            ..stored
                        }),
                        update_mask: mask(&["source"]),
                    })
                    .await,
                )
            }
        }
        Rpc::CreateIndicatorValue | Rpc::UpdateIndicatorValue | Rpc::DeleteIndicatorValue => {
            let period = fresh_date();
            let v = indicator_value(
                &base.indicator,
                pb::SubjectKind::Region,
                region,
                &period,
                0.5,
            );
            if rpc == Rpc::CreateIndicatorValue {
                return ok(c
                    .create_indicator_value(pb::CreateIndicatorValueRequest {
                        indicator_value: Some(v),
                        request_id: String::new(),
                    })
                    .await);
            }
            let stored = admin
                .create_indicator_value(pb::CreateIndicatorValueRequest {
                    indicator_value: Some(v),
                    request_id: String::new(),
                })
                .await
                .unwrap()
                .into_inner()
                .indicator_value
                .unwrap();
            if rpc == Rpc::DeleteIndicatorValue {
                ok(
                    c.delete_indicator_value(pb::DeleteIndicatorValueRequest { id: stored.id })
                        .await,
                )
            } else {
                ok(c.update_indicator_value(pb::UpdateIndicatorValueRequest {
                    indicator_value: Some(pb::IndicatorValue {
                        value: 0.25,
                        ..stored
                    }),
                    update_mask: mask(&["value"]),
                })
                .await)
            }
        }
        Rpc::CreateReportedAggregate => ok(c
            .create_reported_aggregate(pb::CreateReportedAggregateRequest {
                reported_aggregate: Some(reported_aggregate(&code, &platform_code)),
                request_id: String::new(),
            })
            .await),
        Rpc::UpdateReportedAggregate | Rpc::DeleteReportedAggregate => {
            admin
                .create_reported_aggregate(pb::CreateReportedAggregateRequest {
                    reported_aggregate: Some(reported_aggregate(&code, &platform_code)),
                    request_id: String::new(),
                })
                .await
                .unwrap();
            if rpc == Rpc::DeleteReportedAggregate {
                ok(
                    c.delete_reported_aggregate(pb::DeleteReportedAggregateRequest { code })
                        .await,
                )
            } else {
                ok(
                    c.update_reported_aggregate(pb::UpdateReportedAggregateRequest {
                        reported_aggregate: Some(pb::ReportedAggregate {
                            description: "Revised".into(),
                            ..reported_aggregate(&code, &platform_code)
                        }),
                        update_mask: mask(&["description"]),
                    })
                    .await,
                )
            }
        }
        Rpc::ImportRecords => {
            let records = vec![pb::Record {
                origin: "authz".into(),
                kind: Some(pb::record::Kind::Platform(platform(&code, region))),
            }];
            ok(
                c.import_records(tokio_stream::iter(vec![pb::ImportRecordsRequest {
                    records,
                }]))
                .await,
            )
        }
        Rpc::CreateChannel => ok(c
            .create_channel(pb::CreateChannelRequest {
                channel: Some(channel(&code, pb::ChannelKind::AppStore)),
                request_id: String::new(),
            })
            .await),
        Rpc::UpdateChannel | Rpc::DeleteChannel => {
            admin
                .create_channel(pb::CreateChannelRequest {
                    channel: Some(channel(&code, pb::ChannelKind::AppStore)),
                    request_id: String::new(),
                })
                .await
                .unwrap();
            if rpc == Rpc::DeleteChannel {
                ok(c.delete_channel(pb::DeleteChannelRequest { code }).await)
            } else {
                ok(c.update_channel(pb::UpdateChannelRequest {
                    channel: Some(pb::Channel {
                        name: "Renamed".into(),
                        ..channel(&code, pb::ChannelKind::AppStore)
                    }),
                    update_mask: mask(&["name"]),
                })
                .await)
            }
        }
        Rpc::CreateServiceFunction => ok(c
            .create_service_function(pb::CreateServiceFunctionRequest {
                service_function: Some(service_function(&code)),
                request_id: String::new(),
            })
            .await),
        Rpc::UpdateServiceFunction | Rpc::DeleteServiceFunction => {
            admin
                .create_service_function(pb::CreateServiceFunctionRequest {
                    service_function: Some(service_function(&code)),
                    request_id: String::new(),
                })
                .await
                .unwrap();
            if rpc == Rpc::DeleteServiceFunction {
                ok(
                    c.delete_service_function(pb::DeleteServiceFunctionRequest { code })
                        .await,
                )
            } else {
                ok(c.update_service_function(pb::UpdateServiceFunctionRequest {
                    service_function: Some(pb::ServiceFunction {
                        name: "Renamed".into(),
                        ..service_function(&code)
                    }),
                    update_mask: mask(&["name"]),
                })
                .await)
            }
        }
        Rpc::CreateIndicator => ok(c
            .create_indicator(pb::CreateIndicatorRequest {
                indicator: Some(indicator(&code)),
                request_id: String::new(),
            })
            .await),
        Rpc::UpdateIndicator | Rpc::DeleteIndicator => {
            admin
                .create_indicator(pb::CreateIndicatorRequest {
                    indicator: Some(indicator(&code)),
                    request_id: String::new(),
                })
                .await
                .unwrap();
            if rpc == Rpc::DeleteIndicator {
                ok(c.delete_indicator(pb::DeleteIndicatorRequest { code })
                    .await)
            } else {
                ok(c.update_indicator(pb::UpdateIndicatorRequest {
                    indicator: Some(pb::Indicator {
                        name: "Renamed".into(),
                        ..indicator(&code)
                    }),
                    update_mask: mask(&["name"]),
                })
                .await)
            }
        }
    }
}

fn ok<T>(r: Result<tonic::Response<T>, Status>) -> Result<(), Status> {
    r.map(|_| ())
}

fn fixtures_region(code: &str, level: pb::AdminLevel, parent: &str) -> pb::Region {
    region(code, &format!("Region {code}"), level, parent)
}

/// A data service with authentication on, its store (for issuing tokens), and an
/// admin client.
async fn secured(db: &TestDb) -> (TestServer, Store) {
    let mut config = db.config();
    config.auth = AuthConfig {
        required: true,
        service_token: Some(SERVICE_TOKEN.into()),
        rate_limit: None,
    };
    let srv = TestServer::start_with(config).await;
    let store = Store::connect(db.url()).await.expect("store");
    (srv, store)
}

async fn issue(store: &Store, subject: &str, role: Role, scope: Option<&str>) -> String {
    tokens::issue(store, subject, role, scope)
        .await
        .expect("issue a token")
        .0
}

async fn revision(admin: &mut Authed) -> i64 {
    admin
        .get_data_revision(pb::GetDataRevisionRequest {})
        .await
        .unwrap()
        .into_inner()
        .revision
}

async fn every_role_region_and_write_rpc_gets_its_code(db: TestDb) {
    let (srv, store) = secured(&db).await;
    let admin_token = issue(&store, "root", Role::Admin, None).await;
    let mut admin = client_as(&srv, Some(&admin_token));
    let base = setup(&srv, &mut admin).await;

    let revoked = issue(&store, "gone", Role::Editor, None).await;
    let revoked_id = govlens_kit::auth::parse_token(&revoked)
        .unwrap()
        .0
        .to_string();
    tokens::revoke(&store, &revoked_id).await.unwrap();
    let mut tokens_of: BTreeMap<Caller, Option<String>> = BTreeMap::new();
    tokens_of.insert(Caller::Nobody, None);
    tokens_of.insert(
        Caller::Garbage,
        Some(format!("glt_0123456789abcdef_{}", "0".repeat(64))),
    );
    tokens_of.insert(Caller::Revoked, Some(revoked));
    tokens_of.insert(
        Caller::Reader,
        Some(issue(&store, "r", Role::Reader, None).await),
    );
    tokens_of.insert(Caller::Service, Some(SERVICE_TOKEN.to_string()));
    tokens_of.insert(
        Caller::EditorGz,
        Some(issue(&store, "gz", Role::Editor, Some(GZ)).await),
    );
    tokens_of.insert(
        Caller::EditorSc,
        Some(issue(&store, "sc", Role::Editor, Some(SC)).await),
    );
    tokens_of.insert(
        Caller::Editor,
        Some(issue(&store, "all", Role::Editor, None).await),
    );
    tokens_of.insert(Caller::Admin, Some(admin_token.clone()));

    let mut cells = 0;
    let mut wrong = Vec::new();
    for caller in CALLERS {
        let mut c = client_as(&srv, tokens_of[&caller].as_deref());
        let plan = REGIONAL
            .iter()
            .flat_map(|rpc| [(*rpc, Target::Guizhou), (*rpc, Target::Sichuan)])
            .chain(SHARED.iter().map(|rpc| (*rpc, Target::Shared)));
        for (rpc, target) in plan {
            let want = expected(caller, target);
            // Fixtures first, so the revision read after them is the attempt's own.
            let before = revision(&mut admin).await;
            let result = attempt(rpc, target, &base, &mut admin, &mut c).await;
            let fixtures_done = revision(&mut admin).await;
            let got = result.as_ref().err().map(Status::code).unwrap_or(Code::Ok);
            cells += 1;
            if got != want {
                wrong.push(format!(
                    "{caller:?} {rpc:?} on {target:?}: got {got:?}, want {want:?} ({:?})",
                    result.err().map(|s| s.message().to_string())
                ));
                continue;
            }
            if want != Code::Ok {
                // Refused: the only revisions since `before` are the fixtures'.
                let again = revision(&mut admin).await;
                assert_eq!(again, fixtures_done, "{caller:?} {rpc:?} {target:?} wrote");
                let _ = before;
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {cells} cells wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(cells, CALLERS.len() * (REGIONAL.len() * 2 + SHARED.len()));
}

async fn writes_are_audited_and_the_log_is_for_admins(db: TestDb) {
    let (srv, store) = secured(&db).await;
    let admin_token = issue(&store, "root", Role::Admin, None).await;
    let mut admin = client_as(&srv, Some(&admin_token));
    let base = setup(&srv, &mut admin).await;
    let gz_token = issue(&store, "gz-editor", Role::Editor, Some(GZ)).await;
    let mut gz = client_as(&srv, Some(&gz_token));

    let code = unique_code("audited");
    let mut request = tonic::Request::new(pb::CreatePlatformRequest {
        platform: Some(platform(&code, GZ)),
        request_id: "req-create-1".into(),
    });
    request
        .metadata_mut()
        .insert("x-request-id", "ignored-for-creates".parse().unwrap());
    let created = gz.create_platform(request).await.unwrap().into_inner();
    let mut request = tonic::Request::new(pb::DeletePlatformRequest { code: code.clone() });
    request
        .metadata_mut()
        .insert("x-request-id", "req-delete-1".parse().unwrap());
    let deleted = gz.delete_platform(request).await.unwrap().into_inner();
    // A refused write leaves no trace in the log.
    let refused = gz
        .create_platform(pb::CreatePlatformRequest {
            platform: Some(platform(&unique_code("no"), SC)),
            request_id: String::new(),
        })
        .await;
    assert_eq!(refused.unwrap_err().code(), Code::PermissionDenied);

    let events = admin
        .list_audit_events(pb::ListAuditEventsRequest {
            subject: "gz-editor".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .audit_events;
    let gz_id = govlens_kit::auth::parse_token(&gz_token)
        .unwrap()
        .0
        .to_string();
    let seen: Vec<(&str, &str, &str, &str, i64)> = events
        .iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.resource.as_str(),
                e.key.as_str(),
                e.request_id.as_str(),
                e.revision,
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                "delete",
                "platform",
                code.as_str(),
                "req-delete-1",
                deleted.revision
            ),
            (
                "create",
                "platform",
                code.as_str(),
                "req-create-1",
                created.revision
            ),
        ],
        "newest first"
    );
    assert!(events
        .iter()
        .all(|e| e.token_id == gz_id && e.role == pb::Role::Editor as i32 && !e.time.is_empty()));

    // Admin's setup writes are there too, under its own name; paging walks them all.
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let page = admin
            .list_audit_events(pb::ListAuditEventsRequest {
                page_size: 3,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        all.extend(page.audit_events);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(all.len(), 3 + 3 + base.platforms.len() + 2);
    assert!(all.windows(2).all(|w| w[0].id > w[1].id));

    for who in [Some(gz_token.as_str()), Some(SERVICE_TOKEN), None] {
        let status = client_as(&srv, who)
            .list_audit_events(pb::ListAuditEventsRequest::default())
            .await
            .unwrap_err();
        let want = if who.is_none() {
            Code::Unauthenticated
        } else {
            Code::PermissionDenied
        };
        assert_eq!(status.code(), want, "{who:?}");
    }
}

async fn introspection_is_for_services(db: TestDb) {
    let (srv, store) = secured(&db).await;
    let admin_token = issue(&store, "root", Role::Admin, None).await;
    let mut admin = client_as(&srv, Some(&admin_token));
    setup(&srv, &mut admin).await;
    let gz_token = issue(&store, "gz", Role::Editor, Some(GZ)).await;
    let mut service = client_as(&srv, Some(SERVICE_TOKEN));
    let answer = service
        .introspect_token(pb::IntrospectTokenRequest {
            token: gz_token.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(answer.active);
    assert_eq!(answer.subject, "gz");
    assert_eq!(answer.role, pb::Role::Editor as i32);
    assert_eq!(answer.scope_region_code, GZ);
    let bogus = service
        .introspect_token(pb::IntrospectTokenRequest {
            token: "glt_nope".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!bogus.active && bogus.subject.is_empty());
    // Users cannot probe other users' tokens.
    let status = client_as(&srv, Some(&gz_token))
        .introspect_token(pb::IntrospectTokenRequest { token: admin_token })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    // Health stays open to probes without a token.
    wait_serving(srv.channel.clone(), "").await;
}
