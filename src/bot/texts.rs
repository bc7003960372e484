//! The bot's message catalogue: every text a customer reads, once per language.
//!
//! Handlers never hold user-facing strings; they ask [`texts`] for the catalogue of the
//! customer's language and fill in values. Store-provided text (names, welcome text) is
//! HTML-escaped here, because every message is sent with `ParseMode::Html`.

use teloxide::utils::html::escape;

use crate::tenants::model::{Locale, Tenant};

/// All texts of one language.
pub struct Texts {
    /// `{name}` is replaced by the store's display name.
    pub welcome_title: &'static str,
    /// Shown when the store has not written its own welcome text.
    pub welcome_default: &'static str,
    pub support_label: &'static str,
    pub choose_language: &'static str,
    pub language_button_id: &'static str,
    pub language_button_en: &'static str,
    pub language_saved: &'static str,
    pub language_unknown: &'static str,
    pub help: &'static str,
    pub unknown_input: &'static str,
    /// `{customers}` and `{sold}` are replaced.
    pub welcome_stats: &'static str,
    // The main keyboard.
    pub menu_products: &'static str,
    pub menu_stock: &'static str,
    pub menu_deposit: &'static str,
    pub menu_info: &'static str,
    pub menu_how_to: &'static str,
    pub menu_admin: &'static str,
    // Browsing.
    pub categories_title: &'static str,
    pub all_products: &'static str,
    pub catalog_empty: &'static str,
    /// `{category}`, `{page}`, `{pages}`.
    pub products_title: &'static str,
    pub back: &'static str,
    pub cart_button: &'static str,
    pub stock_label: &'static str,
    pub sold_out: &'static str,
    pub snk_label: &'static str,
    pub add_to_cart: &'static str,
    /// `{qty}`, `{name}`.
    pub added_to_cart: &'static str,
    pub product_gone: &'static str,
    /// `{price}`.
    pub price_changed_reload: &'static str,
    pub stock_title: &'static str,
    pub stale_button: &'static str,
    // The cart.
    pub cart_title: &'static str,
    pub cart_empty: &'static str,
    pub subtotal: &'static str,
    pub discount: &'static str,
    pub total: &'static str,
    pub coupon_button: &'static str,
    pub clear_button: &'static str,
    pub checkout_button: &'static str,
    pub cart_cleared: &'static str,
    pub enter_coupon: &'static str,
    /// `{code}`.
    pub coupon_saved: &'static str,
    pub coupon_removed: &'static str,
    pub coupon_unknown: &'static str,
    pub coupon_not_yet_valid: &'static str,
    pub coupon_expired: &'static str,
    pub coupon_used_up: &'static str,
    /// `{minimum}`.
    pub coupon_minimum: &'static str,
    pub unavailable_line: &'static str,
    // Checkout.
    pub empty_cart_checkout: &'static str,
    pub prices_changed: &'static str,
    pub accept_prices_button: &'static str,
    pub sold_out_lines: &'static str,
    /// `{name}`, `{wanted}`, `{available}`.
    pub shortage_line: &'static str,
    pub gone_lines: &'static str,
    /// `{code}`, `{total}`, `{until}`.
    pub order_created: &'static str,
    pub pay_qris: &'static str,
    pub pay_balance: &'static str,
    pub cancel_order: &'static str,
    /// `{balance}`, `{total}`.
    pub balance_too_low: &'static str,
    /// `{code}`, `{balance}`.
    pub paid_with_balance: &'static str,
    pub order_cancelled: &'static str,
    pub order_not_found: &'static str,
    pub order_already_paid: &'static str,
    pub order_already_cancelled: &'static str,
    pub order_already_expired: &'static str,
    /// `{code}`.
    pub order_expired_notice: &'static str,
    // Delivery and orders.
    /// `{code}`.
    pub delivery_title: &'static str,
    pub delivery_footer: &'static str,
    pub orders_title: &'static str,
    pub orders_empty: &'static str,
    pub resend_button: &'static str,
    pub status_awaiting: &'static str,
    pub status_paid: &'static str,
    pub status_delivered: &'static str,
    pub status_cancelled: &'static str,
    pub status_expired: &'static str,
    // QRIS payments.
    /// `{minimum}`.
    pub qris_minimum: &'static str,
    pub gateway_down: &'static str,
    pub retry_button: &'static str,
    /// `{code}`.
    pub invoice_order_title: &'static str,
    pub invoice_deposit_title: &'static str,
    /// `{amount}`, `{fee}`, `{total}`, `{until}`.
    pub invoice_lines: &'static str,
    pub check_status_button: &'static str,
    pub cancel_invoice_button: &'static str,
    pub payment_page_button: &'static str,
    pub payment_pending: &'static str,
    pub payment_check_failed: &'static str,
    pub payment_already_done: &'static str,
    pub invoice_gone: &'static str,
    pub cancel_failed: &'static str,
    /// `{code}`, `{total}`.
    pub paid_order: &'static str,
    /// `{code}`.
    pub paid_late_delivered: &'static str,
    /// `{code}`, `{amount}`, `{balance}`.
    pub paid_late_credited: &'static str,
    /// `{amount}`, `{balance}`.
    pub paid_deposit: &'static str,
    /// `{amount}`.
    pub deposit_expired: &'static str,
    /// `{amount}`.
    pub deposit_cancelled: &'static str,
    /// `{subject}`, `{customer}`, `{amount}`, `{fee}`, `{total}`, `{outcome}`.
    pub admin_payment: &'static str,
    /// `{code}`.
    pub admin_subject_order: &'static str,
    pub admin_subject_deposit: &'static str,
    pub outcome_delivered: &'static str,
    pub outcome_late_delivered: &'static str,
    pub outcome_credited: &'static str,
    pub outcome_deposited: &'static str,
    /// `{failures}`, `{error}`.
    pub gateway_alert: &'static str,
    /// `{minimum}`.
    pub deposit_prompt: &'static str,
    /// `{minimum}`, `{maximum}`.
    pub deposit_invalid: &'static str,
    // Terms (SNK).
    /// `{product}`.
    pub snk_title: &'static str,
    pub snk_button: &'static str,
    /// `{product}`.
    pub snk_prompt: &'static str,
    pub snk_empty: &'static str,
    pub snk_received: &'static str,
    pub snk_not_available: &'static str,
    /// `{customer}`, `{code}`, `{product}`, `{text}`.
    pub snk_admin: &'static str,
    pub snk_approve_button: &'static str,
    pub snk_reject_button: &'static str,
    /// `{product}`, `{code}`.
    pub snk_approved: &'static str,
    /// `{product}`, `{code}`.
    pub snk_rejected: &'static str,
    pub snk_decided: &'static str,
    pub snk_already_decided: &'static str,
    pub admins_only: &'static str,
    // Marking paid by hand.
    pub manual_usage: &'static str,
    /// `{code}`.
    pub manual_not_found: &'static str,
    /// `{code}`.
    pub manual_sold_out: &'static str,
    /// `{code}`.
    pub manual_paid_admin: &'static str,
    /// `{code}`.
    pub manual_paid_customer: &'static str,
    // Deposit, info, admin, anti-spam.
    /// `{balance}`.
    pub balance_line: &'static str,
    pub info_default: &'static str,
    pub how_to_default: &'static str,
    /// `{customers}`, `{active}`, `{orders}`, `{revenue}`, `{products}`, `{low}`.
    pub admin_summary: &'static str,
    pub slow_down: &'static str,
}

