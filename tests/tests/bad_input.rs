//! Bad input to single-resource RPCs, table-driven: each case is INVALID_ARGUMENT with
//! a field violation on the expected field (or NOT_FOUND for unknown ids and codes),
//! writes nothing, and never shows database internals.

use govlens_tests::fixtures::*;
use govlens_tests::*;
use tonic::{Code, Status};

on_both_backends!(
    invalid_values_are_refused_naming_the_field,
    invalid_region_hierarchies_are_refused,
    invalid_updates_are_refused_naming_the_field,
    invalid_list_filters_and_ids_are_refused,
    unknown_ids_and_codes_are_not_found,
    values_at_the_limits_are_accepted,
    provenance_violations_name_the_request_field,
    control_characters_in_lookups_are_never_internal_errors,
);

type Outcome = Result<(), Status>;

/// Checks every case: INVALID_ARGUMENT on the expected field.
#[track_caller]
fn check_invalid(cases: Vec<(&str, &str, Outcome)>) {
    let mut failures = Vec::new();
    for (name, field, outcome) in cases {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            expect_invalid(outcome, field);
        }));
        if result.is_err() {
            failures.push(name.to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "cases not refused as expected: {failures:?}"
    );
}

async fn everything(srv: &TestServer) -> (Vec<pb::Record>, i64) {
    srv.export(0).await
}

