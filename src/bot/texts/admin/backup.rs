//! Texts of the backup and restore area.

use crate::tenants::model::Locale;

pub struct BackupTexts {
    pub title: &'static str,
    pub download: &'static str,
    pub restore: &'static str,
    /// `{categories}`, `{products}`, `{stock}`, `{templates}`, `{coupons}`, `{settings}`.
    pub caption: &'static str,
    /// `{limit}`.
    pub ask_file: &'static str,
    pub not_a_file: &'static str,
    /// `{limit}`.
    pub too_large: &'static str,
    /// A file that is not JSON at all, or is cut short.
    pub not_json: &'static str,
    /// JSON that is not shaped like a catalog backup: `{line}`, where it stops fitting.
    pub not_a_backup: &'static str,
    /// `{errors}`.
    pub invalid: &'static str,
    /// `{categories}`, `{products}`, `{stock}`, `{templates}`, `{coupons}`, `{settings}`.
    pub summary: &'static str,
    /// The `{settings}` line when the file carries the store's settings.
    pub settings_included: &'static str,
    /// The `{settings}` line when it does not (a version 1 file): they stay as they are.
    pub settings_absent: &'static str,
    /// `{categories}`, `{products}`, `{stock}`, `{archived}`, `{deleted}`.
    pub restored: &'static str,
    pub file_gone: &'static str,
}

pub const ID: BackupTexts = BackupTexts {
    title: "💾 <b>Backup & Restore</b>\nBackup berisi kategori, produk, stok yang belum terjual, SNK, template pesan, kupon dan pengaturan toko, sebagai file JSON. Restore mengganti katalog toko dengan isi file: semuanya atau tidak sama sekali.",
    download: "📤 Unduh backup",
    restore: "📥 Restore dari file",
    caption: "💾 Backup katalog: {categories} kategori, {products} produk, {stock} stok, {templates} template, {coupons} kupon.\n{settings}\n⚠️ Berisi stok dalam teks biasa: simpan baik-baik.",
    ask_file: "Kirim file backup <b>.json</b> (paling besar {limit}).\n⚠️ Katalog toko akan diganti dengan isi file setelah kamu konfirmasi.",
    not_a_file: "Kirim file backup .json sebagai dokumen (📎 → File).",
    too_large: "File terlalu besar: paling besar {limit}.",
    not_json: "File ini bukan backup toko yang valid: isinya bukan JSON yang utuh (rusak atau terpotong). Tidak ada yang berubah.",
    not_a_backup: "File ini bukan backup toko yang valid: isinya JSON, tetapi bukan backup katalog dari bot ini (tidak cocok mulai baris {line}). Tidak ada yang berubah.",
    invalid: "Backup ini tidak bisa dipakai, tidak ada yang berubah:\n{errors}",
    summary: "📥 <b>Restore dari backup</b>\nIsi file: {categories} kategori, {products} produk, {stock} stok, {templates} template, {coupons} kupon.\n{settings}\nKatalog toko sekarang akan diganti seluruhnya.",
    settings_included: "🔧 Pengaturan toko ikut di dalamnya.",
    settings_absent: "🔧 Tanpa pengaturan toko: pengaturan sekarang tetap dipakai.",
    restored: "✅ Restore selesai: {categories} kategori, {products} produk, {stock} stok tersedia. Produk diarsipkan: {archived}, dihapus: {deleted}.",
    file_gone: "File backup tidak bisa diambil lagi dari Telegram. Kirim ulang filenya.",
};

pub const EN: BackupTexts = BackupTexts {
    title: "💾 <b>Backup & Restore</b>\nA backup holds the categories, products, unsold stock, SNK, message templates, coupons and the store's settings as a JSON file. Restore replaces the store's catalog with the file's: all of it or nothing.",
    download: "📤 Download backup",
    restore: "📥 Restore from file",
    caption: "💾 Catalog backup: {categories} categories, {products} products, {stock} stock items, {templates} templates, {coupons} coupons.\n{settings}\n⚠️ It holds the stock in plain text: keep it safe.",
    ask_file: "Send the backup <b>.json</b> file (at most {limit}).\n⚠️ The store's catalog will be replaced by the file's once you confirm.",
    not_a_file: "Send the backup .json file as a document (📎 → File).",
    too_large: "The file is too large: at most {limit}.",
    not_json: "This file is not a valid store backup: it is not whole JSON (damaged or cut short). Nothing changed.",
    not_a_backup: "This file is not a valid store backup: it is JSON, but not a catalog backup from this bot (it stops fitting at line {line}). Nothing changed.",
    invalid: "This backup cannot be used; nothing changed:\n{errors}",
    summary: "📥 <b>Restore from backup</b>\nThe file holds {categories} categories, {products} products, {stock} stock items, {templates} templates, {coupons} coupons.\n{settings}\nThe store's catalog will be replaced entirely.",
    settings_included: "🔧 The store's settings are included.",
    settings_absent: "🔧 No store settings: the current ones stay.",
    restored: "✅ Restored: {categories} categories, {products} products, {stock} stock items available. Products archived: {archived}, deleted: {deleted}.",
    file_gone: "The backup file could not be fetched from Telegram again. Send the file again.",
};

pub fn of(locale: Locale) -> &'static BackupTexts {
    match locale {
        Locale::Id => &ID,
        Locale::En => &EN,
    }
}
