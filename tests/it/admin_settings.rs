//! The owner's screens of the admin menu, driven like a real admin through the webhook route:
//! message templates (preview, unknown placeholders, reset), settings and notification
//! switches, and the admins (owner only, by id or by a forwarded message).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    payments::OWNER,
    support::{
        bot_token,
        fake_telegram::text_update,
        shop::{Shop, sample_catalog},
        spawn_host,
    },
};

const CUSTOMER: i64 = 66001;
const NEW_ADMIN: i64 = 66500;
/// `welcome` in `store::templates::NAMES`.
const WELCOME: usize = 2;

/// The store as the API shows it to its owner.
async fn store(shop: &Shop<'_>) -> Value {
    let token = shop.host.owner_token(&shop.slug).await;
    let path = format!("/api/v1/tenants/{}", shop.slug);
    let (status, body) = shop.host.api(Method::GET, &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The store's own `welcome` text, if it wrote one.
async fn welcome_template(shop: &Shop<'_>) -> Option<String> {
    let mut tx = shop.tx().await;
    sqlx::query_scalar("select body from templates where name = 'welcome'")
        .fetch_optional(&mut *tx)
        .await
        .unwrap()
}

/// The inline keyboard of the last screen the bot showed by editing its message.
fn last_keyboard(shop: &Shop<'_>) -> String {
    let edits = shop
        .host
        .telegram
        .calls(&bot_token(shop.bot), "editMessageText");
    edits.last().unwrap().body["reply_markup"].to_string()
}

#[tokio::test]
async fn an_admin_edits_a_template_with_a_preview_and_puts_it_back_to_the_default() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-teks", 4401, json!({})).await;
    shop.import(sample_catalog(&["nfx-1"], 30_000)).await;

    shop.press_raw(OWNER, "a:m").await;
    shop.wait_count(OWNER, "Menu Admin", 1).await;
    let menu = last_keyboard(&shop);
    for area in ["a:tp", "a:se", "a:ad"] {
        assert!(menu.contains(&format!("\"{area}\"")), "{area} in {menu}");
    }
    shop.press_raw(OWNER, "a:tp").await;
    shop.text_containing(OWNER, "Template pesan</b>").await;
    shop.press_raw(OWNER, &format!("a:tp:v:{WELCOME}")).await;
    shop.text_containing(OWNER, "Belum diubah").await;
    shop.press_raw(OWNER, &format!("a:tp:e:{WELCOME}")).await;
    shop.text_containing(OWNER, "Kirim teks baru untuk <b>Sambutan /start</b>")
        .await;

    // An unknown placeholder is refused with the allowed ones; the question stands.
    shop.say(OWNER, "Halo {nama}, cek {order_id}").await;
    let refusal = shop
        .text_containing(OWNER, "Placeholder tidak dikenal")
        .await;
    assert!(refusal.contains("{nama}, {order_id}"), "{refusal}");
    assert!(refusal.contains("{name}, {store}, {balance}"), "{refusal}");
    assert_eq!(welcome_template(&shop).await, None);

    // A good text is previewed with sample values, then saved on ✅.
    shop.say(OWNER, "Halo {name} & selamat datang di {store}!")
        .await;
    shop.text_containing(
        OWNER,
        "Pratinjau</b> (dengan contoh data):\n\nHalo Budi &amp; selamat datang di Toko toko-teks!",
    )
    .await;
    assert_eq!(welcome_template(&shop).await, None, "nothing before ✅");
    shop.press_raw(OWNER, "a:y").await;
    shop.text_containing(OWNER, "Template Sambutan /start disimpan")
        .await;
    let body = "Halo {name} & selamat datang di {store}!";
    assert_eq!(welcome_template(&shop).await.as_deref(), Some(body));
    let rows = shop.audit_rows("template.set").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, Some(OWNER));
    assert_eq!(rows[0].1, json!({"body": null}));
    assert_eq!(rows[0].2, json!({"body": body}));

    // Customers are welcomed with it at once.
    shop.say(CUSTOMER, "/start").await;
    shop.text_containing(
        CUSTOMER,
        "Halo Budi &amp; selamat datang di Toko toko-teks!",
    )
    .await;

    // A customer forging the area's buttons changes nothing.
    for data in [&format!("a:tp:r:{WELCOME}"), "a:y", "a:tp:e:0"] {
        shop.press_raw(CUSTOMER, data).await;
    }
    host.telegram.settle().await;
    assert_eq!(welcome_template(&shop).await.as_deref(), Some(body));
    assert_eq!(shop.count_texts(CUSTOMER, "Template").await, 0);

    // Back to the default, after a confirmation.
    shop.press_raw(OWNER, &format!("a:tp:r:{WELCOME}")).await;
    shop.text_containing(OWNER, "Kembalikan Sambutan /start ke teks bawaan")
        .await;
    shop.press_raw(OWNER, "a:y").await;
    shop.text_containing(OWNER, "kembali memakai teks bawaan bot")
        .await;
    assert_eq!(welcome_template(&shop).await, None);
    let rows = shop.audit_rows("template.reset").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, json!({"body": body}));
    assert_eq!(rows[0].2, json!({"body": null}));
}

