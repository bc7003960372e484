//! `tokobot doctor`: passes on a healthy host, and names a runtime role that bypasses
//! row-level security and a store whose webhook Telegram no longer has.

use serde_json::json;
use sqlx::{Connection, Executor, PgConnection};
use tokobot::{
    ops::doctor::{self, Outcome},
    secret::Secret,
};

use crate::support::{bot_token, spawn_host};

#[tokio::test]
async fn the_doctor_passes_on_a_healthy_host_and_names_a_store_without_its_webhook() {
    let host = spawn_host().await;
    host.create_store("toko-sehat", 5301, json!({})).await;
    host.create_store("toko-hilang", 5302, json!({})).await;

    let report = doctor::run(&host.config).await;
    assert!(report.passed(), "{report}");
    let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    for name in [
        "configuration",
        "database",
        "migrations",
        "runtime role",
        "row-level security",
        "telegram",
        "store toko-sehat",
        "store toko-hilang",
    ] {
        assert!(names.contains(&name), "{name} was not checked: {report}");
    }

    // Someone else deleted the second store's webhook.
    host.telegram.drop_webhook(&bot_token(5302));
    let report = doctor::run(&host.config).await;
    assert!(!report.passed(), "{report}");
    let Some(Outcome::Fail { problem, fix }) = report.failure("store toko-hilang") else {
        panic!("the missing webhook is not reported: {report}");
    };
    assert!(problem.contains("none"), "{problem}");
    assert!(fix.contains("/resume"), "{fix}");
    assert!(report.failure("store toko-sehat").is_none(), "{report}");
    // No secret is printed.
    assert!(!report.to_string().contains(&bot_token(5302)), "{report}");
}

#[tokio::test]
async fn the_doctor_fails_on_a_runtime_role_that_bypasses_row_level_security() {
    let host = spawn_host().await;
    let owner_url = host.config.database_url.clone().unwrap().expose().clone();
    let role = format!("bypass_{}", uuid::Uuid::new_v4().simple());
    let mut owner = PgConnection::connect(&owner_url).await.unwrap();
    owner
        .execute(format!("create role {role} login bypassrls").as_str())
        .await
        .unwrap();
    let mut url = reqwest::Url::parse(&owner_url).unwrap();
    url.set_username(&role).unwrap();
    let mut config = host.config.clone();
    config.app_database_url = Some(Secret::new(url.to_string()));

    let report = doctor::run(&config).await;
    let Some(Outcome::Fail { problem, fix }) = report.failure("runtime role") else {
        panic!("the BYPASSRLS role passed: {report}");
    };
    assert!(
        problem.contains(&role) && problem.contains("BYPASSRLS"),
        "{problem}"
    );
    assert!(fix.contains("NOBYPASSRLS"), "{fix}");
    assert!(!report.passed());
    owner
        .execute(format!("drop role {role}").as_str())
        .await
        .unwrap();
}
