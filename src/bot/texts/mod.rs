//! The bot's message catalogue: every text a customer reads, once per language.
//!
//! Handlers never hold user-facing strings; they ask [`texts`] for the catalogue of the
//! customer's language and fill in values. Store-provided text (names, welcome text) is
//! HTML-escaped here, because every message is sent with `ParseMode::Html`.

pub mod admin;
mod en;
mod id;

use teloxide::utils::html::escape;

use crate::tenants::model::{Locale, Tenant};
use en::EN;
use id::ID;

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
    /// The answer to `/batal` and `/cancel`.
    pub dialogue_cancelled: &'static str,
    /// Under an SNK decision: `{note}`, the admin's words.
    pub snk_note: &'static str,
    /// The caption of a long delivery's `.txt` file: `{code}`.
    pub delivery_file_caption: &'static str,
    /// `{customers}` and `{sold}` are replaced.
    pub welcome_stats: &'static str,
    // The main keyboard.
    pub menu_products: &'static str,
    pub menu_stock: &'static str,
    pub menu_deposit: &'static str,
    pub menu_info: &'static str,
    pub menu_how_to: &'static str,
    pub menu_admin: &'static str,
    // Browsing.
    pub categories_title: &'static str,
    pub all_products: &'static str,
    pub catalog_empty: &'static str,
    /// `{category}`, `{page}`, `{pages}`.
    pub products_title: &'static str,
    pub back: &'static str,
    pub cart_button: &'static str,
    pub stock_label: &'static str,
    pub sold_out: &'static str,
    pub snk_label: &'static str,
    pub add_to_cart: &'static str,
    /// `{qty}`, `{name}`.
    pub added_to_cart: &'static str,
    pub product_gone: &'static str,
    /// `{price}`.
    pub price_changed_reload: &'static str,
    pub stock_title: &'static str,
    pub stale_button: &'static str,
    // The cart.
    pub cart_title: &'static str,
    pub cart_empty: &'static str,
    pub subtotal: &'static str,
    pub discount: &'static str,
    pub total: &'static str,
    pub coupon_button: &'static str,
    pub clear_button: &'static str,
    pub checkout_button: &'static str,
    pub cart_cleared: &'static str,
    pub enter_coupon: &'static str,
    /// `{code}`.
    pub coupon_saved: &'static str,
    pub coupon_removed: &'static str,
    pub coupon_unknown: &'static str,
    pub coupon_not_yet_valid: &'static str,
    pub coupon_expired: &'static str,
    pub coupon_used_up: &'static str,
    /// `{minimum}`.
    pub coupon_minimum: &'static str,
    pub unavailable_line: &'static str,
    // Checkout.
    pub empty_cart_checkout: &'static str,
    /// A checkout refused for the unpaid orders the customer holds: `{open}`, `{limit}`.
    pub too_many_unpaid: &'static str,
    pub unpaid_orders_button: &'static str,
    pub prices_changed: &'static str,
    pub accept_prices_button: &'static str,
    pub sold_out_lines: &'static str,
    /// `{name}`, `{wanted}`, `{available}`.
    pub shortage_line: &'static str,
    pub gone_lines: &'static str,
    /// `{code}`, `{total}`, `{until}`.
    pub order_created: &'static str,
    pub pay_qris: &'static str,
    pub pay_balance: &'static str,
    pub cancel_order: &'static str,
    /// `{balance}`, `{total}`.
    pub balance_too_low: &'static str,
    /// `{code}`, `{balance}`.
    pub paid_with_balance: &'static str,
    pub order_cancelled: &'static str,
    pub order_not_found: &'static str,
    pub order_already_paid: &'static str,
    pub order_already_cancelled: &'static str,
    pub order_already_expired: &'static str,
    /// `{code}`.
    pub order_expired_notice: &'static str,
    // Delivery and orders.
    /// `{code}`.
    pub delivery_title: &'static str,
    pub delivery_footer: &'static str,
    pub orders_title: &'static str,
    pub orders_empty: &'static str,
    pub resend_button: &'static str,
    pub status_awaiting: &'static str,
    pub status_paid: &'static str,
    pub status_delivered: &'static str,
    pub status_cancelled: &'static str,
    pub status_expired: &'static str,
    // QRIS payments.
    /// `{minimum}`.
    pub qris_minimum: &'static str,
    pub gateway_down: &'static str,
    pub retry_button: &'static str,
    /// `{code}`.
    pub invoice_order_title: &'static str,
    pub invoice_deposit_title: &'static str,
    /// `{amount}`, `{fee}`, `{total}`, `{until}`.
    pub invoice_lines: &'static str,
    pub check_status_button: &'static str,
    pub cancel_invoice_button: &'static str,
    pub payment_page_button: &'static str,
    pub payment_pending: &'static str,
    pub payment_check_failed: &'static str,
    pub payment_already_done: &'static str,
    pub invoice_gone: &'static str,
    pub cancel_failed: &'static str,
    /// `{code}`, `{total}`.
    pub paid_order: &'static str,
    /// `{code}`.
    pub paid_late_delivered: &'static str,
    /// `{code}`, `{amount}`, `{balance}`.
    pub paid_late_credited: &'static str,
    /// `{amount}`, `{balance}`.
    pub paid_deposit: &'static str,
    /// `{amount}`.
    pub deposit_expired: &'static str,
    /// `{amount}`.
    pub deposit_cancelled: &'static str,
    /// `{subject}`, `{customer}`, `{amount}` (what was paid: `amount_with_fee` or
    /// `amount_store_fee` filled), `{outcome}`.
    pub admin_payment: &'static str,
    /// `{code}`.
    pub admin_subject_order: &'static str,
    pub admin_subject_deposit: &'static str,
    pub outcome_delivered: &'static str,
    pub outcome_late_delivered: &'static str,
    pub outcome_credited: &'static str,
    pub outcome_deposited: &'static str,
    /// `{failures}`, `{error}`.
    pub gateway_alert: &'static str,
    /// `{minimum}`.
    pub deposit_prompt: &'static str,
    /// `{minimum}`, `{maximum}`.
    pub deposit_invalid: &'static str,
    /// A deposit asked for while one is open: `{amount}`, `{until}`.
    pub deposit_still_open: &'static str,
    // Terms (SNK).
    /// `{product}`.
    pub snk_title: &'static str,
    pub snk_button: &'static str,
    /// `{product}`.
    pub snk_prompt: &'static str,
    pub snk_empty: &'static str,
    pub snk_received: &'static str,
    pub snk_not_available: &'static str,
    /// `{customer}`, `{code}`, `{product}`, `{text}`.
    pub snk_admin: &'static str,
    pub snk_approve_button: &'static str,
    pub snk_reject_button: &'static str,
    /// `{product}`, `{code}`.
    pub snk_approved: &'static str,
    /// `{product}`, `{code}`.
    pub snk_rejected: &'static str,
    pub snk_decided: &'static str,
    pub snk_already_decided: &'static str,
    pub admins_only: &'static str,
    // Marking paid by hand.
    pub manual_usage: &'static str,
    /// `{code}`.
    pub manual_not_found: &'static str,
    /// `{code}`.
    pub manual_sold_out: &'static str,
    /// `{code}`.
    pub manual_paid_admin: &'static str,
    /// `{code}`.
    pub manual_paid_customer: &'static str,
    // What the store did to a customer's order or balance.
    /// Said to a customer the store blocked, instead of checking out or topping up.
    pub customer_blocked: &'static str,
    /// `{code}`, `{amount}`, `{balance}`.
    pub order_refunded_notice: &'static str,
    /// `{amount}` (signed), `{balance}`, `{reason}`.
    pub balance_adjusted_notice: &'static str,
    /// `{code}`.
    pub order_cancelled_by_store: &'static str,
    // Deposit, info, admin, anti-spam.
    /// `{balance}`.
    pub balance_line: &'static str,
    pub info_default: &'static str,
    pub how_to_default: &'static str,
    pub slow_down: &'static str,
    // The staff's notices (owner notifications).
    /// `{code}`, `{method}`, `{customer}`, `{items}`, `{amount}`.
    pub order_paid_notice: &'static str,
    pub method_qris: &'static str,
    pub method_balance: &'static str,
    pub method_manual: &'static str,
    /// `{amount}`, `{fee}`, `{total}`.
    pub amount_with_fee: &'static str,
    /// `{total}`.
    pub amount_total: &'static str,
    /// `{product}`, `{available}`, `{threshold}`.
    pub low_stock_notice: &'static str,
    /// The invoice of an order whose fee the store bears: `{price}`, `{total}`, `{until}`.
    pub invoice_lines_store_fee: &'static str,
    /// "Check status" on a payment held for review.
    pub payment_in_review: &'static str,
    /// To the owner: `{reference}` (the invoice at Pakasir, an order's code), `{facts}`.
    pub payment_review_alert: &'static str,
    /// An order whose total is zero, paid at checkout: `{code}`.
    pub paid_free: &'static str,
    pub method_free: &'static str,
    /// To the owner: `{errors}`, `{minutes}`.
    pub store_errors_alert: &'static str,
    pub store_errors_recovered: &'static str,
    /// The QRIS button's answer while Pakasir makes the invoice.
    pub invoice_in_progress: &'static str,
    /// To the owner and the admins once the bot runs again after Telegram refused its token:
    /// `{since}`.
    pub token_restored_notice: &'static str,
    /// The top-up's "one moment" message, once its invoice photo was sent below it.
    pub deposit_invoice_ready: &'static str,
    /// The top-up's "one moment" message when Pakasir could not make the invoice.
    pub deposit_failed: &'static str,
    /// The staff's notice of an order whose invoice's fee the store bore: `{price}`,
    /// `{total}` (what the customer paid), `{fee}`, `{received}` (what the store receives).
    pub amount_store_fee: &'static str,
    /// The line under a refund notice: `{reason}` as the admin gave it.
    pub refund_reason_line: &'static str,
}

