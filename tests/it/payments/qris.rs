//! A QRIS purchase from invoice to delivery.

use image::ImageFormat;
use tokobot::bot::callbacks::Callback;

use super::{OWNER, Shop, goods_title};
use crate::support::spawn_host;

const BUYER: i64 = 61001;

#[tokio::test]
async fn a_qris_purchase_sends_the_invoice_then_delivers_goods_and_terms_and_tells_the_admins() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-qris", 3101).await;

    let invoice = shop.buy_by_qris(BUYER, "NFX", 1).await;

    // The invoice: a photo with price, fee, total, expiry and the three buttons.
    let photo = shop.photos(BUYER).pop().expect("the invoice photo");
    let caption = photo.body["caption"].as_str().unwrap();
    assert!(caption.contains(&invoice.code), "{caption}");
    assert!(caption.contains("Harga: Rp 25.000"), "{caption}");
    // 25.000 × 0,7% + 310 = 485.
    assert!(caption.contains("Biaya layanan: Rp 485"), "{caption}");
    assert!(caption.contains("Total bayar: Rp 25.485"), "{caption}");
    assert!(
        caption.contains("WIB"),
        "expiry in the store's time zone: {caption}"
    );
    let keyboard = photo.body["reply_markup"]["inline_keyboard"].to_string();
    assert!(keyboard.contains("🔄 Cek Status"), "{keyboard}");
    assert!(keyboard.contains("❌ Batalkan"), "{keyboard}");
    assert!(
        keyboard.contains(&format!(
            "/pay/proj-toko-qris/25000?order_id={}",
            invoice.code
        )),
        "{keyboard}"
    );
    let (fee, total, number): (i64, i64, String) = {
        let mut tx = shop.tx().await;
        sqlx::query_as(
            "select fee, total_payment, payment_number from payments where gateway_order_id = $1",
        )
        .bind(&invoice.code)
        .fetch_one(&mut *tx)
        .await
        .unwrap()
    };
    assert_eq!((fee, total), (485, 25_485));
    assert_eq!(shop.payment_status(&invoice.code).await, "pending");
    // Pakasir was asked for the base amount.
    let create = host
        .pakasir
        .calls()
        .into_iter()
        .find(|(path, _)| path.contains("transactioncreate"));
    assert_eq!(create.expect("a create call").1["amount"], 25_000);
    assert_ne!(number, "");

    shop.simulate_payment(&invoice).await;

    let texts = shop.wait_text(BUYER, "nfx1@mail.com:pass1").await;
    assert!(
        texts
            .iter()
            .any(|t| t.contains(&goods_title(&invoice.code))),
        "{texts:#?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("Pembayaran Rp 25.485") && t.contains(&invoice.code)),
        "{texts:#?}"
    );
    shop.wait_text(BUYER, "Kirim screenshot login").await;
    let terms = host
        .telegram
        .calls(&shop.token(), "sendmessage")
        .into_iter()
        .find(|r| {
            r.body["text"]
                .as_str()
                .is_some_and(|t| t.contains("Kirim screenshot login"))
        })
        .expect("the terms were sent");
    let button = terms.body["reply_markup"]["inline_keyboard"][0][0].clone();
    assert_eq!(button["text"], "✅ Penuhi SNK");
    let (product, _) = shop.product("NFX").await;
    assert_eq!(
        button["callback_data"],
        Callback::SnkFulfil {
            order: invoice.order_id,
            product
        }
        .to_string()
    );
    let admin = shop.wait_text(OWNER, "Pembayaran masuk").await;
    assert!(
        admin
            .iter()
            .any(|t| t.contains(&invoice.code) && t.contains("Rp 25.485")),
        "{admin:#?}"
    );

    // The invoice photo is taken out of the chat.
    let photo_id = photo.body["chat_id"].clone();
    host.telegram
        .wait_for("the invoice photo deleted", |requests| {
            requests
                .iter()
                .any(|r| r.method == "deletemessage" && r.body["chat_id"] == photo_id)
        })
        .await;
    assert_eq!(shop.payment_status(&invoice.code).await, "completed");
    assert_eq!(shop.stock("NFX", "sold").await, 1);
    assert_eq!(shop.stock("NFX", "available").await, 1);
    assert_eq!(
        shop.count_texts(BUYER, &goods_title(&invoice.code)).await,
        1
    );
}

