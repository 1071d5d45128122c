//! CRUD of every resource on PostgreSQL and SQLite: create -> get equals; update with a
//! mask changes only the masked fields, an empty mask replaces every updatable field;
//! list finds it; delete -> NOT_FOUND. Duplicates, request-id replays, deleting
//! referenced records, bad masks, and the data revision (advances on every write, never
//! on a read).

use govlens_tests::fixtures::*;
use govlens_tests::*;
use tonic::Code;

on_both_backends!(
    crud_region,
    crud_channel,
    crud_platform,
    crud_service_function,
    crud_platform_function,
    crud_indicator,
    crud_policy_document,
    crud_observation,
    crud_indicator_value,
    crud_reported_aggregate,
    deleting_a_referenced_record_fails_and_keeps_it,
    update_masks_naming_identity_or_unknown_fields_are_rejected,
    request_ids_are_per_resource_kind,
    reads_never_advance_the_revision,
    concurrent_writes_get_distinct_revisions,
    moving_a_region_moves_only_its_own_subtree,
    concurrent_retries_of_one_request_id_all_get_the_first_result,
);

async fn crud_region(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let w = World::create(&srv).await;
    let mut c = srv.client();
    let mut rev = Revisions::start(&srv).await;

    let code = unique_code("chengdu");
    let mut created_msg = region(&code, "Chengdu", pb::AdminLevel::Prefecture, &w.province_a);
    created_msg.populations = vec![
        population(2021, 21_192_000, "21.192 million"),
        population(2022, 21_268_000, ""),
    ];
    let request_id = unique_code("req");
    let first = c
        .create_region(pb::CreateRegionRequest {
            region: Some(created_msg.clone()),
            request_id: request_id.clone(),
        })
        .await
        .expect("create region")
        .into_inner();
    assert_eq!(
        first.region.as_ref(),
        Some(&created_msg),
        "create returns what was created"
    );
    rev.wrote(first.revision);
    rev.current(&srv).await;

    let got = c
        .get_region(pb::GetRegionRequest { code: code.clone() })
        .await
        .unwrap()
        .into_inner()
        .region;
    assert_eq!(
        got.as_ref(),
        Some(&created_msg),
        "get returns what was created, populations included"
    );

    // A retry with the same request id returns the first result and writes nothing.
    let again = c
        .create_region(pb::CreateRegionRequest {
            region: Some(created_msg.clone()),
            request_id: request_id.clone(),
        })
        .await
        .expect("replayed create")
        .into_inner();
    assert_eq!(again.region, first.region);
    assert_eq!(again.revision, first.revision);
    rev.unchanged(&srv, "a replayed create").await;

    // The same region without a request id already exists.
    expect_code(
        c.create_region(pb::CreateRegionRequest {
            region: Some(created_msg.clone()),
            request_id: String::new(),
        })
        .await,
        Code::AlreadyExists,
    );
    rev.unchanged(&srv, "a duplicate create").await;

    // Every field differs in the request; the mask picks only the name.
    let mut other = region(&code, "Chengdu City", pb::AdminLevel::County, &w.province_b);
    other.populations = vec![population(2023, 21_403_000, "")];
    let updated = c
        .update_region(pb::UpdateRegionRequest {
            region: Some(other.clone()),
            update_mask: mask(&["name"]),
        })
        .await
        .expect("update name")
        .into_inner();
    let expected = pb::Region {
        name: "Chengdu City".into(),
        ..created_msg.clone()
    };
    assert_eq!(
        updated.region.as_ref(),
        Some(&expected),
        "only the name changed"
    );
    rev.wrote(updated.revision);
    let got = c
        .get_region(pb::GetRegionRequest { code: code.clone() })
        .await
        .unwrap()
        .into_inner()
        .region;
    assert_eq!(got.as_ref(), Some(&expected));

    // Only the populations.
    let updated = c
        .update_region(pb::UpdateRegionRequest {
            region: Some(other.clone()),
            update_mask: mask(&["populations"]),
        })
        .await
        .expect("update populations")
        .into_inner();
    let expected = pb::Region {
        populations: other.populations.clone(),
        ..expected
    };
    assert_eq!(
        updated.region.as_ref(),
        Some(&expected),
        "only the populations changed"
    );
    rev.wrote(updated.revision);

    // An empty mask replaces every updatable field (and moves the region).
    let updated = c
        .update_region(pb::UpdateRegionRequest {
            region: Some(other.clone()),
            update_mask: None,
        })
        .await
        .expect("full update")
        .into_inner();
    assert_eq!(updated.region.as_ref(), Some(&other));
    rev.wrote(updated.revision);
    let got = c
        .get_region(pb::GetRegionRequest { code: code.clone() })
        .await
        .unwrap()
        .into_inner()
        .region;
    assert_eq!(got.as_ref(), Some(&other));

    // List finds it under its new parent, and no longer under the old one.
    let under = |root: &str| pb::ListRegionsRequest {
        root_code: root.to_string(),
        ..Default::default()
    };
    let listed = c
        .list_regions(under(&w.province_b))
        .await
        .unwrap()
        .into_inner();
    assert!(
        listed.regions.contains(&other),
        "ListRegions(root {}) misses {code}",
        w.province_b
    );
    assert_eq!(
        listed.revision,
        rev.last(),
        "a list reports the revision it read"
    );
    let listed = c
        .list_regions(under(&w.province_a))
        .await
        .unwrap()
        .into_inner();
    assert!(
        listed.regions.iter().all(|r| r.code != code),
        "the moved region is still under its old parent"
    );
    let listed = c
        .list_regions(pb::ListRegionsRequest {
            level: pb::AdminLevel::County as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.regions, vec![other.clone()], "the level filter");
    rev.unchanged(&srv, "reads").await;

    let deleted = c
        .delete_region(pb::DeleteRegionRequest { code: code.clone() })
        .await
        .expect("delete")
        .into_inner();
    rev.wrote(deleted.revision);
    rev.current(&srv).await;
    expect_code(
        c.get_region(pb::GetRegionRequest { code: code.clone() })
            .await,
        Code::NotFound,
    );
    expect_code(
        c.delete_region(pb::DeleteRegionRequest { code: code.clone() })
            .await,
        Code::NotFound,
    );
    rev.unchanged(&srv, "reading and deleting a missing region")
        .await;
    // Its populations went with it: a new region of that code starts without any.
    let fresh = create_region(
        &mut c,
        region(&code, "Chengdu", pb::AdminLevel::Prefecture, &w.province_a),
    )
    .await;
    assert!(
        fresh.populations.is_empty(),
        "populations of a deleted region came back: {fresh:?}"
    );
}

async fn crud_channel(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let mut c = srv.client();
    let mut rev = Revisions::start(&srv).await;
    let code = unique_code("huawei");
    let created_msg = pb::Channel {
        code: code.clone(),
        name: "Huawei AppGallery".into(),
        kind: pb::ChannelKind::AppStore as i32,
        vendor: "Huawei".into(),
    };
    let request_id = unique_code("req");
    let create = |request_id: &str| pb::CreateChannelRequest {
        channel: Some(created_msg.clone()),
        request_id: request_id.into(),
    };
    let first = c
        .create_channel(create(&request_id))
        .await
        .expect("create")
        .into_inner();
    assert_eq!(first.channel.as_ref(), Some(&created_msg));
    rev.wrote(first.revision);
    rev.current(&srv).await;
    let get = pb::GetChannelRequest { code: code.clone() };
    assert_eq!(
        c.get_channel(get.clone())
            .await
            .unwrap()
            .into_inner()
            .channel
            .as_ref(),
        Some(&created_msg)
    );

    let again = c
        .create_channel(create(&request_id))
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(
        (again.channel, again.revision),
        (first.channel.clone(), first.revision)
    );
    expect_code(c.create_channel(create("")).await, Code::AlreadyExists);
    rev.unchanged(&srv, "a replay and a duplicate").await;

    let other = pb::Channel {
        code: code.clone(),
        name: "Web".into(),
        kind: pb::ChannelKind::Web as i32,
        vendor: "Nobody".into(),
    };
    let updated = c
        .update_channel(pb::UpdateChannelRequest {
            channel: Some(other.clone()),
            update_mask: mask(&["name", "vendor"]),
        })
        .await
        .expect("masked update")
        .into_inner();
    let expected = pb::Channel {
        name: other.name.clone(),
        vendor: other.vendor.clone(),
        ..created_msg.clone()
    };
    assert_eq!(updated.channel.as_ref(), Some(&expected));
    rev.wrote(updated.revision);
    assert_eq!(
        c.get_channel(get.clone())
            .await
            .unwrap()
            .into_inner()
            .channel
            .as_ref(),
        Some(&expected)
    );

    let updated = c
        .update_channel(pb::UpdateChannelRequest {
            channel: Some(other.clone()),
            update_mask: None,
        })
        .await
        .expect("full update")
        .into_inner();
    assert_eq!(updated.channel.as_ref(), Some(&other));
    rev.wrote(updated.revision);
    assert_eq!(
        c.get_channel(get.clone())
            .await
            .unwrap()
            .into_inner()
            .channel
            .as_ref(),
        Some(&other)
    );

    let web = c
        .list_channels(pb::ListChannelsRequest {
            kind: pb::ChannelKind::Web as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(web.into_inner().channels.contains(&other));
    let stores = c
        .list_channels(pb::ListChannelsRequest {
            kind: pb::ChannelKind::AppStore as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        stores
            .into_inner()
            .channels
            .iter()
            .all(|ch| ch.code != code),
        "kind filter"
    );
    rev.unchanged(&srv, "reads").await;

    let deleted = c
        .delete_channel(pb::DeleteChannelRequest { code: code.clone() })
        .await
        .expect("delete")
        .into_inner();
    rev.wrote(deleted.revision);
    expect_code(c.get_channel(get).await, Code::NotFound);
    expect_code(
        c.delete_channel(pb::DeleteChannelRequest { code }).await,
        Code::NotFound,
    );
    rev.unchanged(&srv, "reading a deleted channel").await;
}

async fn crud_platform(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let w = World::create(&srv).await;
    let mut c = srv.client();
    let mut rev = Revisions::start(&srv).await;
    let code = unique_code("duocaibao");
    let created_msg = platform(&code, &w.province_a);
    let request_id = unique_code("req");
    let create = |request_id: &str| pb::CreatePlatformRequest {
        platform: Some(created_msg.clone()),
        request_id: request_id.into(),
    };
    let first = c
        .create_platform(create(&request_id))
        .await
        .expect("create")
        .into_inner();
    assert_eq!(first.platform.as_ref(), Some(&created_msg));
    rev.wrote(first.revision);
    rev.current(&srv).await;
    let get = pb::GetPlatformRequest { code: code.clone() };
    assert_eq!(
        c.get_platform(get.clone())
            .await
            .unwrap()
            .into_inner()
            .platform
            .as_ref(),
        Some(&created_msg)
    );

    let again = c
        .create_platform(create(&request_id))
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(
        (again.platform, again.revision),
        (first.platform.clone(), first.revision)
    );
    expect_code(c.create_platform(create("")).await, Code::AlreadyExists);
    rev.unchanged(&srv, "a replay and a duplicate").await;

    let other = pb::Platform {
        code: code.clone(),
        name: "Duocaibao 2".into(),
        kind: pb::PlatformKind::MiniProgram as i32,
        region_code: w.province_b.clone(),
        operator: "Someone else".into(),
        launch_date: "2021-12-31".into(),
        status: pb::PlatformStatus::Retired as i32,
        url: "http://example.com/".into(),
        source: source("other-doc", "other row"),
    };
    let updated = c
        .update_platform(pb::UpdatePlatformRequest {
            platform: Some(other.clone()),
            update_mask: mask(&["name", "status"]),
        })
        .await
        .expect("masked update")
        .into_inner();
    let expected = pb::Platform {
        name: other.name.clone(),
        status: other.status,
        ..created_msg.clone()
    };
    assert_eq!(updated.platform.as_ref(), Some(&expected));
    rev.wrote(updated.revision);
    assert_eq!(
        c.get_platform(get.clone())
            .await
            .unwrap()
            .into_inner()
            .platform
            .as_ref(),
        Some(&expected)
    );

    let updated = c
        .update_platform(pb::UpdatePlatformRequest {
            platform: Some(other.clone()),
            update_mask: None,
        })
        .await
        .expect("full update")
        .into_inner();
    assert_eq!(updated.platform.as_ref(), Some(&other));
    rev.wrote(updated.revision);
    assert_eq!(
        c.get_platform(get.clone())
            .await
            .unwrap()
            .into_inner()
            .platform
            .as_ref(),
        Some(&other)
    );

    // Listed under its new region (and the country), with the kind filter.
    let list = |region: &str, kind: pb::PlatformKind| pb::ListPlatformsRequest {
        region_code: region.to_string(),
        kind: kind as i32,
        ..Default::default()
    };
    let found = c
        .list_platforms(list(&w.province_b, pb::PlatformKind::MiniProgram))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.platforms, vec![other.clone()]);
    let found = c
        .list_platforms(list(&w.country, pb::PlatformKind::Unspecified))
        .await
        .unwrap()
        .into_inner();
    assert!(found.platforms.contains(&other));
    let found = c
        .list_platforms(list(&w.province_a, pb::PlatformKind::Unspecified))
        .await
        .unwrap()
        .into_inner();
    assert!(
        found.platforms.iter().all(|p| p.code != code),
        "moved platform still listed under its old region"
    );
    rev.unchanged(&srv, "reads").await;

    let deleted = c
        .delete_platform(pb::DeletePlatformRequest { code: code.clone() })
        .await
        .expect("delete")
        .into_inner();
    rev.wrote(deleted.revision);
    expect_code(c.get_platform(get).await, Code::NotFound);
    expect_code(
        c.delete_platform(pb::DeletePlatformRequest { code }).await,
        Code::NotFound,
    );
    rev.unchanged(&srv, "reading a deleted platform").await;
}

async fn crud_service_function(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let mut c = srv.client();
    let mut rev = Revisions::start(&srv).await;
    let code = unique_code("social-security");
    let created_msg = service_function(&code);
    let request_id = unique_code("req");
    let create = |request_id: &str| pb::CreateServiceFunctionRequest {
        service_function: Some(created_msg.clone()),
        request_id: request_id.into(),
    };
    let first = c
        .create_service_function(create(&request_id))
        .await
        .expect("create")
        .into_inner();
    assert_eq!(first.service_function.as_ref(), Some(&created_msg));
    rev.wrote(first.revision);
    rev.current(&srv).await;
    let get = pb::GetServiceFunctionRequest { code: code.clone() };
    assert_eq!(
        c.get_service_function(get.clone())
            .await
            .unwrap()
            .into_inner()
            .service_function
            .as_ref(),
        Some(&created_msg)
    );

    let again = c
        .create_service_function(create(&request_id))
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(
        (again.service_function, again.revision),
        (first.service_function.clone(), first.revision)
    );
    expect_code(
        c.create_service_function(create("")).await,
        Code::AlreadyExists,
    );
    rev.unchanged(&srv, "a replay and a duplicate").await;

    let other = pb::ServiceFunction {
        code: code.clone(),
        name: "Social insurance".into(),
        category: pb::FunctionCategory::BasicPublicService as i32,
        description: "Pensions".into(),
    };
    let updated = c
        .update_service_function(pb::UpdateServiceFunctionRequest {
            service_function: Some(other.clone()),
            update_mask: mask(&["category"]),
        })
        .await
        .expect("masked update")
        .into_inner();
    let expected = pb::ServiceFunction {
        category: other.category,
        ..created_msg.clone()
    };
    assert_eq!(updated.service_function.as_ref(), Some(&expected));
    rev.wrote(updated.revision);
    assert_eq!(
        c.get_service_function(get.clone())
            .await
            .unwrap()
            .into_inner()
            .service_function
            .as_ref(),
        Some(&expected)
    );

    let updated = c
        .update_service_function(pb::UpdateServiceFunctionRequest {
            service_function: Some(other.clone()),
            update_mask: None,
        })
        .await
        .expect("full update")
        .into_inner();
    assert_eq!(updated.service_function.as_ref(), Some(&other));
    rev.wrote(updated.revision);
    assert_eq!(
        c.get_service_function(get.clone())
            .await
            .unwrap()
            .into_inner()
            .service_function
            .as_ref(),
        Some(&other)
    );

    let by_category = |category: pb::FunctionCategory| pb::ListServiceFunctionsRequest {
        category: category as i32,
        ..Default::default()
    };
    let found = c
        .list_service_functions(by_category(pb::FunctionCategory::BasicPublicService))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.service_functions, vec![other.clone()]);
    let found = c
        .list_service_functions(by_category(pb::FunctionCategory::ConvenienceService))
        .await
        .unwrap()
        .into_inner();
    assert!(found.service_functions.is_empty());
    rev.unchanged(&srv, "reads").await;

    let deleted = c
        .delete_service_function(pb::DeleteServiceFunctionRequest { code: code.clone() })
        .await
        .unwrap()
        .into_inner();
    rev.wrote(deleted.revision);
    expect_code(c.get_service_function(get).await, Code::NotFound);
    expect_code(
        c.delete_service_function(pb::DeleteServiceFunctionRequest { code })
            .await,
        Code::NotFound,
    );
    rev.unchanged(&srv, "reading a deleted service function")
        .await;
}

async fn crud_platform_function(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let w = World::create(&srv).await;
    let mut c = srv.client();
    let mut rev = Revisions::start(&srv).await;
    let created_msg = pb::PlatformFunction {
        id: 0,
        platform_code: w.platform_a.clone(),
        function_code: w.function_a.clone(),
        source: source("pan2023-toe", "Section 2.3"),
    };
    let request_id = unique_code("req");
    let create = |request_id: &str| pb::CreatePlatformFunctionRequest {
        platform_function: Some(created_msg.clone()),
        request_id: request_id.into(),
    };
    let first = c
        .create_platform_function(create(&request_id))
        .await
        .expect("create")
        .into_inner();
    let created = first.platform_function.clone().expect("platform function");
    assert!(created.id > 0, "a server-assigned id");
    let id = created.id;
    assert_eq!(
        created,
        pb::PlatformFunction {
            id,
            ..created_msg.clone()
        }
    );
    rev.wrote(first.revision);
    rev.current(&srv).await;
    let get = pb::GetPlatformFunctionRequest { id };
    assert_eq!(
        c.get_platform_function(get)
            .await
            .unwrap()
            .into_inner()
            .platform_function,
        Some(created.clone())
    );

    let again = c
        .create_platform_function(create(&request_id))
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(
        (again.platform_function, again.revision),
        (Some(created.clone()), first.revision)
    );
    expect_code(
        c.create_platform_function(create("")).await,
        Code::AlreadyExists,
    );
    rev.unchanged(&srv, "a replay and a duplicate").await;

    let other = pb::PlatformFunction {
        id,
        platform_code: w.platform_b.clone(),
        function_code: w.function_b.clone(),
        source: source("pan2023-toe", "Section 2.4"),
    };
    let updated = c
        .update_platform_function(pb::UpdatePlatformFunctionRequest {
            platform_function: Some(other.clone()),
            update_mask: mask(&["source"]),
        })
        .await
        .expect("masked update")
        .into_inner();
    let expected = pb::PlatformFunction {
        source: other.source.clone(),
        ..created.clone()
    };
    assert_eq!(updated.platform_function.as_ref(), Some(&expected));
    rev.wrote(updated.revision);
    assert_eq!(
        c.get_platform_function(get)
            .await
            .unwrap()
            .into_inner()
            .platform_function
            .as_ref(),
        Some(&expected)
    );

    let updated = c
        .update_platform_function(pb::UpdatePlatformFunctionRequest {
            platform_function: Some(other.clone()),
            update_mask: None,
        })
        .await
        .expect("full update")
        .into_inner();
    assert_eq!(updated.platform_function.as_ref(), Some(&other));
    rev.wrote(updated.revision);
    assert_eq!(
        c.get_platform_function(get)
            .await
            .unwrap()
            .into_inner()
            .platform_function
            .as_ref(),
        Some(&other)
    );

    let list = |platform: &str, function: &str, region: &str| pb::ListPlatformFunctionsRequest {
        platform_code: platform.into(),
        function_code: function.into(),
        region_code: region.into(),
        ..Default::default()
    };
    let found = c
        .list_platform_functions(list(&w.platform_b, &w.function_b, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.platform_functions, vec![other.clone()]);
    let found = c
        .list_platform_functions(list("", "", &w.province_b))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        found.platform_functions,
        vec![other.clone()],
        "region filter"
    );
    let found = c
        .list_platform_functions(list(&w.platform_a, "", ""))
        .await
        .unwrap()
        .into_inner();
    assert!(found.platform_functions.is_empty(), "platform filter");
    rev.unchanged(&srv, "reads").await;

    let deleted = c
        .delete_platform_function(pb::DeletePlatformFunctionRequest { id })
        .await
        .expect("delete")
        .into_inner();
    rev.wrote(deleted.revision);
    expect_code(c.get_platform_function(get).await, Code::NotFound);
    expect_code(
        c.delete_platform_function(pb::DeletePlatformFunctionRequest { id })
            .await,
        Code::NotFound,
    );
    rev.unchanged(&srv, "reading a deleted platform function")
        .await;
}

async fn crud_indicator(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let mut c = srv.client();
    let mut rev = Revisions::start(&srv).await;
    let code = unique_code("coverage");
    let created_msg = indicator(&code);
    let request_id = unique_code("req");
    let create = |request_id: &str| pb::CreateIndicatorRequest {
        indicator: Some(created_msg.clone()),
        request_id: request_id.into(),
    };
    let first = c
        .create_indicator(create(&request_id))
        .await
        .expect("create")
        .into_inner();
    assert_eq!(first.indicator.as_ref(), Some(&created_msg));
    rev.wrote(first.revision);
    rev.current(&srv).await;
    let get = pb::GetIndicatorRequest { code: code.clone() };
    assert_eq!(
        c.get_indicator(get.clone())
            .await
            .unwrap()
            .into_inner()
            .indicator
            .as_ref(),
        Some(&created_msg)
    );

    let again = c
        .create_indicator(create(&request_id))
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(
        (again.indicator, again.revision),
        (first.indicator.clone(), first.revision)
    );
    expect_code(c.create_indicator(create("")).await, Code::AlreadyExists);
    rev.unchanged(&srv, "a replay and a duplicate").await;

    let other = pb::Indicator {
        code: code.clone(),
        name: "Waiting time".into(),
        unit: "days".into(),
        direction: pb::Direction::LowerIsBetter as i32,
        dimension: pb::ToeDimension::Organization as i32,
        factor: "process".into(),
        description: "Days until a permit".into(),
    };
    let updated = c
        .update_indicator(pb::UpdateIndicatorRequest {
            indicator: Some(other.clone()),
            update_mask: mask(&["direction", "unit"]),
        })
        .await
        .expect("masked update")
        .into_inner();
    let expected = pb::Indicator {
        direction: other.direction,
        unit: other.unit.clone(),
        ..created_msg.clone()
    };
    assert_eq!(updated.indicator.as_ref(), Some(&expected));
    rev.wrote(updated.revision);
    assert_eq!(
        c.get_indicator(get.clone())
            .await
            .unwrap()
            .into_inner()
            .indicator
            .as_ref(),
        Some(&expected)
    );

    let updated = c
        .update_indicator(pb::UpdateIndicatorRequest {
            indicator: Some(other.clone()),
            update_mask: None,
        })
        .await
        .expect("full update")
        .into_inner();
    assert_eq!(updated.indicator.as_ref(), Some(&other));
    rev.wrote(updated.revision);
    assert_eq!(
        c.get_indicator(get.clone())
            .await
            .unwrap()
            .into_inner()
            .indicator
            .as_ref(),
        Some(&other)
    );

    let by_dimension = |d: pb::ToeDimension| pb::ListIndicatorsRequest {
        dimension: d as i32,
        ..Default::default()
    };
    let found = c
        .list_indicators(by_dimension(pb::ToeDimension::Organization))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.indicators, vec![other.clone()]);
    let found = c
        .list_indicators(by_dimension(pb::ToeDimension::Technology))
        .await
        .unwrap()
        .into_inner();
    assert!(found.indicators.is_empty());
    rev.unchanged(&srv, "reads").await;

    let deleted = c
        .delete_indicator(pb::DeleteIndicatorRequest { code: code.clone() })
        .await
        .expect("delete")
        .into_inner();
    rev.wrote(deleted.revision);
    expect_code(c.get_indicator(get).await, Code::NotFound);
    expect_code(
        c.delete_indicator(pb::DeleteIndicatorRequest { code })
            .await,
        Code::NotFound,
    );
    rev.unchanged(&srv, "reading a deleted indicator").await;
}

async fn crud_policy_document(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let w = World::create(&srv).await;
    let mut c = srv.client();
    let mut rev = Revisions::start(&srv).await;
    let code = unique_code("pan2023.t1.r1");
    let created_msg = policy_document(&code, &w.province_a);
    let request_id = unique_code("req");
    let create = |request_id: &str| pb::CreatePolicyDocumentRequest {
        policy_document: Some(created_msg.clone()),
        request_id: request_id.into(),
    };
    let first = c
        .create_policy_document(create(&request_id))
        .await
        .expect("create")
        .into_inner();
    assert_eq!(first.policy_document.as_ref(), Some(&created_msg));
    rev.wrote(first.revision);
    rev.current(&srv).await;
    let get = pb::GetPolicyDocumentRequest { code: code.clone() };
    assert_eq!(
        c.get_policy_document(get.clone())
            .await
            .unwrap()
            .into_inner()
            .policy_document
            .as_ref(),
        Some(&created_msg)
    );

    let again = c
        .create_policy_document(create(&request_id))
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(
        (again.policy_document, again.revision),
        (first.policy_document.clone(), first.revision)
    );
    expect_code(
        c.create_policy_document(create("")).await,
        Code::AlreadyExists,
    );
    rev.unchanged(&srv, "a replay and a duplicate").await;

    let other = pb::PolicyDocument {
        code: code.clone(),
        region_code: w.province_b.clone(),
        title: "Implementation plan of big data ten projects in 2017".into(),
        issuer: String::new(),
        year: 0,
        programme: "Above clouds Guizhou".into(),
        toe_tags: vec![pb::ToeDimension::Environment as i32],
        source: source("pan2023-toe", "9"),
    };
    let updated = c
        .update_policy_document(pb::UpdatePolicyDocumentRequest {
            policy_document: Some(other.clone()),
            update_mask: mask(&["title", "toe_tags", "year"]),
        })
        .await
        .expect("masked update")
        .into_inner();
    let expected = pb::PolicyDocument {
        title: other.title.clone(),
        toe_tags: other.toe_tags.clone(),
        year: 0,
        ..created_msg.clone()
    };
    assert_eq!(
        updated.policy_document.as_ref(),
        Some(&expected),
        "year 0 clears the year"
    );
    rev.wrote(updated.revision);
    assert_eq!(
        c.get_policy_document(get.clone())
            .await
            .unwrap()
            .into_inner()
            .policy_document
            .as_ref(),
        Some(&expected)
    );

    let updated = c
        .update_policy_document(pb::UpdatePolicyDocumentRequest {
            policy_document: Some(other.clone()),
            update_mask: None,
        })
        .await
        .expect("full update")
        .into_inner();
    assert_eq!(updated.policy_document.as_ref(), Some(&other));
    rev.wrote(updated.revision);
    assert_eq!(
        c.get_policy_document(get.clone())
            .await
            .unwrap()
            .into_inner()
            .policy_document
            .as_ref(),
        Some(&other)
    );

    let list = |region: &str| pb::ListPolicyDocumentsRequest {
        region_code: region.into(),
        ..Default::default()
    };
    let found = c
        .list_policy_documents(list(&w.province_b))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.policy_documents, vec![other.clone()]);
    let found = c
        .list_policy_documents(list(&w.province_a))
        .await
        .unwrap()
        .into_inner();
    assert!(
        found.policy_documents.is_empty(),
        "moved document still listed under its old region"
    );
    rev.unchanged(&srv, "reads").await;

    let deleted = c
        .delete_policy_document(pb::DeletePolicyDocumentRequest { code: code.clone() })
        .await
        .unwrap()
        .into_inner();
    rev.wrote(deleted.revision);
    expect_code(c.get_policy_document(get).await, Code::NotFound);
    expect_code(
        c.delete_policy_document(pb::DeletePolicyDocumentRequest { code })
            .await,
        Code::NotFound,
    );
    rev.unchanged(&srv, "reading a deleted policy document")
        .await;
}