#[tokio::test]
async fn the_owner_changes_settings_and_notification_switches_from_the_bot() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-atur", 4402, json!({})).await;

    shop.press_raw(OWNER, "a:se").await;
    shop.text_containing(OWNER, "Batas waktu invoice: 15 menit")
        .await;
    shop.press_raw(OWNER, "a:se:n:ttl").await;
    shop.text_containing(OWNER, "Sekarang: 15").await;
    // Not a number, then out of range: one line each, and the question stands.
    shop.say(OWNER, "setengah jam").await;
    shop.say(OWNER, "2").await;
    shop.wait_count(OWNER, "Ketik angka 5 sampai 1440", 2).await;
    assert_eq!(store(&shop).await["settings"]["invoice_ttl_minutes"], 15);
    shop.say(OWNER, "30").await;
    shop.text_containing(OWNER, "Pengaturan disimpan").await;
    assert_eq!(store(&shop).await["settings"]["invoice_ttl_minutes"], 30);

    // A deposit minimum typed the Indonesian way, with thousands dots.
    shop.press_raw(OWNER, "a:se:n:dep").await;
    shop.text_containing(OWNER, "Ketik deposit minimum").await;
    shop.say(OWNER, "25.000").await;
    shop.wait_count(OWNER, "Pengaturan disimpan", 2).await;
    assert_eq!(store(&shop).await["settings"]["deposit_minimum"], 25_000);

    // Switches and the fee payer toggle with a press.
    shop.press_raw(OWNER, "a:se:t:new_order").await;
    shop.press_raw(OWNER, "a:se:fee").await;
    shop.text_containing(OWNER, "Biaya QRIS ditanggung: toko")
        .await;
    let keyboard = last_keyboard(&shop);
    assert!(keyboard.contains("🔕 Pesanan baru dibayar"), "{keyboard}");
    assert!(keyboard.contains("✅ Stok menipis"), "{keyboard}");
    let settings = store(&shop).await["settings"].clone();
    assert_eq!(settings["notifications"]["new_order"], false);
    assert_eq!(settings["notifications"]["low_stock"], true);
    assert_eq!(settings["fee_payer"], "store");
    // Protecting delivered goods toggles the same way.
    shop.press_raw(OWNER, "a:se:pc").await;
    let mut protected = Value::Null;
    for _ in 0..50 {
        protected = store(&shop).await["settings"]["protect_content"].clone();
        if protected == true {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(protected, true);

    // A customer's forged switch changes nothing.
    shop.press_raw(CUSTOMER, "a:se:t:low_stock").await;
    shop.press_raw(CUSTOMER, "a:se:fee").await;
    host.telegram.settle().await;
    let settings = store(&shop).await["settings"].clone();
    assert_eq!(settings["notifications"]["low_stock"], true);
    assert_eq!(settings["fee_payer"], "store");

    // Every change is in the store's log, by the owner, with before and after.
    let rows = shop.audit_rows("store.update").await;
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert!(rows.iter().all(|(actor, _, _)| *actor == Some(OWNER)));
    assert_eq!(rows[0].1["settings"]["invoice_ttl_minutes"], 15);
    assert_eq!(rows[0].2["settings"]["invoice_ttl_minutes"], 30);
    assert_eq!(rows[2].1["settings"]["notifications"]["new_order"], true);
    assert_eq!(rows[2].2["settings"]["notifications"]["new_order"], false);
}

#[tokio::test]
async fn the_owner_sets_the_broadcast_speed_within_its_range() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-siar", 4403, json!({})).await;

    shop.press_raw(OWNER, "a:se").await;
    shop.text_containing(OWNER, "Kecepatan broadcast: 25 pesan/detik")
        .await;
    shop.press_raw(OWNER, "a:se:n:bps").await;
    shop.text_containing(OWNER, "Ketik kecepatan broadcast, 1 sampai 25")
        .await;
    // Above Telegram's share for broadcasts, zero, and not a number: refused, nothing changes.
    for typed in ["30", "0", "cepat"] {
        shop.say(OWNER, typed).await;
    }
    shop.wait_count(OWNER, "Ketik angka 1 sampai 25", 3).await;
    assert_eq!(store(&shop).await["settings"]["broadcast_per_second"], 25);
    shop.say(OWNER, "10").await;
    shop.text_containing(OWNER, "Pengaturan disimpan").await;
    assert_eq!(store(&shop).await["settings"]["broadcast_per_second"], 10);
    let rows = shop.audit_rows("store.update").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0, Some(OWNER));
    assert_eq!(rows[0].1["settings"]["broadcast_per_second"], 25);
    assert_eq!(rows[0].2["settings"]["broadcast_per_second"], 10);

    // A customer cannot reach the question.
    shop.press_raw(CUSTOMER, "a:se:n:bps").await;
    shop.say(CUSTOMER, "1").await;
    host.telegram.settle().await;
    assert_eq!(store(&shop).await["settings"]["broadcast_per_second"], 10);
}