async fn invalid_values_are_refused_naming_the_field(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let w = World::create(&srv).await;
    let mut c = srv.client();
    let before = everything(&srv).await;

    let obs = |o: pb::Observation| pb::CreateObservationRequest {
        observation: Some(o),
        request_id: String::new(),
    };
    let rated = |value: f64| obs(rating(&w.platform_a, &w.channel_a, "2023-05-25", value));
    let count = |metric: pb::Metric, value: f64| {
        obs(observation(
            &w.platform_a,
            &w.channel_a,
            metric,
            "2023-05-25",
            value,
            "",
        ))
    };
    let on = |date: &str| obs(rating(&w.platform_a, &w.channel_a, date, 4.0));
    let plat = |f: &dyn Fn(&mut pb::Platform)| {
        let mut p = platform(&unique_code("app"), &w.province_a);
        f(&mut p);
        pb::CreatePlatformRequest {
            platform: Some(p),
            request_id: String::new(),
        }
    };
    let long = "x".repeat(201);

    let mut cases: Vec<(&str, &str, Outcome)> = Vec::new();
    macro_rules! case {
        ($name:expr, $field:expr, $call:expr) => {
            cases.push(($name, $field, $call.await.map(drop)));
        };
    }
    // Observations.
    case!(
        "rating 7",
        "observation.value",
        c.create_observation(rated(7.0))
    );
    case!(
        "rating 5.01",
        "observation.value",
        c.create_observation(rated(5.01))
    );
    case!(
        "rating -0.5",
        "observation.value",
        c.create_observation(rated(-0.5))
    );
    case!(
        "rating NaN",
        "observation.value",
        c.create_observation(rated(f64::NAN))
    );
    case!(
        "rating printed 7points",
        "observation.value",
        c.create_observation(obs(observation(
            &w.platform_a,
            &w.channel_a,
            pb::Metric::Rating,
            "2023-05-25",
            0.0,
            "7points"
        )))
    );
    case!(
        "negative downloads",
        "observation.value",
        c.create_observation(count(pb::Metric::Downloads, -1.0))
    );
    case!(
        "NaN downloads",
        "observation.value",
        c.create_observation(count(pb::Metric::Downloads, f64::NAN))
    );
    case!(
        "infinite downloads",
        "observation.value",
        c.create_observation(count(pb::Metric::Downloads, f64::INFINITY))
    );
    case!(
        "-infinite users",
        "observation.value",
        c.create_observation(count(pb::Metric::RegisteredUsers, f64::NEG_INFINITY))
    );
    case!(
        "fractional downloads",
        "observation.value",
        c.create_observation(count(pb::Metric::Downloads, 2.5))
    );
    case!(
        "fractional rating count",
        "observation.value",
        c.create_observation(count(pb::Metric::RatingCount, 0.1))
    );
    case!(
        "value contradicts printed",
        "observation.value",
        c.create_observation(obs(observation(
            &w.platform_a,
            &w.channel_a,
            pb::Metric::Downloads,
            "2023-05-25",
            1.0,
            "494 million"
        )))
    );
    case!(
        "unreadable printed value",
        "observation.value_as_printed",
        c.create_observation(obs(observation(
            &w.platform_a,
            &w.channel_a,
            pb::Metric::Downloads,
            "2023-05-25",
            0.0,
            "lots"
        )))
    );
    case!(
        "oversized printed value",
        "observation.value_as_printed",
        c.create_observation(obs(observation(
            &w.platform_a,
            &w.channel_a,
            pb::Metric::Downloads,
            "2023-05-25",
            3.0,
            &format!("3{}", " ".repeat(250))
        )))
    );
    case!(
        "2023-02-30",
        "observation.observed_on",
        c.create_observation(on("2023-02-30"))
    );
    case!(
        "empty date",
        "observation.observed_on",
        c.create_observation(on(""))
    );
    case!(
        "short date",
        "observation.observed_on",
        c.create_observation(on("2023-5-25"))
    );
    case!(
        "date with time",
        "observation.observed_on",
        c.create_observation(on("2023-05-25T00:00:00"))
    );
    case!(
        "date before 1900",
        "observation.observed_on",
        c.create_observation(on("1899-12-31"))
    );
    case!(
        "unspecified metric",
        "observation.metric",
        c.create_observation(obs(pb::Observation {
            metric: 0,
            ..rating(&w.platform_a, &w.channel_a, "2023-05-25", 1.0)
        }))
    );
    case!(
        "unknown metric",
        "observation.metric",
        c.create_observation(obs(pb::Observation {
            metric: 99,
            ..rating(&w.platform_a, &w.channel_a, "2023-05-25", 1.0)
        }))
    );
    case!(
        "platform code with a space",
        "observation.platform_code",
        c.create_observation(obs(rating("no such", &w.channel_a, "2023-05-25", 1.0)))
    );
    case!(
        "dangling platform",
        "observation.platform_code",
        c.create_observation(obs(rating("no-such-app", &w.channel_a, "2023-05-25", 1.0)))
    );
    case!(
        "dangling channel",
        "observation.channel_code",
        c.create_observation(obs(rating(
            &w.platform_a,
            "no-such-store",
            "2023-05-25",
            1.0
        )))
    );
    case!(
        "a region code as platform",
        "observation.platform_code",
        c.create_observation(obs(rating(&w.province_a, &w.channel_a, "2023-05-25", 1.0)))
    );
    case!(
        "no observation",
        "observation",
        c.create_observation(pb::CreateObservationRequest::default())
    );

    // Platforms.
    case!(
        "empty name",
        "platform.name",
        c.create_platform(plat(&|p| p.name.clear()))
    );
    case!(
        "blank name",
        "platform.name",
        c.create_platform(plat(&|p| p.name = "   ".into()))
    );
    case!(
        "201-char name",
        "platform.name",
        c.create_platform(plat(&|p| p.name = long.clone()))
    );
    case!(
        "control char in name",
        "platform.name",
        c.create_platform(plat(&|p| p.name = "bad\u{7}name".into()))
    );
    case!(
        "NUL in name",
        "platform.name",
        c.create_platform(plat(&|p| p.name = "bad\0name".into()))
    );
    case!(
        "code with spaces",
        "platform.code",
        c.create_platform(plat(&|p| p.code = "my app".into()))
    );
    case!(
        "empty code",
        "platform.code",
        c.create_platform(plat(&|p| p.code.clear()))
    );
    case!(
        "65-char code",
        "platform.code",
        c.create_platform(plat(&|p| p.code = "c".repeat(65)))
    );
    case!(
        "non-ASCII code",
        "platform.code",
        c.create_platform(plat(&|p| p.code = "多彩宝".into()))
    );
    case!(
        "code with a slash",
        "platform.code",
        c.create_platform(plat(&|p| p.code = "a/b".into()))
    );
    case!(
        "unspecified kind",
        "platform.kind",
        c.create_platform(plat(&|p| p.kind = 0))
    );
    case!(
        "unknown kind",
        "platform.kind",
        c.create_platform(plat(&|p| p.kind = 42))
    );
    case!(
        "negative kind",
        "platform.kind",
        c.create_platform(plat(&|p| p.kind = -1))
    );
    case!(
        "unspecified status",
        "platform.status",
        c.create_platform(plat(&|p| p.status = 0))
    );
    case!(
        "launch date 2023-02-30",
        "platform.launch_date",
        c.create_platform(plat(&|p| p.launch_date = "2023-02-30".into()))
    );
    case!(
        "launch date 31/12/2020",
        "platform.launch_date",
        c.create_platform(plat(&|p| p.launch_date = "31/12/2020".into()))
    );
    case!(
        "dangling region",
        "platform.region_code",
        c.create_platform(plat(&|p| p.region_code = "atlantis".into()))
    );
    case!(
        "ftp url",
        "platform.url",
        c.create_platform(plat(&|p| p.url = "ftp://example.org".into()))
    );
    case!(
        "no platform",
        "platform",
        c.create_platform(pb::CreatePlatformRequest::default())
    );

    // Regions.
    let reg = |f: &dyn Fn(&mut pb::Region)| {
        let mut r = region(
            &unique_code("r"),
            "Region",
            pb::AdminLevel::Prefecture,
            &w.province_a,
        );
        f(&mut r);
        pb::CreateRegionRequest {
            region: Some(r),
            request_id: String::new(),
        }
    };
    case!(
        "unspecified level",
        "region.level",
        c.create_region(reg(&|r| r.level = 0))
    );
    case!(
        "unknown level",
        "region.level",
        c.create_region(reg(&|r| r.level = 7))
    );
    case!(
        "dangling parent",
        "region.parent_code",
        c.create_region(reg(&|r| r.parent_code = "atlantis".into()))
    );
    case!(
        "own parent",
        "region.parent_code",
        c.create_region(reg(&|r| r.parent_code = r.code.clone()))
    );
    case!(
        "empty region name",
        "region.name",
        c.create_region(reg(&|r| r.name.clear()))
    );
    case!(
        "negative population",
        "region.populations[0].population",
        c.create_region(reg(&|r| r.populations = vec![population(2022, -1, "")]))
    );
    case!(
        "zero population",
        "region.populations[0].population",
        c.create_region(reg(&|r| r.populations = vec![population(2022, 0, "")]))
    );
    case!(
        "population year 1800",
        "region.populations[0].year",
        c.create_region(reg(&|r| r.populations = vec![population(1800, 5, "")]))
    );
    case!(
        "population contradicts printed",
        "region.populations[1].population",
        c.create_region(reg(&|r| r.populations = vec![
            population(2021, 5, ""),
            population(2022, 1, "83.74 million")
        ]))
    );
    case!(
        "a year twice",
        "region.populations[1].year",
        c.create_region(reg(
            &|r| r.populations = vec![population(2022, 5, ""), population(2022, 6, "")]
        ))
    );

    // Channels, service functions, indicators.
    let ch = |f: &dyn Fn(&mut pb::Channel)| {
        let mut x = channel(&unique_code("ch"), pb::ChannelKind::Web);
        f(&mut x);
        pb::CreateChannelRequest {
            channel: Some(x),
            request_id: String::new(),
        }
    };
    case!(
        "unspecified channel kind",
        "channel.kind",
        c.create_channel(ch(&|x| x.kind = 0))
    );
    case!(
        "empty channel name",
        "channel.name",
        c.create_channel(ch(&|x| x.name.clear()))
    );
    case!(
        "oversized vendor",
        "channel.vendor",
        c.create_channel(ch(&|x| x.vendor = long.clone()))
    );
    let sf = |f: &dyn Fn(&mut pb::ServiceFunction)| {
        let mut x = service_function(&unique_code("sf"));
        f(&mut x);
        pb::CreateServiceFunctionRequest {
            service_function: Some(x),
            request_id: String::new(),
        }
    };
    case!(
        "unknown category",
        "service_function.category",
        c.create_service_function(sf(&|x| x.category = 77))
    );
    case!(
        "oversized function name",
        "service_function.name",
        c.create_service_function(sf(&|x| x.name = long.clone()))
    );
    let ind = |f: &dyn Fn(&mut pb::Indicator)| {
        let mut x = indicator(&unique_code("ind"));
        f(&mut x);
        pb::CreateIndicatorRequest {
            indicator: Some(x),
            request_id: String::new(),
        }
    };
    case!(
        "unspecified direction",
        "indicator.direction",
        c.create_indicator(ind(&|x| x.direction = 0))
    );
    case!(
        "unknown dimension",
        "indicator.dimension",
        c.create_indicator(ind(&|x| x.dimension = 9))
    );
    case!(
        "indicator code with spaces",
        "indicator.code",
        c.create_indicator(ind(&|x| x.code = "a b".into()))
    );

    // Policy documents.
    let doc = |f: &dyn Fn(&mut pb::PolicyDocument)| {
        let mut x = policy_document(&unique_code("doc"), &w.province_a);
        f(&mut x);
        pb::CreatePolicyDocumentRequest {
            policy_document: Some(x),
            request_id: String::new(),
        }
    };
    case!(
        "year 1800",
        "policy_document.year",
        c.create_policy_document(doc(&|x| x.year = 1800))
    );
    case!(
        "year 3000",
        "policy_document.year",
        c.create_policy_document(doc(&|x| x.year = 3000))
    );
    case!(
        "unspecified tag",
        "policy_document.toe_tags[1]",
        c.create_policy_document(doc(&|x| x.toe_tags = vec![1, 0]))
    );
    case!(
        "repeated tag",
        "policy_document.toe_tags",
        c.create_policy_document(doc(&|x| x.toe_tags = vec![1, 1]))
    );
    case!(
        "empty title",
        "policy_document.title",
        c.create_policy_document(doc(&|x| x.title = " ".into()))
    );
    case!(
        "dangling document region",
        "policy_document.region_code",
        c.create_policy_document(doc(&|x| x.region_code = "atlantis".into()))
    );

    // Platform functions.
    let pf = |platform: &str, function: &str| pb::CreatePlatformFunctionRequest {
        platform_function: Some(pb::PlatformFunction {
            id: 0,
            platform_code: platform.into(),
            function_code: function.into(),
            source: None,
        }),
        request_id: String::new(),
    };
    case!(
        "dangling function",
        "platform_function.function_code",
        c.create_platform_function(pf(&w.platform_a, "no-such-fn"))
    );
    case!(
        "dangling function platform",
        "platform_function.platform_code",
        c.create_platform_function(pf("no-such-app", &w.function_a))
    );
    case!(
        "empty function code",
        "platform_function.function_code",
        c.create_platform_function(pf(&w.platform_a, ""))
    );

    // Indicator values.
    let iv = |f: &dyn Fn(&mut pb::IndicatorValue)| {
        let mut x = indicator_value(
            &w.indicator,
            pb::SubjectKind::Region,
            &w.province_a,
            "2022",
            1.0,
        );
        f(&mut x);
        pb::CreateIndicatorValueRequest {
            indicator_value: Some(x),
            request_id: String::new(),
        }
    };
    case!(
        "period 2022-Q5",
        "indicator_value.period",
        c.create_indicator_value(iv(&|x| x.period = "2022-Q5".into()))
    );
    case!(
        "period 2022-13",
        "indicator_value.period",
        c.create_indicator_value(iv(&|x| x.period = "2022-13".into()))
    );
    case!(
        "empty period",
        "indicator_value.period",
        c.create_indicator_value(iv(&|x| x.period.clear()))
    );
    case!(
        "unspecified subject kind",
        "indicator_value.subject_kind",
        c.create_indicator_value(iv(&|x| x.subject_kind = 0))
    );
    case!(
        "a region as platform subject",
        "indicator_value.subject_code",
        c.create_indicator_value(iv(&|x| x.subject_kind = pb::SubjectKind::Platform as i32))
    );
    case!(
        "dangling indicator",
        "indicator_value.indicator_code",
        c.create_indicator_value(iv(&|x| x.indicator_code = "no-such-ind".into()))
    );
    case!(
        "NaN indicator value",
        "indicator_value.value",
        c.create_indicator_value(iv(&|x| x.value = f64::NAN))
    );

    // Reported aggregates.
    let agg = |f: &dyn Fn(&mut pb::ReportedAggregate)| {
        let mut x = reported_aggregate(&unique_code("agg"), &w.platform_a);
        f(&mut x);
        pb::CreateReportedAggregateRequest {
            reported_aggregate: Some(x),
            request_id: String::new(),
        }
    };
    case!(
        "negative aggregate",
        "reported_aggregate.value",
        c.create_reported_aggregate(agg(&|x| {
            x.value = -1.0;
            x.value_as_printed.clear();
        }))
    );
    case!(
        "unspecified aggregate kind",
        "reported_aggregate.kind",
        c.create_reported_aggregate(agg(&|x| x.kind = 0))
    );
    case!(
        "unknown aggregate metric",
        "reported_aggregate.metric",
        c.create_reported_aggregate(agg(&|x| x.metric = 6))
    );
    case!(
        "aggregate date 2023-02-29",
        "reported_aggregate.observed_on",
        c.create_reported_aggregate(agg(&|x| x.observed_on = "2023-02-29".into()))
    );
    case!(
        "dangling aggregate subject",
        "reported_aggregate.subject_code",
        c.create_reported_aggregate(agg(&|x| x.subject_code = "ghost".into()))
    );

    check_invalid(cases);
    assert_eq!(
        everything(&srv).await,
        before,
        "a refused create wrote something (or advanced the revision)"
    );
}

