//! The orders and customers areas of the admin menu, driven like a real admin through the
//! webhook route: lists with filters and pages, an order's detail and its operations, each
//! behind a confirmation; the customer search, profile, block and balance dialogue; and a
//! customer forging these buttons changing nothing.

use serde_json::{Value, json};
use tokobot::bot::callbacks::Callback;

use crate::{
    payments::{OWNER, Shop, goods_title},
    support::{TestHost, bot_token, shop, spawn_host},
};

const BUYER: i64 = 5301;

/// The buttons (label, data) of the latest message or edit the bot sent to `chat`.
fn last_buttons(host: &TestHost, bot: u32, chat: i64) -> Vec<(String, String)> {
    let token = bot_token(bot);
    let Some(markup) = host
        .telegram
        .requests()
        .into_iter()
        .filter(|r| {
            r.token == token
                && r.status == 200
                && matches!(r.method.as_str(), "sendmessage" | "editmessagetext")
                && r.body["chat_id"].as_i64() == Some(chat)
        })
        .map(|r| r.body["reply_markup"].clone())
        .next_back()
    else {
        return Vec::new();
    };
    // Multipart bodies carry the markup as a JSON string.
    let markup: Value = match markup {
        Value::String(text) => serde_json::from_str(&text).unwrap_or(Value::Null),
        other => other,
    };
    markup["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .map(|b| {
            (
                b["text"].as_str().unwrap_or_default().to_owned(),
                b["callback_data"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

impl Shop<'_> {
    async fn audit_actors(&self, action: &str) -> Vec<(String, Option<i64>)> {
        self.audit_columns("actor_kind, actor", action).await
    }

    async fn blocked(&self, user: i64) -> bool {
        let mut tx = self.tx().await;
        sqlx::query_scalar("select blocked_by_store from customers where telegram_user_id = $1")
            .bind(user)
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn an_admin_opens_a_paid_order_and_refunds_part_of_it_once() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "menu-refund", 6301).await;
    shop.credit(BUYER, 40_000).await;
    let order = shop.checkout(BUYER, "ML", 2).await;
    shop.press(
        BUYER,
        Callback::PayBalance {
            order: order.order_id,
        },
    )
    .await;
    shop.wait_text(BUYER, &goods_title(&order.code)).await;
    // The owner's notices of the payment and of the stock it left come first, so the list
    // below is the last message.
    shop.wait_text(OWNER, "Pembayaran masuk").await;
    shop.wait_text(OWNER, "Stok menipis").await;

    shop.press_raw(OWNER, "a:or").await;
    shop.wait_text(OWNER, "Pesanan</b> · Semua").await;
    assert!(
        last_buttons(&host, shop.bot, OWNER)
            .iter()
            .any(|(label, _)| label.contains(&order.code)),
        "{:?}",
        host.telegram.sent_texts(&bot_token(shop.bot), OWNER)
    );
    shop.press_raw(OWNER, "a:or:l:dl:0").await;
    shop.wait_text(OWNER, "· 📦 Terkirim").await;
    shop.press_raw(OWNER, &format!("a:or:v:{}", order.code))
        .await;
    shop.wait_text(OWNER, "Total: Rp 40.000").await;
    let labels: Vec<String> = last_buttons(&host, shop.bot, OWNER)
        .into_iter()
        .map(|b| b.0)
        .collect();
    assert!(
        labels.iter().any(|l| l.contains("Refund sebagian")),
        "{labels:?}"
    );

    shop.press_raw(OWNER, &format!("a:or:rp:{}", order.code))
        .await;
    shop.wait_text(OWNER, "Ketik jumlah refund").await;
    for wrong in ["banyak", "0", "40001"] {
        shop.say(OWNER, wrong).await;
    }
    shop.wait_count(OWNER, "Jumlah tidak valid", 3).await;
    assert_eq!(shop.balance(BUYER).await, 0);
    shop.say(OWNER, "15.000").await;
    // The reason is required, as for a balance adjustment.
    shop.wait_text(OWNER, "Refund Rp 15.000 dari pesanan").await;
    shop.say(OWNER, "   ").await;
    shop.wait_text(OWNER, "Alasan wajib diisi").await;
    shop.say(OWNER, &"x".repeat(501)).await;
    shop.wait_text(OWNER, "Alasan terlalu panjang").await;
    shop.say(OWNER, "Satu kode <b>tidak</b> bisa dipakai").await;
    let summary = shop.wait_text(OWNER, "Refund <b>Rp 15.000</b>").await;
    assert!(
        summary
            .iter()
            .any(|t| t.contains("Alasan: Satu kode &lt;b&gt;tidak&lt;/b&gt; bisa dipakai")),
        "{summary:?}"
    );
    assert_eq!(shop.balance(BUYER).await, 0, "nothing changes before ✅");
    shop.press_raw(OWNER, "a:y").await;
    shop.wait_text(OWNER, "masuk ke saldo pelanggan").await;
    assert_eq!(shop.balance(BUYER).await, 15_000);
    shop.wait_text(BUYER, "dikembalikan ke saldo").await;
    assert_eq!(
        shop.audit_actors("order.refund").await,
        [("telegram".to_owned(), Some(OWNER))]
    );
    let audit = shop.audit_rows("order.refund").await;
    assert_eq!(audit[0].2["reason"], "Satu kode <b>tidak</b> bisa dipakai");
    let note: Option<String> = {
        let mut tx = shop.tx().await;
        sqlx::query_scalar("select note from balance_ledger where reason = 'refund'")
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    };
    assert_eq!(note.as_deref(), Some("Satu kode <b>tidak</b> bisa dipakai"));

    // A full refund afterwards is refused, in the admin's language: an order is refunded once.
    shop.press_raw(OWNER, &format!("a:or:rf:{}", order.code))
        .await;
    shop.wait_text(OWNER, "Refund Rp 40.000 dari pesanan").await;
    shop.say(OWNER, "Sisa kode").await;
    shop.wait_text(OWNER, "Refund <b>Rp 40.000</b>").await;
    shop.press_raw(OWNER, "a:y").await;
    shop.wait_text(OWNER, "sudah pernah direfund").await;
    assert_eq!(shop.balance(BUYER).await, 15_000);
    assert_eq!(shop.audit_actors("order.refund").await.len(), 1);
}

#[tokio::test]
async fn an_admin_cancels_marks_paid_and_resends_each_after_a_confirmation() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "menu-ops", 6302).await;
    let first = shop.checkout(BUYER, "ML", 2).await;
    assert_eq!(shop.stock("ML", "available").await, 3);

    // ❌ on the confirmation changes nothing.
    shop.press_raw(OWNER, &format!("a:or:c:{}", first.code))
        .await;
    shop.wait_text(OWNER, "Stoknya kembali dijual").await;
    shop.press_raw(OWNER, "a:x").await;
    shop.wait_text(OWNER, "Dibatalkan. Tidak ada yang berubah.")
        .await;
    assert_eq!(shop.order_status(first.order_id).await, "awaiting_payment");

    shop.press_raw(OWNER, &format!("a:or:c:{}", first.code))
        .await;
    shop.press_raw(OWNER, "a:y").await;
    shop.wait_text(OWNER, "stoknya dijual lagi").await;
    assert_eq!(shop.order_status(first.order_id).await, "cancelled");
    assert_eq!(shop.stock("ML", "available").await, 5);
    shop.wait_text(BUYER, "dibatalkan oleh toko").await;

    let second = shop.checkout(BUYER, "SPT", 1).await;
    shop.press_raw(OWNER, &format!("a:or:mp:{}", second.code))
        .await;
    shop.wait_text(OWNER, "<b>lunas</b>?").await;
    shop.press_raw(OWNER, "a:y").await;
    shop.wait_text(OWNER, "ditandai lunas").await;
    shop.wait_text(BUYER, "spot1@mail.com:rahasia").await;
    shop.press_raw(OWNER, &format!("a:or:rs:{}", second.code))
        .await;
    shop.press_raw(OWNER, "a:y").await;
    shop.wait_text(OWNER, "dikirim ulang").await;
    let title = goods_title(&second.code);
    shop.wait_count(BUYER, &title, 2).await;
    for action in ["order.cancel", "order.mark_paid", "order.resend"] {
        assert_eq!(
            shop.audit_actors(action).await,
            [("telegram".to_owned(), Some(OWNER))],
            "{action}"
        );
    }
}

#[tokio::test]
async fn the_order_list_pages_through_more_orders_than_fit_on_one_screen() {
    let host = spawn_host().await;
    let base = shop::Shop::open(&host, "menu-pages", 6303, json!({})).await;
    let stock: Vec<String> = (0..12).map(|i| format!("kode-{i}")).collect();
    let stock: Vec<&str> = stock.iter().map(String::as_str).collect();
    base.import(shop::sample_catalog(&stock, 10_000)).await;
    let (id, price) = {
        let mut tx = base.tx().await;
        sqlx::query_as::<_, (i64, i64)>("select id, price from products where code = 'NFX'")
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    };
    for user in 0..12 {
        base.press(BUYER + user, Callback::Add { id, qty: 1, price })
            .await;
        base.press(BUYER + user, Callback::Checkout).await;
    }
    let token = bot_token(base.bot);
    host.telegram
        .wait_for("twelve orders", |_| {
            host.telegram.calls(&token, "answerCallbackQuery").len() >= 24
        })
        .await;
    host.telegram.settle().await;

    base.press_raw(OWNER, "a:or").await;
    base.text_containing(OWNER, "Pesanan</b> · Semua").await;
    let first_page = last_buttons(&host, base.bot, OWNER);
    let orders_on_first: Vec<_> = first_page
        .iter()
        .filter(|(_, d)| d.starts_with("a:or:v:"))
        .collect();
    assert_eq!(orders_on_first.len(), 10);
    let older = first_page
        .iter()
        .find(|(label, _)| label.contains("Lebih lama"))
        .expect("a button to older orders")
        .1
        .clone();
    assert!(first_page.iter().all(|(_, data)| data.len() <= 64));
    base.press_raw(OWNER, &older).await;
    host.telegram
        .wait_for("the second page", |_| {
            last_buttons(&host, base.bot, OWNER)
                .iter()
                .any(|(label, _)| label.contains("Terbaru"))
        })
        .await;
    let second_page = last_buttons(&host, base.bot, OWNER);
    let orders_on_second = second_page
        .iter()
        .filter(|(_, d)| d.starts_with("a:or:v:"))
        .count();
    assert_eq!(orders_on_second, 2);
}

#[tokio::test]
async fn an_admin_finds_a_customer_blocks_them_and_adjusts_their_balance_with_a_reason() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "menu-pelanggan", 6304).await;
    shop.say(BUYER, "/start").await;
    shop.texts(BUYER, 1).await;

    shop.press_raw(OWNER, "a:cu").await;
    shop.wait_text(OWNER, "Ketik nama, username atau ID").await;
    shop.say(OWNER, "tidak-ada-yang-begini").await;
    shop.wait_text(OWNER, "Tidak ada pelanggan yang cocok")
        .await;
    shop.say(OWNER, &format!("@budi{BUYER}")).await;
    shop.wait_text(OWNER, "Ditemukan 1 pelanggan").await;
    let found = last_buttons(&host, shop.bot, OWNER);
    assert!(
        found
            .iter()
            .any(|(_, data)| data == &format!("a:cu:v:{BUYER}")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|(_, data)| data == "a:x"),
        "the search can be cancelled"
    );

    shop.press_raw(OWNER, &format!("a:cu:v:{BUYER}")).await;
    shop.wait_text(OWNER, "Saldo: <b>Rp 0</b>").await;
    shop.press_raw(OWNER, &format!("a:cu:b:{BUYER}")).await;
    shop.wait_text(OWNER, "<b>Blokir</b>").await;
    shop.press_raw(OWNER, "a:y").await;
    shop.wait_text(OWNER, "diblokir.").await;
    assert!(shop.blocked(BUYER).await);
    let (product, price) = shop.product("ML").await;
    shop.press(
        BUYER,
        Callback::Add {
            id: product,
            qty: 1,
            price,
        },
    )
    .await;
    shop.press(BUYER, Callback::Checkout).await;
    shop.wait_text(BUYER, "tidak bisa berbelanja").await;
    assert_eq!(shop.last_order(BUYER).await, None);

    // The balance: amount, then reason, then ✅; each wrong answer gets one line.
    shop.press_raw(OWNER, &format!("a:cu:bal:{BUYER}")).await;
    shop.wait_text(OWNER, "Ketik perubahan saldo").await;
    shop.say(OWNER, "nol").await;
    shop.wait_text(OWNER, "Jumlah tidak valid").await;
    shop.say(OWNER, "+25.000").await;
    shop.wait_text(OWNER, "Tulis alasannya").await;
    shop.say(OWNER, "   ").await;
    shop.wait_text(OWNER, "Alasan wajib diisi").await;
    shop.say(OWNER, "Kompensasi gangguan").await;
    shop.wait_text(OWNER, "Rp 0 → Rp 25.000").await;
    assert_eq!(shop.balance(BUYER).await, 0, "nothing changes before ✅");
    shop.press_raw(OWNER, "a:y").await;
    shop.wait_text(OWNER, "Saldo diubah +Rp 25.000").await;
    assert_eq!(shop.balance(BUYER).await, 25_000);
    shop.wait_text(BUYER, "Kompensasi gangguan").await;

    // Taking more than there is: refused, and the balance stays.
    shop.press_raw(OWNER, &format!("a:cu:bal:{BUYER}")).await;
    shop.say(OWNER, "-30000").await;
    shop.wait_text(OWNER, "tidak boleh minus").await;
    shop.press_raw(OWNER, "a:x").await;
    shop.wait_text(OWNER, "Tidak ada yang berubah").await;
    assert_eq!(shop.balance(BUYER).await, 25_000);

    shop.press_raw(OWNER, &format!("a:cu:u:{BUYER}")).await;
    shop.press_raw(OWNER, "a:y").await;
    let texts = shop.wait_text(OWNER, "Blokir Budi dibuka.").await;
    assert!(!shop.blocked(BUYER).await, "{texts:#?}");
    for action in ["customer.block", "customer.unblock", "customer.balance"] {
        assert_eq!(
            shop.audit_actors(action).await,
            [("telegram".to_owned(), Some(OWNER))],
            "{action}"
        );
    }
}

