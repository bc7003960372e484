//! Texts a store writes for its customers, one per event: the welcome, how to order, store
//! information, a payment received, goods delivered and an invoice expired. A store that has
//! not written one gets the bot's default text for it.
//!
//! A template is plain text with placeholders (`{name}`, `{store}`, `{order_id}`, `{total}`,
//! `{items}`, `{balance}`). Which placeholders a template may use depends on its event: only
//! the order events know an order. The same rule ([`check`]) guards the bot's editor, the
//! catalog document and anything else that stores a template, so a stored template always
//! fills completely.

use serde_json::json;
use sqlx::PgConnection;

use super::{
    audit::{self, Actor, Entry},
    error::{OpError, OpResult},
    money::rupiah,
    orders::{self, Order},
    wallet,
};
use crate::db::TenantId;

pub const INFO: &str = "info";
pub const HOW_TO_ORDER: &str = "how_to_order";
pub const WELCOME: &str = "welcome";
pub const PAYMENT_RECEIVED: &str = "payment_received";
pub const GOODS_DELIVERED: &str = "goods_delivered";
pub const INVOICE_EXPIRED: &str = "invoice_expired";

/// The template names a store may set.
pub const NAMES: [&str; 6] = [
    INFO,
    HOW_TO_ORDER,
    WELCOME,
    PAYMENT_RECEIVED,
    GOODS_DELIVERED,
    INVOICE_EXPIRED,
];

/// The longest template, in characters: filled with a long item list it must still fit in
/// one Telegram message (4096 characters).
pub const MAX_CHARS: usize = 2000;

/// The placeholders every template may use.
const CUSTOMER_PLACEHOLDERS: [&str; 3] = ["name", "store", "balance"];
/// The placeholders of the templates that follow an order.
const ORDER_PLACEHOLDERS: [&str; 6] = ["name", "store", "order_id", "total", "items", "balance"];

/// The longest item list a template receives; a longer one is cut with an ellipsis.
const ITEMS_MAX_CHARS: usize = 1000;

/// The placeholders the template `name` may use.
pub fn placeholders(name: &str) -> &'static [&'static str] {
    if [PAYMENT_RECEIVED, GOODS_DELIVERED, INVOICE_EXPIRED].contains(&name) {
        &ORDER_PLACEHOLDERS
    } else {
        &CUSTOMER_PLACEHOLDERS
    }
}

/// Why a text cannot be stored as a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// No template has this name.
    UnknownName,
    /// The text holds a NUL character, which no message can carry.
    Nul,
    Empty,
    /// Longer than [`MAX_CHARS`]: how many characters it has.
    TooLong(usize),
    /// Placeholders this template cannot fill, in order of appearance.
    UnknownPlaceholders(Vec<String>),
}

/// What is wrong with `body` as the template `name`, if anything.
pub fn problem(name: &str, body: &str) -> Option<Problem> {
    if !NAMES.contains(&name) {
        return Some(Problem::UnknownName);
    }
    if body.contains('\0') {
        return Some(Problem::Nul);
    }
    if body.trim().is_empty() {
        return Some(Problem::Empty);
    }
    let chars = body.chars().count();
    if chars > MAX_CHARS {
        return Some(Problem::TooLong(chars));
    }
    let allowed = placeholders(name);
    let mut unknown: Vec<String> = Vec::new();
    for found in placeholders_in(body).filter(|p| !allowed.contains(p)) {
        if !unknown.iter().any(|u| u == found) {
            unknown.push(found.to_owned());
        }
    }
    (!unknown.is_empty()).then_some(Problem::UnknownPlaceholders(unknown))
}

