//! Texts of the coupons area.

use crate::tenants::model::Locale;

pub struct CouponsTexts {
    /// `{count}`, then one line per coupon.
    pub title: &'static str,
    pub empty: &'static str,
    /// `{code}`, `{value}`, `{used}`, `{max}`, `{state}`.
    pub row: &'static str,
    pub unlimited: &'static str,
    pub active: &'static str,
    pub inactive: &'static str,
    pub new_line: &'static str,
    pub new_steps: &'static str,
    pub ask_line: &'static str,
    pub ask_code: &'static str,
    pub ask_value: &'static str,
    pub ask_uses: &'static str,
    pub ask_min: &'static str,
    pub ask_from: &'static str,
    pub ask_until: &'static str,
    pub bad_line: &'static str,
    pub bad_code: &'static str,
    pub bad_value: &'static str,
    pub bad_uses: &'static str,
    pub bad_min: &'static str,
    pub bad_date: &'static str,
    pub until_past: &'static str,
    pub until_before_from: &'static str,
    /// `{code}`, `{value}`, `{max}`, `{min}`, `{from}`, `{until}`.
    pub summary: &'static str,
    /// `{from}` when the coupon applies at once.
    pub from_now: &'static str,
    /// `{until}` when it never ends.
    pub no_end: &'static str,
    /// `{code}`.
    pub created: &'static str,
    /// `{code}`, `{value}`, `{used}`, `{max}`, `{min}`, `{until}`, `{state}`.
    pub view: &'static str,
    pub deactivate: &'static str,
    pub activate: &'static str,
    pub delete: &'static str,
    /// `{code}`.
    pub confirm_delete: &'static str,
    /// `{code}`.
    pub deleted: &'static str,
    /// `{code}`.
    pub deactivated_instead: &'static str,
    /// `{code}`, `{state}`.
    pub switched: &'static str,
}

pub const ID: CouponsTexts = CouponsTexts {
    title: "🏷 <b>Kupon</b> ({count})",
    empty: "🏷 Belum ada kupon.",
    row: "<code>{code}</code> · {value} · dipakai {used}/{max} · {state}",
    unlimited: "∞",
    active: "aktif",
    inactive: "nonaktif",
    new_line: "➕ Kupon baru (satu baris)",
    new_steps: "🧭 Kupon baru (langkah demi langkah)",
    ask_line: "Tulis kupon dalam satu baris:\n<code>KODE | 10% | 100</code>\n(kode | persen atau nominal | batas pakai; batas boleh dikosongkan)",
    ask_code: "Langkah 1/6: tulis kode kupon (3–32 huruf A–Z, angka, _ atau -), contoh <code>HEMAT10</code>.",
    ask_value: "Langkah 2/6: potongannya? Tulis persen seperti <code>10%</code> atau nominal seperti <code>5000</code>.",
    ask_uses: "Langkah 3/6: berapa kali boleh dipakai? Tulis angka, atau <code>-</code> untuk tanpa batas.",
    ask_min: "Langkah 4/6: minimal belanja? Tulis nominal seperti <code>50000</code>, atau <code>-</code> untuk tanpa minimal.",
    ask_from: "Langkah 5/6: mulai berlaku tanggal berapa? Tulis seperti <code>31/12/2026</code> (waktu toko), atau <code>-</code> untuk mulai sekarang.",
    ask_until: "Langkah 6/6: hari terakhir berlaku? Tulis seperti <code>31/01/2027</code>, atau <code>-</code> untuk tanpa batas waktu.",
    bad_line: "Formatnya belum pas. Contoh: <code>HEMAT10 | 10% | 100</code>",
    bad_code: "Kode harus 3–32 karakter: huruf A–Z, angka, _ atau -. Contoh: <code>HEMAT10</code>",
    bad_value: "Tulis persen 1–100 seperti <code>10%</code>, atau nominal rupiah seperti <code>5000</code>.",
    bad_uses: "Tulis angka 1 sampai 1000000, atau <code>-</code> untuk tanpa batas.",
    bad_min: "Tulis nominal rupiah 0 sampai 1.000.000.000 seperti <code>50000</code>, atau <code>-</code> untuk tanpa minimal.",
    bad_date: "Tanggalnya tidak terbaca. Tulis seperti <code>31/12/2026</code>, atau <code>-</code> untuk melewati.",
    until_past: "Tanggal itu sudah lewat. Tulis hari terakhir yang belum lewat, atau <code>-</code> untuk tanpa batas.",
    until_before_from: "Hari terakhir harus sama dengan atau sesudah tanggal mulai. Tulis tanggal lain, atau <code>-</code>.",
    summary: "🏷 Kupon baru <code>{code}</code>\nPotongan: {value}\nBatas pakai: {max}\nMinimal belanja: {min}\nBerlaku dari: {from}\nBerlaku sampai: {until}",
    from_now: "sekarang",
    no_end: "tanpa batas",
    created: "✅ Kupon <code>{code}</code> dibuat dan langsung bisa dipakai.",
    view: "🏷 <b>{code}</b>\nPotongan: {value}\nDipakai: {used}/{max}\nMinimal belanja: {min}\nBerlaku sampai: {until}\nStatus: {state}",
    deactivate: "⏸ Nonaktifkan",
    activate: "▶️ Aktifkan",
    delete: "🗑 Hapus",
    confirm_delete: "Hapus kupon <code>{code}</code>? Kupon yang pernah dipakai hanya dinonaktifkan.",
    deleted: "🗑 Kupon <code>{code}</code> dihapus.",
    deactivated_instead: "⏸ Kupon <code>{code}</code> sudah pernah dipakai, jadi dinonaktifkan (tidak dihapus).",
    switched: "Kupon <code>{code}</code> sekarang {state}.",
};