async fn invalid_region_hierarchies_are_refused(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let w = World::create(&srv).await;
    let mut c = srv.client();
    let prefecture = unique_code("chengdu");
    create_region(
        &mut c,
        region(
            &prefecture,
            "Chengdu",
            pb::AdminLevel::Prefecture,
            &w.province_a,
        ),
    )
    .await;
    let county = unique_code("jinjiang");
    create_region(
        &mut c,
        region(&county, "Jinjiang", pb::AdminLevel::County, &prefecture),
    )
    .await;
    let before = everything(&srv).await;

    let reparent = |code: &str, parent: &str, level: pb::AdminLevel| pb::UpdateRegionRequest {
        region: Some(region(code, "Renamed", level, parent)),
        update_mask: mask(&["parent_code"]),
    };
    let mut cases: Vec<(&str, &str, Outcome)> = Vec::new();
    macro_rules! case {
        ($name:expr, $field:expr, $call:expr) => {
            cases.push(($name, $field, $call.await.map(drop)));
        };
    }
    case!(
        "own parent",
        "region.parent_code",
        c.update_region(reparent(
            &w.province_a,
            &w.province_a,
            pb::AdminLevel::Province
        ))
    );
    case!(
        "child as parent",
        "region.parent_code",
        c.update_region(reparent(&w.country, &w.province_a, pb::AdminLevel::Country))
    );
    case!(
        "grandchild as parent",
        "region.parent_code",
        c.update_region(reparent(&w.province_a, &county, pb::AdminLevel::Province))
    );
    case!(
        "great-grandchild as parent",
        "region.parent_code",
        c.update_region(reparent(&w.country, &county, pb::AdminLevel::Country))
    );
    case!(
        "dangling parent",
        "region.parent_code",
        c.update_region(reparent(
            &prefecture,
            "atlantis",
            pb::AdminLevel::Prefecture
        ))
    );
    case!(
        "own parent, full update",
        "region.parent_code",
        c.update_region(pb::UpdateRegionRequest {
            region: Some(region(&county, "Jinjiang", pb::AdminLevel::County, &county)),
            update_mask: None,
        })
    );
    check_invalid(cases);
    assert_eq!(
        everything(&srv).await,
        before,
        "a refused hierarchy change wrote something"
    );

    // The hierarchy is intact: the subtree of the country is everything, in place.
    let listed = c
        .list_regions(pb::ListRegionsRequest {
            root_code: w.province_a.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut codes: Vec<String> = listed.regions.into_iter().map(|r| r.code).collect();
    codes.sort();
    let mut expected = vec![w.province_a.clone(), prefecture.clone(), county.clone()];
    expected.sort();
    assert_eq!(codes, expected);

    // A legal move still works, and takes the subtree along.
    c.update_region(reparent(
        &prefecture,
        &w.province_b,
        pb::AdminLevel::Prefecture,
    ))
    .await
    .expect("a legal move");
    let listed = c
        .list_regions(pb::ListRegionsRequest {
            root_code: w.province_b.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let codes: Vec<String> = listed.regions.into_iter().map(|r| r.code).collect();
    assert!(
        codes.contains(&county),
        "the county moved with its prefecture: {codes:?}"
    );
    // ...and now the old cycle check applies to the new place.
    expect_invalid(
        c.update_region(reparent(&w.province_b, &county, pb::AdminLevel::Province))
            .await,
        "region.parent_code",
    );
}

async fn invalid_updates_are_refused_naming_the_field(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let w = World::create(&srv).await;
    let mut c = srv.client();
    let obs = create_observation(
        &mut c,
        rating(&w.platform_a, &w.channel_a, "2023-05-25", 4.0),
    )
    .await;
    let other = create_observation(
        &mut c,
        rating(&w.platform_a, &w.channel_a, "2023-05-26", 4.0),
    )
    .await;
    let before = everything(&srv).await;
    let upd_obs = |o: pb::Observation, paths: &[&str]| pb::UpdateObservationRequest {
        observation: Some(o),
        update_mask: mask(paths),
    };
    let upd_plat = |p: pb::Platform, paths: &[&str]| pb::UpdatePlatformRequest {
        platform: Some(p),
        update_mask: mask(paths),
    };

    let mut cases: Vec<(&str, &str, Outcome)> = Vec::new();
    macro_rules! case {
        ($name:expr, $field:expr, $call:expr) => {
            cases.push(($name, $field, $call.await.map(drop)));
        };
    }
    case!(
        "rating 7",
        "observation.value",
        c.update_observation(upd_obs(
            pb::Observation {
                value: 7.0,
                ..obs.clone()
            },
            &["value"]
        ))
    );
    case!(
        "rating infinite",
        "observation.value",
        c.update_observation(upd_obs(
            pb::Observation {
                value: f64::INFINITY,
                ..obs.clone()
            },
            &[]
        ))
    );
    case!(
        "date 2023-02-30",
        "observation.observed_on",
        c.update_observation(upd_obs(
            pb::Observation {
                observed_on: "2023-02-30".into(),
                ..obs.clone()
            },
            &["observed_on"]
        ))
    );
    case!(
        "dangling platform",
        "observation.platform_code",
        c.update_observation(upd_obs(
            pb::Observation {
                platform_code: "ghost".into(),
                ..obs.clone()
            },
            &["platform_code"]
        ))
    );
    case!(
        "unspecified metric",
        "observation.metric",
        c.update_observation(upd_obs(
            pb::Observation {
                metric: 0,
                ..obs.clone()
            },
            &["metric"]
        ))
    );
    case!(
        "no observation",
        "observation",
        c.update_observation(pb::UpdateObservationRequest::default())
    );
    case!(
        "empty name",
        "platform.name",
        c.update_platform(upd_plat(
            pb::Platform {
                name: String::new(),
                ..platform(&w.platform_a, &w.province_a)
            },
            &["name"]
        ))
    );
    case!(
        "dangling region",
        "platform.region_code",
        c.update_platform(upd_plat(
            platform(&w.platform_a, "atlantis"),
            &["region_code"]
        ))
    );
    case!(
        "unknown status",
        "platform.status",
        c.update_platform(upd_plat(
            pb::Platform {
                status: 9,
                ..platform(&w.platform_a, &w.province_a)
            },
            &[]
        ))
    );
    case!(
        "no platform",
        "platform",
        c.update_platform(pb::UpdatePlatformRequest::default())
    );
    case!(
        "oversized channel name",
        "channel.name",
        c.update_channel(pb::UpdateChannelRequest {
            channel: Some(pb::Channel {
                name: "n".repeat(201),
                ..channel(&w.channel_a, pb::ChannelKind::Web)
            }),
            update_mask: mask(&["name"]),
        })
    );
    check_invalid(cases);

    // An update onto another record's natural key is ALREADY_EXISTS.
    expect_code(
        c.update_observation(upd_obs(
            pb::Observation {
                observed_on: other.observed_on.clone(),
                ..obs.clone()
            },
            &["observed_on"],
        ))
        .await,
        Code::AlreadyExists,
    );
    assert_eq!(
        everything(&srv).await,
        before,
        "a refused update wrote something (or advanced the revision)"
    );
}

async fn invalid_list_filters_and_ids_are_refused(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let mut c = srv.client();
    let mut cases: Vec<(&str, &str, Outcome)> = Vec::new();
    macro_rules! case {
        ($name:expr, $field:expr, $call:expr) => {
            cases.push(($name, $field, $call.await.map(drop)));
        };
    }
    case!(
        "observed_from 2023-02-30",
        "observed_from",
        c.list_observations(pb::ListObservationsRequest {
            observed_from: "2023-02-30".into(),
            ..Default::default()
        })
    );
    case!(
        "observed_to garbage",
        "observed_to",
        c.list_observations(pb::ListObservationsRequest {
            observed_to: "yesterday".into(),
            ..Default::default()
        })
    );
    case!(
        "unknown metric filter",
        "metric",
        c.list_observations(pb::ListObservationsRequest {
            metric: 99,
            ..Default::default()
        })
    );
    case!(
        "unknown platform kind filter",
        "kind",
        c.list_platforms(pb::ListPlatformsRequest {
            kind: 99,
            ..Default::default()
        })
    );
    case!(
        "unknown level filter",
        "level",
        c.list_regions(pb::ListRegionsRequest {
            level: 42,
            ..Default::default()
        })
    );
    case!(
        "unknown channel kind filter",
        "kind",
        c.list_channels(pb::ListChannelsRequest {
            kind: -3,
            ..Default::default()
        })
    );
    case!(
        "unknown category filter",
        "category",
        c.list_service_functions(pb::ListServiceFunctionsRequest {
            category: 50,
            ..Default::default()
        })
    );
    case!(
        "unknown dimension filter",
        "dimension",
        c.list_indicators(pb::ListIndicatorsRequest {
            dimension: 4,
            ..Default::default()
        })
    );
    case!(
        "unknown aggregate kind filter",
        "kind",
        c.list_reported_aggregates(pb::ListReportedAggregatesRequest {
            kind: 8,
            ..Default::default()
        })
    );
    case!(
        "bad period filter",
        "period_from",
        c.list_indicator_values(pb::ListIndicatorValuesRequest {
            period_from: "20222".into(),
            ..Default::default()
        })
    );
    case!(
        "unknown subject kind filter",
        "subject_kind",
        c.list_indicator_values(pb::ListIndicatorValuesRequest {
            subject_kind: 3,
            ..Default::default()
        })
    );
    case!(
        "observation id 0",
        "id",
        c.get_observation(pb::GetObservationRequest { id: 0 })
    );
    case!(
        "observation id -1",
        "id",
        c.get_observation(pb::GetObservationRequest { id: -1 })
    );
    case!(
        "delete observation id 0",
        "id",
        c.delete_observation(pb::DeleteObservationRequest { id: 0 })
    );
    case!(
        "platform function id -5",
        "id",
        c.get_platform_function(pb::GetPlatformFunctionRequest { id: -5 })
    );
    case!(
        "indicator value id 0",
        "id",
        c.delete_indicator_value(pb::DeleteIndicatorValueRequest { id: 0 })
    );
    case!(
        "empty platform code",
        "code",
        c.get_platform(pb::GetPlatformRequest {
            code: String::new()
        })
    );
    case!(
        "empty region code",
        "code",
        c.delete_region(pb::DeleteRegionRequest {
            code: String::new()
        })
    );
    case!(
        "1000-char code",
        "code",
        c.get_channel(pb::GetChannelRequest {
            code: "c".repeat(1000)
        })
    );
    check_invalid(cases);
    assert_eq!(srv.revision().await, 0);
}

async fn unknown_ids_and_codes_are_not_found(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let w = World::create(&srv).await;
    let mut c = srv.client();
    let rev = srv.revision().await;
    let ghost = || unique_code("ghost");
    let id = 987_654_321;
    let mut statuses: Vec<(&str, Outcome)> = Vec::new();
    macro_rules! case {
        ($name:expr, $call:expr) => {
            statuses.push(($name, $call.await.map(drop)));
        };
    }
    case!(
        "get region",
        c.get_region(pb::GetRegionRequest { code: ghost() })
    );
    case!(
        "get platform",
        c.get_platform(pb::GetPlatformRequest { code: ghost() })
    );
    case!(
        "get channel",
        c.get_channel(pb::GetChannelRequest { code: ghost() })
    );
    case!(
        "get service function",
        c.get_service_function(pb::GetServiceFunctionRequest { code: ghost() })
    );
    case!(
        "get indicator",
        c.get_indicator(pb::GetIndicatorRequest { code: ghost() })
    );
    case!(
        "get policy document",
        c.get_policy_document(pb::GetPolicyDocumentRequest { code: ghost() })
    );
    case!(
        "get reported aggregate",
        c.get_reported_aggregate(pb::GetReportedAggregateRequest { code: ghost() })
    );
    case!(
        "get observation",
        c.get_observation(pb::GetObservationRequest { id })
    );
    case!(
        "get platform function",
        c.get_platform_function(pb::GetPlatformFunctionRequest { id })
    );
    case!(
        "get indicator value",
        c.get_indicator_value(pb::GetIndicatorValueRequest { id })
    );
    case!(
        "update platform",
        c.update_platform(pb::UpdatePlatformRequest {
            platform: Some(platform(&ghost(), &w.province_a)),
            update_mask: None
        })
    );
    case!(
        "update region",
        c.update_region(pb::UpdateRegionRequest {
            region: Some(region(&ghost(), "X", pb::AdminLevel::Country, "")),
            update_mask: None
        })
    );
    case!(
        "update observation",
        c.update_observation(pb::UpdateObservationRequest {
            observation: Some(pb::Observation {
                id,
                ..rating(&w.platform_a, &w.channel_a, "2023-05-25", 1.0)
            }),
            update_mask: None,
        })
    );
    case!(
        "update indicator value",
        c.update_indicator_value(pb::UpdateIndicatorValueRequest {
            indicator_value: Some(pb::IndicatorValue {
                id,
                ..indicator_value(
                    &w.indicator,
                    pb::SubjectKind::Region,
                    &w.country,
                    "2022",
                    1.0
                )
            }),
            update_mask: None,
        })
    );
    case!(
        "delete region",
        c.delete_region(pb::DeleteRegionRequest { code: ghost() })
    );
    case!(
        "delete platform",
        c.delete_platform(pb::DeletePlatformRequest { code: ghost() })
    );
    case!(
        "delete channel",
        c.delete_channel(pb::DeleteChannelRequest { code: ghost() })
    );
    case!(
        "delete observation",
        c.delete_observation(pb::DeleteObservationRequest { id })
    );
    case!(
        "delete platform function",
        c.delete_platform_function(pb::DeletePlatformFunctionRequest { id })
    );
    case!(
        "delete reported aggregate",
        c.delete_reported_aggregate(pb::DeleteReportedAggregateRequest { code: ghost() })
    );
    case!(
        "list platforms of an unknown region",
        c.list_platforms(pb::ListPlatformsRequest {
            region_code: ghost(),
            ..Default::default()
        })
    );
    case!(
        "list regions under an unknown root",
        c.list_regions(pb::ListRegionsRequest {
            root_code: ghost(),
            ..Default::default()
        })
    );
    let mut failures = Vec::new();
    for (name, outcome) in statuses {
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            expect_code(outcome, Code::NotFound)
        }))
        .is_err()
        {
            failures.push(name);
        }
    }
    assert!(failures.is_empty(), "not NOT_FOUND: {failures:?}");
    assert_eq!(srv.revision().await, rev);

    // NOT_FOUND names the resource and the name looked for.
    let code = ghost();
    let status = expect_code(
        c.get_platform(pb::GetPlatformRequest { code: code.clone() })
            .await,
        Code::NotFound,
    );
    let info = error_info(&status).unwrap();
    assert_eq!(
        info.metadata.get("resource").map(String::as_str),
        Some("platform")
    );
    assert_eq!(info.metadata.get("name"), Some(&code));
}

/// The limits are inclusive: values right at them are accepted.
async fn values_at_the_limits_are_accepted(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let w = World::create(&srv).await;
    let mut c = srv.client();
    for (day, value) in [(1, 0.0), (2, 5.0)] {
        create_observation(
            &mut c,
            rating(
                &w.platform_a,
                &w.channel_a,
                &format!("2023-05-0{day}"),
                value,
            ),
        )
        .await;
    }
    create_observation(
        &mut c,
        observation(
            &w.platform_a,
            &w.channel_a,
            pb::Metric::Downloads,
            "2023-05-01",
            0.0,
            "",
        ),
    )
    .await;
    create_observation(
        &mut c,
        observation(
            &w.platform_a,
            &w.channel_a,
            pb::Metric::Downloads,
            "2100-12-31",
            9e15,
            "",
        ),
    )
    .await;
    create_observation(
        &mut c,
        observation(
            &w.platform_a,
            &w.channel_a,
            pb::Metric::Downloads,
            "1900-01-01",
            1.0,
            "",
        ),
    )
    .await;
    create_observation(
        &mut c,
        observation(
            &w.platform_a,
            &w.channel_a,
            pb::Metric::Downloads,
            "2024-02-29",
            22_000.0,
            "22thousand",
        ),
    )
    .await;
    let mut p = platform(&"c".repeat(64), &w.province_a);
    p.name = "n".repeat(200);
    p.launch_date = "1900-01-01".into();
    let created = create_platform(&mut c, p.clone()).await;
    assert_eq!(created, p);
    let got = c
        .get_platform(pb::GetPlatformRequest {
            code: p.code.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .platform;
    assert_eq!(got, Some(p));
    // Unicode names count characters, not bytes.
    let mut p = platform(&unique_code("dcb"), &w.province_a);
    p.name = "多".repeat(200);
    assert_eq!(create_platform(&mut c, p.clone()).await, p);
}

/// The fields of a violation are paths into the request message.
async fn provenance_violations_name_the_request_field(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let w = World::create(&srv).await;
    let mut c = srv.client();
    let long = "d".repeat(201);
    let mut o = rating(&w.platform_a, &w.channel_a, "2023-05-25", 1.0);
    o.source = Some(pb::Provenance {
        document: long.clone(),
        ..Default::default()
    });
    let request = pb::CreateObservationRequest {
        observation: Some(o),
        request_id: String::new(),
    };
    expect_invalid(
        c.create_observation(request).await,
        "observation.source.document",
    );
    let mut p = platform(&unique_code("app"), &w.province_a);
    p.source = Some(pb::Provenance {
        row: long.clone(),
        ..Default::default()
    });
    expect_invalid(
        c.create_platform(pb::CreatePlatformRequest {
            platform: Some(p),
            request_id: String::new(),
        })
        .await,
        "platform.source.row",
    );
    let mut r = region(
        &unique_code("r"),
        "R",
        pb::AdminLevel::Prefecture,
        &w.province_a,
    );
    let mut figure = population(2022, 5, "");
    figure.source = Some(pb::Provenance {
        column: long,
        ..Default::default()
    });
    r.populations = vec![figure];
    let request = pb::CreateRegionRequest {
        region: Some(r),
        request_id: String::new(),
    };
    expect_invalid(
        c.create_region(request).await,
        "region.populations[0].source.column",
    );
}

/// A NUL byte (or another control character) in a code or filter is a bad or unknown
/// code: INVALID_ARGUMENT or NOT_FOUND (an empty list for filters), never INTERNAL.
async fn control_characters_in_lookups_are_never_internal_errors(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let w = World::create(&srv).await;
    let mut c = srv.client();
    let rev = srv.revision().await;
    let acceptable = |what: &str, result: Result<(), Status>, ok_allowed: bool| match result {
        Ok(()) => assert!(ok_allowed, "{what}: succeeded"),
        Err(s) => {
            assert!(
                matches!(s.code(), Code::NotFound | Code::InvalidArgument),
                "{what}: {s:?}"
            );
            assert_no_internals(&s);
        }
    };
    for code in ["a\0b", "\0", "x\u{1}"] {
        acceptable(
            "GetPlatform",
            c.get_platform(pb::GetPlatformRequest { code: code.into() })
                .await
                .map(drop),
            false,
        );
        acceptable(
            "GetRegion",
            c.get_region(pb::GetRegionRequest { code: code.into() })
                .await
                .map(drop),
            false,
        );
        acceptable(
            "DeleteChannel",
            c.delete_channel(pb::DeleteChannelRequest { code: code.into() })
                .await
                .map(drop),
            false,
        );
        let update = pb::UpdatePlatformRequest {
            platform: Some(platform(code, &w.province_a)),
            update_mask: None,
        };
        acceptable(
            "UpdatePlatform",
            c.update_platform(update).await.map(drop),
            false,
        );
        let list = pb::ListObservationsRequest {
            platform_code: code.into(),
            ..Default::default()
        };
        acceptable(
            "ListObservations",
            c.list_observations(list).await.map(drop),
            true,
        );
        let list = pb::ListIndicatorValuesRequest {
            subject_code: code.into(),
            ..Default::default()
        };
        acceptable(
            "ListIndicatorValues",
            c.list_indicator_values(list).await.map(drop),
            true,
        );
        let list = pb::ListPlatformsRequest {
            region_code: code.into(),
            ..Default::default()
        };
        acceptable(
            "ListPlatforms",
            c.list_platforms(list).await.map(drop),
            false,
        );
    }
    assert_eq!(srv.revision().await, rev);
}