/// `{a}, {b}` for placeholder names.
pub fn braced<S: AsRef<str>>(names: &[S]) -> String {
    names
        .iter()
        .map(|p| format!("{{{}}}", p.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `body` may be stored as the template `name`; the error names the field (`name` or
/// `body`) and says what to write instead.
pub fn check(name: &str, body: &str) -> OpResult<()> {
    let Some(problem) = problem(name, body) else {
        return Ok(());
    };
    Err(match problem {
        Problem::UnknownName => OpError::invalid(
            "name",
            format!("is not a template; use one of {}", NAMES.join(", ")),
        ),
        Problem::Nul => OpError::invalid("body", "must not contain the NUL character"),
        Problem::Empty => OpError::invalid("body", "must not be empty"),
        Problem::TooLong(chars) => OpError::invalid(
            "body",
            format!("must be at most {MAX_CHARS} characters (it has {chars})"),
        ),
        Problem::UnknownPlaceholders(unknown) => OpError::invalid(
            "body",
            format!(
                "unknown placeholder {}; this template may use {}",
                braced(&unknown),
                braced(placeholders(name))
            ),
        ),
    })
}

/// The names of the `{word}` placeholders in `body`, in order. Braces around anything else
/// (a space, punctuation, nothing) are ordinary text.
fn placeholders_in(body: &str) -> impl Iterator<Item = &str> {
    body.split('{').skip(1).filter_map(|rest| {
        let (word, _) = rest.split_once('}')?;
        let is_word = !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        is_word.then_some(word)
    })
}

/// The values a template is filled with; absent ones are left empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Values {
    pub name: String,
    pub store: String,
    pub order_id: String,
    pub total: String,
    pub items: String,
    pub balance: String,
}

impl Values {
    /// What a preview shows: an imaginary customer and order of the store `store`.
    pub fn sample(store: &str) -> Self {
        Self {
            name: "Budi".into(),
            store: store.into(),
            order_id: "INV000123ABCDE".into(),
            total: rupiah(25_000),
            items: "• Netflix 1 Bulan × 1".into(),
            balance: rupiah(50_000),
        }
    }
}

/// Fills the placeholders of `body` (plain text) with `values` (plain text). The caller
/// escapes the result for its medium, which escapes the values with it.
pub fn fill(body: &str, values: &Values) -> String {
    [
        ("name", &values.name),
        ("store", &values.store),
        ("order_id", &values.order_id),
        ("total", &values.total),
        ("items", &values.items),
        ("balance", &values.balance),
    ]
    .into_iter()
    .fold(body.to_owned(), |text, (placeholder, value)| {
        text.replace(&format!("{{{placeholder}}}"), value)
    })
}

/// What an event's text is about: whose chat, which store, and the order if there is one.
pub struct Event<'a> {
    pub customer: i64,
    /// The customer's first name, when the caller knows it (from the update at hand).
    pub name: Option<&'a str>,
    pub store: &'a str,
    pub order: Option<&'a Order>,
}

/// Whether filling `body` for `event` needs the database (a name not known yet, a balance, an
/// order's items); when not, [`fill_known`] fills it from memory.
pub fn needs_lookup(body: &str, event: &Event<'_>) -> bool {
    let wants = |placeholder: &str| body.contains(&format!("{{{placeholder}}}"));
    (wants("name") && event.name.is_none())
        || wants("balance")
        || (wants("items") && event.order.is_some())
}

/// Fills `body` with what `event` carries, without the database.
pub fn fill_known(body: &str, event: &Event<'_>) -> String {
    fill(body, &known_values(event))
}

fn known_values(event: &Event<'_>) -> Values {
    let mut values = Values {
        name: event.name.unwrap_or_default().to_owned(),
        store: event.store.to_owned(),
        ..Values::default()
    };
    if let Some(order) = event.order {
        values.order_id = order.code.clone();
        values.total = rupiah(order.total);
    }
    values
}

/// Fills `body` for `event`, reading from the database only the values the text mentions.
pub async fn fill_event(
    conn: &mut PgConnection,
    body: &str,
    event: &Event<'_>,
) -> sqlx::Result<String> {
    let wants = |placeholder: &str| body.contains(&format!("{{{placeholder}}}"));
    let mut values = known_values(event);
    if wants("name") && event.name.is_none() {
        values.name =
            sqlx::query_scalar("select first_name from customers where telegram_user_id = $1")
                .bind(event.customer)
                .fetch_optional(&mut *conn)
                .await?
                .unwrap_or_default();
    }
    if wants("balance") {
        values.balance = rupiah(wallet::balance(conn, event.customer).await?);
    }
    if let Some(order) = event.order
        && wants("items")
    {
        values.items = item_list(&orders::items(conn, order.id).await?);
    }
    Ok(fill(body, &values))
}

/// The store's own text for `name`, filled for `event`; `None` when it wrote none (the bot then
/// uses its default).
pub async fn render(
    conn: &mut PgConnection,
    name: &str,
    event: &Event<'_>,
) -> sqlx::Result<Option<String>> {
    match get(conn, name).await? {
        Some(body) => Ok(Some(fill_event(conn, &body, event).await?)),
        None => Ok(None),
    }
}

/// One line per product of an order, cut when very long.
fn item_list(items: &[orders::Item]) -> String {
    let mut list = String::new();
    for item in items {
        let line = format!("• {} × {}", item.product_name, item.quantity);
        if list.chars().count() + line.chars().count() > ITEMS_MAX_CHARS {
            list.push_str("\n…");
            break;
        }
        if !list.is_empty() {
            list.push('\n');
        }
        list.push_str(&line);
    }
    list
}

/// The store's own text for `name`, if it wrote one.
pub async fn get(conn: &mut PgConnection, name: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("select body from templates where name = $1")
        .bind(name)
        .fetch_optional(conn)
        .await
}

/// Every template the store wrote, by name.
pub async fn all(conn: &mut PgConnection) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as("select name, body from templates order by name")
        .fetch_all(conn)
        .await
}

/// Stores `body` as the store's template `name`, by `actor`, with its audit row.
pub async fn set(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    name: &str,
    body: &str,
) -> OpResult<()> {
    check(name, body)?;
    let before = get(conn, name).await?;
    if before.as_deref() == Some(body) {
        return Ok(());
    }
    sqlx::query(
        "insert into templates (tenant_id, name, body) values ($1, $2, $3) \
         on conflict (tenant_id, name) do update set body = excluded.body, updated_at = now()",
    )
    .bind(tenant)
    .bind(name)
    .bind(body)
    .execute(&mut *conn)
    .await?;
    let entry = Entry {
        actor,
        action: "template.set",
        subject: name,
        before: json!({ "body": before }),
        after: json!({ "body": body }),
    };
    audit::record(conn, tenant, entry).await?;
    Ok(())
}

/// Takes the store's template `name` away, so the bot's default text is used again; `false`
/// when the store had none (nothing changed, no audit row).
pub async fn reset(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    name: &str,
) -> OpResult<bool> {
    if !NAMES.contains(&name) {
        return Err(OpError::not_found("template"));
    }
    let before: Option<String> =
        sqlx::query_scalar("delete from templates where name = $1 returning body")
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(before) = before else {
        return Ok(false);
    };
    let entry = Entry {
        actor,
        action: "template.reset",
        subject: name,
        before: json!({ "body": before }),
        after: json!({ "body": null }),
    };
    audit::record(conn, tenant, entry).await?;
    Ok(true)
}

/// `body` as customers of the store `store` would read it, filled with sample values; the
/// same check as [`set`] first, so a preview never shows what could not be saved.
pub fn preview(name: &str, body: &str, store: &str) -> OpResult<String> {
    check(name, body)?;
    Ok(fill(body, &Values::sample(store)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_the_braced_words() {
        let found: Vec<&str> = placeholders_in("Hi {name}! { } {x y} {} {total}}{").collect();
        assert_eq!(found, ["name", "total"]);
    }

    #[test]
    fn order_placeholders_belong_to_order_templates() {
        assert!(check("payment_received", "Order {order_id}: {total}\n{items}").is_ok());
        let error = check("welcome", "Halo {name}, pesanan {order_id}").unwrap_err();
        let message = error.to_string();
        assert!(message.contains("{order_id}"), "{message}");
        assert!(message.contains("{name}, {store}, {balance}"), "{message}");
    }

    #[test]
    fn bad_bodies_are_refused_with_the_field() {
        for (name, body, field) in [
            ("nope", "x", "name"),
            ("info", "   ", "body"),
            ("info", "a\0b", "body"),
            ("info", &"x".repeat(MAX_CHARS + 1), "body"),
            ("info", "{nama}", "body"),
        ] {
            match check(name, body) {
                Err(OpError::Invalid { field: f, .. }) => assert_eq!(f, field, "{name} {body:?}"),
                other => panic!("{name} {body:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn filling_replaces_every_placeholder() {
        let filled = fill(
            "{name} @ {store}: {order_id} {total} {balance}\n{items}",
            &Values::sample("Toko <Budi>"),
        );
        assert_eq!(
            filled,
            "Budi @ Toko <Budi>: INV000123ABCDE Rp 25.000 Rp 50.000\n• Netflix 1 Bulan × 1"
        );
    }
}
