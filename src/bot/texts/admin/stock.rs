//! Texts of the stock area.

use crate::tenants::model::Locale;

pub struct StockTexts {
    pub title: &'static str,
    pub empty: &'static str,
    /// A product's button: `{name}`, `{available}`, `{reserved}`, `{sold}`, `{inactive}`.
    pub row: &'static str,
    pub inactive: &'static str,
    /// `{name}`, `{code}`, `{available}`, `{reserved}`, `{sold}`.
    pub product: &'static str,
    pub add: &'static str,
    pub remove: &'static str,
    pub download: &'static str,
    /// `{name}`, `{limit}`.
    pub ask_items: &'static str,
    pub not_text: &'static str,
    /// `{limit}`.
    pub too_large: &'static str,
    pub not_utf8: &'static str,
    pub no_lines: &'static str,
    /// `{limit}`.
    pub too_many: &'static str,
    /// `{line}`, `{limit}`.
    pub line_too_long: &'static str,
    /// `{line}`.
    pub line_nul: &'static str,
    /// `{name}`, `{added}`, `{available}`.
    pub added: &'static str,
    /// `{count}`, then the refused lines.
    pub refused_title: &'static str,
    pub repeated: &'static str,
    pub already: &'static str,
    /// `{name}`, `{count}`.
    pub pick_item: &'static str,
    pub no_unsold: &'static str,
    /// `{id}`, `{item}`, `{name}`.
    pub confirm_remove: &'static str,
    /// `{id}`.
    pub removed: &'static str,
    /// `{name}`, `{count}`.
    pub file_caption: &'static str,
}

pub const ID: StockTexts = StockTexts {
    title: "🗃 <b>Stok</b>\nangka: tersedia / dipesan / terjual. Pilih produk:",
    empty: "🗃 Belum ada produk. Tambahkan produk dulu di 📦 Produk & Kategori.",
    row: "{inactive}{name} · {available}/{reserved}/{sold}",
    inactive: "⏸ ",
    product: "🗃 <b>{name}</b> (<code>{code}</code>)\n✅ Tersedia: {available}\n⏳ Dipesan: {reserved}\n📦 Terjual: {sold}",
    add: "➕ Tambah stok",
    remove: "🗑 Hapus item",
    download: "⬇️ Unduh .txt",
    ask_items: "Tambah stok <b>{name}</b>: tempel item di sini, satu per baris, atau kirim file <code>.txt</code> (paling besar {limit}). Baris kosong dilewati; item yang sudah pernah ada ditolak.",
    not_text: "Kirim item sebagai teks, atau sebagai file .txt.",
    too_large: "File terlalu besar: paling besar {limit}. Pecah jadi beberapa file.",
    not_utf8: "File ini bukan teks UTF-8. Simpan ulang sebagai .txt (UTF-8) lalu kirim lagi.",
    no_lines: "Tidak ada item: semua barisnya kosong. Kirim minimal satu baris.",
    too_many: "Terlalu banyak baris: paling banyak {limit} per kiriman.",
    line_too_long: "Baris {line} terlalu panjang: paling banyak {limit} karakter per item.",
    line_nul: "Baris {line} berisi karakter NUL. Hapus karakter itu lalu kirim lagi.",
    added: "✅ {added} item ditambahkan ke <b>{name}</b>. Tersedia sekarang: {available}.",
    refused_title: "\n\n⚠️ {count} baris ditolak:",
    repeated: "dobel di kiriman ini",
    already: "sudah pernah ada",
    pick_item: "🗑 <b>{name}</b>: {count} item tersedia. Pilih item yang mau dihapus:",
    no_unsold: "Tidak ada item tersedia untuk produk ini.",
    confirm_remove: "Hapus item #{id} dari <b>{name}</b>?\n<code>{item}</code>",
    removed: "🗑 Item #{id} dihapus.",
    file_caption: "⬇️ Stok tersedia <b>{name}</b>: {count} item.",
};

pub const EN: StockTexts = StockTexts {
    title: "🗃 <b>Stock</b>\nnumbers: available / reserved / sold. Choose a product:",
    empty: "🗃 No products yet. Add one first under 📦 Products & Categories.",
    row: "{inactive}{name} · {available}/{reserved}/{sold}",
    inactive: "⏸ ",
    product: "🗃 <b>{name}</b> (<code>{code}</code>)\n✅ Available: {available}\n⏳ Reserved: {reserved}\n📦 Sold: {sold}",
    add: "➕ Add stock",
    remove: "🗑 Remove an item",
    download: "⬇️ Download .txt",
    ask_items: "Add stock to <b>{name}</b>: paste the items here, one per line, or send a <code>.txt</code> file (at most {limit}). Blank lines are skipped; items the product ever had are refused.",
    not_text: "Send the items as text, or as a .txt file.",
    too_large: "The file is too large: at most {limit}. Split it into several files.",
    not_utf8: "This file is not UTF-8 text. Save it again as .txt (UTF-8) and send it again.",
    no_lines: "No items: every line is blank. Send at least one line.",
    too_many: "Too many lines: at most {limit} per upload.",
    line_too_long: "Line {line} is too long: at most {limit} characters per item.",
    line_nul: "Line {line} contains a NUL character. Remove it and send again.",
    added: "✅ {added} item(s) added to <b>{name}</b>. Available now: {available}.",
    refused_title: "\n\n⚠️ {count} line(s) refused:",
    repeated: "repeated in this upload",
    already: "already seen",
    pick_item: "🗑 <b>{name}</b>: {count} item(s) available. Choose the one to remove:",
    no_unsold: "This product has no available items.",
    confirm_remove: "Remove item #{id} from <b>{name}</b>?\n<code>{item}</code>",
    removed: "🗑 Item #{id} removed.",
    file_caption: "⬇️ Available stock of <b>{name}</b>: {count} item(s).",
};

pub fn of(locale: Locale) -> &'static StockTexts {
    match locale {
        Locale::Id => &ID,
        Locale::En => &EN,
    }
}
