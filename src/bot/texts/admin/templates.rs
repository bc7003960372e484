//! Texts of the message templates area.

use crate::tenants::model::Locale;

pub struct TemplatesTexts {
    pub title: &'static str,
    /// Before a template the store wrote, and one that uses the bot's default.
    pub custom_mark: &'static str,
    pub default_mark: &'static str,
    pub welcome: &'static str,
    pub info: &'static str,
    pub how_to_order: &'static str,
    pub payment_received: &'static str,
    pub goods_delivered: &'static str,
    pub invoice_expired: &'static str,
    /// `{label}`, `{placeholders}`, `{body}`.
    pub view: &'static str,
    pub using_default: &'static str,
    pub edit_button: &'static str,
    pub reset_button: &'static str,
    /// `{label}`, `{limit}`, `{placeholders}`.
    pub prompt: &'static str,
    pub empty: &'static str,
    pub nul: &'static str,
    /// `{chars}`, `{limit}`.
    pub too_long: &'static str,
    /// `{unknown}`, `{placeholders}`.
    pub unknown_placeholders: &'static str,
    /// `{preview}`.
    pub preview: &'static str,
    /// `{label}`.
    pub saved: &'static str,
    /// `{label}`.
    pub reset_question: &'static str,
    /// `{label}`.
    pub reset_done: &'static str,
    /// `{label}`.
    pub already_default: &'static str,
}

pub const ID: TemplatesTexts = TemplatesTexts {
    title: "📝 <b>Template pesan</b>\nTeks toko untuk tiap kejadian; ✏️ sudah diubah, ▫️ memakai teks bawaan bot. Pilih untuk melihat atau mengubah:",
    custom_mark: "✏️",
    default_mark: "▫️",
    welcome: "Sambutan /start",
    info: "ℹ️ Informasi",
    how_to_order: "📘 Cara Order",
    payment_received: "Pembayaran diterima",
    goods_delivered: "Barang terkirim",
    invoice_expired: "Tagihan kedaluwarsa",
    view: "📝 <b>{label}</b>\nPlaceholder: {placeholders}\n\n{body}",
    using_default: "<i>Belum diubah: bot memakai teks bawaannya.</i>",
    edit_button: "✏️ Ubah",
    reset_button: "♻️ Kembalikan ke bawaan",
    prompt: "Kirim teks baru untuk <b>{label}</b> (paling banyak {limit} karakter).\nPlaceholder yang bisa dipakai: {placeholders}",
    empty: "Teksnya kosong. Kirim teks template.",
    nul: "Teks itu berisi karakter NUL yang tidak bisa dikirim. Ketik ulang teksnya.",
    too_long: "Terlalu panjang: {chars} karakter, paling banyak {limit}. Kirim versi yang lebih singkat.",
    unknown_placeholders: "Placeholder tidak dikenal: {unknown}. Yang bisa dipakai: {placeholders}. Kirim teks yang sudah diperbaiki.",
    preview: "👀 <b>Pratinjau</b> (dengan contoh data):\n\n{preview}",
    saved: "✅ Template {label} disimpan.",
    reset_question: "Kembalikan {label} ke teks bawaan bot?",
    reset_done: "♻️ {label} kembali memakai teks bawaan bot.",
    already_default: "{label} sudah memakai teks bawaan bot.",
};

pub const EN: TemplatesTexts = TemplatesTexts {
    title: "📝 <b>Message templates</b>\nThe store's text for each event; ✏️ written by the store, ▫️ the bot's default. Choose one to view or change:",
    custom_mark: "✏️",
    default_mark: "▫️",
    welcome: "Welcome /start",
    info: "ℹ️ Information",
    how_to_order: "📘 How to Order",
    payment_received: "Payment received",
    goods_delivered: "Goods delivered",
    invoice_expired: "Invoice expired",
    view: "📝 <b>{label}</b>\nPlaceholders: {placeholders}\n\n{body}",
    using_default: "<i>Not changed: the bot uses its default text.</i>",
    edit_button: "✏️ Change",
    reset_button: "♻️ Back to default",
    prompt: "Send the new text for <b>{label}</b> (at most {limit} characters).\nPlaceholders you can use: {placeholders}",
    empty: "The text is empty. Send the template's text.",
    nul: "That text holds a NUL character, which cannot be sent. Type the text again.",
    too_long: "Too long: {chars} characters, at most {limit}. Send a shorter version.",
    unknown_placeholders: "Unknown placeholder: {unknown}. You can use: {placeholders}. Send the corrected text.",
    preview: "👀 <b>Preview</b> (with sample data):\n\n{preview}",
    saved: "✅ Template {label} saved.",
    reset_question: "Put {label} back to the bot's default text?",
    reset_done: "♻️ {label} uses the bot's default text again.",
    already_default: "{label} already uses the bot's default text.",
};

pub fn of(locale: Locale) -> &'static TemplatesTexts {
    match locale {
        Locale::Id => &ID,
        Locale::En => &EN,
    }
}

impl TemplatesTexts {
    /// A template's name as the admin reads it.
    pub fn label(&self, name: &str) -> &'static str {
        match name {
            "welcome" => self.welcome,
            "info" => self.info,
            "how_to_order" => self.how_to_order,
            "payment_received" => self.payment_received,
            "goods_delivered" => self.goods_delivered,
            _ => self.invoice_expired,
        }
    }
}
