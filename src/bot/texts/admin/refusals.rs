//! Why an admin operation was refused, in the admin's language.
//!
//! Every refusal of the admin side is an [`OpError`] with a stable key: the code of a
//! conflict, the field of an invalid input, the thing not found. The API shows the error's own
//! English message; the bot shows the line kept here for its key, so that an Indonesian admin
//! never reads an English sentence. A key without a line of its own (a field added later) is
//! still told in the admin's language, naming the field, and a unit test reads the store's
//! code so that no key written there is left without a line.

use crate::{store::error::OpError, tenants::model::Locale};

/// (key, Indonesian, English).
type Line = (&'static str, &'static str, &'static str);

/// Conflicts: the input is fine but the store's state forbids it now.
const CONFLICTS: &[Line] = &[
    (
        "already_admin",
        "Orang ini sudah menjadi admin toko.",
        "This person is already an admin of the store.",
    ),
    (
        "already_decided",
        "Kiriman SNK ini sudah diputuskan.",
        "This SNK submission was already decided.",
    ),
    (
        "already_paid",
        "Pesanan ini sudah lunas.",
        "This order is already paid.",
    ),
    (
        "already_refunded",
        "Pesanan ini sudah pernah direfund.",
        "This order was refunded already.",
    ),
    (
        "balance_too_low",
        "Saldo pelanggan tidak cukup: saldo tidak boleh kurang dari nol.",
        "The customer's balance is too low: it can never go below zero.",
    ),
    (
        "bot_token_rejected",
        "Telegram menolak token bot toko ini. Minta operator hosting memasang token yang baru.",
        "Telegram rejected this store's bot token. Ask the host's operators to set a new one.",
    ),
    (
        "broadcast_finished",
        "Broadcast ini sudah selesai atau dibatalkan.",
        "This broadcast has already finished or been cancelled.",
    ),
    (
        "category_name_taken",
        "Nama kategori itu sudah dipakai. Pilih nama lain.",
        "That category name is taken. Choose another one.",
    ),
    (
        "category_not_empty",
        "Kategori ini masih berisi produk. Pindahkan atau hapus produknya dulu.",
        "This category still holds products. Move or delete them first.",
    ),
    (
        "conflict",
        "Perubahan ini bentrok dengan data toko yang ada.",
        "This change clashes with the store's current data.",
    ),
    (
        "coupon_code_taken",
        "Kode kupon itu sudah dipakai. Pilih kode lain.",
        "That coupon code is taken. Choose another one.",
    ),
    (
        "gateway_unavailable",
        "Pakasir belum bisa membatalkan invoice-nya sekarang. Tidak ada yang berubah; coba lagi sebentar lagi.",
        "Pakasir cannot cancel the invoice right now. Nothing changed; try again in a minute.",
    ),
    (
        "no_recipients",
        "Belum ada pelanggan aktif untuk dikirimi.",
        "There are no active customers to send to yet.",
    ),
    (
        "not_cancellable",
        "Hanya pesanan yang belum dibayar yang bisa dibatalkan.",
        "Only an unpaid order can be cancelled.",
    ),
    (
        "not_paid",
        "Hanya pesanan yang sudah dibayar yang bisa direfund atau dikirim ulang.",
        "Only a paid order can be refunded or resent.",
    ),
    (
        "not_permitted",
        "Kamu tidak punya izin untuk perubahan ini.",
        "You are not allowed to make this change.",
    ),
    (
        "paid_meanwhile",
        "Pelanggan baru saja membayar invoice-nya, jadi pesanan ini lunas dan tidak dibatalkan.",
        "The customer just paid the invoice, so the order is paid and was not cancelled.",
    ),
    (
        "product_code_taken",
        "Kode produk itu sudah dipakai produk lain. Pilih kode lain.",
        "That product code is used by another product. Choose another one.",
    ),
    (
        "sold_out",
        "Pesanan ini sudah ditutup dan barangnya habis, jadi tidak bisa ditandai lunas. Kembalikan dana pelanggan lewat saldo.",
        "This order had ended and its goods are gone, so it cannot be marked paid. Refund the customer to their balance instead.",
    ),
    (
        "stock_item_not_available",
        "Item ini sudah dipesan atau terjual, jadi tidak bisa dihapus.",
        "This item is reserved or sold, so it cannot be removed.",
    ),
    (
        "telegram",
        "Telegram menolak atau tidak bisa dihubungi. Coba lagi nanti.",
        "Telegram refused or could not be reached. Try again later.",
    ),
    (
        "telegram_busy",
        "Telegram minta bot melambat sebentar. Tidak ada yang berubah; coba lagi sebentar lagi.",
        "Telegram asked the bot to slow down. Nothing changed; try again in a moment.",
    ),
    (
        "telegram_unavailable",
        "Telegram tidak bisa dihubungi sekarang. Tidak ada yang berubah; coba lagi nanti.",
        "Telegram cannot be reached right now. Nothing changed; try again later.",
    ),
];

/// Invalid inputs, by the field that was refused: what to send instead.
const FIELDS: &[Line] = &[
    (
        "amount",
        "Jumlahnya tidak valid. Periksa angkanya lalu kirim lagi.",
        "The amount is not valid. Check the number and send it again.",
    ),
    (
        "body",
        "Isi pesannya tidak valid: periksa panjang dan placeholdernya.",
        "The message text is not valid: check its length and placeholders.",
    ),
    (
        "category_id",
        "Kategori itu tidak ada di toko ini.",
        "That category is not one of this store's.",
    ),
    (
        "code",
        "Kodenya tidak valid: pakai huruf, angka, - atau _, tanpa spasi.",
        "The code is not valid: use letters, digits, - or _, without spaces.",
    ),
    (
        "emoji",
        "Emoji paling banyak 16 karakter.",
        "An emoji is at most 16 characters.",
    ),
    (
        "description",
        "Deskripsinya terlalu panjang atau berisi karakter yang tidak diizinkan.",
        "The description is too long or holds a character that is not allowed.",
    ),
    (
        "items",
        "Stoknya tidak bisa dipakai: kirim minimal satu baris, tiap baris tidak terlalu panjang.",
        "The stock cannot be used: send at least one line, none of them too long.",
    ),
    (
        "line",
        "Tulis dengan format KODE | 10% | 100 (kode | persen atau nominal | maks. pemakaian).",
        "Write it as CODE | 10% | 100 (code | percent or amount | max uses).",
    ),
    (
        "max_uses",
        "Maks. pemakaian harus angka 1 sampai 1.000.000.",
        "Max uses must be a number from 1 to 1,000,000.",
    ),
    (
        "min_order",
        "Minimal belanja harus angka rupiah, 0 atau lebih.",
        "The minimum order must be a rupiah amount of 0 or more.",
    ),
    (
        "name",
        "Namanya kosong atau terlalu panjang.",
        "The name is empty or too long.",
    ),
    (
        "note",
        "Catatannya terlalu panjang atau berisi karakter yang tidak diizinkan.",
        "The note is too long or holds a character that is not allowed.",
    ),
    (
        "photo",
        "Foto harus berupa URL http(s) atau file id Telegram.",
        "The photo must be an http(s) URL or a Telegram file id.",
    ),
    (
        "price",
        "Harga harus angka rupiah dari 1 sampai 1.000.000.000.",
        "The price must be a rupiah amount from 1 to 1,000,000,000.",
    ),
    (
        "profile",
        "Profil toko tidak valid. Periksa isiannya lalu kirim lagi.",
        "The store's profile is not valid. Check it and send it again.",
    ),
    (
        "q",
        "Kata pencariannya tidak valid.",
        "The search words are not valid.",
    ),
    (
        "reason",
        "Alasannya tidak valid: wajib diisi dan paling banyak 500 karakter.",
        "The reason is not valid: it is required and at most 500 characters.",
    ),
    (
        "snk",
        "Teks SNK terlalu panjang atau berisi karakter yang tidak diizinkan.",
        "The SNK text is too long or holds a character that is not allowed.",
    ),
    (
        "sort",
        "Urutan harus angka bulat.",
        "The sort order must be a whole number.",
    ),
    (
        "telegram_id",
        "Itu bukan id pengguna Telegram.",
        "That is not a Telegram user id.",
    ),
    (
        "text",
        "Teksnya tidak valid: periksa panjangnya.",
        "The text is not valid: check its length.",
    ),
    (
        "to",
        "Tanggal akhir tidak boleh sebelum tanggal awal.",
        "The last day cannot come before the first day.",
    ),
    (
        "valid_until",
        "Tanggal berlaku sampai harus tanggal yang akan datang, format YYYY-MM-DD.",
        "The valid-until date must be a future date, as YYYY-MM-DD.",
    ),
    (
        "value",
        "Potongan harus persen 1–100 (mis. 10%) atau nominal rupiah (mis. 5000).",
        "The discount must be a percentage of 1–100 (e.g. 10%) or a rupiah amount (e.g. 5000).",
    ),
];

/// A catalog document's fields (a backup being restored), by the last part of their path: what
/// is wrong there. Checked before [`FIELDS`], whose lines speak of a single input.
const DOCUMENT_FIELDS: &[Line] = &[
    (
        "categories",
        "Terlalu banyak kategori di file.",
        "The file lists too many categories.",
    ),
    (
        "category",
        "Kategori produk harus salah satu kategori di file.",
        "A product's category must be one of the file's categories.",
    ),
    (
        "code",
        "Kode tidak valid atau dobel di file: pakai huruf, angka, - atau _, tanpa spasi; tiap kode hanya sekali.",
        "A code is not valid or appears twice in the file: use letters, digits, - or _, without spaces, each code once.",
    ),
    (
        "coupons",
        "Kupon di file tidak bisa dipakai (kupon butuh backup versi 2).",
        "The file's coupons cannot be used (coupons need a version 2 backup).",
    ),
    (
        "name",
        "Nama kosong, terlalu panjang, atau dobel di file.",
        "A name is empty, too long, or appears twice in the file.",
    ),
    (
        "products",
        "Terlalu banyak produk atau baris stok di file.",
        "The file lists too many products or stock lines.",
    ),
    (
        "settings",
        "Pengaturan hanya bisa ada di backup versi 2.",
        "Settings need a version 2 backup.",
    ),
    (
        "stock",
        "Item stok tidak bisa dipakai: kosong, lebih dari satu baris, terlalu panjang, dobel, atau sudah pernah ada di toko.",
        "A stock item cannot be used: empty, more than one line, too long, repeated, or already in the store before.",
    ),
    (
        "version",
        "Versi file backup tidak dikenal.",
        "The backup file's version is unknown.",
    ),
    (
        "invoice_ttl_minutes",
        "Batas waktu invoice harus 5–1440 menit.",
        "The invoice time limit must be 5–1440 minutes.",
    ),
    (
        "low_stock_threshold",
        "Batas stok menipis paling besar 100000.",
        "The low-stock threshold is at most 100000.",
    ),
    (
        "deposit_minimum",
        "Deposit minimum harus Rp 1.000 sampai Rp 100.000.000.",
        "The minimum deposit must be Rp 1,000 to Rp 100,000,000.",
    ),
    (
        "snk_retention_days",
        "Lama simpan SNK harus 1–3650 hari.",
        "SNK retention must be 1–3650 days.",
    ),
    (
        "broadcast_per_second",
        "Kecepatan broadcast harus 1–25 pesan per detik.",
        "The broadcast pace must be 1–25 messages a second.",
    ),
];

/// The things an operation may not find.
const THINGS: &[Line] = &[
    ("admin", "Admin", "Admin"),
    ("broadcast", "Broadcast", "Broadcast"),
    ("category", "Kategori", "Category"),
    ("coupon", "Kupon", "Coupon"),
    ("customer", "Pelanggan", "Customer"),
    ("order", "Pesanan", "Order"),
    ("product", "Produk", "Product"),
    ("stock item", "Item stok", "Stock item"),
    ("store", "Toko", "Store"),
    ("submission", "Kiriman SNK", "SNK submission"),
    ("template", "Template", "Template"),
];

fn find(lines: &[Line], key: &str, locale: Locale) -> Option<&'static str> {
    lines
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, id, en)| match locale {
            Locale::Id => *id,
            Locale::En => *en,
        })
}

