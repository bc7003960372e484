//! Texts of the customers area.

use crate::tenants::model::Locale;

pub struct CustomersTexts {
    pub search_prompt: &'static str,
    /// `{count}`.
    pub results: &'static str,
    /// `{shown}`.
    pub more_results: &'static str,
    pub no_results: &'static str,
    /// `{limit}`.
    pub query_too_long: &'static str,
    /// `{name}`, `{username}`, `{id}`, `{status}`, `{balance}`, `{orders}`, `{paid}`, `{spent}`,
    /// `{first}`, `{last}`, `{recent}`.
    pub profile: &'static str,
    pub status_active: &'static str,
    pub status_blocked: &'static str,
    pub status_left: &'static str,
    pub no_orders: &'static str,
    pub block: &'static str,
    pub unblock: &'static str,
    pub adjust: &'static str,
    pub search_again: &'static str,
    /// `{name}`, `{id}`.
    pub confirm_block: &'static str,
    /// `{name}`, `{id}`.
    pub confirm_unblock: &'static str,
    /// `{name}`, `{balance}`.
    pub amount_prompt: &'static str,
    /// `{limit}`.
    pub amount_invalid: &'static str,
    /// `{amount}`.
    pub reason_prompt: &'static str,
    pub reason_missing: &'static str,
    /// `{limit}`.
    pub reason_too_long: &'static str,
    /// `{name}`, `{id}`, `{amount}`, `{before}`, `{after}`, `{reason}`.
    pub confirm_adjust: &'static str,
    /// `{name}`.
    pub blocked: &'static str,
    /// `{name}`.
    pub unblocked: &'static str,
    /// `{amount}`, `{balance}`.
    pub adjusted: &'static str,
    /// `{balance}`, `{amount}`.
    pub balance_too_low: &'static str,
}

pub const ID: CustomersTexts = CustomersTexts {
    search_prompt: "👥 <b>Pelanggan</b>\nKetik nama, username atau ID Telegram pelanggan yang dicari.",
    results: "👥 Ditemukan {count} pelanggan. Pilih untuk membuka, atau ketik pencarian lain:",
    more_results: "Ditampilkan {shown} pertama; ketik lebih spesifik untuk mempersempit.",
    no_results: "Tidak ada pelanggan yang cocok. Ketik nama, username atau ID lain.",
    query_too_long: "Pencarian terlalu panjang: paling banyak {limit} karakter.",
    profile: "👤 <b>{name}</b> {username}\nID: <code>{id}</code>\nStatus: {status}\n💰 Saldo: <b>{balance}</b>\n🧾 Pesanan: {orders} (dibayar {paid}, total belanja {spent})\nPertama datang: {first}\nTerakhir aktif: {last}\n\n<b>Pesanan terakhir</b>\n{recent}",
    status_active: "aktif",
    status_blocked: "🚫 diblokir toko",
    status_left: "memblokir bot",
    no_orders: "belum ada",
    block: "🚫 Blokir",
    unblock: "✅ Buka blokir",
    adjust: "💰 Ubah saldo",
    search_again: "🔎 Cari lagi",
    confirm_block: "<b>Blokir</b> {name} (<code>{id}</code>)? Ia tidak bisa checkout atau deposit sampai blokir dibuka.",
    confirm_unblock: "<b>Buka blokir</b> {name} (<code>{id}</code>)? Ia bisa berbelanja lagi.",
    amount_prompt: "Saldo {name} sekarang {balance}.\nKetik perubahan saldo: <code>+50000</code> untuk menambah, <code>-20000</code> untuk mengurangi.",
    amount_invalid: "Jumlah tidak valid. Ketik angka dengan tanda + atau -, tidak nol dan paling banyak {limit}.",
    reason_prompt: "Perubahan {amount}. Tulis alasannya (wajib, dicatat dan dikirim ke pelanggan).",
    reason_missing: "Alasan wajib diisi. Tulis alasannya.",
    reason_too_long: "Alasan terlalu panjang: paling banyak {limit} karakter.",
    confirm_adjust: "Ubah saldo {name} (<code>{id}</code>) sebesar <b>{amount}</b>?\n{before} → {after}\nAlasan: {reason}",
    blocked: "🚫 {name} diblokir.",
    unblocked: "✅ Blokir {name} dibuka.",
    adjusted: "💰 Saldo diubah {amount}; saldo sekarang {balance}. Pelanggan sudah diberi tahu.",
    balance_too_low: "Saldo pelanggan hanya {balance}, tidak bisa dikurangi {amount}: saldo tidak boleh minus.",
};

pub const EN: CustomersTexts = CustomersTexts {
    search_prompt: "👥 <b>Customers</b>\nType a customer's name, username or Telegram ID.",
    results: "👥 {count} customer(s) found. Choose one to open, or type another search:",
    more_results: "Showing the first {shown}; type something more specific to narrow it.",
    no_results: "No customer matches. Type another name, username or ID.",
    query_too_long: "The search is too long: at most {limit} characters.",
    profile: "👤 <b>{name}</b> {username}\nID: <code>{id}</code>\nStatus: {status}\n💰 Balance: <b>{balance}</b>\n🧾 Orders: {orders} (paid {paid}, spent {spent})\nFirst seen: {first}\nLast active: {last}\n\n<b>Latest orders</b>\n{recent}",
    status_active: "active",
    status_blocked: "🚫 blocked by the store",
    status_left: "blocked the bot",
    no_orders: "none yet",
    block: "🚫 Block",
    unblock: "✅ Unblock",
    adjust: "💰 Change balance",
    search_again: "🔎 Search again",
    confirm_block: "<b>Block</b> {name} (<code>{id}</code>)? They cannot check out or top up until unblocked.",
    confirm_unblock: "<b>Unblock</b> {name} (<code>{id}</code>)? They can shop again.",
    amount_prompt: "{name}'s balance is {balance}.\nType the change: <code>+50000</code> to add, <code>-20000</code> to take.",
    amount_invalid: "Not a valid amount. Type a number with + or -, not zero and at most {limit}.",
    reason_prompt: "A change of {amount}. Type the reason (required; it is recorded and sent to the customer).",
    reason_missing: "A reason is required. Type the reason.",
    reason_too_long: "The reason is too long: at most {limit} characters.",
    confirm_adjust: "Change {name}'s (<code>{id}</code>) balance by <b>{amount}</b>?\n{before} → {after}\nReason: {reason}",
    blocked: "🚫 {name} is blocked.",
    unblocked: "✅ {name} is unblocked.",
    adjusted: "💰 Balance changed by {amount}; it is now {balance}. The customer has been told.",
    balance_too_low: "The customer's balance is only {balance}; {amount} cannot be taken: a balance never goes below zero.",
};

pub fn of(locale: Locale) -> &'static CustomersTexts {
    match locale {
        Locale::Id => &ID,
        Locale::En => &EN,
    }
}