static ID: Texts = Texts {
    welcome_title: "Selamat datang di <b>{name}</b>!",
    welcome_default: "Belanja produk digital otomatis 24 jam: pilih produk, bayar, dan barang langsung dikirim di chat ini.",
    support_label: "Bantuan",
    choose_language: "Pilih bahasa / Choose your language:",
    language_button_id: "🇮🇩 Bahasa Indonesia",
    language_button_en: "🇬🇧 English",
    language_saved: "Bahasa disimpan: Bahasa Indonesia.",
    language_unknown: "Pilih salah satu tombol bahasa di bawah, atau kirim /start untuk kembali.",
    help: "Perintah:\n/start — menu utama\n/cart — keranjang\n/orders — riwayat pesanan\n/language — ganti bahasa",
    unknown_input: "Maaf, perintah tidak dikenal. Kirim /start untuk membuka menu.",
    welcome_stats: "👥 {customers} pelanggan · 📦 {sold} produk terjual",
    menu_products: "🛍 Semua Produk",
    menu_stock: "🏷 Cek Stok",
    menu_deposit: "💰 Deposit",
    menu_info: "ℹ️ Informasi",
    menu_how_to: "📘 Cara Order",
    menu_admin: "⚙️ Admin Settings",
    categories_title: "🛍 <b>Pilih kategori</b>",
    all_products: "📦 Semua produk",
    catalog_empty: "Belum ada produk di toko ini. Coba lagi nanti ya.",
    products_title: "🛍 <b>{category}</b> (halaman {page}/{pages})",
    back: "⬅️ Kembali",
    cart_button: "🛒 Keranjang",
    stock_label: "Stok",
    sold_out: "Stok habis",
    snk_label: "Syarat & ketentuan",
    add_to_cart: "🛒 Tambah ke keranjang",
    added_to_cart: "✅ {qty}× {name} masuk keranjang",
    product_gone: "Produk ini sudah tidak tersedia.",
    price_changed_reload: "Harga produk ini berubah menjadi {price}. Periksa lagi sebelum menambah.",
    stock_title: "🏷 <b>Stok produk</b>",
    stale_button: "Tombol ini sudah tidak berlaku. Kirim /start untuk membuka menu.",
    cart_title: "🛒 <b>Keranjang</b>",
    cart_empty: "Keranjang kamu masih kosong. Pilih produk lewat 🛍 Semua Produk.",
    subtotal: "Subtotal",
    discount: "Diskon",
    total: "Total",
    coupon_button: "🏷 Kupon",
    clear_button: "🗑 Kosongkan",
    checkout_button: "✅ Checkout",
    cart_cleared: "Keranjang dikosongkan.",
    enter_coupon: "Ketik kode kupon kamu (atau - untuk menghapus kupon).",
    coupon_saved: "Kupon {code} dipasang.",
    coupon_removed: "Kupon dihapus.",
    coupon_unknown: "Kode kupon tidak dikenal.",
    coupon_not_yet_valid: "Kupon ini belum berlaku.",
    coupon_expired: "Kupon ini sudah kedaluwarsa.",
    coupon_used_up: "Kuota kupon ini sudah habis.",
    coupon_minimum: "Kupon ini berlaku untuk belanja minimal {minimum}.",
    unavailable_line: "(tidak tersedia lagi)",
    empty_cart_checkout: "Keranjang kosong, belum ada yang bisa di-checkout. Tambahkan produk dulu ya.",
    prices_changed: "⚠️ Harga berubah sejak kamu menambahkannya ke keranjang:",
    accept_prices_button: "✅ Lanjut dengan harga baru",
    sold_out_lines: "😔 Maaf, stok tidak cukup:",
    shortage_line: "• {name}: diminta {wanted}, tersedia {available}",
    gone_lines: "Produk berikut sudah tidak dijual dan dihapus dari keranjang:",
    order_created: "🧾 <b>Pesanan {code}</b>\nTotal: <b>{total}</b>\nSelesaikan pembayaran sebelum {until}.\nPilih metode pembayaran:",
    pay_qris: "💠 QRIS",
    pay_balance: "💼 Saldo",
    cancel_order: "❌ Batalkan",
    balance_too_low: "Saldo kamu {balance}, kurang untuk total {total}. Isi saldo lewat 💰 Deposit.",
    paid_with_balance: "✅ Pesanan {code} dibayar dengan saldo. Sisa saldo: {balance}. Barang dikirim sekarang.",
    order_cancelled: "❌ Pesanan dibatalkan, stok dikembalikan.",
    order_not_found: "Pesanan tidak ditemukan.",
    order_already_paid: "Pesanan ini sudah dibayar.",
    order_already_cancelled: "Pesanan ini sudah dibatalkan.",
    order_already_expired: "Pesanan ini sudah kedaluwarsa. Silakan checkout ulang.",
    order_expired_notice: "⌛ Pesanan {code} kedaluwarsa karena belum dibayar. Stok dikembalikan.",
    delivery_title: "📦 <b>Pesanan {code}</b> — ini barang kamu:",
    delivery_footer: "Simpan baik-baik ya. Terima kasih sudah berbelanja! 🙏",
    orders_title: "🧾 <b>Pesanan kamu</b>",
    orders_empty: "Kamu belum punya pesanan.",
    resend_button: "📦 Kirim ulang barang",
    status_awaiting: "⏳ Menunggu pembayaran",
    status_paid: "✅ Dibayar",
    status_delivered: "📦 Terkirim",
    status_cancelled: "❌ Dibatalkan",
    status_expired: "⌛ Kedaluwarsa",
    qris_minimum: "Pembayaran QRIS minimal {minimum}. Silakan bayar dengan 💼 Saldo.",
    gateway_down: "⚠️ Gateway pembayaran sedang gangguan, invoice QRIS belum bisa dibuat. Coba lagi sebentar lagi, bayar dengan 💼 Saldo, atau hubungi admin.",
    retry_button: "🔄 Coba lagi",
    invoice_order_title: "💠 <b>Pembayaran QRIS</b> — pesanan <code>{code}</code>",
    invoice_deposit_title: "💠 <b>Deposit saldo lewat QRIS</b>",
    invoice_lines: "Harga: {amount}\nBiaya layanan: {fee}\n<b>Total bayar: {total}</b>\nBayar sebelum: {until}\n\nScan kode QR ini dengan m-banking atau e-wallet apa pun dan bayar tepat sebesar total.",
    check_status_button: "🔄 Cek Status",
    cancel_invoice_button: "❌ Batalkan",
    payment_page_button: "🌐 Halaman pembayaran",
    payment_pending: "⏳ Pembayaran belum diterima. Selesaikan pembayaran lalu cek lagi.",
    payment_check_failed: "⚠️ Status belum bisa dicek sekarang. Kalau sudah bayar, tenang: pembayaran tetap diproses otomatis.",
    payment_already_done: "✅ Pembayaran ini sudah diterima.",
    invoice_gone: "Invoice ini sudah tidak aktif.",
    cancel_failed: "⚠️ Invoice belum bisa dibatalkan sekarang karena gateway gangguan. Coba lagi sebentar lagi.",
    paid_order: "✅ Pembayaran {total} untuk pesanan <code>{code}</code> diterima. Barang dikirim sekarang.",
    paid_late_delivered: "✅ Pembayaran untuk pesanan <code>{code}</code> masuk setelah invoice kedaluwarsa. Stok masih tersedia, jadi barang tetap dikirim sekarang.",
    paid_late_credited: "✅ Pembayaran untuk pesanan <code>{code}</code> masuk setelah pesanan ditutup, dan barangnya sudah habis. Dana {amount} masuk ke saldo kamu (saldo sekarang <b>{balance}</b>) dan bisa dipakai belanja kapan saja.",
    paid_deposit: "✅ Deposit {amount} masuk ke saldo kamu. Saldo sekarang: <b>{balance}</b>.",
    deposit_expired: "⌛ Invoice deposit {amount} kedaluwarsa karena belum dibayar.",
    deposit_cancelled: "❌ Invoice deposit {amount} dibatalkan.",
    admin_payment: "💰 <b>Pembayaran masuk</b>\n{subject}\nPelanggan: <code>{customer}</code>\nHarga {amount} + biaya {fee} = <b>{total}</b>\n{outcome}",
    admin_subject_order: "Pesanan <code>{code}</code>",
    admin_subject_deposit: "Deposit saldo",
    outcome_delivered: "📦 Barang terkirim otomatis.",
    outcome_late_delivered: "📦 Masuk setelah kedaluwarsa; stok masih ada, barang terkirim.",
    outcome_credited: "💼 Masuk setelah pesanan ditutup dan stok habis: dana masuk ke saldo pelanggan.",
    outcome_deposited: "💼 Masuk ke saldo pelanggan.",
    gateway_alert: "⚠️ <b>Gateway Pakasir gagal {failures}× berturut-turut.</b>\nError terakhir: {error}\nPelanggan belum bisa membayar dengan QRIS. Periksa project dan API key di dashboard Pakasir. Pesanan yang sudah dibayar dengan cara lain bisa ditandai lunas dengan /lunas KODE.",
    deposit_prompt: "Ketik jumlah deposit dalam rupiah (minimal {minimum}), contoh: <code>25000</code>.\nKirim /start untuk batal.",
    deposit_invalid: "Jumlah tidak valid. Ketik angka saja, antara {minimum} dan {maximum}.",
    snk_title: "📋 <b>Syarat & ketentuan: {product}</b>",
    snk_button: "✅ Penuhi SNK",
    snk_prompt: "📋 Kirim bukti untuk memenuhi SNK <b>{product}</b>: teks, screenshot, atau screenshot dengan keterangan. Kirim /start untuk batal.",
    snk_empty: "Kirim teks atau screenshot ya, atau /start untuk batal.",
    snk_received: "✅ Terima kasih! Bukti SNK kamu sudah diteruskan ke admin untuk diperiksa.",
    snk_not_available: "SNK ini tidak bisa dipenuhi untuk pesanan tersebut.",
    snk_admin: "📋 <b>Bukti SNK masuk</b>\nPesanan <code>{code}</code> — {product}\nPelanggan: <code>{customer}</code>\n\n{text}",
    snk_approve_button: "✅ Setujui",
    snk_reject_button: "❌ Tolak",
    snk_approved: "✅ Bukti SNK untuk {product} (pesanan <code>{code}</code>) disetujui admin.",
    snk_rejected: "❌ Bukti SNK untuk {product} (pesanan <code>{code}</code>) ditolak admin. Hubungi admin, atau kirim ulang lewat tombol ✅ Penuhi SNK.",
    snk_decided: "Keputusan disimpan.",
    snk_already_decided: "Bukti ini sudah diputuskan sebelumnya.",
    admins_only: "Hanya admin toko yang bisa melakukan ini.",
    manual_usage: "Format: /lunas KODE_PESANAN",
    manual_not_found: "Pesanan {code} tidak ditemukan.",
    manual_sold_out: "Pesanan {code} sudah ditutup dan barangnya habis, jadi tidak bisa ditandai lunas. Kembalikan dana pelanggan lewat saldo.",
    manual_paid_admin: "✅ Pesanan <code>{code}</code> ditandai lunas secara manual; barang dikirim ke pelanggan.",
    manual_paid_customer: "✅ Pembayaran pesanan <code>{code}</code> dikonfirmasi admin. Barang dikirim sekarang.",
    balance_line: "💰 Saldo kamu: <b>{balance}</b>",
    info_default: "Toko ini menjual produk digital dengan pengiriman otomatis 24 jam.",
    how_to_default: "1. Pilih 🛍 Semua Produk\n2. Pilih produk dan jumlahnya, lalu tambah ke keranjang\n3. Buka keranjang dan tekan ✅ Checkout\n4. Bayar dengan QRIS atau saldo\n5. Barang langsung dikirim di chat ini",
    admin_summary: "⚙️ <b>Ringkasan toko</b>\n👥 Pelanggan: {customers} (aktif 7 hari: {active})\n🧾 Pesanan dibayar: {orders}\n💵 Omzet: {revenue}\n📦 Produk aktif: {products}\n⚠️ Stok menipis: {low}\n\nKatalog dikelola lewat API /api/v1/tenants/…/catalog.",
    slow_down: "⏳ Pelan-pelan ya, terlalu banyak permintaan. Coba lagi dalam beberapa detik.",
};