async fn crud_observation(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let w = World::create(&srv).await;
    let mut c = srv.client();
    let mut rev = Revisions::start(&srv).await;
    let created_msg = observation(
        &w.platform_a,
        &w.channel_a,
        pb::Metric::Rating,
        "2023-05-25",
        4.5,
        "4.5points",
    );
    let request_id = unique_code("req");
    let create = |request_id: &str| pb::CreateObservationRequest {
        observation: Some(created_msg.clone()),
        request_id: request_id.into(),
    };
    let first = c
        .create_observation(create(&request_id))
        .await
        .expect("create")
        .into_inner();
    let created = first.observation.clone().expect("observation");
    let id = created.id;
    assert!(id > 0, "a server-assigned id");
    assert_eq!(
        created,
        pb::Observation {
            id,
            ..created_msg.clone()
        }
    );
    rev.wrote(first.revision);
    rev.current(&srv).await;
    let get = pb::GetObservationRequest { id };
    assert_eq!(
        c.get_observation(get)
            .await
            .unwrap()
            .into_inner()
            .observation
            .as_ref(),
        Some(&created)
    );

    let again = c
        .create_observation(create(&request_id))
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(
        (again.observation, again.revision),
        (Some(created.clone()), first.revision)
    );
    expect_code(c.create_observation(create("")).await, Code::AlreadyExists);
    rev.unchanged(&srv, "a replay and a duplicate").await;

    // A new printed form alone: the value is read from it.
    let other = pb::Observation {
        id,
        platform_code: w.platform_b.clone(),
        channel_code: w.channel_b.clone(),
        metric: pb::Metric::Downloads as i32,
        observed_on: "2023-06-01".into(),
        value: 0.0,
        value_as_printed: "3.9points".into(),
        source: source("other-doc", "other row"),
    };
    let updated = c
        .update_observation(pb::UpdateObservationRequest {
            observation: Some(other.clone()),
            update_mask: mask(&["value_as_printed"]),
        })
        .await
        .expect("masked update")
        .into_inner();
    let expected = pb::Observation {
        value: 3.9,
        value_as_printed: "3.9points".into(),
        ..created.clone()
    };
    assert_eq!(updated.observation.as_ref(), Some(&expected));
    rev.wrote(updated.revision);
    assert_eq!(
        c.get_observation(get)
            .await
            .unwrap()
            .into_inner()
            .observation
            .as_ref(),
        Some(&expected)
    );

    let updated = c
        .update_observation(pb::UpdateObservationRequest {
            observation: Some(other.clone()),
            update_mask: mask(&["source", "observed_on"]),
        })
        .await
        .expect("masked update")
        .into_inner();
    let expected = pb::Observation {
        source: other.source.clone(),
        observed_on: other.observed_on.clone(),
        ..expected
    };
    assert_eq!(updated.observation.as_ref(), Some(&expected));
    rev.wrote(updated.revision);

    let other = pb::Observation {
        value: 494_000_000.0,
        value_as_printed: "494 million".into(),
        ..other
    };
    let updated = c
        .update_observation(pb::UpdateObservationRequest {
            observation: Some(other.clone()),
            update_mask: None,
        })
        .await
        .expect("full update")
        .into_inner();
    assert_eq!(updated.observation.as_ref(), Some(&other));
    rev.wrote(updated.revision);
    assert_eq!(
        c.get_observation(get)
            .await
            .unwrap()
            .into_inner()
            .observation
            .as_ref(),
        Some(&other)
    );

    let found = c
        .list_observations(pb::ListObservationsRequest {
            platform_code: w.platform_b.clone(),
            metric: pb::Metric::Downloads as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.observations, vec![other.clone()]);
    let found = c
        .list_observations(pb::ListObservationsRequest {
            platform_code: w.platform_a.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(found.observations.is_empty());
    rev.unchanged(&srv, "reads").await;

    let deleted = c
        .delete_observation(pb::DeleteObservationRequest { id })
        .await
        .expect("delete")
        .into_inner();
    rev.wrote(deleted.revision);
    expect_code(c.get_observation(get).await, Code::NotFound);
    expect_code(
        c.delete_observation(pb::DeleteObservationRequest { id })
            .await,
        Code::NotFound,
    );
    rev.unchanged(&srv, "reading a deleted observation").await;
    // A replay of the first request id now points at a deleted observation: it must
    // not silently create a second one.
    let replay = c.create_observation(create(&request_id)).await;
    assert!(replay.is_err(), "a replay after delete answered {replay:?}");
    rev.unchanged(&srv, "a replay after delete").await;
}

async fn crud_indicator_value(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let w = World::create(&srv).await;
    let mut c = srv.client();
    let mut rev = Revisions::start(&srv).await;
    let created_msg = indicator_value(
        &w.indicator,
        pb::SubjectKind::Region,
        &w.province_a,
        "2022",
        0.413,
    );
    let request_id = unique_code("req");
    let create = |request_id: &str| pb::CreateIndicatorValueRequest {
        indicator_value: Some(created_msg.clone()),
        request_id: request_id.into(),
    };
    let first = c
        .create_indicator_value(create(&request_id))
        .await
        .expect("create")
        .into_inner();
    let created = first.indicator_value.clone().expect("indicator value");
    let id = created.id;
    assert!(id > 0);
    assert_eq!(
        created,
        pb::IndicatorValue {
            id,
            ..created_msg.clone()
        }
    );
    rev.wrote(first.revision);
    rev.current(&srv).await;
    let get = pb::GetIndicatorValueRequest { id };
    assert_eq!(
        c.get_indicator_value(get)
            .await
            .unwrap()
            .into_inner()
            .indicator_value
            .as_ref(),
        Some(&created)
    );

    let again = c
        .create_indicator_value(create(&request_id))
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(
        (again.indicator_value, again.revision),
        (Some(created.clone()), first.revision)
    );
    expect_code(
        c.create_indicator_value(create("")).await,
        Code::AlreadyExists,
    );
    rev.unchanged(&srv, "a replay and a duplicate").await;

    let other = pb::IndicatorValue {
        id,
        indicator_code: w.indicator.clone(),
        subject_kind: pb::SubjectKind::Platform as i32,
        subject_code: w.platform_b.clone(),
        period: "2023-Q3".into(),
        value: 12.0,
        value_as_printed: "12".into(),
        source: source("survey 2", "row 2"),
    };
    let updated = c
        .update_indicator_value(pb::UpdateIndicatorValueRequest {
            indicator_value: Some(other.clone()),
            update_mask: mask(&["period"]),
        })
        .await
        .expect("masked update")
        .into_inner();
    let expected = pb::IndicatorValue {
        period: "2023-Q3".into(),
        ..created.clone()
    };
    assert_eq!(updated.indicator_value.as_ref(), Some(&expected));
    rev.wrote(updated.revision);
    assert_eq!(
        c.get_indicator_value(get)
            .await
            .unwrap()
            .into_inner()
            .indicator_value
            .as_ref(),
        Some(&expected)
    );

    let updated = c
        .update_indicator_value(pb::UpdateIndicatorValueRequest {
            indicator_value: Some(other.clone()),
            update_mask: None,
        })
        .await
        .expect("full update")
        .into_inner();
    assert_eq!(updated.indicator_value.as_ref(), Some(&other));
    rev.wrote(updated.revision);
    assert_eq!(
        c.get_indicator_value(get)
            .await
            .unwrap()
            .into_inner()
            .indicator_value
            .as_ref(),
        Some(&other)
    );

    let list = |f: fn(&mut pb::ListIndicatorValuesRequest)| {
        let mut r = pb::ListIndicatorValuesRequest::default();
        f(&mut r);
        r
    };
    let found = c
        .list_indicator_values(pb::ListIndicatorValuesRequest {
            region_code: w.province_b.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        found.indicator_values,
        vec![other.clone()],
        "region subtree includes the platforms of the region"
    );
    let found = c
        .list_indicator_values(list(|r| {
            r.subject_kind = pb::SubjectKind::Platform as i32;
            r.period_from = "2023".into();
            r.period_to = "2023-Q4".into();
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.indicator_values, vec![other.clone()]);
    let found = c
        .list_indicator_values(list(|r| r.subject_kind = pb::SubjectKind::Region as i32))
        .await
        .unwrap()
        .into_inner();
    assert!(found.indicator_values.is_empty());
    rev.unchanged(&srv, "reads").await;

    let deleted = c
        .delete_indicator_value(pb::DeleteIndicatorValueRequest { id })
        .await
        .expect("delete")
        .into_inner();
    rev.wrote(deleted.revision);
    expect_code(c.get_indicator_value(get).await, Code::NotFound);
    expect_code(
        c.delete_indicator_value(pb::DeleteIndicatorValueRequest { id })
            .await,
        Code::NotFound,
    );
    rev.unchanged(&srv, "reading a deleted indicator value")
        .await;
}

async fn crud_reported_aggregate(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let w = World::create(&srv).await;
    let mut c = srv.client();
    let mut rev = Revisions::start(&srv).await;
    let code = unique_code("pan2023.t3.sum");
    let created_msg = reported_aggregate(&code, &w.platform_a);
    let request_id = unique_code("req");
    let create = |request_id: &str| pb::CreateReportedAggregateRequest {
        reported_aggregate: Some(created_msg.clone()),
        request_id: request_id.into(),
    };
    let first = c
        .create_reported_aggregate(create(&request_id))
        .await
        .expect("create")
        .into_inner();
    assert_eq!(first.reported_aggregate.as_ref(), Some(&created_msg));
    rev.wrote(first.revision);
    rev.current(&srv).await;
    let get = pb::GetReportedAggregateRequest { code: code.clone() };
    assert_eq!(
        c.get_reported_aggregate(get.clone())
            .await
            .unwrap()
            .into_inner()
            .reported_aggregate
            .as_ref(),
        Some(&created_msg)
    );

    let again = c
        .create_reported_aggregate(create(&request_id))
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(
        (again.reported_aggregate, again.revision),
        (first.reported_aggregate.clone(), first.revision)
    );
    expect_code(
        c.create_reported_aggregate(create("")).await,
        Code::AlreadyExists,
    );
    rev.unchanged(&srv, "a replay and a duplicate").await;

    let other = pb::ReportedAggregate {
        code: code.clone(),
        kind: pb::AggregateKind::PopulationShare as i32,
        subject_kind: pb::SubjectKind::Region as i32,
        subject_code: w.province_b.clone(),
        metric: pb::Metric::RegisteredUsers as i32,
        observed_on: "2022-12-31".into(),
        value: 0.413,
        value_as_printed: "41.3%".into(),
        description: "Users of Duocaibao".into(),
        source: source("pan2023-toe", "Section 2.2"),
    };
    let updated = c
        .update_reported_aggregate(pb::UpdateReportedAggregateRequest {
            reported_aggregate: Some(other.clone()),
            update_mask: mask(&["description"]),
        })
        .await
        .expect("masked update")
        .into_inner();
    let expected = pb::ReportedAggregate {
        description: other.description.clone(),
        ..created_msg.clone()
    };
    assert_eq!(updated.reported_aggregate.as_ref(), Some(&expected));
    rev.wrote(updated.revision);
    assert_eq!(
        c.get_reported_aggregate(get.clone())
            .await
            .unwrap()
            .into_inner()
            .reported_aggregate
            .as_ref(),
        Some(&expected)
    );

    let updated = c
        .update_reported_aggregate(pb::UpdateReportedAggregateRequest {
            reported_aggregate: Some(other.clone()),
            update_mask: None,
        })
        .await
        .expect("full update")
        .into_inner();
    assert_eq!(updated.reported_aggregate.as_ref(), Some(&other));
    rev.wrote(updated.revision);
    assert_eq!(
        c.get_reported_aggregate(get.clone())
            .await
            .unwrap()
            .into_inner()
            .reported_aggregate
            .as_ref(),
        Some(&other)
    );

    let list = |subject: &str, kind: pb::AggregateKind| pb::ListReportedAggregatesRequest {
        subject_code: subject.into(),
        kind: kind as i32,
        ..Default::default()
    };
    let found = c
        .list_reported_aggregates(list(&w.province_b, pb::AggregateKind::PopulationShare))
        .await
        .unwrap();
    assert_eq!(found.into_inner().reported_aggregates, vec![other.clone()]);
    let found = c
        .list_reported_aggregates(list("", pb::AggregateKind::Sum))
        .await
        .unwrap();
    assert!(found.into_inner().reported_aggregates.is_empty());
    rev.unchanged(&srv, "reads").await;

    let deleted = c
        .delete_reported_aggregate(pb::DeleteReportedAggregateRequest { code: code.clone() })
        .await
        .unwrap()
        .into_inner();
    rev.wrote(deleted.revision);
    expect_code(c.get_reported_aggregate(get).await, Code::NotFound);
    expect_code(
        c.delete_reported_aggregate(pb::DeleteReportedAggregateRequest { code })
            .await,
        Code::NotFound,
    );
    rev.unchanged(&srv, "reading a deleted reported aggregate")
        .await;
}

async fn deleting_a_referenced_record_fails_and_keeps_it(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let w = World::create(&srv).await;
    let mut c = srv.client();
    let obs = create_observation(
        &mut c,
        rating(&w.platform_a, &w.channel_a, "2023-05-25", 4.5),
    )
    .await;
    let pf = c
        .create_platform_function(pb::CreatePlatformFunctionRequest {
            platform_function: Some(pb::PlatformFunction {
                id: 0,
                platform_code: w.platform_b.clone(),
                function_code: w.function_a.clone(),
                source: None,
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .platform_function
        .unwrap();
    let value = c
        .create_indicator_value(pb::CreateIndicatorValueRequest {
            indicator_value: Some(indicator_value(
                &w.indicator,
                pb::SubjectKind::Region,
                &w.province_b,
                "2022",
                1.0,
            )),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .indicator_value
        .unwrap();
    let rev = Revisions::start(&srv).await;

    let refused = [
        (
            "platform with observations",
            expect_code(
                c.delete_platform(pb::DeletePlatformRequest {
                    code: w.platform_a.clone(),
                })
                .await,
                Code::FailedPrecondition,
            ),
        ),
        (
            "channel with observations",
            expect_code(
                c.delete_channel(pb::DeleteChannelRequest {
                    code: w.channel_a.clone(),
                })
                .await,
                Code::FailedPrecondition,
            ),
        ),
        (
            "region with children",
            expect_code(
                c.delete_region(pb::DeleteRegionRequest {
                    code: w.country.clone(),
                })
                .await,
                Code::FailedPrecondition,
            ),
        ),
        (
            "region with platforms",
            expect_code(
                c.delete_region(pb::DeleteRegionRequest {
                    code: w.province_a.clone(),
                })
                .await,
                Code::FailedPrecondition,
            ),
        ),
        (
            "platform with functions",
            expect_code(
                c.delete_platform(pb::DeletePlatformRequest {
                    code: w.platform_b.clone(),
                })
                .await,
                Code::FailedPrecondition,
            ),
        ),
        (
            "function offered by a platform",
            expect_code(
                c.delete_service_function(pb::DeleteServiceFunctionRequest {
                    code: w.function_a.clone(),
                })
                .await,
                Code::FailedPrecondition,
            ),
        ),
        (
            "indicator with values",
            expect_code(
                c.delete_indicator(pb::DeleteIndicatorRequest {
                    code: w.indicator.clone(),
                })
                .await,
                Code::FailedPrecondition,
            ),
        ),
    ];
    for (what, status) in &refused {
        assert!(
            !status.message().is_empty(),
            "{what}: the refusal explains itself"
        );
    }
    assert!(
        refused[0].1.message().contains("observation"),
        "names what refers to it: {}",
        refused[0].1.message()
    );
    assert!(
        refused[2].1.message().contains("child region"),
        "names what refers to it: {}",
        refused[2].1.message()
    );
    rev.unchanged(&srv, "refused deletes").await;
    // Everything is still there.
    c.get_platform(pb::GetPlatformRequest {
        code: w.platform_a.clone(),
    })
    .await
    .expect("platform kept");
    c.get_channel(pb::GetChannelRequest {
        code: w.channel_a.clone(),
    })
    .await
    .expect("channel kept");
    c.get_region(pb::GetRegionRequest {
        code: w.country.clone(),
    })
    .await
    .expect("country kept");
    c.get_region(pb::GetRegionRequest {
        code: w.province_a.clone(),
    })
    .await
    .expect("province kept");
    c.get_service_function(pb::GetServiceFunctionRequest {
        code: w.function_a.clone(),
    })
    .await
    .expect("function kept");
    c.get_indicator(pb::GetIndicatorRequest {
        code: w.indicator.clone(),
    })
    .await
    .expect("indicator kept");

    // Once the dependents are gone, the deletes go through.
    c.delete_observation(pb::DeleteObservationRequest { id: obs.id })
        .await
        .expect("delete observation");
    c.delete_platform(pb::DeletePlatformRequest {
        code: w.platform_a.clone(),
    })
    .await
    .expect("delete platform");
    c.delete_channel(pb::DeleteChannelRequest {
        code: w.channel_a.clone(),
    })
    .await
    .expect("delete channel");
    c.delete_region(pb::DeleteRegionRequest {
        code: w.province_a.clone(),
    })
    .await
    .expect("delete province");
    c.delete_platform_function(pb::DeletePlatformFunctionRequest { id: pf.id })
        .await
        .expect("delete platform function");
    c.delete_service_function(pb::DeleteServiceFunctionRequest {
        code: w.function_a.clone(),
    })
    .await
    .expect("delete function");
    c.delete_indicator_value(pb::DeleteIndicatorValueRequest { id: value.id })
        .await
        .expect("delete value");
    c.delete_indicator(pb::DeleteIndicatorRequest {
        code: w.indicator.clone(),
    })
    .await
    .expect("delete indicator");
    // The country still has province_b (with platform_b): still refused.
    expect_code(
        c.delete_region(pb::DeleteRegionRequest {
            code: w.country.clone(),
        })
        .await,
        Code::FailedPrecondition,
    );

    // A reported aggregate about a platform also keeps it.
    let agg = unique_code("agg");
    c.create_reported_aggregate(pb::CreateReportedAggregateRequest {
        reported_aggregate: Some(reported_aggregate(&agg, &w.platform_b)),
        request_id: String::new(),
    })
    .await
    .unwrap();
    expect_code(
        c.delete_platform(pb::DeletePlatformRequest {
            code: w.platform_b.clone(),
        })
        .await,
        Code::FailedPrecondition,
    );
}

async fn update_masks_naming_identity_or_unknown_fields_are_rejected(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let w = World::create(&srv).await;
    let mut c = srv.client();
    let obs = create_observation(
        &mut c,
        rating(&w.platform_a, &w.channel_a, "2023-05-25", 4.5),
    )
    .await;
    let pf = c
        .create_platform_function(pb::CreatePlatformFunctionRequest {
            platform_function: Some(pb::PlatformFunction {
                id: 0,
                platform_code: w.platform_a.clone(),
                function_code: w.function_a.clone(),
                source: None,
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .platform_function
        .unwrap();
    let iv = c
        .create_indicator_value(pb::CreateIndicatorValueRequest {
            indicator_value: Some(indicator_value(
                &w.indicator,
                pb::SubjectKind::Region,
                &w.province_a,
                "2022",
                1.0,
            )),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .indicator_value
        .unwrap();
    let doc = unique_code("doc");
    c.create_policy_document(pb::CreatePolicyDocumentRequest {
        policy_document: Some(policy_document(&doc, &w.province_a)),
        request_id: String::new(),
    })
    .await
    .unwrap();
    let agg = unique_code("agg");
    c.create_reported_aggregate(pb::CreateReportedAggregateRequest {
        reported_aggregate: Some(reported_aggregate(&agg, &w.platform_a)),
        request_id: String::new(),
    })
    .await
    .unwrap();
    let export_before = srv.export_records().await;
    let rev = Revisions::start(&srv).await;

    for paths in [&["code"][..], &["nme"][..], &["name", "code"][..]] {
        let field = format!("update_mask.paths[{}]", paths.len() - 1);
        let m = mask(paths);
        let renamed_region = region(
            &w.province_a,
            "Renamed",
            pb::AdminLevel::Province,
            &w.country,
        );
        expect_invalid(
            c.update_region(pb::UpdateRegionRequest {
                region: Some(renamed_region),
                update_mask: m.clone(),
            })
            .await,
            &field,
        );
        expect_invalid(
            c.update_channel(pb::UpdateChannelRequest {
                channel: Some(channel(&w.channel_a, pb::ChannelKind::Web)),
                update_mask: m.clone(),
            })
            .await,
            &field,
        );
        expect_invalid(
            c.update_platform(pb::UpdatePlatformRequest {
                platform: Some(platform(&w.platform_a, &w.province_b)),
                update_mask: m.clone(),
            })
            .await,
            &field,
        );
        expect_invalid(
            c.update_service_function(pb::UpdateServiceFunctionRequest {
                service_function: Some(service_function(&w.function_a)),
                update_mask: m.clone(),
            })
            .await,
            &field,
        );
        expect_invalid(
            c.update_indicator(pb::UpdateIndicatorRequest {
                indicator: Some(indicator(&w.indicator)),
                update_mask: m.clone(),
            })
            .await,
            &field,
        );
        expect_invalid(
            c.update_policy_document(pb::UpdatePolicyDocumentRequest {
                policy_document: Some(policy_document(&doc, &w.province_b)),
                update_mask: m.clone(),
            })
            .await,
            &field,
        );
        expect_invalid(
            c.update_reported_aggregate(pb::UpdateReportedAggregateRequest {
                reported_aggregate: Some(reported_aggregate(&agg, &w.platform_b)),
                update_mask: m.clone(),
            })
            .await,
            &field,
        );
    }
    // Kinds identified by id: "id" is the immutable field.
    for paths in [&["id"][..], &["nme"][..], &["code"][..]] {
        let m = mask(paths);
        let field = "update_mask.paths[0]";
        let moved = pb::Observation {
            id: obs.id,
            platform_code: w.platform_b.clone(),
            ..obs.clone()
        };
        expect_invalid(
            c.update_observation(pb::UpdateObservationRequest {
                observation: Some(moved),
                update_mask: m.clone(),
            })
            .await,
            field,
        );
        let moved = pb::PlatformFunction {
            platform_code: w.platform_b.clone(),
            ..pf.clone()
        };
        expect_invalid(
            c.update_platform_function(pb::UpdatePlatformFunctionRequest {
                platform_function: Some(moved),
                update_mask: m.clone(),
            })
            .await,
            field,
        );
        let moved = pb::IndicatorValue {
            period: "2024".into(),
            ..iv.clone()
        };
        expect_invalid(
            c.update_indicator_value(pb::UpdateIndicatorValueRequest {
                indicator_value: Some(moved),
                update_mask: m.clone(),
            })
            .await,
            field,
        );
    }
    rev.unchanged(&srv, "rejected updates").await;
    assert_eq!(
        srv.export_records().await,
        export_before,
        "a rejected update changed data"
    );
}

/// A request id belongs to the kind it created: reusing it for another kind is an
/// error, not a silent replay of something else.
async fn request_ids_are_per_resource_kind(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let w = World::create(&srv).await;
    let mut c = srv.client();
    let request_id = unique_code("req");
    let code = unique_code("ch");
    c.create_channel(pb::CreateChannelRequest {
        channel: Some(channel(&code, pb::ChannelKind::Web)),
        request_id: request_id.clone(),
    })
    .await
    .expect("create channel");
    let rev = Revisions::start(&srv).await;
    let other = unique_code("app");
    expect_invalid(
        c.create_platform(pb::CreatePlatformRequest {
            platform: Some(platform(&other, &w.province_a)),
            request_id: request_id.clone(),
        })
        .await,
        "request_id",
    );
    expect_code(
        c.get_platform(pb::GetPlatformRequest { code: other }).await,
        Code::NotFound,
    );
    rev.unchanged(&srv, "a request id reused for another kind")
        .await;

    // A too long request id is refused, and nothing is created.
    let long_id = "r".repeat(300);
    let code = unique_code("ch");
    expect_invalid(
        c.create_channel(pb::CreateChannelRequest {
            channel: Some(channel(&code, pb::ChannelKind::Web)),
            request_id: long_id,
        })
        .await,
        "request_id",
    );
    expect_code(
        c.get_channel(pb::GetChannelRequest { code }).await,
        Code::NotFound,
    );
    rev.unchanged(&srv, "a refused request id").await;
}

/// Every read RPC leaves the revision alone; list responses report the current one.
async fn reads_never_advance_the_revision(db: TestDb) {
    let srv = TestServer::start(&db).await;
    srv.load_paper().await;
    let mut c = srv.client();
    let rev = srv.revision().await;
    assert!(rev > 0, "importing the paper advanced the revision");
    for _ in 0..2 {
        c.get_region(pb::GetRegionRequest {
            code: "cn-sc".into(),
        })
        .await
        .unwrap();
        c.get_platform(pb::GetPlatformRequest {
            code: "duocaibao".into(),
        })
        .await
        .unwrap();
        c.get_channel(pb::GetChannelRequest {
            code: "huawei-appgallery".into(),
        })
        .await
        .unwrap();
        let l = c
            .list_regions(pb::ListRegionsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(l.revision, rev);
        let l = c
            .list_platforms(pb::ListPlatformsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(l.revision, rev);
        let l = c
            .list_observations(pb::ListObservationsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(l.revision, rev);
        let l = c
            .list_channels(pb::ListChannelsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(l.revision, rev);
        let l = c
            .list_service_functions(pb::ListServiceFunctionsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(l.revision, rev);
        let l = c
            .list_platform_functions(pb::ListPlatformFunctionsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(l.revision, rev);
        let l = c
            .list_policy_documents(pb::ListPolicyDocumentsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(l.revision, rev);
        let l = c
            .list_reported_aggregates(pb::ListReportedAggregatesRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(l.revision, rev);
        let l = c
            .list_indicators(pb::ListIndicatorsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(l.revision, rev);
        let l = c
            .list_indicator_values(pb::ListIndicatorValuesRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(l.revision, rev);
        let (_, export_rev) = srv.export(0).await;
        assert_eq!(export_rev, rev);
        // Failed reads neither.
        let _ = c
            .get_platform(pb::GetPlatformRequest {
                code: "nope".into(),
            })
            .await;
    }
    assert_eq!(srv.revision().await, rev);
}

/// Moving a region re-paths its own subtree and nothing else.
async fn moving_a_region_moves_only_its_own_subtree(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let w = World::create(&srv).await;
    let mut c = srv.client();
    let lower = unique_code("zone");
    let upper = lower.to_uppercase();
    let child = unique_code("child");
    let lower_child = unique_code("lchild");
    create_region(
        &mut c,
        region(&lower, "zone", pb::AdminLevel::Prefecture, &w.province_a),
    )
    .await;
    create_region(
        &mut c,
        region(&lower_child, "zone child", pb::AdminLevel::County, &lower),
    )
    .await;
    create_region(
        &mut c,
        region(&upper, "ZONE", pb::AdminLevel::Prefecture, &w.province_a),
    )
    .await;
    create_region(
        &mut c,
        region(&child, "ZONE child", pb::AdminLevel::County, &upper),
    )
    .await;

    c.update_region(pb::UpdateRegionRequest {
        region: Some(region(
            &lower,
            "zone",
            pb::AdminLevel::Prefecture,
            &w.province_b,
        )),
        update_mask: mask(&["parent_code"]),
    })
    .await
    .expect("move zone");
    let subtree = |root: String| {
        let mut c = c.clone();
        async move {
            let listed = c
                .list_regions(pb::ListRegionsRequest {
                    root_code: root,
                    ..Default::default()
                })
                .await
                .unwrap();
            let mut codes: Vec<String> = listed
                .into_inner()
                .regions
                .into_iter()
                .map(|r| r.code)
                .collect();
            codes.sort();
            codes
        }
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        subtree(w.province_b.clone()).await,
        sorted(vec![
            w.province_b.clone(),
            lower.clone(),
            lower_child.clone()
        ]),
        "the moved subtree"
    );
    assert_eq!(
        subtree(upper.clone()).await,
        sorted(vec![upper.clone(), child.clone()]),
        "a region that was not moved"
    );
    assert_eq!(
        subtree(w.province_a.clone()).await,
        sorted(vec![w.province_a.clone(), upper.clone(), child.clone()]),
        "what stayed behind"
    );
}

/// Writes racing each other each get their own revision, and the revision counts them all.
async fn concurrent_writes_get_distinct_revisions(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let start = srv.revision().await;
    let tasks: Vec<_> = (0..24)
        .map(|_| {
            let mut c = srv.client();
            let code = unique_code("ch");
            tokio::spawn(async move {
                c.create_channel(pb::CreateChannelRequest {
                    channel: Some(channel(&code, pb::ChannelKind::Web)),
                    request_id: String::new(),
                })
                .await
                .expect("concurrent create")
                .into_inner()
                .revision
            })
        })
        .collect();
    let mut revisions = Vec::new();
    for t in tasks {
        revisions.push(t.await.unwrap());
    }
    revisions.sort();
    let expected: Vec<i64> = (start + 1..=start + 24).collect();
    assert_eq!(
        revisions, expected,
        "concurrent writes must get distinct, consecutive revisions"
    );
    assert_eq!(srv.revision().await, start + 24);
}

/// A client retrying while its first attempt is still in flight gets the first result.
async fn concurrent_retries_of_one_request_id_all_get_the_first_result(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let request_id = unique_code("req");
    let code = unique_code("ch");
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let mut c = srv.client();
            let (request_id, code) = (request_id.clone(), code.clone());
            tokio::spawn(async move {
                c.create_channel(pb::CreateChannelRequest {
                    channel: Some(channel(&code, pb::ChannelKind::Web)),
                    request_id,
                })
                .await
                .map(|r| r.into_inner())
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "retries of one request id failed: {failed:?}"
    );
    let ok: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert!(
        ok.iter()
            .all(|r| r.channel == ok[0].channel && r.revision == ok[0].revision),
        "retries got different results"
    );
    let listed = srv
        .client()
        .list_channels(pb::ListChannelsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed.channels.iter().filter(|ch| ch.code == code).count(),
        1
    );
}
