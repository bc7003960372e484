//! Texts of the settings area.

use crate::tenants::model::Locale;

pub struct SettingsTexts {
    /// `{ttl}`, `{threshold}`, `{deposit}`, `{unpaid}`, `{fee_payer}`, `{language}`, `{broadcast}`.
    pub title: &'static str,
    pub ttl_button: &'static str,
    pub threshold_button: &'static str,
    pub deposit_button: &'static str,
    /// `{who}`.
    pub fee_button: &'static str,
    pub fee_customer: &'static str,
    pub fee_store: &'static str,
    /// `{language}`.
    pub language_button: &'static str,
    /// `{state}`: whether delivered goods are protected from forwarding and saving.
    pub protect_button: &'static str,
    pub broadcast_button: &'static str,
    pub language_id: &'static str,
    pub language_en: &'static str,
    pub switch_on: &'static str,
    pub switch_off: &'static str,
    pub notify_new_order: &'static str,
    pub notify_low_stock: &'static str,
    pub notify_snk: &'static str,
    pub notify_gateway: &'static str,
    /// `{value}`.
    pub ttl_prompt: &'static str,
    pub ttl_invalid: &'static str,
    /// `{value}`.
    pub threshold_prompt: &'static str,
    pub threshold_invalid: &'static str,
    /// `{value}`.
    pub deposit_prompt: &'static str,
    pub deposit_invalid: &'static str,
    pub unpaid_button: &'static str,
    /// `{value}`.
    pub unpaid_prompt: &'static str,
    pub unpaid_invalid: &'static str,
    /// `{value}`.
    pub broadcast_prompt: &'static str,
    pub broadcast_invalid: &'static str,
    pub saved: &'static str,
}

pub const ID: SettingsTexts = SettingsTexts {
    title: "🔧 <b>Pengaturan toko</b>\n⏱ Batas waktu invoice: {ttl} menit\n⚠️ Batas stok menipis: {threshold}\n💰 Deposit minimum: {deposit}\n🧾 Pesanan belum dibayar per pelanggan: maksimal {unpaid}\n💳 Biaya QRIS ditanggung: {fee_payer}\n🌐 Bahasa bot: {language}\n📣 Kecepatan broadcast: {broadcast} pesan/detik\n\n🔔 Notifikasi untuk pemilik dan admin: tekan untuk menyalakan atau mematikan.",
    ttl_button: "⏱ Batas waktu invoice",
    threshold_button: "⚠️ Batas stok menipis",
    deposit_button: "💰 Deposit minimum",
    fee_button: "💳 Biaya: {who}",
    fee_customer: "pelanggan",
    fee_store: "toko",
    language_button: "🌐 Bahasa: {language}",
    protect_button: "{state} 🔒 Barang tidak bisa diteruskan/disimpan",
    broadcast_button: "📣 Kecepatan broadcast",
    language_id: "Indonesia",
    language_en: "English",
    switch_on: "✅",
    switch_off: "🔕",
    notify_new_order: "Pesanan baru dibayar",
    notify_low_stock: "Stok menipis",
    notify_snk: "SNK baru masuk",
    notify_gateway: "Gangguan gateway",
    ttl_prompt: "Ketik batas waktu invoice dalam menit, 5 sampai 1440. Sekarang: {value}.",
    ttl_invalid: "Ketik angka 5 sampai 1440, misalnya 30.",
    threshold_prompt: "Ketik batas stok menipis, 0 sampai 100000. Sekarang: {value}.",
    threshold_invalid: "Ketik angka 0 sampai 100000, misalnya 5.",
    deposit_prompt: "Ketik deposit minimum dalam rupiah, 1000 sampai 100000000. Sekarang: {value}.",
    deposit_invalid: "Ketik angka 1000 sampai 100000000, misalnya 10000.",
    unpaid_button: "🧾 Batas pesanan belum dibayar",
    unpaid_prompt: "Ketik berapa pesanan belum dibayar yang boleh dimiliki satu pelanggan, 1 sampai 20. Sekarang: {value}.",
    unpaid_invalid: "Ketik angka 1 sampai 20, misalnya 3.",
    broadcast_prompt: "Ketik kecepatan broadcast, 1 sampai 25 pesan per detik. Sekarang: {value}.",
    broadcast_invalid: "Ketik angka 1 sampai 25, misalnya 20.",
    saved: "✅ Pengaturan disimpan.",
};

pub const EN: SettingsTexts = SettingsTexts {
    title: "🔧 <b>Store settings</b>\n⏱ Invoice lifetime: {ttl} minutes\n⚠️ Low-stock threshold: {threshold}\n💰 Deposit minimum: {deposit}\n🧾 Unpaid orders per customer: at most {unpaid}\n💳 QRIS fee paid by: {fee_payer}\n🌐 Bot language: {language}\n📣 Broadcast speed: {broadcast} messages/second\n\n🔔 Notices to the owner and admins: press to switch on or off.",
    ttl_button: "⏱ Invoice lifetime",
    threshold_button: "⚠️ Low-stock threshold",
    deposit_button: "💰 Deposit minimum",
    fee_button: "💳 Fee: {who}",
    fee_customer: "customer",
    fee_store: "store",
    language_button: "🌐 Language: {language}",
    protect_button: "{state} 🔒 Goods cannot be forwarded or saved",
    broadcast_button: "📣 Broadcast speed",
    language_id: "Indonesia",
    language_en: "English",
    switch_on: "✅",
    switch_off: "🔕",
    notify_new_order: "New paid order",
    notify_low_stock: "Low stock",
    notify_snk: "New SNK submission",
    notify_gateway: "Gateway failures",
    ttl_prompt: "Type the invoice lifetime in minutes, 5 to 1440. Now: {value}.",
    ttl_invalid: "Type a number from 5 to 1440, for example 30.",
    threshold_prompt: "Type the low-stock threshold, 0 to 100000. Now: {value}.",
    threshold_invalid: "Type a number from 0 to 100000, for example 5.",
    deposit_prompt: "Type the deposit minimum in rupiah, 1000 to 100000000. Now: {value}.",
    deposit_invalid: "Type a number from 1000 to 100000000, for example 10000.",
    unpaid_button: "🧾 Unpaid orders limit",
    unpaid_prompt: "Type how many unpaid orders one customer may hold, 1 to 20. Now: {value}.",
    unpaid_invalid: "Type a number from 1 to 20, for example 3.",
    broadcast_prompt: "Type the broadcast speed, 1 to 25 messages a second. Now: {value}.",
    broadcast_invalid: "Type a number from 1 to 25, for example 20.",
    saved: "✅ Settings saved.",
};

pub fn of(locale: Locale) -> &'static SettingsTexts {
    match locale {
        Locale::Id => &ID,
        Locale::En => &EN,
    }
}
