//! Texts of the orders area.

use crate::tenants::model::Locale;

pub struct OrdersTexts {
    /// `{filter}`.
    pub title: &'static str,
    pub empty: &'static str,
    pub all: &'static str,
    pub awaiting: &'static str,
    pub paid: &'static str,
    pub delivered: &'static str,
    pub cancelled: &'static str,
    pub expired: &'static str,
    pub newest: &'static str,
    pub older: &'static str,
    /// `{code}`, `{status}`, `{created}`, `{customer}`, `{items}`, `{total}`, `{method}`,
    /// `{payment}`, `{delivery}`, `{refund}`.
    pub view: &'static str,
    pub no_payment: &'static str,
    /// `{status}`, `{total}` (what the customer pays), `{received}` (the base amount, what the
    /// store receives).
    pub payment_line: &'static str,
    pub not_delivered: &'static str,
    /// `{status}`, `{attempts}`.
    pub delivery_line: &'static str,
    /// `{amount}`.
    pub refund_line: &'static str,
    pub mark_paid: &'static str,
    pub cancel: &'static str,
    pub refund_full: &'static str,
    pub refund_part: &'static str,
    pub resend: &'static str,
    /// `{code}`, `{total}`.
    pub confirm_mark_paid: &'static str,
    /// `{code}`.
    pub confirm_cancel: &'static str,
    /// `{code}`, `{amount}`, `{customer}`, `{reason}`.
    pub confirm_refund: &'static str,
    /// `{code}`, `{amount}`.
    pub refund_reason_prompt: &'static str,
    pub reason_missing: &'static str,
    /// `{limit}`.
    pub reason_too_long: &'static str,
    /// `{code}`.
    pub confirm_resend: &'static str,
    /// `{code}`, `{total}`.
    pub refund_amount_prompt: &'static str,
    /// `{total}`.
    pub refund_amount_invalid: &'static str,
    /// `{code}`.
    pub marked_paid: &'static str,
    /// `{code}`.
    pub cancelled_done: &'static str,
    /// `{code}`, `{amount}`, `{balance}`.
    pub refunded: &'static str,
    /// `{code}`.
    pub resent: &'static str,
    /// The filter of orders whose payment is held for review.
    pub review: &'static str,
    /// Under the invoice of an order held for review: `{facts}`.
    pub review_line: &'static str,
}

pub const ID: OrdersTexts = OrdersTexts {
    title: "🧾 <b>Pesanan</b> · {filter}\nPilih pesanan untuk membuka:",
    empty: "🧾 Belum ada pesanan di sini.",
    all: "Semua",
    awaiting: "⏳ Belum bayar",
    paid: "💵 Dibayar",
    delivered: "📦 Terkirim",
    cancelled: "❌ Batal",
    expired: "⌛ Kedaluwarsa",
    newest: "⏮ Terbaru",
    older: "Lebih lama ▶️",
    view: "🧾 <b>{code}</b>\nStatus: {status}\nDibuat: {created}\nPelanggan: {customer}\n\n{items}\n<b>Total: {total}</b>\nBayar dengan: {method}\nInvoice QRIS: {payment}\nPengiriman: {delivery}{refund}",
    no_payment: "-",
    payment_line: "{status} (dibayar {total}, masuk ke toko {received})",
    not_delivered: "belum dikirim",
    delivery_line: "{status} (percobaan {attempts})",
    refund_line: "\n💸 Sudah direfund: {amount}",
    mark_paid: "✅ Tandai lunas",
    cancel: "❌ Batalkan",
    refund_full: "💸 Refund penuh",
    refund_part: "✏️ Refund sebagian",
    resend: "📦 Kirim ulang",
    confirm_mark_paid: "Tandai pesanan <code>{code}</code> ({total}) <b>lunas</b>? Barang langsung dikirim ke pelanggan.",
    confirm_cancel: "<b>Batalkan</b> pesanan <code>{code}</code>? Stoknya kembali dijual; invoice QRIS yang masih terbuka dibatalkan di Pakasir.",
    confirm_refund: "Refund <b>{amount}</b> dari pesanan <code>{code}</code> ke saldo pelanggan <code>{customer}</code>?\nAlasan: {reason}\nRefund hanya bisa sekali per pesanan.",
    refund_reason_prompt: "Refund {amount} dari pesanan <code>{code}</code>. Tulis alasannya (wajib; dicatat di riwayat saldo dan Log Aktivitas).",
    reason_missing: "Alasan wajib diisi. Tulis alasannya.",
    reason_too_long: "Alasan terlalu panjang: paling banyak {limit} karakter.",
    confirm_resend: "Kirim ulang barang pesanan <code>{code}</code> ke pelanggan?",
    refund_amount_prompt: "Ketik jumlah refund untuk pesanan <code>{code}</code> (1 sampai {total}), contoh: <code>10000</code>.",
    refund_amount_invalid: "Jumlah tidak valid. Ketik angka dari 1 sampai {total}.",
    marked_paid: "✅ Pesanan <code>{code}</code> ditandai lunas; barang dikirim ke pelanggan.",
    cancelled_done: "❌ Pesanan <code>{code}</code> dibatalkan; stoknya dijual lagi.",
    refunded: "💸 {amount} dari pesanan <code>{code}</code> masuk ke saldo pelanggan (saldo sekarang {balance}). Pelanggan sudah diberi tahu.",
    resent: "📦 Barang pesanan <code>{code}</code> dikirim ulang.",
    review: "⚠️ Perlu dicek",
    review_line: "\n⚠️ Perlu dicek: data di Pakasir berbeda ({facts}; nilai Pakasir lebih dulu). Lihat transaksinya di dashboard Pakasir, lalu tandai lunas kalau pelanggan sudah membayar, atau biarkan pesanan berakhir sendiri.",
};

