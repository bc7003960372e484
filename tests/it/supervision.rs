//! A store whose dispatcher ended (a crash outside its handlers, a listener that gave up) is
//! restarted by the host's supervisor and answers again, instead of answering 503 for good.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{spawn_host, text_update};

#[tokio::test]
async fn a_store_whose_dispatcher_died_is_restarted_and_serves_again() {
    let host = spawn_host().await;
    host.create_store("toko-bangkit", 5501, json!({})).await;
    let secret = host.webhook_secret(5501);
    let update = |id| text_update(id, 62_501, "/start");
    assert_eq!(
        host.deliver("toko-bangkit", Some(&secret), &update(1))
            .await,
        StatusCode::OK
    );
    host.wait_texts(5501, 62_501, 1).await;
    let answered = host.settled_texts(5501, 62_501).await.len();

    // The dispatcher ends behind the host's back, as a crash would end it.
    let running = host
        .app
        .as_ref()
        .unwrap()
        .host
        .running_stores()
        .into_iter()
        .find(|r| r.ctx.tenant().slug == "toko-bangkit")
        .unwrap();
    running.stop().await;
    assert!(running.has_ended());

    // Within a few seconds the store takes updates again and answers them.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut id = 2;
    while host
        .deliver("toko-bangkit", Some(&secret), &update(id))
        .await
        != StatusCode::OK
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the store was never restarted"
        );
        id += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    host.wait_texts(5501, 62_501, answered + 1).await;
}
