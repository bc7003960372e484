//! The provisioning API: authentication, scopes, validation, secrets, OpenAPI.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{bot_token, spawn_host, store_body, text_update};

fn error_code(body: &Value) -> &str {
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not the JSON error shape: {body}"))
}

#[tokio::test]
async fn requests_without_a_valid_token_get_401() {
    let host = spawn_host().await;
    for token in [
        None,
        Some("not-a-jwt"),
        Some("eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"),
    ] {
        let (status, body) = host.api(Method::GET, "/api/v1/tenants", token, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(error_code(&body), "unauthorized");
    }
    let (status, _) = host
        .api(
            Method::POST,
            "/api/v1/tenants",
            None,
            Some(store_body("toko-x", &bot_token(1))),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_owner_reaches_only_their_own_store() {
    let host = spawn_host().await;
    host.create_store("toko-pemilik", 1201, json!({})).await;
    host.create_store("toko-lain", 1202, json!({})).await;
    let owner = host.owner_token("toko-pemilik").await;

    let (status, own) = host
        .api(
            Method::GET,
            "/api/v1/tenants/toko-pemilik",
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(own["slug"], "toko-pemilik");

    let (status, body) = host
        .api(Method::GET, "/api/v1/tenants/toko-lain", Some(&owner), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), "forbidden");
    let (status, _) = host
        .api(
            Method::PATCH,
            "/api/v1/tenants/toko-lain",
            Some(&owner),
            Some(json!({"display_name": "Punya Saya"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = host
        .api(
            Method::PUT,
            "/api/v1/tenants/toko-lain/secrets",
            Some(&owner),
            Some(json!({"bot_token": bot_token(9)})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for action in ["suspend", "resume"] {
        let (status, _) = host
            .api(
                Method::POST,
                &format!("/api/v1/tenants/toko-pemilik/{action}"),
                Some(&owner),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "owners cannot {action}");
    }
    let (status, _) = host
        .api(
            Method::DELETE,
            "/api/v1/tenants/toko-pemilik",
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = host
        .api(
            Method::POST,
            "/api/v1/tenants",
            Some(&owner),
            Some(store_body("toko-baru", &bot_token(1203))),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (_, page) = host
        .api(Method::GET, "/api/v1/tenants", Some(&owner), None)
        .await;
    let slugs: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["toko-pemilik"]);

    // Nothing about the other store changed.
    let (_, other) = host
        .operator(Method::GET, "/api/v1/tenants/toko-lain", None)
        .await;
    assert_eq!(other["display_name"], "Toko toko-lain");
    assert_eq!(other["status"], "active");
}

#[tokio::test]
async fn invalid_bodies_get_4xx_with_the_json_error_and_change_nothing() {
    let host = spawn_host().await;
    let token = host.operator_token();
    let url = format!("{}/api/v1/tenants", host.base);

    let malformed = host
        .http
        .post(&url)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"slug\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&malformed.json().await.unwrap()), "invalid_json");

    let huge = host
        .http
        .post(&url)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(format!("{{\"slug\": \"{}\"}}", "a".repeat(2 * 1024 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let mut wrong_type = store_body("toko-tipe", &bot_token(1301));
    wrong_type["owner_telegram_id"] = json!("seven");
    let (status, body) = host
        .api(
            Method::POST,
            "/api/v1/tenants",
            Some(&token),
            Some(wrong_type),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&body), "invalid_body");

    let mut unknown_field = store_body("toko-asing", &bot_token(1302));
    unknown_field["colour"] = json!("red");
    let (status, _) = host
        .api(
            Method::POST,
            "/api/v1/tenants",
            Some(&token),
            Some(unknown_field),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let mut bad = store_body("Bad Slug!", "not-a-token");
    bad["timezone"] = json!("Mars/Olympus");
    bad["locale"] = json!("en");
    bad["settings"] = json!({"invoice_ttl_minutes": 1});
    let (status, body) = host
        .api(Method::POST, "/api/v1/tenants", Some(&token), Some(bad))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&body), "validation_failed");
    let fields: Vec<&str> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "slug",
            "bot_token",
            "pakasir.project",
            "settings.invoice_ttl_minutes",
            "timezone"
        ]
    );

    let (status, body) = host
        .api(Method::GET, "/api/v1/tenants?limit=0", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "invalid_query");

    let (status, page) = host
        .api(Method::GET, "/api/v1/tenants", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        page["items"],
        json!([]),
        "no store was created by any of the bad requests"
    );
    assert!(host.telegram.calls(&bot_token(1301), "getMe").is_empty());
}

#[tokio::test]
async fn a_bot_token_telegram_rejects_gets_422_and_no_store() {
    let host = spawn_host().await;
    // The fake knows no bot with this token, as Telegram would not.
    let (status, body) = host
        .operator(
            Method::POST,
            "/api/v1/tenants",
            Some(store_body("toko-palsu", &bot_token(1401))),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&body), "bot_token_rejected");
    let (status, _) = host
        .operator(Method::GET, "/api/v1/tenants/toko-palsu", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_taken_slug_gets_409() {
    let host = spawn_host().await;
    host.create_store("toko-kembar", 1501, json!({})).await;
    host.telegram.add_bot(&bot_token(1502), "kembar2_bot");
    let (status, body) = host
        .operator(
            Method::POST,
            "/api/v1/tenants",
            Some(store_body("toko-kembar", &bot_token(1502))),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_code(&body), "conflict");
}

#[tokio::test]
async fn secrets_appear_in_no_response_and_are_sealed_at_rest() {
    let host = spawn_host().await;
    let token = bot_token(1601);
    let created = host.create_store("toko-rahasia", 1601, json!({})).await;
    let secret = host.webhook_secret(1601);
    let (_, fetched) = host
        .operator(Method::GET, "/api/v1/tenants/toko-rahasia", None)
        .await;
    let (_, listed) = host.operator(Method::GET, "/api/v1/tenants", None).await;
    let (_, openapi) = host.api(Method::GET, "/api/openapi.json", None, None).await;

    for body in [&created, &fetched, &listed] {
        let text = body.to_string();
        for needle in [
            token.as_str(),
            "pk_test_0123456789abcdef",
            secret.as_str(),
            "proj-toko-rahasia",
        ] {
            assert!(
                !text.contains(needle),
                "a secret leaked into a response: {text}"
            );
        }
    }
    assert!(openapi["paths"]["/api/v1/tenants"].is_object());

    let sealed: (Vec<u8>, Vec<u8>) =
        sqlx::query_as("select bot_token, pakasir_api_key from tenant_secrets")
            .fetch_one(host.db().registry())
            .await
            .unwrap();
    assert!(!String::from_utf8_lossy(&sealed.0).contains(&token[..10]));
    assert!(!String::from_utf8_lossy(&sealed.1).contains("pk_test"));
}

#[tokio::test]
async fn rotating_the_bot_token_moves_the_store_to_the_new_bot() {
    let host = spawn_host().await;
    host.create_store("toko-putar", 1701, json!({})).await;
    let old_secret = host.webhook_secret(1701);
    host.telegram
        .add_bot(&bot_token(1702), "toko_putar_baru_bot");

    let (status, body) = host
        .operator(
            Method::PUT,
            "/api/v1/tenants/toko-putar/secrets",
            Some(json!({"bot_token": bot_token(1702)})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["bot_username"], "toko_putar_baru_bot");

    let new_secret = host.webhook_secret(1702);
    assert_ne!(new_secret, old_secret);
    assert_eq!(
        host.deliver(
            "toko-putar",
            Some(&old_secret),
            &text_update(1, 8001, "/start")
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        host.deliver(
            "toko-putar",
            Some(&new_secret),
            &text_update(2, 8001, "/start")
        )
        .await,
        StatusCode::OK
    );
    host.wait_texts(1702, 8001, 1).await;
    assert!(host.settled_texts(1701, 8001).await.is_empty());

    host.telegram.remove_bot(&bot_token(1703));
    let (status, body) = host
        .operator(
            Method::PUT,
            "/api/v1/tenants/toko-putar/secrets",
            Some(json!({"bot_token": bot_token(1703)})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&body), "bot_token_rejected");
}

#[tokio::test]
async fn stores_are_listed_a_page_at_a_time() {
    let host = spawn_host().await;
    for (i, slug) in ["toko-aa", "toko-bb", "toko-cc"].into_iter().enumerate() {
        host.create_store(slug, 1800 + i as u32, json!({})).await;
    }
    let (_, first) = host
        .operator(Method::GET, "/api/v1/tenants?limit=2", None)
        .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    assert_eq!(first["next_cursor"], "toko-bb");
    let (_, second) = host
        .operator(Method::GET, "/api/v1/tenants?limit=2&cursor=toko-bb", None)
        .await;
    assert_eq!(second["items"][0]["slug"], "toko-cc");
    assert!(second["next_cursor"].is_null());
}

#[tokio::test]
async fn health_metrics_and_openapi_are_served() {
    let host = spawn_host().await;
    host.create_store("toko-metrik", 1901, json!({})).await;
    let secret = host.webhook_secret(1901);
    host.deliver(
        "toko-metrik",
        Some(&secret),
        &text_update(1, 9001, "/start"),
    )
    .await;
    host.wait_texts(1901, 9001, 1).await;

    let health = host
        .http
        .get(format!("{}/healthz", host.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let (status, ready) = host.api(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ready["database"], true);

    // The counter is bumped after the handler's reply, so poll for it.
    let mut metrics = String::new();
    for _ in 0..100 {
        metrics = host.metrics().await;
        if metrics.contains("tokobot_updates_total{store=\"toko-metrik\"}") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        metrics.contains("tokobot_updates_total{store=\"toko-metrik\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tokobot_update_duration_seconds_bucket{store=\"toko-metrik\""),
        "{metrics}"
    );

    let (status, doc) = host.api(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/tenants/{slug}/suspend",
        "/api/v1/tenants/{slug}/secrets",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    assert!(doc["components"]["schemas"]["TenantView"].is_object());
}