pub const EN: CouponsTexts = CouponsTexts {
    title: "🏷 <b>Coupons</b> ({count})",
    empty: "🏷 No coupons yet.",
    row: "<code>{code}</code> · {value} · used {used}/{max} · {state}",
    unlimited: "∞",
    active: "active",
    inactive: "inactive",
    new_line: "➕ New coupon (one line)",
    new_steps: "🧭 New coupon (step by step)",
    ask_line: "Write the coupon in one line:\n<code>CODE | 10% | 100</code>\n(code | percent or amount | max uses; the limit may be left out)",
    ask_code: "Step 1/6: write the coupon code (3–32 of A–Z, digits, _ or -), e.g. <code>SAVE10</code>.",
    ask_value: "Step 2/6: the discount? Write a percentage such as <code>10%</code> or an amount such as <code>5000</code>.",
    ask_uses: "Step 3/6: how many times may it be used? Write a number, or <code>-</code> for no limit.",
    ask_min: "Step 4/6: the minimum order? Write an amount such as <code>50000</code>, or <code>-</code> for no minimum.",
    ask_from: "Step 5/6: from which day does it apply? Write it like <code>31/12/2026</code> (store time), or <code>-</code> to start now.",
    ask_until: "Step 6/6: the last day it applies? Write it like <code>31/01/2027</code>, or <code>-</code> for no end.",
    bad_line: "The format is not right yet. Example: <code>SAVE10 | 10% | 100</code>",
    bad_code: "The code must be 3–32 characters: A–Z, digits, _ or -. Example: <code>SAVE10</code>",
    bad_value: "Write a percentage 1–100 such as <code>10%</code>, or an amount in rupiah such as <code>5000</code>.",
    bad_uses: "Write a number from 1 to 1000000, or <code>-</code> for no limit.",
    bad_min: "Write a rupiah amount from 0 to 1,000,000,000 such as <code>50000</code>, or <code>-</code> for no minimum.",
    bad_date: "That date cannot be read. Write it like <code>31/12/2026</code>, or <code>-</code> to skip.",
    until_past: "That day has passed. Write a last day still to come, or <code>-</code> for no end.",
    until_before_from: "The last day must be the first day or later. Write another date, or <code>-</code>.",
    summary: "🏷 New coupon <code>{code}</code>\nDiscount: {value}\nMax uses: {max}\nMinimum order: {min}\nValid from: {from}\nValid until: {until}",
    from_now: "now",
    no_end: "no end",
    created: "✅ Coupon <code>{code}</code> created; customers can use it now.",
    view: "🏷 <b>{code}</b>\nDiscount: {value}\nUsed: {used}/{max}\nMinimum order: {min}\nValid until: {until}\nStatus: {state}",
    deactivate: "⏸ Deactivate",
    activate: "▶️ Activate",
    delete: "🗑 Delete",
    confirm_delete: "Delete coupon <code>{code}</code>? A coupon that was used is only deactivated.",
    deleted: "🗑 Coupon <code>{code}</code> deleted.",
    deactivated_instead: "⏸ Coupon <code>{code}</code> was used before, so it is deactivated (not deleted).",
    switched: "Coupon <code>{code}</code> is now {state}.",
};

pub fn of(locale: Locale) -> &'static CouponsTexts {
    match locale {
        Locale::Id => &ID,
        Locale::En => &EN,
    }
}
