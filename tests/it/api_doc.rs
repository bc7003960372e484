//! The API's boundary: the OpenAPI document is true to the routes, and text no column can hold
//! (a NUL character) is refused before it reaches the database, whichever way it comes in.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{shop::Shop, spawn_host, text_update};

#[tokio::test]
async fn the_openapi_document_is_true_to_the_routes() {
    let host = spawn_host().await;
    let (status, doc) = host.api(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !doc["info"]["license"]["name"]
            .as_str()
            .unwrap_or("")
            .is_empty()
    );

    let mut operation_ids = HashSet::new();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let template: HashSet<&str> = path
            .split('/')
            .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let name = format!("{method} {path}");
            let id = operation["operationId"].as_str().unwrap_or_default();
            assert!(!id.is_empty(), "{name} has an operationId");
            assert!(
                operation_ids.insert(id.to_owned()),
                "{name}: operationId {id} is unique"
            );

            let params = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let in_path: HashSet<&str> = params
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            assert_eq!(
                in_path, template,
                "{name}: path parameters are the template's"
            );
            for param in params.iter().filter(|p| p["in"] == "query") {
                assert_ne!(
                    param["required"], true,
                    "{name}: query parameters are optional"
                );
            }
            let responses = operation["responses"].as_object().unwrap();
            let documents = |status: &str| responses.contains_key(status);
            if operation.get("security").is_some() {
                assert!(documents("401"), "{name} documents 401");
            }
            if operation.get("requestBody").is_some() {
                for status in ["400", "413", "422"] {
                    assert!(documents(status), "{name} documents {status}");
                }
            }

            // The route exists: without a token it answers 401, never 404 or 405.
            let url = format!(
                "{}{}",
                host.base,
                path.replace("{slug}", "toko-doc")
                    .replace("{code}", "KODE")
                    .replace("{id}", "1")
                    .replace("{telegram_id}", "1")
            );
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let answer = host.http.request(method, url).send().await.unwrap();
            if operation.get("security").is_some() {
                assert_eq!(
                    answer.status(),
                    StatusCode::UNAUTHORIZED,
                    "{name} is routed"
                );
            }
        }
    }
    assert!(operations >= 11, "{operations} operations documented");
}

#[tokio::test]
async fn a_nul_character_is_refused_at_the_boundary_and_never_reaches_the_database() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-nul", 4401, json!({})).await;

    let (status, body) = host
        .operator(
            Method::PATCH,
            "/api/v1/tenants/toko-nul",
            Some(json!({"branding": {"description": "t\u{0}"}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["fields"][0]["field"], "branding.description");

    let catalog = json!({"version": 1, "categories": [{"name": "A\u{0}"}]});
    let (status, body) = host
        .operator(
            Method::PUT,
            "/api/v1/tenants/toko-nul/catalog",
            Some(catalog),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["fields"][0]["field"], "categories[0].name");

    let (status, body) = host
        .operator(Method::GET, "/api/v1/tenants?cursor=%00", None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["fields"][0]["field"], "cursor");

    for path in ["/api/v1/tenants/%00", "/api/v1/tenants/toko%00nul/stats"] {
        let (status, body) = host.operator(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    let answer = host
        .http
        .post(format!("{}/webhooks/pakasir/%00", host.base))
        .json(&json!({"order_id": "X", "amount": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);

    // A customer's text with a NUL is answered like any text, and nothing fails.
    let mut update = text_update(8_800_001, 515151, "halo");
    update["message"]["text"] = json!("ha\u{0}lo");
    let status = host.deliver(&shop.slug, Some(&shop.secret), &update).await;
    assert_eq!(status, StatusCode::OK);
    shop.text_containing(515151, "perintah tidak dikenal").await;

    // The profile is as it was.
    let (_, store) = host
        .operator(Method::GET, "/api/v1/tenants/toko-nul", None)
        .await;
    assert_eq!(store["branding"]["description"], Value::Null);
}

#[tokio::test]
async fn integers_written_with_a_zero_fraction_are_integers() {
    let host = spawn_host().await;
    host.create_store("toko-angka-bulat", 4402, json!({})).await;
    let (status, body) = host
        .operator(
            Method::PATCH,
            "/api/v1/tenants/toko-angka-bulat",
            Some(json!({"settings": {"low_stock_threshold": 7.0}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["settings"]["low_stock_threshold"], 7);
}

#[tokio::test]
async fn errors_of_the_webhooks_have_the_json_shape_too() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-besar", 4403, json!({})).await;
    let huge = vec![b'x'; 2 * 1024 * 1024];
    for path in [
        format!("/webhooks/telegram/{}", shop.slug),
        format!("/webhooks/pakasir/{}", shop.slug),
    ] {
        let answer = host
            .http
            .post(format!("{}{path}", host.base))
            .header("x-telegram-bot-api-secret-token", &shop.secret)
            .body(huge.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        // The unread rest of the body ends the connection; the client must not reuse it.
        assert_eq!(answer.headers()["connection"], "close", "{path}");
        let body: Value = answer.json().await.expect("a JSON error");
        assert_eq!(body["error"]["code"], "body_too_large", "{path}");
    }
    let answer = host
        .http
        .delete(format!("{}/webhooks/telegram/{}", host.base, shop.slug))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: Value = answer.json().await.expect("a JSON error");
    assert_eq!(body["error"]["code"], "method_not_allowed");
}
