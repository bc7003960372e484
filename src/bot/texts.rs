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
    help: "Perintah:\n/start — menu utama\n/language — ganti bahasa",
    unknown_input: "Maaf, perintah tidak dikenal. Kirim /start untuk membuka menu.",
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
    help: "Commands:\n/start — main menu\n/language — change language",
    unknown_input: "Sorry, I don't know that command. Send /start to open the menu.",
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

/// Which language a language button's text selects, if any. The buttons read the same in
/// every catalogue, so a customer can always find their own language.
pub fn language_from_button(text: &str) -> Option<Locale> {
    match text {
        t if t == ID.language_button_id => Some(Locale::Id),
        t if t == ID.language_button_en => Some(Locale::En),
        _ => None,
    }
}
