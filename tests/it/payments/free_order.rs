//! An order whose total is zero (a coupon covers all of it) cannot be paid at Pakasir (its
//! minimum is Rp500) nor from the balance (the ledger books no zero amounts): it is paid at
//! checkout and followed up as every paid order is.

use tokobot::bot::callbacks::Callback;

use super::{OWNER, Shop, goods_title};
use crate::support::spawn_host;

const BUYER: i64 = 69001;

#[tokio::test]
async fn an_order_a_coupon_makes_free_is_paid_at_checkout_without_an_invoice() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-gratis", 3631).await;
    {
        let mut tx = shop.tx().await;
        sqlx::query(
            "insert into coupons (tenant_id, code, kind, value) values ($1, 'GRATIS', 'percent', 100)",
        )
        .bind(shop.tenant)
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let (id, price) = shop.product("ML").await;
    shop.press(BUYER, Callback::Add { id, qty: 2, price }).await;
    shop.press(BUYER, Callback::Coupon).await;
    shop.text_containing(BUYER, "Ketik kode kupon").await;
    shop.say(BUYER, "gratis").await;
    shop.text_containing(BUYER, "Diskon (GRATIS)").await;

    shop.press(BUYER, Callback::Checkout).await;

    let paid = shop.text_containing(BUYER, "langsung lunas").await;
    let (code, total, method): (String, i64, Option<String>) = {
        let mut tx = shop.tx().await;
        sqlx::query_as(
            "select code, total, payment_method from orders where customer_id = $1 \
             order by id desc limit 1",
        )
        .bind(BUYER)
        .fetch_one(&mut *tx)
        .await
        .expect("the checkout created an order")
    };
    assert_eq!(total, 0);
    assert_eq!(method.as_deref(), Some("free"));
    assert!(paid.contains(&code), "{paid}");
    shop.wait_text(BUYER, &goods_title(&code)).await;
    shop.wait_text(OWNER, "gratis (total Rp0)").await;
    let (_, status, _) = shop.last_order(BUYER).await.expect("an order");
    assert!(matches!(status.as_str(), "paid" | "delivered"), "{status}");
    assert_eq!(shop.stock("ML", "sold").await, 2);
    let invoices = host.pakasir.calls().into_iter();
    assert_eq!(
        invoices
            .filter(|(path, _)| path.contains("transactioncreate"))
            .count(),
        0
    );
    assert_eq!(shop.outbox_rows("deliver_order").await, 1);
}
