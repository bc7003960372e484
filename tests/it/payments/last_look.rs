//! A payment completed at Pakasir just after we closed its invoice is not lost when its webhook
//! is: the payments job looks once more a little after the close, and the customer's
//! "check status" asks Pakasir rather than only our records.

use tokobot::bot::callbacks::Callback;

use super::{Shop, goods_title, pass_after};
use crate::support::spawn_host;

const BUYER: i64 = 67001;

#[tokio::test]
async fn a_payment_completed_after_the_close_is_settled_by_the_last_look() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-tengok", 3611).await;
    let invoice = shop.buy_by_qris(BUYER, "NFX", 1).await;
    assert_eq!(pass_after(&host, 60).await.closed, 1);
    assert_eq!(shop.payment_status(&invoice.code).await, "expired");
    assert_eq!(shop.stock("NFX", "reserved").await, 0);
    // The customer's bank completed the payment at Pakasir a moment later; no webhook came.
    host.pakasir.pay(&invoice.code);

    let pass = pass_after(&host, 63).await;

    assert_eq!(pass.settled, 1, "{pass:?}");
    assert_eq!(shop.payment_status(&invoice.code).await, "completed");
    shop.wait_text(BUYER, &goods_title(&invoice.code)).await;
    assert_eq!(shop.stock("NFX", "sold").await, 1);
    // That look was the last: Pakasir is not asked about the payment again.
    let asked = host.pakasir.calls().len();
    assert_eq!(pass_after(&host, 180).await, Default::default());
    assert_eq!(host.pakasir.calls().len(), asked);
}

#[tokio::test]
async fn a_closed_invoice_that_stayed_unpaid_is_looked_at_once_and_forgotten() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-tengok-sekali", 3612).await;
    let invoice = shop.buy_by_qris(BUYER, "NFX", 1).await;
    assert_eq!(pass_after(&host, 60).await.closed, 1);
    let details = || {
        host.pakasir
            .calls()
            .iter()
            .filter(|(path, _)| path == "GET /api/transactiondetail")
            .count()
    };
    let before = details();

    pass_after(&host, 63).await;
    pass_after(&host, 180).await;

    assert_eq!(details(), before + 1);
    assert_eq!(shop.payment_status(&invoice.code).await, "expired");
    assert_eq!(shop.order_status(invoice.order_id).await, "expired");
}

#[tokio::test]
async fn check_status_on_a_closed_invoice_asks_pakasir_and_delivers_a_last_moment_payment() {
    let host = spawn_host().await;
    let shop = Shop::open(&host, "toko-cek-lagi", 3613).await;
    let invoice = shop.buy_by_qris(BUYER, "NFX", 1).await;
    assert_eq!(pass_after(&host, 60).await.closed, 1);
    host.pakasir.pay(&invoice.code);
    let payment = shop.payment_id(&invoice.code).await;

    shop.press(BUYER, Callback::CheckPayment { payment }).await;

    shop.answer_containing("Pembayaran ini sudah diterima")
        .await;
    shop.wait_text(BUYER, &goods_title(&invoice.code)).await;
    assert_eq!(shop.payment_status(&invoice.code).await, "completed");
    assert_eq!(shop.stock("NFX", "sold").await, 1);
}
