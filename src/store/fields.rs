//! Serde helpers the admin inputs share (products, coupons, the catalog document): the default
//! of a switch that starts on, and a patch field that tells "absent" from an explicit `null`.

use serde::{Deserialize, Deserializer};

/// The default of a switch that is on unless the input says otherwise (`active`).
pub(crate) fn yes() -> bool {
    true
}

/// Lets a patch tell "absent" (`None`, with `#[serde(default)]`) from an explicit `null`
/// (`Some(None)`), so that `null` can clear a field a patch would otherwise leave alone.
pub(crate) fn some<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}
