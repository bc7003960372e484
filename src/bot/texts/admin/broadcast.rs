//! Texts of the broadcast area.

use crate::tenants::model::Locale;

pub struct BroadcastTexts {
    pub title: &'static str,
    pub to_all: &'static str,
    pub to_buyers: &'static str,
    /// `{limit}`, `{caption_limit}`.
    pub ask_content: &'static str,
    pub not_content: &'static str,
    /// `{message}`.
    pub invalid: &'static str,
    /// `{count}`, `{audience}`.
    pub summary: &'static str,
    pub audience_all: &'static str,
    pub audience_buyers: &'static str,
    pub preparing: &'static str,
    /// `{id}`.
    pub started: &'static str,
    /// `{id}`, `{state}`, `{sent}`, `{total}`, `{failed}`, `{blocked}`, `{unknown}`, `{left}`.
    pub progress: &'static str,
    pub state_queued: &'static str,
    pub state_running: &'static str,
    pub state_paused: &'static str,
    pub state_cancelled: &'static str,
    pub state_done: &'static str,
    pub pause: &'static str,
    pub resume: &'static str,
    pub cancel: &'static str,
    pub paused: &'static str,
    pub resumed: &'static str,
    pub cancelled: &'static str,
}

pub const ID: BroadcastTexts = BroadcastTexts {
    title: "📣 <b>Broadcast</b>\nKirim satu pesan ke pelanggan toko. Pelanggan yang memblokir bot dilewati.\n\nKirim ke siapa?",
    to_all: "👥 Semua pelanggan aktif",
    to_buyers: "🛍 Hanya pembeli",
    ask_content: "Kirim isi broadcast: teks (maks. {limit} karakter) atau foto dengan caption (maks. {caption_limit} karakter). Teks dikirim apa adanya.",
    not_content: "Kirim teks, atau foto dengan caption.",
    invalid: "Belum bisa dikirim: {message} Kirim lagi.",
    summary: "👆 Pratinjau di atas.\nDikirim ke <b>{count}</b> pelanggan ({audience}).",
    audience_all: "semua pelanggan aktif",
    audience_buyers: "pembeli saja",
    preparing: "📣 Menyiapkan broadcast…",
    started: "✅ Broadcast #{id} masuk antrean. Progresnya tampil di pesan di bawah.",
    progress: "📣 <b>Broadcast #{id}</b> · {state}\n✅ Terkirim: {sent}/{total}\n⛔️ Memblokir bot: {blocked}\n⚠️ Gagal: {failed}\n❔ Tidak pasti: {unknown}\n⏳ Sisa: {left}",
    state_queued: "menunggu",
    state_running: "berjalan",
    state_paused: "dijeda",
    state_cancelled: "dibatalkan",
    state_done: "selesai",
    pause: "⏸ Jeda",
    resume: "▶️ Lanjutkan",
    cancel: "🛑 Batalkan",
    paused: "Broadcast dijeda.",
    resumed: "Broadcast dilanjutkan.",
    cancelled: "Broadcast dibatalkan.",
};

pub const EN: BroadcastTexts = BroadcastTexts {
    title: "📣 <b>Broadcast</b>\nSend one message to the store's customers. Customers who blocked the bot are skipped.\n\nWho should get it?",
    to_all: "👥 All active customers",
    to_buyers: "🛍 Buyers only",
    ask_content: "Send the broadcast: a text (at most {limit} characters) or a photo with a caption (at most {caption_limit} characters). The text is sent as written.",
    not_content: "Send a text, or a photo with a caption.",
    invalid: "Cannot send this yet: {message} Send it again.",
    summary: "👆 Preview above.\nGoes to <b>{count}</b> customers ({audience}).",
    audience_all: "all active customers",
    audience_buyers: "buyers only",
    preparing: "📣 Preparing the broadcast…",
    started: "✅ Broadcast #{id} is queued. Its progress shows in the message below.",
    progress: "📣 <b>Broadcast #{id}</b> · {state}\n✅ Sent: {sent}/{total}\n⛔️ Blocked the bot: {blocked}\n⚠️ Failed: {failed}\n❔ Unknown: {unknown}\n⏳ Left: {left}",
    state_queued: "waiting",
    state_running: "running",
    state_paused: "paused",
    state_cancelled: "cancelled",
    state_done: "done",
    pause: "⏸ Pause",
    resume: "▶️ Resume",
    cancel: "🛑 Cancel",
    paused: "Broadcast paused.",
    resumed: "Broadcast resumed.",
    cancelled: "Broadcast cancelled.",
};

pub fn of(locale: Locale) -> &'static BroadcastTexts {
    match locale {
        Locale::Id => &ID,
        Locale::En => &EN,
    }
}
