//! Newtypes for secret values.
//!
//! Bot tokens, Pakasir keys, webhook secrets and key material travel through the code as
//! [`Secret`], whose `Debug` and `Display` print `***`. Reading the value takes an explicit
//! [`Secret::expose`] call, which makes every place that handles the plain value easy to find.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A value that must never be logged or returned by the API.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T = String>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// Gives the plain value; call it only where the value is actually needed.
    pub fn expose(&self) -> &T {
        &self.0
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

// Deserialising is allowed so request bodies and config files can carry secrets; there is
// deliberately no `Serialize`, so a secret cannot end up in a response or a log by accident.
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let secret = Secret::new("123456:ABCDEF".to_owned());
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(secret.expose(), "123456:ABCDEF");
    }
}
