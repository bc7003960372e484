//! Callback data of inline buttons: one enum, encoded in a few bytes.
//!
//! Telegram allows 64 bytes of callback data. Buttons carry ids, never names, and a product
//! button carries the price the customer saw, so a repriced product is noticed before it is
//! added. Anything that does not parse (a button from an older version of the bot) is
//! answered as a stale button.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Callback {
    /// The list of categories.
    Categories,
    /// A page of products: of one category, or of all (`None`).
    Category {
        id: Option<i64>,
        page: u32,
    },
    /// A product page with a chosen quantity.
    Product {
        id: i64,
        qty: u32,
    },
    /// Add `qty` at `price` (the price shown on the button's message).
    Add {
        id: i64,
        qty: u32,
        price: i64,
    },
    Cart,
    /// Set a cart line's quantity; zero removes it.
    CartQty {
        id: i64,
        qty: u32,
    },
    CartClear,
    Coupon,
    Checkout,
    /// The customer saw the new prices and checks out with them.
    AcceptPrices,
    PayBalance {
        order: i64,
    },
    PayQris {
        order: i64,
    },
    Cancel {
        order: i64,
    },
    Orders,
    Order {
        id: i64,
    },
    Resend {
        id: i64,
    },
    /// Ask the gateway whether an invoice was paid.
    CheckPayment {
        payment: i64,
    },
    /// Cancel an unpaid invoice (and its order).
    CancelPayment {
        payment: i64,
    },
    /// Start the submission that fulfils a product's terms (SNK) for an order.
    SnkFulfil {
        order: i64,
        product: i64,
    },
    /// An admin's decision on an SNK submission.
    SnkApprove {
        id: i64,
    },
    SnkReject {
        id: i64,
    },
    /// A label button that does nothing.
    Noop,
}

impl fmt::Display for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Callback::Categories => write!(f, "cats"),
            Callback::Category { id: Some(id), page } => write!(f, "cat:{id}:{page}"),
            Callback::Category { id: None, page } => write!(f, "cat:all:{page}"),
            Callback::Product { id, qty } => write!(f, "p:{id}:{qty}"),
            Callback::Add { id, qty, price } => write!(f, "add:{id}:{qty}:{price}"),
            Callback::Cart => write!(f, "cart"),
            Callback::CartQty { id, qty } => write!(f, "cq:{id}:{qty}"),
            Callback::CartClear => write!(f, "cc"),
            Callback::Coupon => write!(f, "cp"),
            Callback::Checkout => write!(f, "co"),
            Callback::AcceptPrices => write!(f, "ap"),
            Callback::PayBalance { order } => write!(f, "pb:{order}"),
            Callback::PayQris { order } => write!(f, "pq:{order}"),
            Callback::Cancel { order } => write!(f, "x:{order}"),
            Callback::Orders => write!(f, "ol"),
            Callback::Order { id } => write!(f, "o:{id}"),
            Callback::Resend { id } => write!(f, "rs:{id}"),
            Callback::CheckPayment { payment } => write!(f, "ck:{payment}"),
            Callback::CancelPayment { payment } => write!(f, "xp:{payment}"),
            Callback::SnkFulfil { order, product } => write!(f, "sf:{order}:{product}"),
            Callback::SnkApprove { id } => write!(f, "sa:{id}"),
            Callback::SnkReject { id } => write!(f, "sr:{id}"),
            Callback::Noop => write!(f, "noop"),
        }
    }
}

impl Callback {
    pub fn parse(data: &str) -> Option<Callback> {
        let mut parts = data.split(':');
        let head = parts.next()?;
        let mut num = || parts.next().and_then(|p| p.parse::<i64>().ok());
        let callback = match head {
            "cats" => Callback::Categories,
            "cat" => {
                let rest: Vec<&str> = data.splitn(3, ':').skip(1).collect();
                let id = match rest.first()? {
                    &"all" => None,
                    id => Some(id.parse().ok()?),
                };
                Callback::Category {
                    id,
                    page: rest.get(1)?.parse().ok()?,
                }
            }
            "p" => Callback::Product {
                id: num()?,
                qty: u32::try_from(num()?).ok()?,
            },
            "add" => Callback::Add {
                id: num()?,
                qty: u32::try_from(num()?).ok()?,
                price: num()?,
            },
            "cart" => Callback::Cart,
            "cq" => Callback::CartQty {
                id: num()?,
                qty: u32::try_from(num()?).ok()?,
            },
            "cc" => Callback::CartClear,
            "cp" => Callback::Coupon,
            "co" => Callback::Checkout,
            "ap" => Callback::AcceptPrices,
            "pb" => Callback::PayBalance { order: num()? },
            "pq" => Callback::PayQris { order: num()? },
            "x" => Callback::Cancel { order: num()? },
            "ol" => Callback::Orders,
            "o" => Callback::Order { id: num()? },
            "rs" => Callback::Resend { id: num()? },
            "ck" => Callback::CheckPayment { payment: num()? },
            "xp" => Callback::CancelPayment { payment: num()? },
            "sf" => Callback::SnkFulfil {
                order: num()?,
                product: num()?,
            },
            "sa" => Callback::SnkApprove { id: num()? },
            "sr" => Callback::SnkReject { id: num()? },
            "noop" => Callback::Noop,
            _ => return None,
        };
        Some(callback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_callback_round_trips_and_fits_in_64_bytes() {
        let big = i64::MAX;
        let all = [
            Callback::Categories,
            Callback::Category {
                id: Some(big),
                page: u32::MAX,
            },
            Callback::Category { id: None, page: 3 },
            Callback::Product { id: big, qty: 100 },
            Callback::Add {
                id: big,
                qty: 100,
                price: 1_000_000_000,
            },
            Callback::Cart,
            Callback::CartQty { id: big, qty: 0 },
            Callback::CartClear,
            Callback::Coupon,
            Callback::Checkout,
            Callback::AcceptPrices,
            Callback::PayBalance { order: big },
            Callback::PayQris { order: big },
            Callback::Cancel { order: big },
            Callback::Orders,
            Callback::Order { id: big },
            Callback::Resend { id: big },
            Callback::CheckPayment { payment: big },
            Callback::CancelPayment { payment: big },
            Callback::SnkFulfil {
                order: big,
                product: big,
            },
            Callback::SnkApprove { id: big },
            Callback::SnkReject { id: big },
            Callback::Noop,
        ];
        for callback in all {
            let data = callback.to_string();
            assert!(data.len() <= 64, "{data} is {} bytes", data.len());
            assert_eq!(Callback::parse(&data), Some(callback), "{data}");
        }
    }

    #[test]
    fn unknown_or_malformed_data_is_refused() {
        for data in [
            "", "zzz", "p:1", "p:x:1", "add:1:2", "cat:", "cat:x:1", "p:1:-1",
        ] {
            assert_eq!(Callback::parse(data), None, "{data}");
        }
    }
}
