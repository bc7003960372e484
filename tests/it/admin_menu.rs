//! The admin menu's shared mechanism and the lead's areas: who may reach it, the dialogue
//! (ask, refuse, confirm, cancel), backup and restore in the chat, SNK review, the activity
//! log, and the audit trail's append-only guarantee.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokobot::bot::callbacks::Callback;

use crate::{
    payments::{OWNER, Shop as PayShop},
    support::{
        bot_token,
        shop::{Shop, sample_catalog},
        spawn_host,
    },
};

const CUSTOMER: i64 = 424242;

#[tokio::test]
async fn the_owner_opens_the_admin_menu_and_a_customer_reaches_nothing_of_it() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-menu", 4101, json!({})).await;
    shop.import(sample_catalog(&["nfx-1"], 30_000)).await;

    shop.say(OWNER, "⚙️ Admin Settings").await;
    let menu = shop.text_containing(OWNER, "Menu Admin").await;
    assert!(menu.contains("Produk aktif: 2"), "{menu}");

    // A customer typing the admin button gets the customer's answer, not the menu.
    shop.say(CUSTOMER, "⚙️ Admin Settings").await;
    shop.text_containing(CUSTOMER, "perintah tidak dikenal")
        .await;
    // Forged admin buttons: a backup download, an SNK decision, a restore prompt.
    for data in ["a:bk:d", "a:sn:a:1", "a:bk:r", "a:au:l:-:0", "a:y", "a:m"] {
        shop.press_raw(CUSTOMER, data).await;
    }
    host.telegram.settle().await;
    let token = bot_token(shop.bot);
    let to_customer = host.telegram.sent_texts(&token, CUSTOMER);
    assert!(
        to_customer.iter().all(|t| !t.contains("Menu Admin")
            && !t.contains("Backup")
            && !t.contains("Log Aktivitas")),
        "{to_customer:?}"
    );
    assert!(host.telegram.sent_documents(&token, CUSTOMER).is_empty());
    let answers = host.telegram.calls(&token, "answerCallbackQuery");
    assert_eq!(answers.len(), 6, "every forged press is answered");
    // The attempts are logged and counted.
    let metrics = host.metrics().await;
    assert!(
        metrics.contains("tokobot_admin_denied_total{store=\"toko-menu\"} 6"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("denied"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[tokio::test]
async fn a_backup_restores_into_an_empty_store_and_a_bad_file_changes_nothing() {
    let host = spawn_host().await;
    let source = Shop::open(&host, "toko-asal", 4102, json!({})).await;
    source
        .import(sample_catalog(&["nfx-a", "nfx-b", "nfx-🙂-c"], 30_000))
        .await;
    let (status, coupon) = source
        .owner_api(
            Method::POST,
            "coupons",
            Some(json!({"code": "hemat10", "kind": "percent", "value": 10, "max_uses": 5})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{coupon}");
    let target = Shop::open(&host, "toko-baru", 4103, json!({})).await;

    // The backup arrives as a JSON document.
    source.press_raw(OWNER, "a:bk:d").await;
    let token = bot_token(source.bot);
    host.telegram
        .wait_for("the backup document", |_| {
            !host.telegram.sent_documents(&token, OWNER).is_empty()
        })
        .await;
    let backup = host.telegram.sent_documents(&token, OWNER).remove(0);
    let document: Value = serde_json::from_slice(&backup).unwrap();
    assert_eq!(document["products"].as_array().unwrap().len(), 2);

    // Restore: a file that is not a backup is refused, the question stands.
    target.press_raw(OWNER, "a:bk:r").await;
    target.text_containing(OWNER, "Kirim file backup").await;
    target
        .send_file(OWNER, "rusak.json", b"{\"version\": 1, \"produ".to_vec())
        .await;
    let refused = target.text_containing(OWNER, "bukan JSON yang utuh").await;
    assert!(
        refused.starts_with("File ini bukan backup toko yang valid")
            && refused.ends_with("Tidak ada yang berubah.")
            && !refused.contains("EOF"),
        "said in the admin's language, without the parser's English: {refused}"
    );
    // JSON of another shape is told apart, with where it stops fitting.
    target
        .send_file(
            OWNER,
            "lain.json",
            b"{\n  \"version\": \"satu\"\n}".to_vec(),
        )
        .await;
    let refused = target.text_containing(OWNER, "bukan backup katalog").await;
    assert!(
        refused.contains("baris 2") && !refused.contains("invalid type"),
        "{refused}"
    );
    // A document that parses but breaks the rules is refused with its reasons.
    let mut broken = document.clone();
    broken["products"][0]["price"] = json!(-5);
    target
        .send_file(OWNER, "salah.json", serde_json::to_vec(&broken).unwrap())
        .await;
    let refused = target.text_containing(OWNER, "tidak bisa dipakai").await;
    assert!(
        refused.contains("<code>products[0].price</code>: Harga harus angka rupiah"),
        "the problem is told in the admin's language: {refused}"
    );
    // The real backup: a summary and a confirmation, and nothing changes before ✅.
    target.send_file(OWNER, "backup.json", backup.clone()).await;
    let summary = target.text_containing(OWNER, "Restore dari backup").await;
    assert!(
        summary.contains("2 produk")
            && summary.contains("4 stok")
            && summary.contains("1 kupon")
            && summary.contains("Pengaturan toko ikut di dalamnya"),
        "{summary}"
    );
    let products: i64 = {
        let mut tx = target.tx().await;
        sqlx::query_scalar("select count(*) from products")
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    };
    assert_eq!(products, 0, "nothing is restored before the confirmation");
    target.press_raw(OWNER, "a:y").await;
    target.text_containing(OWNER, "Restore selesai").await;

    // The restored store has the same catalog, and a customer sees it at once.
    let path = |slug: &str| format!("/api/v1/tenants/{slug}/catalog");
    let (_, restored) = host.operator(Method::GET, &path("toko-baru"), None).await;
    let (_, original) = host.operator(Method::GET, &path("toko-asal"), None).await;
    assert_eq!(restored, original);
    target.say(CUSTOMER, "🏷 Cek Stok").await;
    target.text_containing(CUSTOMER, "Netflix 1 Bulan: 3").await;
    let audit = target.audit_rows("catalog.import").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].0, Some(OWNER));
    assert_eq!(audit[0].1["holdings"]["products"], 0);
    assert_eq!(audit[0].2["holdings"]["products"], 2);

    // ✅ again after the dialogue ended does nothing.
    target.press_raw(OWNER, "a:y").await;
    target.answer_containing("sudah tidak berlaku").await;
    assert_eq!(target.audit_rows("catalog.import").await.len(), 1);
}

#[tokio::test]
async fn every_admin_dialogue_can_be_cancelled_and_changes_nothing() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-batal", 4104, json!({})).await;
    shop.import(sample_catalog(&["nfx-1"], 30_000)).await;

    // ❌ in the dialogue.
    shop.press_raw(OWNER, "a:bk:r").await;
    shop.text_containing(OWNER, "Kirim file backup").await;
    shop.press_raw(OWNER, "a:x").await;
    shop.text_containing(OWNER, "Dibatalkan").await;
    // The file sent afterwards is no restore: it is not read at all.
    let before = host.telegram.calls(&bot_token(shop.bot), "getFile").len();
    shop.send_file(OWNER, "backup.json", b"{}".to_vec()).await;
    host.telegram.settle().await;
    assert_eq!(
        host.telegram.calls(&bot_token(shop.bot), "getFile").len(),
        before
    );

    // /batal, and a main menu button, end it as well.
    shop.press_raw(OWNER, "a:bk:r").await;
    shop.say(OWNER, "/batal").await;
    shop.text_containing(OWNER, "Tidak ada yang berubah").await;
    shop.press_raw(OWNER, "a:bk:r").await;
    shop.say(OWNER, "🏷 Cek Stok").await;
    shop.text_containing(OWNER, "Netflix 1 Bulan: 1").await;
    let states: i64 = {
        let mut tx = shop.tx().await;
        sqlx::query_scalar("select count(*) from dialogues where state->>'state' = 'admin'")
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    };
    assert_eq!(states, 0, "no admin dialogue is left open");
}

#[tokio::test]
async fn an_admin_reviews_a_pending_snk_with_a_note_once() {
    let host = spawn_host().await;
    let shop = PayShop::open(&host, "toko-review", 4105).await;
    let buyer = 65100;
    let invoice = shop.buy_by_qris(buyer, "NFX", 1).await;
    shop.simulate_payment(&invoice).await;
    shop.wait_text(buyer, "Kirim screenshot login").await;
    let (product, _) = shop.product("NFX").await;
    shop.press(
        buyer,
        Callback::SnkFulfil {
            order: invoice.order_id,
            product,
        },
    )
    .await;
    shop.wait_text(buyer, "Kirim bukti").await;
    shop.say(buyer, "Login berhasil, profil Sari").await;
    shop.wait_text(buyer, "diteruskan ke admin").await;
    let id: i64 = {
        let mut tx = shop.tx().await;
        sqlx::query_scalar("select id from snk_submissions")
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    };

    shop.press_raw(OWNER, "a:sn").await;
    shop.wait_text(OWNER, "SNK menunggu review</b> (1)").await;
    shop.press_raw(OWNER, &format!("a:sn:v:{id}")).await;
    shop.wait_text(OWNER, "Login berhasil, profil Sari").await;
    shop.press_raw(OWNER, &format!("a:sn:r:{id}")).await;
    shop.wait_text(OWNER, "Tulis alasan penolakan").await;
    shop.say(OWNER, &"x".repeat(501)).await;
    shop.wait_text(OWNER, "Catatan terlalu panjang").await;
    shop.say(OWNER, "Screenshot <buram>, kirim ulang ya").await;
    shop.wait_text(OWNER, "ditolak").await;
    shop.wait_text(
        buyer,
        "Catatan admin: Screenshot &lt;buram&gt;, kirim ulang ya",
    )
    .await;

    // Decided once: approving it afterwards is refused.
    shop.press_raw(OWNER, &format!("a:sn:a:{id}")).await;
    shop.wait_text(OWNER, "sudah diputuskan").await;
    let (status, note): (String, Option<String>) = {
        let mut tx = shop.tx().await;
        sqlx::query_as("select status, note from snk_submissions where id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    };
    assert_eq!(status, "rejected");
    assert_eq!(note.as_deref(), Some("Screenshot <buram>, kirim ulang ya"));
    let audit: Vec<(String, Value)> = {
        let mut tx = shop.tx().await;
        sqlx::query_as("select action, after from audit_log where action like 'snk.%'")
            .fetch_all(&mut *tx)
            .await
            .unwrap()
    };
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].1["note"], "Screenshot <buram>, kirim ulang ya");

    // The log shows it, filtered by action family and by admin.
    shop.press_raw(OWNER, "a:au:l:a:snk.:0").await;
    shop.wait_text(OWNER, "snk.reject").await;
    shop.press_raw(OWNER, &format!("a:au:l:u:{OWNER}:0")).await;
    shop.wait_text(OWNER, "oleh: 777000 (pemilik)").await;
}

#[tokio::test]
async fn the_runtime_role_may_append_to_the_audit_log_but_never_rewrite_it() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-jejak", 4106, json!({})).await;
    shop.import(sample_catalog(&["nfx-1"], 30_000)).await;
    shop.press_raw(OWNER, "a:bk:r").await;
    shop.text_containing(OWNER, "Kirim file backup").await;
    {
        let mut tx = shop.tx().await;
        sqlx::query(
            "insert into audit_log (tenant_id, actor, action, subject) \
             values (current_setting('app.tenant_id')::uuid, 1, 'test.append', 'x')",
        )
        .execute(&mut *tx)
        .await
        .expect("the runtime role appends");
        tx.commit().await.unwrap();
    }
    for statement in [
        "update audit_log set action = 'test.rewritten'",
        "delete from audit_log",
        "truncate audit_log",
    ] {
        let mut tx = shop.tx().await;
        let refused = sqlx::query(statement).execute(&mut *tx).await.unwrap_err();
        assert!(
            refused.to_string().contains("permission denied"),
            "{statement}: {refused}"
        );
    }
    let mut tx = shop.tx().await;
    let actions: Vec<String> = sqlx::query_scalar("select action from audit_log order by id")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    // The setup's catalog import wrote the first row.
    assert_eq!(actions, ["catalog.import", "test.append"]);
}
