//! Texts of the activity log (audit) area.

use crate::tenants::model::Locale;

pub struct AuditTexts {
    /// `{filter}`.
    pub title: &'static str,
    pub no_filter: &'static str,
    /// `{action}`.
    pub filter_action: &'static str,
    /// `{who}`.
    pub filter_actor: &'static str,
    pub empty: &'static str,
    pub by_action: &'static str,
    pub by_actor: &'static str,
    pub clear_filter: &'static str,
    pub older: &'static str,
    pub newest: &'static str,
    pub choose_action: &'static str,
    pub choose_actor: &'static str,
    pub api: &'static str,
    pub host: &'static str,
    pub owner: &'static str,
}

pub const ID: AuditTexts = AuditTexts {
    title: "📜 <b>Log Aktivitas</b> ({filter}), terbaru di atas:",
    no_filter: "semua",
    filter_action: "aksi: {action}",
    filter_actor: "oleh: {who}",
    empty: "📜 Belum ada aktivitas yang cocok.",
    by_action: "🔎 Per aksi",
    by_actor: "🔎 Per admin",
    clear_filter: "✖️ Semua",
    older: "Lebih lama ▶️",
    newest: "⏮ Terbaru",
    choose_action: "Tampilkan aktivitas jenis apa?",
    choose_actor: "Tampilkan aktivitas siapa?",
    api: "API",
    host: "sistem",
    owner: "pemilik",
};

pub const EN: AuditTexts = AuditTexts {
    title: "📜 <b>Activity Log</b> ({filter}), newest first:",
    no_filter: "all",
    filter_action: "action: {action}",
    filter_actor: "by: {who}",
    empty: "📜 No matching activity yet.",
    by_action: "🔎 By action",
    by_actor: "🔎 By admin",
    clear_filter: "✖️ All",
    older: "Older ▶️",
    newest: "⏮ Newest",
    choose_action: "Show which kind of activity?",
    choose_actor: "Show whose activity?",
    api: "API",
    host: "system",
    owner: "owner",
};

pub fn of(locale: Locale) -> &'static AuditTexts {
    match locale {
        Locale::Id => &ID,
        Locale::En => &EN,
    }
}
