//! Texts of the SNK review area.

use crate::tenants::model::Locale;

pub struct SnkTexts {
    /// `{count}`.
    pub title: &'static str,
    pub empty: &'static str,
    /// `{id}`, `{product}`, `{customer}`.
    pub row: &'static str,
    /// `{id}`, `{code}`, `{product}`, `{customer}`, `{time}`, `{text}`.
    pub view: &'static str,
    pub approve: &'static str,
    pub reject: &'static str,
    pub approve_with_note: &'static str,
    /// `{id}`.
    pub note_prompt_reject: &'static str,
    /// `{id}`.
    pub note_prompt_approve: &'static str,
    /// `{limit}`.
    pub note_too_long: &'static str,
    /// `{id}`.
    pub approved: &'static str,
    /// `{id}`.
    pub rejected: &'static str,
    pub already_decided: &'static str,
}

pub const ID: SnkTexts = SnkTexts {
    title: "📋 <b>SNK menunggu review</b> ({count})\nPilih untuk membuka:",
    empty: "📋 Tidak ada SNK yang menunggu review.",
    row: "#{id} · {product} · {customer}",
    view: "📋 <b>SNK #{id}</b>\nPesanan: <code>{code}</code>\nProduk: {product}\nPelanggan: <code>{customer}</code>\nDikirim: {time}\n\n{text}",
    approve: "✅ Setujui",
    reject: "❌ Tolak + catatan",
    approve_with_note: "✅ Setujui + catatan",
    note_prompt_reject: "Tulis alasan penolakan SNK #{id} untuk pelanggan, atau kirim <code>-</code> tanpa catatan.",
    note_prompt_approve: "Tulis catatan persetujuan SNK #{id} untuk pelanggan, atau kirim <code>-</code> tanpa catatan.",
    note_too_long: "Catatan terlalu panjang: paling banyak {limit} karakter. Tulis lebih singkat.",
    approved: "✅ SNK #{id} disetujui. Pelanggan sudah diberi tahu.",
    rejected: "❌ SNK #{id} ditolak. Pelanggan sudah diberi tahu.",
    already_decided: "SNK ini sudah diputuskan admin lain.",
};

pub const EN: SnkTexts = SnkTexts {
    title: "📋 <b>SNK waiting for review</b> ({count})\nChoose one to open:",
    empty: "📋 No SNK submissions are waiting for review.",
    row: "#{id} · {product} · {customer}",
    view: "📋 <b>SNK #{id}</b>\nOrder: <code>{code}</code>\nProduct: {product}\nCustomer: <code>{customer}</code>\nSent: {time}\n\n{text}",
    approve: "✅ Approve",
    reject: "❌ Reject + note",
    approve_with_note: "✅ Approve + note",
    note_prompt_reject: "Write the reason for rejecting SNK #{id} for the customer, or send <code>-</code> for no note.",
    note_prompt_approve: "Write a note approving SNK #{id} for the customer, or send <code>-</code> for no note.",
    note_too_long: "The note is too long: at most {limit} characters. Write it shorter.",
    approved: "✅ SNK #{id} approved. The customer has been told.",
    rejected: "❌ SNK #{id} rejected. The customer has been told.",
    already_decided: "Another admin already decided this submission.",
};

pub fn of(locale: Locale) -> &'static SnkTexts {
    match locale {
        Locale::Id => &ID,
        Locale::En => &EN,
    }
}
