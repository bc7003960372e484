//! Who reaches what: owner tokens die with their store, token lifetimes are capped, the bearer
//! scheme is read as RFC 7235 says, and `/metrics` can be kept private.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokobot::secret::Secret;

use crate::support::{spawn_host, spawn_host_with};

#[tokio::test]
async fn an_owner_token_does_not_reach_a_new_store_that_took_a_purged_stores_slug() {
    let host = spawn_host().await;
    host.create_store("toko-ulang", 4301, json!({})).await;
    let old = host.owner_token("toko-ulang").await;
    let (status, _) = host
        .api(Method::GET, "/api/v1/tenants/toko-ulang", Some(&old), None)
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, _) = host
        .operator(
            Method::DELETE,
            "/api/v1/tenants/toko-ulang?purge=true",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    host.create_store("toko-ulang", 4302, json!({})).await;

    for path in [
        "/api/v1/tenants/toko-ulang",
        "/api/v1/tenants/toko-ulang/catalog",
        "/api/v1/tenants/toko-ulang/stats",
    ] {
        let (status, body) = host.api(Method::GET, path, Some(&old), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    let new = host.owner_token("toko-ulang").await;
    let (status, _) = host
        .api(Method::GET, "/api/v1/tenants/toko-ulang", Some(&new), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let host = spawn_host().await;
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let response = host
            .http
            .get(format!("{}/api/v1/tenants", host.base))
            .header(
                "authorization",
                format!("{scheme} {}", host.operator_token()),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{scheme}");
    }
}

async fn get_status(http: &reqwest::Client, url: String, token: Option<&str>) -> StatusCode {
    let mut request = http.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().status()
}

#[tokio::test]
async fn metrics_can_require_a_token() {
    let host = spawn_host_with(|config| {
        config.access.metrics_token = Some(Secret::new("metrics-secret-0123456789".into()));
    })
    .await;
    let url = format!("{}/metrics", host.base);
    assert_eq!(
        get_status(&host.http, url.clone(), None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get_status(&host.http, url.clone(), Some("wrong-token-0123456789")).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get_status(&host.http, url, Some("metrics-secret-0123456789")).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn metrics_can_live_on_a_private_address_only() {
    let host = spawn_host_with(|config| {
        config.access.metrics_bind = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let public = format!("{}/metrics", host.base);
    assert_eq!(
        get_status(&host.http, public, None).await,
        StatusCode::NOT_FOUND
    );
    let private = host
        .app
        .as_ref()
        .unwrap()
        .metrics_addr
        .expect("a metrics address");
    let private = format!("http://{private}/metrics");
    assert_eq!(get_status(&host.http, private, None).await, StatusCode::OK);
}

#[tokio::test]
async fn made_up_slugs_on_the_pakasir_webhook_add_no_metric_series() {
    let host = spawn_host().await;
    host.create_store("toko-nyata", 4303, json!({})).await;
    for n in 0..50 {
        let answer = host
            .http
            .post(format!("{}/webhooks/pakasir/palsu-{n}", host.base))
            .json(&json!({"order_id": "INV1", "amount": 1000, "project": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    }
    // A known store's webhook does label its own series.
    let answer = host
        .http
        .post(format!("{}/webhooks/pakasir/toko-nyata", host.base))
        .json(&json!({"order_id": "INV1", "amount": 1000, "project": "x"}))
        .send()
        .await
        .unwrap();
    assert!(
        answer.status().is_client_error(),
        "not a payment of the store"
    );
    let metrics = host.metrics().await;
    assert!(!metrics.contains("palsu-"), "made-up slugs are not labels");
    assert!(
        metrics.contains("store=\"unknown\""),
        "they are counted as unknown"
    );
    assert!(metrics.contains("store=\"toko-nyata\""));
}
