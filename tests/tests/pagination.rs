//! Pagination and filters of ListObservations on ~250 rows: every row exactly once
//! across pages, filters return exactly the expected rows, page tokens are bound to the
//! filters they were issued for, and bad page sizes are refused.

use std::collections::BTreeSet;

use govlens_tests::fixtures::*;
use govlens_tests::*;
use tonic::Code;

on_both_backends!(
    paging_returns_every_row_exactly_once,
    filters_return_exactly_the_matching_rows,
    page_tokens_are_bound_to_their_filters,
    bad_page_sizes_and_tokens_are_refused,
    a_page_token_of_another_list_method_is_refused,
    region_subtree_filters_are_case_sensitive,
);

/// The data set: a country with two provinces, a prefecture under the first, a
/// platform in each of the three sub-regions, two channels; ratings and download
/// counts over 21 days. Returns the created observations.
struct Data {
    world: World,
    prefecture: String,
    platform_c: String,
    observations: Vec<pb::Observation>,
}

async fn load(srv: &TestServer) -> Data {
    let world = World::create(srv).await;
    let mut c = srv.client();
    let prefecture = unique_code("chengdu");
    create_region(
        &mut c,
        region(
            &prefecture,
            "Chengdu",
            pb::AdminLevel::Prefecture,
            &world.province_a,
        ),
    )
    .await;
    let platform_c = unique_code("app-c");
    create_platform(&mut c, platform(&platform_c, &prefecture)).await;

    // Imported in one batch (fast), then read back with their ids.
    let mut records = Vec::new();
    for day in 1..=21 {
        let on = format!("2023-05-{day:02}");
        for platform in [&world.platform_a, &world.platform_b, &platform_c] {
            for ch in [&world.channel_a, &world.channel_b] {
                let r = (day % 5) as f64 + 0.5;
                let ob = observation(platform, ch, pb::Metric::Rating, &on, r, "");
                records.push(pb::Record {
                    origin: String::new(),
                    kind: Some(pb::record::Kind::Observation(ob)),
                });
                if ch == &world.channel_a {
                    let d = observation(
                        platform,
                        ch,
                        pb::Metric::Downloads,
                        &on,
                        (day * 1000) as f64,
                        "",
                    );
                    records.push(pb::Record {
                        origin: String::new(),
                        kind: Some(pb::record::Kind::Observation(d)),
                    });
                }
            }
        }
    }
    assert_eq!(records.len(), 21 * 3 * 3);
    srv.import(vec![records])
        .await
        .expect("import observations");
    let observations = list_all(
        &mut c,
        pb::ListObservationsRequest {
            page_size: 1000,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(observations.len(), 189);
    Data {
        world,
        prefecture,
        platform_c,
        observations,
    }
}

/// Every page of a listing, following next_page_token; checks page sizes on the way.
async fn list_all(c: &mut Client, request: pb::ListObservationsRequest) -> Vec<pb::Observation> {
    let mut out = Vec::new();
    let mut request = request;
    let mut pages = 0;
    loop {
        let page = c
            .list_observations(request.clone())
            .await
            .expect("list page")
            .into_inner();
        pages += 1;
        assert!(pages < 10_000, "pagination does not end");
        let limit = if request.page_size == 0 {
            100
        } else {
            request.page_size.min(1000)
        } as usize;
        assert!(
            page.observations.len() <= limit,
            "a page is larger than page_size"
        );
        let last = page.next_page_token.is_empty();
        if !last {
            assert_eq!(
                page.observations.len(),
                limit,
                "a page before the last one is not full"
            );
        }
        out.extend(page.observations);
        if last {
            return out;
        }
        request.page_token = page.next_page_token;
    }
}

fn ids(observations: &[pb::Observation]) -> BTreeSet<i64> {
    observations.iter().map(|o| o.id).collect()
}

async fn paging_returns_every_row_exactly_once(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let data = load(&srv).await;
    let mut c = srv.client();
    // Add ~60 more through single creates, so ids come from both paths.
    for day in 1..=30 {
        for ch in [&data.world.channel_a, &data.world.channel_b] {
            let on = format!("2023-06-{day:02}");
            create_observation(&mut c, rating(&data.world.platform_a, ch, &on, 3.0)).await;
        }
    }
    let all = list_all(
        &mut c,
        pb::ListObservationsRequest {
            page_size: 1000,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(all.len(), 189 + 60);
    let every = ids(&all);
    assert_eq!(every.len(), all.len(), "ids are unique");

    for page_size in [7, 1, 249, 250, 0] {
        let paged = list_all(
            &mut c,
            pb::ListObservationsRequest {
                page_size,
                ..Default::default()
            },
        )
        .await;
        assert_eq!(
            paged.len(),
            all.len(),
            "page_size {page_size}: a row was served twice or skipped"
        );
        assert_eq!(
            ids(&paged),
            every,
            "page_size {page_size}: not the same rows"
        );
        assert_eq!(
            paged, all,
            "page_size {page_size}: rows differ from the unpaged listing"
        );
    }

    // Rows written between pages do not make the walk repeat or skip the others.
    let mut request = pb::ListObservationsRequest {
        page_size: 7,
        ..Default::default()
    };
    let first = c
        .list_observations(request.clone())
        .await
        .unwrap()
        .into_inner();
    let extra = create_observation(
        &mut c,
        rating(
            &data.world.platform_b,
            &data.world.channel_b,
            "2024-01-01",
            1.0,
        ),
    )
    .await;
    request.page_token = first.next_page_token;
    let mut rest = list_all(&mut c, request).await;
    rest.extend(first.observations);
    let mut expected = every.clone();
    expected.insert(extra.id);
    assert_eq!(ids(&rest), expected);
    assert_eq!(rest.len(), expected.len());
}

async fn filters_return_exactly_the_matching_rows(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let data = load(&srv).await;
    let w = &data.world;
    let mut c = srv.client();
    let all = &data.observations;
    let expect = |pred: &dyn Fn(&pb::Observation) -> bool| -> BTreeSet<i64> {
        all.iter().filter(|o| pred(o)).map(|o| o.id).collect()
    };
    let cases: Vec<(&str, pb::ListObservationsRequest, BTreeSet<i64>)> = vec![
        (
            "platform_code",
            pb::ListObservationsRequest {
                platform_code: w.platform_b.clone(),
                ..Default::default()
            },
            expect(&|o| o.platform_code == w.platform_b),
        ),
        (
            "channel_code",
            pb::ListObservationsRequest {
                channel_code: w.channel_b.clone(),
                ..Default::default()
            },
            expect(&|o| o.channel_code == w.channel_b),
        ),
        (
            "metric",
            pb::ListObservationsRequest {
                metric: pb::Metric::Downloads as i32,
                ..Default::default()
            },
            expect(&|o| o.metric == pb::Metric::Downloads as i32),
        ),
        (
            "region subtree (country)",
            pb::ListObservationsRequest {
                region_code: w.country.clone(),
                ..Default::default()
            },
            expect(&|_| true),
        ),
        (
            "region subtree (province with a prefecture)",
            pb::ListObservationsRequest {
                region_code: w.province_a.clone(),
                ..Default::default()
            },
            expect(&|o| o.platform_code == w.platform_a || o.platform_code == data.platform_c),
        ),
        (
            "region subtree (leaf)",
            pb::ListObservationsRequest {
                region_code: data.prefecture.clone(),
                ..Default::default()
            },
            expect(&|o| o.platform_code == data.platform_c),
        ),
        (
            "observed_from/to inclusive",
            pb::ListObservationsRequest {
                observed_from: "2023-05-03".into(),
                observed_to: "2023-05-09".into(),
                ..Default::default()
            },
            expect(&|o| ("2023-05-03".."2023-05-10").contains(&o.observed_on.as_str())),
        ),
        (
            "observed_from only",
            pb::ListObservationsRequest {
                observed_from: "2023-05-20".into(),
                ..Default::default()
            },
            expect(&|o| o.observed_on.as_str() >= "2023-05-20"),
        ),
        (
            "observed_to only",
            pb::ListObservationsRequest {
                observed_to: "2023-05-01".into(),
                ..Default::default()
            },
            expect(&|o| o.observed_on == "2023-05-01"),
        ),
        (
            "everything combined",
            pb::ListObservationsRequest {
                region_code: w.province_a.clone(),
                platform_code: data.platform_c.clone(),
                channel_code: w.channel_a.clone(),
                metric: pb::Metric::Rating as i32,
                observed_from: "2023-05-10".into(),
                observed_to: "2023-05-12".into(),
                ..Default::default()
            },
            expect(&|o| {
                o.platform_code == data.platform_c
                    && o.channel_code == w.channel_a
                    && o.metric == pb::Metric::Rating as i32
                    && ("2023-05-10".."2023-05-13").contains(&o.observed_on.as_str())
            }),
        ),
        (
            "a platform outside the region",
            pb::ListObservationsRequest {
                region_code: w.province_b.clone(),
                platform_code: w.platform_a.clone(),
                ..Default::default()
            },
            BTreeSet::new(),
        ),
        (
            "an empty date range",
            pb::ListObservationsRequest {
                observed_from: "2023-05-10".into(),
                observed_to: "2023-05-09".into(),
                ..Default::default()
            },
            BTreeSet::new(),
        ),
    ];
    for (name, request, expected) in cases {
        assert!(
            !expected.is_empty() || name.contains("outside") || name.contains("empty"),
            "{name}: a vacuous case"
        );
        for page_size in [0, 7] {
            let got = list_all(
                &mut c,
                pb::ListObservationsRequest {
                    page_size,
                    ..request.clone()
                },
            )
            .await;
            assert_eq!(ids(&got), expected, "filter {name} (page_size {page_size})");
            assert_eq!(got.len(), expected.len(), "filter {name}: a row twice");
        }
    }

    // A region that does not exist is NOT_FOUND, not an empty list.
    expect_code(
        c.list_observations(pb::ListObservationsRequest {
            region_code: unique_code("nowhere"),
            ..Default::default()
        })
        .await,
        Code::NotFound,
    );
}

async fn page_tokens_are_bound_to_their_filters(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let data = load(&srv).await;
    let mut c = srv.client();
    let first = pb::ListObservationsRequest {
        page_size: 7,
        platform_code: data.world.platform_a.clone(),
        ..Default::default()
    };
    let page = c
        .list_observations(first.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(!page.next_page_token.is_empty());
    let token = page.next_page_token;

    // The same filters with another page size are fine.
    let next = c
        .list_observations(pb::ListObservationsRequest {
            page_size: 9,
            page_token: token.clone(),
            ..first.clone()
        })
        .await
        .expect("same filters, other page size");
    assert_eq!(next.into_inner().observations.len(), 9);

    let replays = [
        pb::ListObservationsRequest {
            platform_code: data.world.platform_b.clone(),
            ..first.clone()
        },
        pb::ListObservationsRequest {
            platform_code: String::new(),
            ..first.clone()
        },
        pb::ListObservationsRequest {
            metric: pb::Metric::Rating as i32,
            ..first.clone()
        },
        pb::ListObservationsRequest {
            observed_to: "2023-05-30".into(),
            ..first.clone()
        },
        pb::ListObservationsRequest {
            region_code: data.world.country.clone(),
            ..first.clone()
        },
    ];
    for replay in replays {
        let status = expect_invalid(
            c.list_observations(pb::ListObservationsRequest {
                page_token: token.clone(),
                ..replay.clone()
            })
            .await,
            "page_token",
        );
        assert!(
            status.message().contains("page_token"),
            "the message names page_token: {}",
            status.message()
        );
    }
    // A token of another list method is not accepted either.
    let platforms = c
        .list_platforms(pb::ListPlatformsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!platforms.next_page_token.is_empty());
    expect_invalid(
        c.list_observations(pb::ListObservationsRequest {
            page_token: platforms.next_page_token,
            ..first.clone()
        })
        .await,
        "page_token",
    );
}

async fn bad_page_sizes_and_tokens_are_refused(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let data = load(&srv).await;
    let mut c = srv.client();
    for page_size in [-1, i32::MIN] {
        expect_invalid(
            c.list_observations(pb::ListObservationsRequest {
                page_size,
                ..Default::default()
            })
            .await,
            "page_size",
        );
        expect_invalid(
            c.list_regions(pb::ListRegionsRequest {
                page_size,
                ..Default::default()
            })
            .await,
            "page_size",
        );
        expect_invalid(
            c.list_platforms(pb::ListPlatformsRequest {
                page_size,
                ..Default::default()
            })
            .await,
            "page_size",
        );
    }
    for token in ["garbage!", "Zm9v", "MTIzOmFiYw", "LTE6eHg"] {
        expect_invalid(
            c.list_observations(pb::ListObservationsRequest {
                page_token: token.into(),
                ..Default::default()
            })
            .await,
            "page_token",
        );
    }
    // Huge page sizes are lowered to 1000, not refused.
    let page = c
        .list_observations(pb::ListObservationsRequest {
            page_size: i32::MAX,
            ..Default::default()
        })
        .await
        .expect("huge page size")
        .into_inner();
    assert_eq!(page.observations.len(), data.observations.len());
    assert!(page.next_page_token.is_empty());
}

async fn a_page_token_of_another_list_method_is_refused(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let data = load(&srv).await;
    let mut c = srv.client();
    let platforms = c
        .list_platforms(pb::ListPlatformsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!platforms.next_page_token.is_empty());
    // Used on ListObservations (same, empty, filters), it is not a token of that list.
    let request = pb::ListObservationsRequest {
        page_token: platforms.next_page_token,
        ..Default::default()
    };
    match c.list_observations(request.clone()).await {
        Err(status) => {
            expect_invalid::<()>(Err(status), "page_token");
        }
        Ok(_) => {
            let rows = list_all(&mut c, request).await;
            panic!(
                "ListObservations accepted a page token of ListPlatforms and served {} of {} rows",
                rows.len(),
                data.observations.len()
            );
        }
    }
}

/// Codes are case-sensitive ("cn-sc" and "CN-SC" are two regions): a subtree filter
/// on one must not match the other, on any List method.
async fn region_subtree_filters_are_case_sensitive(db: TestDb) {
    let srv = TestServer::start(&db).await;
    let w = World::create(&srv).await;
    let mut c = srv.client();
    let lower = unique_code("zone");
    let upper = lower.to_uppercase();
    assert_ne!(lower, upper);
    let mut platforms = Vec::new();
    for code in [&lower, &upper] {
        create_region(
            &mut c,
            region(code, code, pb::AdminLevel::Prefecture, &w.province_a),
        )
        .await;
        let p = unique_code("app");
        create_platform(&mut c, platform(&p, code)).await;
        create_observation(&mut c, rating(&p, &w.channel_a, "2023-05-25", 4.0)).await;
        c.create_policy_document(pb::CreatePolicyDocumentRequest {
            policy_document: Some(policy_document(&unique_code("doc"), code)),
            request_id: String::new(),
        })
        .await
        .unwrap();
        platforms.push(p);
    }
    let regions = c
        .list_regions(pb::ListRegionsRequest {
            root_code: lower.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let regions: Vec<String> = regions
        .into_inner()
        .regions
        .into_iter()
        .map(|r| r.code)
        .collect();
    assert_eq!(
        regions,
        std::slice::from_ref(&lower),
        "ListRegions(root {lower})"
    );
    let found = c
        .list_platforms(pb::ListPlatformsRequest {
            region_code: lower.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let found: Vec<String> = found
        .into_inner()
        .platforms
        .into_iter()
        .map(|p| p.code)
        .collect();
    assert_eq!(
        found,
        [platforms[0].clone()],
        "ListPlatforms(region {lower})"
    );
    let found = list_all(
        &mut c,
        pb::ListObservationsRequest {
            region_code: lower.clone(),
            ..Default::default()
        },
    )
    .await;
    let found: Vec<String> = found.into_iter().map(|o| o.platform_code).collect();
    assert_eq!(
        found,
        [platforms[0].clone()],
        "ListObservations(region {lower})"
    );
    let found = c
        .list_policy_documents(pb::ListPolicyDocumentsRequest {
            region_code: upper.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        found.into_inner().policy_documents.len(),
        1,
        "ListPolicyDocuments(region {upper})"
    );
}
