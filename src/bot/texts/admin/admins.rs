//! Texts of the admins area.

use crate::tenants::model::Locale;

pub struct AdminsTexts {
    /// `{owner}`, `{admins}`.
    pub title: &'static str,
    pub none: &'static str,
    pub add_button: &'static str,
    /// `{id}`.
    pub remove_button: &'static str,
    pub add_prompt: &'static str,
    pub add_invalid: &'static str,
    pub hidden_sender: &'static str,
    pub bot_sender: &'static str,
    /// `{id}`, `{name}`.
    pub add_question: &'static str,
    /// `{id}`.
    pub remove_question: &'static str,
    /// `{id}`.
    pub added: &'static str,
    /// `{id}`.
    pub removed: &'static str,
    pub is_owner: &'static str,
    /// `{id}`.
    pub already_admin: &'static str,
    /// `{id}`.
    pub not_admin: &'static str,
}

pub const ID: AdminsTexts = AdminsTexts {
    title: "🛡 <b>Admin toko</b>\nPemilik: <code>{owner}</code>\nAdmin:\n{admins}\n\nAdmin bisa membuka ⚙️ Admin Settings; hanya pemilik yang bisa menambah atau menghapus admin.",
    none: "— belum ada —",
    add_button: "➕ Tambah admin",
    remove_button: "🗑 Hapus {id}",
    add_prompt: "Kirim ID Telegram calon admin (angka), atau teruskan (forward) satu pesan darinya ke sini.",
    add_invalid: "Kirim ID Telegram berupa angka, misalnya 123456789, atau teruskan pesan darinya.",
    hidden_sender: "Pengaturan privasi orang itu menyembunyikan ID-nya. Minta ID Telegram-nya lalu kirim angkanya di sini.",
    bot_sender: "Itu pesan dari bot. Teruskan pesan dari orangnya, atau kirim ID Telegram-nya.",
    add_question: "Jadikan <code>{id}</code> {name} admin toko ini?",
    remove_question: "Hapus <code>{id}</code> dari admin toko ini?",
    added: "✅ <code>{id}</code> sekarang admin. Minta dia membuka bot dan menekan /start.",
    removed: "✅ <code>{id}</code> bukan admin lagi.",
    is_owner: "Itu ID pemilik toko; pemilik selalu punya akses admin.",
    already_admin: "<code>{id}</code> sudah menjadi admin.",
    not_admin: "<code>{id}</code> bukan admin toko ini.",
};

pub const EN: AdminsTexts = AdminsTexts {
    title: "🛡 <b>Store admins</b>\nOwner: <code>{owner}</code>\nAdmins:\n{admins}\n\nAdmins can open ⚙️ Admin Settings; only the owner adds or removes admins.",
    none: "— none yet —",
    add_button: "➕ Add admin",
    remove_button: "🗑 Remove {id}",
    add_prompt: "Send the new admin's Telegram id (a number), or forward one of their messages here.",
    add_invalid: "Send a Telegram id as a number, e.g. 123456789, or forward one of their messages.",
    hidden_sender: "That person's privacy settings hide their id. Ask them for their Telegram id and send the number here.",
    bot_sender: "That message is from a bot. Forward a message from the person, or send their Telegram id.",
    add_question: "Make <code>{id}</code> {name} an admin of this store?",
    remove_question: "Remove <code>{id}</code> from this store's admins?",
    added: "✅ <code>{id}</code> is an admin now. Ask them to open the bot and press /start.",
    removed: "✅ <code>{id}</code> is no longer an admin.",
    is_owner: "That is the owner's id; the owner always has admin access.",
    already_admin: "<code>{id}</code> is already an admin.",
    not_admin: "<code>{id}</code> is not an admin of this store.",
};

pub fn of(locale: Locale) -> &'static AdminsTexts {
    match locale {
        Locale::Id => &ID,
        Locale::En => &EN,
    }
}