pub const EN: OrdersTexts = OrdersTexts {
    title: "🧾 <b>Orders</b> · {filter}\nChoose an order to open it:",
    empty: "🧾 No orders here yet.",
    all: "All",
    awaiting: "⏳ Unpaid",
    paid: "💵 Paid",
    delivered: "📦 Delivered",
    cancelled: "❌ Cancelled",
    expired: "⌛ Expired",
    newest: "⏮ Newest",
    older: "Older ▶️",
    view: "🧾 <b>{code}</b>\nStatus: {status}\nCreated: {created}\nCustomer: {customer}\n\n{items}\n<b>Total: {total}</b>\nPaid with: {method}\nQRIS invoice: {payment}\nDelivery: {delivery}{refund}",
    no_payment: "-",
    payment_line: "{status} (paid {total}, the store receives {received})",
    not_delivered: "not sent",
    delivery_line: "{status} (attempt {attempts})",
    refund_line: "\n💸 Refunded: {amount}",
    mark_paid: "✅ Mark paid",
    cancel: "❌ Cancel",
    refund_full: "💸 Full refund",
    refund_part: "✏️ Partial refund",
    resend: "📦 Resend",
    confirm_mark_paid: "Mark order <code>{code}</code> ({total}) <b>paid</b>? The goods go to the customer at once.",
    confirm_cancel: "<b>Cancel</b> order <code>{code}</code>? Its stock goes back on sale; an open QRIS invoice is cancelled at Pakasir.",
    confirm_refund: "Refund <b>{amount}</b> of order <code>{code}</code> to the balance of customer <code>{customer}</code>?\nReason: {reason}\nAn order can be refunded only once.",
    refund_reason_prompt: "A refund of {amount} from order <code>{code}</code>. Type the reason (required; it is kept in the balance history and the activity log).",
    reason_missing: "A reason is required. Type the reason.",
    reason_too_long: "The reason is too long: at most {limit} characters.",
    confirm_resend: "Send the goods of order <code>{code}</code> to the customer again?",
    refund_amount_prompt: "Type the amount to refund for order <code>{code}</code> (1 to {total}), e.g. <code>10000</code>.",
    refund_amount_invalid: "Not a valid amount. Type a number from 1 to {total}.",
    marked_paid: "✅ Order <code>{code}</code> marked paid; the goods went to the customer.",
    cancelled_done: "❌ Order <code>{code}</code> cancelled; its stock is on sale again.",
    refunded: "💸 {amount} of order <code>{code}</code> went to the customer's balance (now {balance}). The customer has been told.",
    resent: "📦 The goods of order <code>{code}</code> were sent again.",
    review: "⚠️ To check",
    review_line: "\n⚠️ To check: Pakasir's record differs ({facts}; Pakasir's value first). Look the transaction up in the Pakasir dashboard, then mark the order paid if the customer paid, or let it end by itself.",
};

pub fn of(locale: Locale) -> &'static OrdersTexts {
    match locale {
        Locale::Id => &ID,
        Locale::En => &EN,
    }
}
