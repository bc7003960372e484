//! SNK: a customer fulfils a product's terms after delivery; the submission is sealed,
//! forwarded to the admins, decided once, and erased after the store's retention.

use serde_json::json;
use tokobot::bot::callbacks::Callback;

use super::{OWNER, Shop, host_of};
use crate::support::{spawn_host, text_update};

const BUYER: i64 = 65001;

/// A stored submission: id, sealed text, sealed screenshot, status.
type Stored = (i64, Option<Vec<u8>>, Option<Vec<u8>>, String);

/// A screenshot with a caption, as Telegram delivers it.
fn photo_update(update_id: i64, user: i64, file_id: &str, caption: &str) -> serde_json::Value {
    let mut update = text_update(update_id, user, "x");
    let message = update["message"].as_object_mut().unwrap();
    message.remove("text");
    message.insert(
        "photo".into(),
        json!([{"file_id": file_id, "file_unique_id": "shot-1", "width": 800, "height": 600, "file_size": 1000}]),
    );
    message.insert("caption".into(), json!(caption));
    update
}

#[tokio::test]
async fn an_snk_submission_is_sealed_forwarded_to_the_admins_and_decided_once() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-snk", 3501).await;
    let invoice = shop.buy_by_qris(BUYER, "NFX", 1).await;
    shop.simulate_payment(&invoice).await;
    shop.wait_text(BUYER, "Kirim screenshot login").await;
    let (product, _) = shop.product("NFX").await;
    let fulfil = Callback::SnkFulfil {
        order: invoice.order_id,
        product,
    };

    // A text.
    shop.press(BUYER, fulfil).await;
    shop.wait_text(BUYER, "Kirim bukti untuk memenuhi SNK")
        .await;
    shop.say(BUYER, "Sudah login, profil Budi-3").await;
    shop.wait_text(BUYER, "diteruskan ke admin").await;
    // A screenshot with a caption.
    shop.press(BUYER, fulfil).await;
    let update = photo_update(9_900_001, BUYER, "fake-screenshot-id", "Bukti login");
    host.deliver(&shop.slug, Some(&shop.secret), &update).await;
    host.telegram
        .wait_for("the screenshot forwarded to the owner", |requests| {
            requests.iter().any(|r| {
                r.method == "sendphoto"
                    && r.body["chat_id"] == OWNER
                    && r.body["photo"] == "fake-screenshot-id"
            })
        })
        .await;

    let rows: Vec<Stored> = {
        let mut tx = shop.tx().await;
        sqlx::query_as(
            "select id, text_sealed, photo_sealed, status from snk_submissions order by id",
        )
        .fetch_all(&mut *tx)
        .await
        .unwrap()
    };
    assert_eq!(rows.len(), 2);
    let contains =
        |bytes: &[u8], needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    let text = rows[0].1.as_deref().expect("the text is stored");
    assert!(!contains(text, "Budi-3"), "the text is sealed");
    assert_ne!(text, b"Sudah login, profil Budi-3");
    let photo = rows[1].2.as_deref().expect("the screenshot is stored");
    assert!(
        !contains(photo, "fake-screenshot-id"),
        "the file id is sealed"
    );
    assert!(rows.iter().all(|r| r.3 == "pending"));
    let forwarded = shop.wait_text(OWNER, "Sudah login, profil Budi-3").await;
    assert!(
        forwarded.iter().any(|t| t.contains(&invoice.code)),
        "{forwarded:#?}"
    );
    let review = host
        .telegram
        .calls(&shop.token(), "sendmessage")
        .into_iter()
        .find(|r| {
            r.body["chat_id"] == OWNER
                && r.body["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("Budi-3"))
        })
        .unwrap();
    let buttons = review.body["reply_markup"]["inline_keyboard"][0].clone();
    let first = rows[0].0;
    assert_eq!(
        buttons[0]["callback_data"],
        Callback::SnkApprove { id: first }.to_string()
    );
    assert_eq!(
        buttons[1]["callback_data"],
        Callback::SnkReject { id: first }.to_string()
    );

    // Only an admin decides, and only once.
    shop.press(BUYER, Callback::SnkApprove { id: first }).await;
    shop.press(OWNER, Callback::SnkApprove { id: first }).await;
    shop.wait_text(BUYER, "disetujui admin").await;
    shop.press(OWNER, Callback::SnkReject { id: first }).await;
    host.telegram
        .wait_for("the late rejection refused", |requests| {
            requests.iter().any(|r| {
                r.method == "answercallbackquery"
                    && r.body["text"]
                        .as_str()
                        .is_some_and(|t| t.contains("sudah diputuskan"))
            })
        })
        .await;
    let refused = host.telegram.calls(&shop.token(), "answercallbackquery");
    assert!(refused.iter().any(|r| {
        r.body["text"]
            .as_str()
            .is_some_and(|t| t.contains("Hanya admin"))
    }));
    let mut tx = shop.tx().await;
    let (status, by): (String, Option<i64>) =
        sqlx::query_as("select status, decided_by from snk_submissions where id = $1")
            .bind(first)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!((status.as_str(), by), ("approved", Some(OWNER)));
    let audit: Vec<(Option<i64>, String, serde_json::Value)> =
        sqlx::query_as("select actor, action, after from audit_log where action like 'snk.%'")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    assert_eq!(
        audit,
        [(
            Some(OWNER),
            "snk.approve".to_owned(),
            json!({"status": "approved"})
        )]
    );
    // Past the store's retention (30 days by default) a submission is erased.
    sqlx::query("update snk_submissions set created_at = now() - interval '31 days' where id = $1")
        .bind(first)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let purged = tokobot::jobs::payments::purge_snk_once(host_of(&host))
        .await
        .unwrap();
    assert_eq!(purged, 1);
    let mut tx = shop.tx().await;
    let left: Vec<i64> = sqlx::query_scalar("select id from snk_submissions")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(left, [rows[1].0]);
}