#[tokio::test]
async fn the_invoice_png_decodes_back_to_exactly_the_payment_number() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-png", 3102).await;

    let invoice = shop.buy_by_qris(BUYER, "SPT", 1).await;

    let photo = shop.photos(BUYER).pop().expect("the invoice photo");
    let (_, png) = photo
        .files
        .iter()
        .find(|(field, _)| field == "photo")
        .expect("the photo was uploaded");
    let image = image::load_from_memory_with_format(png, ImageFormat::Png)
        .expect("a PNG")
        .to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    let (_, content) = grids[0].decode().expect("the QR code decodes");
    let number: String = {
        let mut tx = shop.tx().await;
        sqlx::query_scalar("select payment_number from payments where gateway_order_id = $1")
            .bind(&invoice.code)
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    };
    assert_eq!(content, number);
    // The payload asks for the total: 15.000 + 0,7% + 310.
    let info = tokobot::pakasir::qris::check(&number).expect("a valid payload");
    assert_eq!(info.amount, Some(15_415));
}

#[tokio::test]
async fn check_status_says_pending_and_cancel_ends_the_invoice_at_pakasir_and_releases_the_stock() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-batal", 3103).await;
    let invoice = shop.buy_by_qris(BUYER, "NFX", 1).await;
    let payment = shop.payment_id(&invoice.code).await;

    shop.press(BUYER, Callback::CheckPayment { payment }).await;
    host.telegram
        .wait_for("the status answer", |requests| {
            requests.iter().any(|r| {
                r.method == "answercallbackquery"
                    && r.body["text"]
                        .as_str()
                        .is_some_and(|t| t.contains("belum diterima"))
            })
        })
        .await;
    shop.press(BUYER, Callback::CancelPayment { payment }).await;
    shop.wait_text(BUYER, "Pesanan dibatalkan").await;

    assert_eq!(
        host.pakasir.status_of(&invoice.code).as_deref(),
        Some("cancelled")
    );
    assert_eq!(shop.payment_status(&invoice.code).await, "cancelled");
    assert_eq!(shop.order_status(invoice.order_id).await, "cancelled");
    assert_eq!(shop.stock("NFX", "available").await, 2);
    // A payment made anyway (Pakasir's own race) is still honoured.
    host.pakasir.pay(&invoice.code);
    assert_eq!(host.pakasir.fire_webhook(&invoice.code).await, Ok(200));
    shop.wait_text(BUYER, &super::goods_title(&invoice.code))
        .await;
}

#[tokio::test]
async fn paying_from_the_balance_withdraws_the_qris_invoice() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-saldo", 3104).await;
    shop.credit(BUYER, 50_000).await;
    let invoice = shop.buy_by_qris(BUYER, "NFX", 1).await;

    shop.press(
        BUYER,
        Callback::PayBalance {
            order: invoice.order_id,
        },
    )
    .await;

    shop.wait_text(BUYER, &super::goods_title(&invoice.code))
        .await;
    let pakasir = host.pakasir.clone();
    let code = invoice.code.clone();
    host.telegram
        .wait_for("the invoice cancelled at Pakasir", |_| {
            pakasir.status_of(&code).as_deref() == Some("cancelled")
        })
        .await;
    let shop_ref = &shop;
    host.telegram
        .wait_for("the invoice photo deleted", |requests| {
            requests
                .iter()
                .any(|r| r.token == shop_ref.token() && r.method == "deletemessage")
        })
        .await;
    assert_eq!(shop.count_texts(BUYER, "Pesanan dibatalkan").await, 0);
    assert_eq!(shop.count_texts(BUYER, "kedaluwarsa").await, 0);
}