#[tokio::test]
async fn a_customer_forging_order_and_customer_buttons_changes_nothing() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "menu-palsu", 6305).await;
    let intruder = BUYER + 50;
    shop.say(intruder, "/start").await;
    shop.texts(intruder, 1).await;
    let order = shop.checkout(BUYER, "ML", 1).await;
    let before = shop.texts(intruder, 1).await.len();

    let forged = [
        "a:or".to_owned(),
        "a:or:l:-:0".to_owned(),
        format!("a:or:v:{}", order.code),
        format!("a:or:mp:{}", order.code),
        format!("a:or:c:{}", order.code),
        format!("a:or:rp:{}", order.code),
        "a:y".to_owned(),
        "a:cu".to_owned(),
        format!("a:cu:v:{BUYER}"),
        format!("a:cu:b:{BUYER}"),
        format!("a:cu:bal:{intruder}"),
        "a:y".to_owned(),
    ];
    for data in &forged {
        shop.press_raw(intruder, data).await;
    }
    shop.say(intruder, "+1000000").await;
    host.telegram.settle().await;

    let token = bot_token(shop.bot);
    assert!(host.telegram.calls(&token, "answerCallbackQuery").len() >= forged.len());
    let texts = host.telegram.sent_texts(&token, intruder);
    assert!(
        texts[before..]
            .iter()
            .all(|t| !t.contains(&order.code) && !t.contains("Saldo") && !t.contains("Pelanggan")),
        "{texts:?}"
    );
    assert_eq!(shop.order_status(order.order_id).await, "awaiting_payment");
    assert!(!shop.blocked(BUYER).await);
    assert_eq!(shop.balance(intruder).await, 0);
    let mut tx = shop.tx().await;
    // The store's catalog import that set the test up is the only change in the log.
    let audited: i64 =
        sqlx::query_scalar("select count(*) from audit_log where action <> 'catalog.import'")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(audited, 0);
}
