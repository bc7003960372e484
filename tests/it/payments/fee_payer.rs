//! Who bears Pakasir's fee (`settings.fee_payer`), end to end with the fake Pakasir: with
//! `customer` the fee comes on top of the price; with `store` the invoice's base amount is chosen
//! from the fee table so that the customer pays the price or just under it, the webhook is
//! checked against that base amount, and the stats show what the store received.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Invoiced, OWNER, Shop, goods_title};
use crate::support::{TestHost, shop, spawn_host};

const BUYER: i64 = 68001;

/// The base amount of the invoice Pakasir was asked to create for `code`.
fn created_amount(host: &TestHost, code: &str) -> i64 {
    host.pakasir
        .calls()
        .iter()
        .find(|(path, body)| path == "POST /api/transactioncreate/qris" && body["order_id"] == code)
        .and_then(|(_, body)| body["amount"].as_i64())
        .expect("an invoice was created at Pakasir")
}

async fn stats(host: &TestHost, slug: &str) -> Value {
    let token = host.owner_token(slug).await;
    let path = format!("/api/v1/tenants/{slug}/stats");
    let (status, stats) = host.api(Method::GET, &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    stats
}

/// The invoice's (base amount, fee, total to pay) as recorded, and the order's total.
async fn recorded(shop: &Shop<'_>, invoice: &Invoiced) -> (i64, i64, i64, i64) {
    let mut tx = shop.tx().await;
    sqlx::query_as(
        "select p.amount, p.fee, p.total_payment, o.total from payments p \
         join orders o on o.id = p.order_id where p.gateway_order_id = $1",
    )
    .bind(&invoice.code)
    .fetch_one(&mut *tx)
    .await
    .unwrap()
}

#[tokio::test]
async fn when_the_store_bears_the_fee_the_customer_pays_at_most_the_price() {
    let host = spawn_host().await;
    let slug = "toko-tanggung-biaya";
    let settings = json!({"settings": {"fee_payer": "store"}});
    let base = shop::Shop::open(&host, slug, 3621, settings).await;
    base.import(super::catalog()).await;
    let shop = Shop { base };

    let invoice = shop.buy_by_qris(BUYER, "NFX", 1).await;

    // 24.518 + Pakasir's 0,7% + Rp310 (rounded as Pakasir rounds) is Rp24.999.
    assert_eq!(created_amount(&host, &invoice.code), 24_518);
    let (amount, fee, total_payment, price) = recorded(&shop, &invoice).await;
    assert_eq!((amount, price), (24_518, 25_000));
    assert_eq!(total_payment, amount + fee);
    assert!(total_payment <= price, "the customer pays {total_payment}");
    let photos = shop.photos(BUYER);
    let caption = photos.last().unwrap().body["caption"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(caption.contains("Harga: Rp 25.000"), "{caption}");
    assert!(caption.contains("ditanggung toko"), "{caption}");
    assert!(
        caption.contains(&format!("Total bayar: Rp 24.{:03}", total_payment - 24_000)),
        "{caption}"
    );
    assert!(!caption.contains("24.518"), "{caption}");

    // Pakasir's webhook repeats the base amount, and it is accepted (no pass ran: the goods
    // can only have come through it).
    let paid = Invoiced { amount, ..invoice };
    shop.simulate_payment(&paid).await;
    shop.wait_text(BUYER, &goods_title(&paid.code)).await;
    assert_eq!(shop.payment_status(&paid.code).await, "completed");

    let stats = stats(&host, slug).await;
    assert_eq!(stats["orders"]["received"], 24_518, "{stats}");
}

#[tokio::test]
async fn when_the_customer_bears_the_fee_it_comes_on_top_of_the_price() {
    let host = spawn_host().await;
    let slug = "toko-biaya-pembeli";
    let shop = Shop::open(&host, slug, 3622).await;

    let invoice = shop.buy_by_qris(BUYER, "SPT", 1).await;

    assert_eq!(created_amount(&host, &invoice.code), 15_000);
    let (amount, fee, total_payment, price) = recorded(&shop, &invoice).await;
    assert_eq!(
        (amount, fee, total_payment, price),
        (15_000, 415, 15_415, 15_000)
    );
    let photos = shop.photos(BUYER);
    let caption = photos.last().unwrap().body["caption"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(caption.contains("Biaya layanan: Rp 415"), "{caption}");
    assert!(caption.contains("Total bayar: Rp 15.415"), "{caption}");

    shop.simulate_payment(&invoice).await;
    shop.wait_text(BUYER, &goods_title(&invoice.code)).await;
    assert_eq!(shop.payment_status(&invoice.code).await, "completed");

    let stats = stats(&host, slug).await;
    assert_eq!(stats["orders"]["received"], 15_000, "{stats}");
}

#[tokio::test]
async fn when_the_store_bears_the_fee_every_total_shows_what_the_customer_paid_and_the_store_receives()
 {
    let host = spawn_host().await;
    let slug = "toko-tanggung-semua";
    let settings = json!({"settings": {"fee_payer": "store"}});
    let base = shop::Shop::open(&host, slug, 3623, settings).await;
    base.import(super::catalog()).await;
    let shop = Shop { base };
    let invoice = shop.buy_by_qris(BUYER, "NFX", 1).await;
    let (amount, _, total_payment, price) = recorded(&shop, &invoice).await;
    assert_eq!((amount, price), (24_518, 25_000));
    let paid = format!("Rp 24.{:03}", total_payment - 24_000);
    let code = invoice.code.clone();

    shop.simulate_payment(&Invoiced { amount, ..invoice }).await;

    // The customer's receipt: what they paid.
    let receipt = shop.wait_text(BUYER, "Pembayaran Rp").await;
    assert!(
        receipt
            .iter()
            .any(|t| t.contains(&format!("Pembayaran {paid}"))),
        "{receipt:#?}"
    );
    // The staff's notice: what the customer paid, the price, and what the store receives;
    // never the base amount as the price.
    let texts = shop.wait_text(OWNER, "Pembayaran masuk").await;
    let notice = texts
        .iter()
        .find(|t| t.contains("Pembayaran masuk"))
        .unwrap();
    assert!(
        notice.contains(&format!(
            "Dibayar pelanggan <b>{paid}</b> (harga Rp 25.000)"
        )),
        "{notice}"
    );
    assert!(
        notice.contains("Masuk ke toko: <b>Rp 24.518</b>"),
        "{notice}"
    );
    assert!(!notice.contains("Harga Rp 24.518"), "{notice}");

    // The API's order: the price as the total, the invoice's base as what the store receives.
    let token = host.owner_token(slug).await;
    let path = format!("/api/v1/tenants/{slug}/orders/{code}");
    let (status, order) = host.api(Method::GET, &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{order}");
    assert_eq!(order["total"], 25_000, "{order}");
    assert_eq!(order["payment"]["amount"], 24_518, "{order}");
    assert_eq!(order["payment"]["total_payment"], total_payment, "{order}");
    // The stats: revenue at the price, received at the base.
    let stats = stats(&host, slug).await;
    assert_eq!(stats["orders"]["received"], 24_518, "{stats}");
    assert_eq!(
        stats["orders"]["revenue_by_status"]["paid"]
            .as_i64()
            .unwrap_or(0)
            + stats["orders"]["revenue_by_status"]["delivered"]
                .as_i64()
                .unwrap_or(0),
        25_000,
        "{stats}"
    );
}

#[tokio::test]
async fn a_late_payment_of_a_store_fee_order_credits_and_tells_what_the_customer_paid() {
    let host = spawn_host().await;
    let settings = json!({"settings": {"fee_payer": "store"}});
    let base = shop::Shop::open(&host, "toko-tanggung-telat", 3624, settings).await;
    base.import(super::catalog()).await;
    let shop = Shop { base };
    let late = shop.buy_by_qris(BUYER, "SPT", 1).await;
    let (amount, _, total_payment, price) = recorded(&shop, &late).await;
    assert!(amount < total_payment && total_payment <= price);
    assert_eq!(super::pass_after(&host, 60).await.closed, 1);
    // Meanwhile another customer buys the last Spotify account.
    let sold = shop.buy_by_qris(BUYER + 1, "SPT", 1).await;
    let (sold_amount, ..) = recorded(&shop, &sold).await;
    let sold = Invoiced {
        amount: sold_amount,
        ..sold
    };
    shop.simulate_payment(&sold).await;
    shop.wait_text(BUYER + 1, &goods_title(&sold.code)).await;

    host.pakasir.pay(&late.code);
    assert_eq!(host.pakasir.fire_webhook(&late.code).await, Ok(200));

    // The balance gets what the customer paid, and both notices say that amount.
    let paid = format!("Rp 14.{:03}", total_payment - 14_000);
    let texts = shop.wait_text(BUYER, "masuk ke saldo kamu").await;
    assert!(
        texts
            .iter()
            .any(|t| t.contains(&format!("Dana {paid} masuk"))),
        "{texts:#?}"
    );
    assert_eq!(shop.balance(BUYER).await, total_payment);
    let texts = shop.wait_text(OWNER, "dana masuk ke saldo pelanggan").await;
    let notice = texts
        .iter()
        .find(|t| t.contains("dana masuk ke saldo pelanggan"))
        .unwrap();
    assert!(
        notice.contains(&format!(
            "Dibayar pelanggan <b>{paid}</b> (harga Rp 15.000)"
        )),
        "{notice}"
    );
}