/// The line for a refusal, in `locale`; `None` for a database fault, which is no refusal.
pub fn line(locale: Locale, error: &OpError) -> Option<String> {
    let escape = teloxide::utils::html::escape;
    Some(match error {
        OpError::NotFound { what } => {
            let thing = find(THINGS, what, locale).map_or_else(|| escape(what), str::to_owned);
            match locale {
                Locale::Id => format!("{thing} tidak ditemukan."),
                Locale::En => format!("{thing} not found."),
            }
        }
        OpError::Invalid { field, .. } => match find(FIELDS, field, locale) {
            Some(line) => line.to_owned(),
            None => match locale {
                Locale::Id => format!(
                    "Isian <code>{}</code> tidak bisa diterima. Periksa lalu kirim lagi.",
                    escape(field)
                ),
                Locale::En => format!(
                    "The <code>{}</code> you sent cannot be accepted. Check it and send it again.",
                    escape(field)
                ),
            },
        },
        OpError::Conflict { code, .. } => match find(CONFLICTS, code, locale) {
            Some(line) => line.to_owned(),
            None => match locale {
                Locale::Id => "Tidak bisa dilakukan dalam keadaan toko sekarang.".to_owned(),
                Locale::En => "This cannot be done in the store's current state.".to_owned(),
            },
        },
        OpError::Database(_) => return None,
    })
}