/// The catalogue of `locale`.
pub fn texts(locale: Locale) -> &'static Texts {
    match locale {
        Locale::Id => &ID,
        Locale::En => &EN,
    }
}

/// The `/start` welcome of `tenant`, in HTML. `template` is the store's own `welcome` text,
/// filled and escaped, which takes the place of the branding's welcome text.
pub fn welcome(tenant: &Tenant, locale: Locale, template: Option<String>) -> String {
    let t = texts(locale);
    let branding = &tenant.branding;
    let mut title = t
        .welcome_title
        .replace("{name}", &escape(&tenant.display_name));
    if let Some(emoji) = &branding.emoji {
        title = format!("{} {title}", escape(emoji));
    }
    let mut parts = vec![title];
    parts.push(template.unwrap_or_else(|| {
        escape(
            branding
                .welcome_text
                .as_deref()
                .unwrap_or(t.welcome_default),
        )
    }));
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

/// Fills `{name}` placeholders of a catalogue text.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// Which menu button a text is, in either language (a customer may switch language while an
/// old keyboard is still on screen).
pub fn menu_button(text: &str) -> Option<MenuButton> {
    [&ID, &EN].into_iter().find_map(|t| match text {
        x if x == t.menu_products => Some(MenuButton::Products),
        x if x == t.menu_stock => Some(MenuButton::Stock),
        x if x == t.menu_deposit => Some(MenuButton::Deposit),
        x if x == t.menu_info => Some(MenuButton::Info),
        x if x == t.menu_how_to => Some(MenuButton::HowTo),
        x if x == t.menu_admin => Some(MenuButton::Admin),
        _ => None,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MenuButton {
    Products,
    Stock,
    Deposit,
    Info,
    HowTo,
    Admin,
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