static EN: Texts = Texts {
    welcome_title: "Welcome to <b>{name}</b>!",
    welcome_default: "Digital goods, delivered automatically around the clock: pick a product, pay, and receive it in this chat.",
    support_label: "Support",
    choose_language: "Pilih bahasa / Choose your language:",
    language_button_id: "🇮🇩 Bahasa Indonesia",
    language_button_en: "🇬🇧 English",
    language_saved: "Language saved: English.",
    language_unknown: "Please pick one of the language buttons below, or send /start to go back.",
    help: "Commands:\n/start — main menu\n/cart — your cart\n/orders — your orders\n/language — change language",
    unknown_input: "Sorry, I don't know that command. Send /start to open the menu.",
    welcome_stats: "👥 {customers} customers · 📦 {sold} items sold",
    menu_products: "🛍 All Products",
    menu_stock: "🏷 Check Stock",
    menu_deposit: "💰 Deposit",
    menu_info: "ℹ️ Information",
    menu_how_to: "📘 How to Order",
    menu_admin: "⚙️ Admin Settings",
    categories_title: "🛍 <b>Choose a category</b>",
    all_products: "📦 All products",
    catalog_empty: "This store has no products yet. Please check back later.",
    products_title: "🛍 <b>{category}</b> (page {page}/{pages})",
    back: "⬅️ Back",
    cart_button: "🛒 Cart",
    stock_label: "Stock",
    sold_out: "Sold out",
    snk_label: "Terms",
    add_to_cart: "🛒 Add to cart",
    added_to_cart: "✅ {qty}× {name} added to your cart",
    product_gone: "This product is no longer available.",
    price_changed_reload: "This product's price changed to {price}. Please check it again before adding.",
    stock_title: "🏷 <b>Stock</b>",
    stale_button: "This button has expired. Send /start to open the menu.",
    cart_title: "🛒 <b>Your cart</b>",
    cart_empty: "Your cart is empty. Pick products from 🛍 All Products.",
    subtotal: "Subtotal",
    discount: "Discount",
    total: "Total",
    coupon_button: "🏷 Coupon",
    clear_button: "🗑 Empty cart",
    checkout_button: "✅ Checkout",
    cart_cleared: "Your cart is empty now.",
    enter_coupon: "Type your coupon code (or - to remove the coupon).",
    coupon_saved: "Coupon {code} applied.",
    coupon_removed: "Coupon removed.",
    coupon_unknown: "Unknown coupon code.",
    coupon_not_yet_valid: "This coupon is not valid yet.",
    coupon_expired: "This coupon has expired.",
    coupon_used_up: "This coupon has been used up.",
    coupon_minimum: "This coupon needs an order of at least {minimum}.",
    unavailable_line: "(no longer available)",
    empty_cart_checkout: "Your cart is empty, so there is nothing to check out yet. Add a product first.",
    prices_changed: "⚠️ Prices changed since you added these to your cart:",
    accept_prices_button: "✅ Continue with the new prices",
    sold_out_lines: "😔 Sorry, not enough stock:",
    shortage_line: "• {name}: you asked for {wanted}, {available} available",
    gone_lines: "These products are no longer sold and were removed from your cart:",
    order_created: "🧾 <b>Order {code}</b>\nTotal: <b>{total}</b>\nPlease pay before {until}.\nChoose how to pay:",
    pay_qris: "💠 QRIS",
    pay_balance: "💼 Balance",
    cancel_order: "❌ Cancel",
    balance_too_low: "Your balance is {balance}, not enough for the total of {total}. Top up with 💰 Deposit.",
    paid_with_balance: "✅ Order {code} paid from your balance. Balance left: {balance}. Your goods are on their way.",
    order_cancelled: "❌ Order cancelled; the items are back in stock.",
    order_not_found: "Order not found.",
    order_already_paid: "This order is already paid.",
    order_already_cancelled: "This order was cancelled.",
    order_already_expired: "This order has expired. Please check out again.",
    order_expired_notice: "⌛ Order {code} expired because it was not paid. The items are back in stock.",
    delivery_title: "📦 <b>Order {code}</b> — here are your goods:",
    delivery_footer: "Keep them safe. Thank you for shopping with us! 🙏",
    orders_title: "🧾 <b>Your orders</b>",
    orders_empty: "You have no orders yet.",
    resend_button: "📦 Send the goods again",
    status_awaiting: "⏳ Awaiting payment",
    status_paid: "✅ Paid",
    status_delivered: "📦 Delivered",
    status_cancelled: "❌ Cancelled",
    status_expired: "⌛ Expired",
    qris_minimum: "QRIS payments start at {minimum}. Please pay with 💼 Balance.",
    gateway_down: "⚠️ The payment gateway is having trouble, so no QRIS invoice could be made. Please try again shortly, pay with 💼 Balance, or contact the admin.",
    retry_button: "🔄 Try again",
    invoice_order_title: "💠 <b>QRIS payment</b> — order <code>{code}</code>",
    invoice_deposit_title: "💠 <b>Balance top-up by QRIS</b>",
    invoice_lines: "Price: {amount}\nService fee: {fee}\n<b>Total to pay: {total}</b>\nPay before: {until}\n\nScan this QR code with any banking or e-wallet app and pay exactly the total.",
    check_status_button: "🔄 Check Status",
    cancel_invoice_button: "❌ Cancel",
    payment_page_button: "🌐 Payment page",
    payment_pending: "⏳ No payment yet. Finish paying, then check again.",
    payment_check_failed: "⚠️ The status cannot be checked right now. If you have paid, don't worry: the payment is still processed automatically.",
    payment_already_done: "✅ This payment has been received.",
    invoice_gone: "This invoice is no longer active.",
    cancel_failed: "⚠️ The invoice cannot be cancelled right now because the gateway is having trouble. Please try again shortly.",
    paid_order: "✅ Payment of {total} for order <code>{code}</code> received. Your goods are on their way.",
    paid_late_delivered: "✅ The payment for order <code>{code}</code> arrived after the invoice expired. The items were still in stock, so your goods are on their way.",
    paid_late_credited: "✅ The payment for order <code>{code}</code> arrived after the order had closed, and its items are gone. {amount} was added to your balance (now <b>{balance}</b>) to spend any time.",
    paid_deposit: "✅ {amount} was added to your balance. Balance now: <b>{balance}</b>.",
    deposit_expired: "⌛ The top-up invoice of {amount} expired unpaid.",
    deposit_cancelled: "❌ The top-up invoice of {amount} was cancelled.",
    admin_payment: "💰 <b>Payment received</b>\n{subject}\nCustomer: <code>{customer}</code>\nPrice {amount} + fee {fee} = <b>{total}</b>\n{outcome}",
    admin_subject_order: "Order <code>{code}</code>",
    admin_subject_deposit: "Balance top-up",
    outcome_delivered: "📦 Goods delivered automatically.",
    outcome_late_delivered: "📦 Arrived after expiry; the items were still in stock and were delivered.",
    outcome_credited: "💼 Arrived after the order closed and the items were gone: credited to the customer's balance.",
    outcome_deposited: "💼 Credited to the customer's balance.",
    gateway_alert: "⚠️ <b>The Pakasir gateway failed {failures} times in a row.</b>\nLast error: {error}\nCustomers cannot pay by QRIS. Check the project and API key in the Pakasir dashboard. Orders paid another way can be marked paid with /lunas CODE.",
    deposit_prompt: "Type the amount to top up in rupiah (at least {minimum}), e.g. <code>25000</code>.\nSend /start to cancel.",
    deposit_invalid: "That amount is not valid. Type digits only, between {minimum} and {maximum}.",
    snk_title: "📋 <b>Terms: {product}</b>",
    snk_button: "✅ Fulfil the terms",
    snk_prompt: "📋 Send what fulfils the terms of <b>{product}</b>: a text, a screenshot, or a screenshot with a caption. Send /start to cancel.",
    snk_empty: "Please send a text or a screenshot, or /start to cancel.",
    snk_received: "✅ Thank you! Your submission was passed to the admins for review.",
    snk_not_available: "These terms cannot be fulfilled for that order.",
    snk_admin: "📋 <b>SNK submission</b>\nOrder <code>{code}</code> — {product}\nCustomer: <code>{customer}</code>\n\n{text}",
    snk_approve_button: "✅ Approve",
    snk_reject_button: "❌ Reject",
    snk_approved: "✅ Your submission for {product} (order <code>{code}</code>) was approved.",
    snk_rejected: "❌ Your submission for {product} (order <code>{code}</code>) was rejected. Contact the admin, or send it again with the ✅ Fulfil the terms button.",
    snk_decided: "Decision saved.",
    snk_already_decided: "This submission was already decided.",
    admins_only: "Only the store's admins can do this.",
    manual_usage: "Usage: /lunas ORDER_CODE",
    manual_not_found: "Order {code} was not found.",
    manual_sold_out: "Order {code} has closed and its items are gone, so it cannot be marked paid. Refund the customer to their balance instead.",
    manual_paid_admin: "✅ Order <code>{code}</code> marked paid by hand; the goods went to the customer.",
    manual_paid_customer: "✅ The admin confirmed the payment of order <code>{code}</code>. Your goods are on their way.",
    balance_line: "💰 Your balance: <b>{balance}</b>",
    info_default: "This store sells digital goods, delivered automatically around the clock.",
    how_to_default: "1. Open 🛍 All Products\n2. Pick a product and a quantity, then add it to your cart\n3. Open your cart and press ✅ Checkout\n4. Pay by QRIS or from your balance\n5. Your goods arrive in this chat at once",
    admin_summary: "⚙️ <b>Store summary</b>\n👥 Customers: {customers} (active in 7 days: {active})\n🧾 Paid orders: {orders}\n💵 Revenue: {revenue}\n📦 Active products: {products}\n⚠️ Low stock: {low}\n\nThe catalog is managed through the API /api/v1/tenants/…/catalog.",
    slow_down: "⏳ Easy there, too many requests. Please try again in a few seconds.",
};

