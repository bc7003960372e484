//! The admin menu's texts. Unlike the customer catalogue (one file per language), each admin
//! area keeps its texts in one file with both languages side by side: an area's screens are
//! written and reviewed together, and the two languages cannot drift apart unnoticed.
//!
//! Each area file has a struct of texts, `ID` and `EN` values of it and `of(locale)`. This file
//! holds what every area shares: the menu, the dialogue buttons and the common answers.

pub mod admins;
pub mod audit;
pub mod backup;
pub mod broadcast;
pub mod coupons;
pub mod customers;
pub mod orders;
pub mod products;
pub mod refusals;
pub mod settings;
pub mod snk;
pub mod stock;
pub mod templates;

use crate::tenants::model::Locale;

pub struct AdminTexts {
    /// The menu header: `{customers}`, `{active}`, `{orders}`, `{revenue}`, `{products}`, `{low}`.
    pub menu_title: &'static str,
    pub area_products: &'static str,
    pub area_stock: &'static str,
    pub area_orders: &'static str,
    pub area_customers: &'static str,
    pub area_templates: &'static str,
    pub area_coupons: &'static str,
    pub area_settings: &'static str,
    pub area_admins: &'static str,
    pub area_backup: &'static str,
    pub area_snk: &'static str,
    pub area_audit: &'static str,
    pub area_broadcast: &'static str,
    pub cancel_button: &'static str,
    pub confirm_button: &'static str,
    pub back_to_menu: &'static str,
    pub back: &'static str,
    pub previous: &'static str,
    pub next: &'static str,
    /// Under every question: how to get out of it.
    pub cancel_hint: &'static str,
    pub cancelled: &'static str,
    pub confirm_question: &'static str,
    /// A button or an answer that belongs to a dialogue which has already ended.
    pub stale: &'static str,
    pub owner_only: &'static str,
    pub text_expected: &'static str,
    pub empty_list: &'static str,
    /// `{page}`, `{pages}`.
    pub page: &'static str,
}

pub const ID: AdminTexts = AdminTexts {
    menu_title: "⚙️ <b>Menu Admin</b>\n👥 Pelanggan: {customers} (aktif 7 hari: {active})\n🧾 Pesanan dibayar: {orders}\n💵 Omzet: {revenue}\n📦 Produk aktif: {products}\n⚠️ Stok menipis: {low}\n\nPilih menu:",
    area_products: "📦 Produk & Kategori",
    area_stock: "🗃 Stok",
    area_orders: "🧾 Pesanan",
    area_customers: "👥 Pelanggan",
    area_templates: "📝 Template Pesan",
    area_coupons: "🏷 Kupon",
    area_settings: "🔧 Pengaturan",
    area_admins: "🛡 Admin",
    area_backup: "💾 Backup & Restore",
    area_snk: "📋 Review SNK",
    area_audit: "📜 Log Aktivitas",
    area_broadcast: "📣 Broadcast",
    cancel_button: "❌ Batal",
    confirm_button: "✅ Ya, simpan",
    back_to_menu: "⬅️ Menu Admin",
    back: "⬅️ Kembali",
    previous: "◀️",
    next: "▶️",
    cancel_hint: "Ketik /batal atau tekan ❌ Batal untuk membatalkan.",
    cancelled: "Dibatalkan. Tidak ada yang berubah.",
    confirm_question: "Simpan perubahan ini?",
    stale: "Tombol ini sudah tidak berlaku. Buka lagi dari ⚙️ Admin Settings.",
    owner_only: "Hanya pemilik toko yang bisa melakukan ini.",
    text_expected: "Kirim jawabannya sebagai teks.",
    empty_list: "Belum ada data.",
    page: "Halaman {page}/{pages}",
};

pub const EN: AdminTexts = AdminTexts {
    menu_title: "⚙️ <b>Admin Menu</b>\n👥 Customers: {customers} (active in 7 days: {active})\n🧾 Paid orders: {orders}\n💵 Revenue: {revenue}\n📦 Active products: {products}\n⚠️ Low stock: {low}\n\nChoose an area:",
    area_products: "📦 Products & Categories",
    area_stock: "🗃 Stock",
    area_orders: "🧾 Orders",
    area_customers: "👥 Customers",
    area_templates: "📝 Message Templates",
    area_coupons: "🏷 Coupons",
    area_settings: "🔧 Settings",
    area_admins: "🛡 Admins",
    area_backup: "💾 Backup & Restore",
    area_snk: "📋 SNK Review",
    area_audit: "📜 Activity Log",
    area_broadcast: "📣 Broadcast",
    cancel_button: "❌ Cancel",
    confirm_button: "✅ Yes, save",
    back_to_menu: "⬅️ Admin Menu",
    back: "⬅️ Back",
    previous: "◀️",
    next: "▶️",
    cancel_hint: "Type /cancel or press ❌ Cancel to stop.",
    cancelled: "Cancelled. Nothing changed.",
    confirm_question: "Save this change?",
    stale: "This button has expired. Open it again from ⚙️ Admin Settings.",
    owner_only: "Only the store's owner can do this.",
    text_expected: "Send the answer as text.",
    empty_list: "Nothing here yet.",
    page: "Page {page}/{pages}",
};

pub fn of(locale: Locale) -> &'static AdminTexts {
    match locale {
        Locale::Id => &ID,
        Locale::En => &EN,
    }
}