/// A message from `from` (first name Sari) that `user` forwards to the bot.
fn forwarded(update_id: i64, user: i64, from: i64) -> Value {
    let mut update = text_update(update_id, user, "halo, ini Sari");
    update["message"]["forward_origin"] = json!({
        "type": "user",
        "date": 1_700_000_000,
        "sender_user": {"id": from, "is_bot": false, "first_name": "Sari"},
    });
    update
}

#[tokio::test]
async fn only_the_owner_appoints_and_removes_admins_and_a_removed_admin_is_refused_at_once() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-tim", 4403, json!({})).await;

    shop.press_raw(OWNER, "a:ad").await;
    shop.text_containing(OWNER, "— belum ada —").await;
    shop.press_raw(OWNER, "a:ad:add").await;
    shop.text_containing(OWNER, "teruskan (forward)").await;
    shop.say(OWNER, "Sari").await;
    shop.text_containing(OWNER, "Kirim ID Telegram berupa angka")
        .await;
    let status = host
        .deliver(
            &shop.slug,
            Some(&shop.secret),
            &forwarded(9_440_301, OWNER, NEW_ADMIN),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    shop.text_containing(
        OWNER,
        &format!("Jadikan <code>{NEW_ADMIN}</code> (Sari) admin"),
    )
    .await;
    shop.press_raw(OWNER, "a:y").await;
    shop.text_containing(OWNER, "sekarang admin").await;
    assert_eq!(store(&shop).await["admin_telegram_ids"], json!([NEW_ADMIN]));
    let rows = shop.audit_rows("store.update").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, Some(OWNER));
    assert_eq!(rows[0].1, json!({"admin_telegram_ids": []}));
    assert_eq!(rows[0].2, json!({"admin_telegram_ids": [NEW_ADMIN]}));

    // The new admin reaches the menu, but not the owner's area.
    shop.press_raw(NEW_ADMIN, "a:se").await;
    shop.text_containing(NEW_ADMIN, "Pengaturan toko").await;
    shop.press_raw(NEW_ADMIN, "a:ad").await;
    shop.answer_containing("Hanya pemilik toko").await;
    shop.press_raw(NEW_ADMIN, &format!("a:ad:rm:{NEW_ADMIN}"))
        .await;
    host.telegram.settle().await;
    assert_eq!(shop.count_texts(NEW_ADMIN, "Hapus").await, 0);
    assert_eq!(store(&shop).await["admin_telegram_ids"], json!([NEW_ADMIN]));

    // The owner removes them; their next press is refused like any stale button.
    shop.press_raw(OWNER, &format!("a:ad:rm:{NEW_ADMIN}")).await;
    shop.text_containing(OWNER, "Hapus <code>66500</code> dari admin")
        .await;
    shop.press_raw(OWNER, "a:y").await;
    shop.text_containing(OWNER, "bukan admin lagi").await;
    assert_eq!(store(&shop).await["admin_telegram_ids"], json!([]));
    let screens = shop.count_texts(NEW_ADMIN, "Pengaturan toko").await;
    shop.press_raw(NEW_ADMIN, "a:se").await;
    shop.answer_containing("Tombol ini sudah tidak berlaku")
        .await;
    host.telegram.settle().await;
    assert_eq!(
        shop.count_texts(NEW_ADMIN, "Pengaturan toko").await,
        screens
    );
    assert_eq!(shop.audit_rows("store.update").await.len(), 2);
}