/// What is wrong at `path` of a catalog document (`products[0].price`, `templates.info`), in
/// `locale`: the line of its last part, the template rule for a template, else a line that
/// names the path.
pub fn document_field(locale: Locale, path: &str) -> String {
    let key = if path.starts_with("templates.") {
        "body"
    } else {
        let last = path.rsplit('.').next().unwrap_or(path);
        last.split('[').next().unwrap_or(last)
    };
    find(DOCUMENT_FIELDS, key, locale)
        .or_else(|| find(FIELDS, key, locale))
        .map_or_else(
            || match locale {
                Locale::Id => "Isian ini tidak bisa diterima.".to_owned(),
                Locale::En => "This field cannot be accepted.".to_owned(),
            },
            str::to_owned,
        )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// The string keys passed right after `call` in `source` (`OpError::conflict("code", ...)`).
    fn keys_after<'a>(source: &'a str, call: &str) -> Vec<&'a str> {
        source
            .match_indices(call)
            .filter_map(|(at, _)| {
                let rest = source[at + call.len()..].trim_start();
                let rest = rest.strip_prefix('"')?;
                Some(&rest[..rest.find('"')?])
            })
            .collect()
    }

    fn sources(dir: &Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs")
                // This file names the calls it looks for.
                && !path.ends_with("texts/admin/refusals.rs")
            {
                found.push(std::fs::read_to_string(path).unwrap());
            }
        }
    }

    #[test]
    fn every_refusal_written_in_the_code_has_a_line_in_both_languages() {
        let mut files = Vec::new();
        sources(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        let mut missing = Vec::new();
        for file in &files {
            for (call, lines) in [
                ("OpError::conflict(", CONFLICTS),
                ("OpError::invalid(", FIELDS),
                ("OpError::not_found(", THINGS),
            ] {
                for key in keys_after(file, call) {
                    if find(lines, key, Locale::Id).is_none() {
                        missing.push(format!("{call}\"{key}\""));
                    }
                }
            }
        }
        missing.sort();
        missing.dedup();
        assert!(missing.is_empty(), "refusals without a line: {missing:?}");
    }

    #[test]
    fn a_refusal_reads_in_the_admins_language() {
        let error = OpError::conflict("already_refunded", "this order was refunded already");
        assert_eq!(
            line(Locale::Id, &error).unwrap(),
            "Pesanan ini sudah pernah direfund."
        );
        let error = OpError::invalid("brand_new_field", "must be short");
        assert!(
            line(Locale::Id, &error)
                .unwrap()
                .starts_with("Isian <code>brand_new_field</code>")
        );
        assert_eq!(
            line(Locale::Id, &OpError::not_found("order")).unwrap(),
            "Pesanan tidak ditemukan."
        );
        assert!(document_field(Locale::Id, "products[3].price").starts_with("Harga harus"));
        assert!(document_field(Locale::Id, "products[0].stock[7]").starts_with("Item stok"));
        assert!(document_field(Locale::En, "templates.welcome").starts_with("The message text"));
        assert!(document_field(Locale::Id, "settings.deposit_minimum").starts_with("Deposit"));
    }
}
