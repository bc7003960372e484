//! Operator alerts: a failed scheduled backup reaches the operators' chat and webhook, without
//! a secret in the text.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Json, Router, extract::State, routing::post};
use serde_json::Value;
use tokobot::secret::Secret;

use crate::support::{bot_token, master_key_base64, spawn_host_with};

/// A tiny HTTP sink that keeps every JSON body posted to `/alerts`.
async fn sink() -> (String, Arc<Mutex<Vec<Value>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route(
            "/alerts",
            post(
                |State(store): State<Arc<Mutex<Vec<Value>>>>, Json(body): Json<Value>| async move {
                    store.lock().unwrap().push(body);
                },
            ),
        )
        .with_state(Arc::clone(&received));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (format!("http://{addr}/alerts"), received)
}

#[tokio::test]
async fn a_failed_scheduled_backup_alerts_the_operators_chat_and_webhook() {
    let (url, received) = sink().await;
    let dir = tempfile::tempdir().unwrap();
    // A file where the backup dir should be: every backup fails.
    let blocked = dir.path().join("backups");
    std::fs::write(&blocked, b"not a dir").unwrap();
    let operator = bot_token(5401);
    let mut host = spawn_host_with(|config| {
        config.backup.dir = blocked.clone();
        config.backup.every = Some(Duration::from_secs(3600));
        config.alerts.webhook_url = Some(url.clone());
        config.alerts.telegram = Some((Secret::new(operator.clone()), -100_777));
    })
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while received.lock().unwrap().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no alert reached the webhook"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let alert = received.lock().unwrap()[0].clone();
    assert_eq!(alert["condition"], "backup_failed", "{alert}");
    assert_eq!(alert["status"], "firing", "{alert}");
    assert!(
        alert["text"].as_str().unwrap().contains("backup"),
        "{alert}"
    );

    // The operators' bot exists from now on; the next start's backup fails again and tells
    // the chat too.
    host.telegram.add_bot(&operator, "ops_bot");
    host.restart().await;
    let texts = host.telegram.clone();
    host.telegram
        .wait_for("the operators' chat alert", |_| {
            !texts.sent_texts(&operator, -100_777).is_empty()
        })
        .await;
    let text = host.telegram.sent_texts(&operator, -100_777).remove(0);
    assert!(
        text.contains("scheduled backup") && text.contains("failed"),
        "{text}"
    );
    for secret in [master_key_base64(), operator.clone()] {
        assert!(!text.contains(&secret) && !alert.to_string().contains(&secret));
    }
}