/// The catalogue of `locale`.
pub fn texts(locale: Locale) -> &'static Texts {
    match locale {
        Locale::Id => &ID,
        Locale::En => &EN,
    }
}

/// The `/start` welcome of `tenant`, in HTML.
pub fn welcome(tenant: &Tenant, locale: Locale) -> String {
    let t = texts(locale);
    let branding = &tenant.branding;
    let mut title = t
        .welcome_title
        .replace("{name}", &escape(&tenant.display_name));
    if let Some(emoji) = &branding.emoji {
        title = format!("{} {title}", escape(emoji));
    }
    let mut parts = vec![title];
    parts.push(escape(
        branding
            .welcome_text
            .as_deref()
            .unwrap_or(t.welcome_default),
    ));
    if let Some(description) = &branding.description {
        parts.push(escape(description));
    }
    if let Some(contact) = &branding.support_contact {
        parts.push(format!("{}: {}", t.support_label, escape(contact)));
    }
    if let Some(footer) = &branding.footer {
        parts.push(format!("<i>{}</i>", escape(footer)));
    }
    parts.join("\n\n")
}

/// Fills `{name}` placeholders of a catalogue text.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// Which menu button a text is, in either language (a customer may switch language while an
/// old keyboard is still on screen).
pub fn menu_button(text: &str) -> Option<MenuButton> {
    [&ID, &EN].into_iter().find_map(|t| match text {
        x if x == t.menu_products => Some(MenuButton::Products),
        x if x == t.menu_stock => Some(MenuButton::Stock),
        x if x == t.menu_deposit => Some(MenuButton::Deposit),
        x if x == t.menu_info => Some(MenuButton::Info),
        x if x == t.menu_how_to => Some(MenuButton::HowTo),
        x if x == t.menu_admin => Some(MenuButton::Admin),
        _ => None,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MenuButton {
    Products,
    Stock,
    Deposit,
    Info,
    HowTo,
    Admin,
}

/// Which language a language button's text selects, if any. The buttons read the same in
/// every catalogue, so a customer can always find their own language.
pub fn language_from_button(text: &str) -> Option<Locale> {
    match text {
        t if t == ID.language_button_id => Some(Locale::Id),
        t if t == ID.language_button_en => Some(Locale::En),
        _ => None,
    }
}
